import json

import pytest
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_spanbert.cli import app
from spacy_spanbert.corpora import (
    CorpusCounts,
    CorpusFormatError,
    read_nested_docs,
    split_by_document,
)

from .util import NESTED


def _write(tmp_path, *records):
    path = tmp_path / "n.jsonl"
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_nested_span_is_kept(tmp_path):
    empty = {"tokens": ["No", "entities"], "doc_id": "MEDLINE:2", "entity_mentions": []}
    docs = read_nested_docs(_write(tmp_path, NESTED, empty), Vocab(), "sc")
    spans = [(s.start, s.end, s.label_) for s in docs[0].spans["sc"]]
    expected = [(m["start"], m["end"], m["entity_type"]) for m in NESTED["entity_mentions"]]
    assert spans == expected  # same span with two labels included
    # doc.ents: the outermost spans; of the two-label span, the first label
    assert [(e.start, e.end, e.label_) for e in docs[0].ents] == [
        (0, 5, "RNA"),
        (7, 10, "cell_line"),
    ]
    assert docs[0].user_data == {"document": "MEDLINE:1", "sent_id": "MEDLINE:1-0"}
    assert len(docs[1].spans["sc"]) == 0 and [t.text for t in docs[1]] == ["No", "entities"]
    counts = CorpusCounts.of(docs, "sc")
    assert (counts.documents, counts.sentences, counts.tokens) == (2, 2, 12)
    assert counts.spans == {"RNA": 3, "protein": 1, "cell_line": 1, "cell_type": 1}


@pytest.mark.parametrize(
    "bad,message",
    [
        ('{"tokens": ["a"], "entity_mentions": [}', "not valid JSON"),
        ('["a", "b"]', "expected a JSON object"),
        ({"tokens": ["a"]}, "missing key 'entity_mentions'"),
        ({"entity_mentions": []}, "missing key 'tokens'"),
        (
            {"tokens": ["a", ""], "entity_mentions": []},
            "'tokens' must be a list of non-empty strings",
        ),
        (
            {"tokens": ["a"], "entity_mentions": [{"start": 0, "end": 2, "entity_type": "X"}]},
            r"mention 0: span \[0, 2\) is out of range for 1 tokens",
        ),
        (
            {"tokens": ["a"], "entity_mentions": [{"start": -1, "end": 1, "entity_type": "X"}]},
            "out of range",
        ),
        (
            {"tokens": ["a", "b"], "entity_mentions": [{"start": 1, "end": 1, "entity_type": "X"}]},
            r"end \(1\) must be greater than start \(1\)",
        ),
        (
            {"tokens": ["a", "b"], "entity_mentions": [{"start": 0, "end": 1}]},
            "missing key.s. entity_type",
        ),
        (
            {"tokens": ["a"], "entity_mentions": [{"start": "0", "end": 1, "entity_type": "X"}]},
            "must be integers",
        ),
        ({"tokens": ["a"], "entity_mentions": {"start": 0}}, "'entity_mentions' must be a list"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path, bad, message):
    path = _write(tmp_path, NESTED, "", bad)  # the blank line 2 is skipped, still counted
    with pytest.raises(CorpusFormatError, match=f"n.jsonl:3: .*{message}"):
        read_nested_docs(path, Vocab(), "sc")


def test_split_by_document_keeps_documents_whole():
    vocab = Vocab()
    docs = []
    for i in range(20):
        doc = Doc(vocab, words=["w"])
        doc.user_data["document"] = f"d{i // 4}"  # 5 documents of 4 sentences
        docs.append(doc)
    kept, held = split_by_document(docs, 0.2, seed=0)
    assert len(kept) == 16 and len(held) == 4
    assert len({d.user_data["document"] for d in held}) == 1
    assert not {d.user_data["document"] for d in held} & {d.user_data["document"] for d in kept}
    again, _ = split_by_document(docs, 0.2, seed=0)
    assert [d.user_data["document"] for d in again] == [d.user_data["document"] for d in kept]


def test_cli_converts_and_splits(tmp_path):
    records = [dict(NESTED, doc_id=f"MEDLINE:{i}") for i in range(10)]
    source = _write(tmp_path, *records)
    runner = CliRunner()
    result = runner.invoke(app, ["convert-nested", str(source), str(tmp_path / "all.spacy")])
    assert result.exit_code == 0, result.output
    assert "10 sentences" in result.output and "60 spans" in result.output
    result = runner.invoke(
        app,
        [
            "split-docs",
            str(tmp_path / "all.spacy"),
            str(tmp_path / "a.spacy"),
            str(tmp_path / "b.spacy"),
            "--spans-key",
            "sc",
        ],
    )
    assert result.exit_code == 0, result.output
    sizes = [len(DocBin().from_disk(tmp_path / f"{n}.spacy")) for n in "ab"]
    assert sizes == [8, 2]
    held = list(DocBin().from_disk(tmp_path / "b.spacy").get_docs(Vocab()))
    assert [len(d.spans["sc"]) for d in held] == [6, 6]
