"""The project's corpus conversion: every format, counts in = counts out."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from weasel.util import load_project_config

from .util import CONLL_IOB1, NESTED, ROOT, WNUT_IOB2


def _convert(corpus, source, output, layout="sentence"):
    script = str(ROOT / "scripts/convert_corpus.py")
    result = subprocess.run(
        [sys.executable, script, corpus, str(source), str(output), layout],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _docs(path):
    return list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))


@pytest.mark.parametrize("corpus,text", [("conll2003", CONLL_IOB1), ("wnut17", WNUT_IOB2)])
def test_iob_corpora_keep_every_sentence_and_entity(tmp_path, corpus, text):
    (tmp_path / corpus).mkdir()
    for split in ("train", "dev", "test"):
        (tmp_path / corpus / f"{split}.conll").write_text(text)
    output = _convert(corpus, tmp_path, tmp_path / "out")
    expected_sentences = 3
    expected_entities = 5 if corpus == "conll2003" else 2
    for split in ("train", "dev", "test"):
        docs = _docs(tmp_path / "out" / f"{split}.spacy")
        assert len(docs) == expected_sentences
        assert sum(len(d.ents) for d in docs) == expected_entities
        assert [list(d.spans["sc"]) == list(d.ents) for d in docs] == [True] * len(docs)
    assert output.count(f"{expected_sentences} sentences") == 3


def test_nested_corpus_is_split_by_document(tmp_path):
    (tmp_path / "genia_nested").mkdir()
    records = [dict(NESTED, doc_id=f"MEDLINE:{i // 2}") for i in range(20)]  # 10 documents
    (tmp_path / "genia_nested" / "dev.jsonl").write_text("\n".join(map(json.dumps, records)))
    _convert("genia_nested", tmp_path, tmp_path / "out")
    train, dev = _docs(tmp_path / "out" / "train.spacy"), _docs(tmp_path / "out" / "dev.spacy")
    assert (len(train), len(dev)) == (16, 4)
    assert sum(len(d.spans["sc"]) for d in train + dev) == 20 * len(NESTED["entity_mentions"])
    assert not {d.user_data["document"] for d in train} & {d.user_data["document"] for d in dev}


@pytest.mark.issue(15)
@pytest.mark.parametrize("corpus,text", [("conll2003", CONLL_IOB1), ("wnut17", WNUT_IOB2)])
def test_document_layout_keeps_every_sentence_token_and_entity(tmp_path, corpus, text):
    (tmp_path / corpus).mkdir()
    for split in ("train", "dev", "test"):
        (tmp_path / corpus / f"{split}.conll").write_text(text)
    _convert(corpus, tmp_path, tmp_path / "sentences")
    output = _convert(corpus, tmp_path, tmp_path / "documents", layout="document")
    sentences = _docs(tmp_path / "sentences" / "train.spacy")
    documents = _docs(tmp_path / "documents" / "train.spacy")
    # CoNLL-2003: two -DOCSTART- documents; WNUT-17 (no markers): one group of 10.
    assert len(documents) == (2 if corpus == "conll2003" else 1)
    assert [[t.text for t in s] for d in documents for s in d.sents] == [
        [t.text for t in d] for d in sentences
    ]
    assert [(e.text, e.label_) for d in documents for e in d.ents] == [
        (e.text, e.label_) for d in sentences for e in d.ents
    ]
    assert [(s.text, s.label_) for d in documents for s in d.spans["sc"]] == [
        (s.text, s.label_) for d in sentences for s in d.spans["sc"]
    ]
    assert output.count("3 sentences") == 3


@pytest.mark.issue(15)
def test_nested_document_layout_groups_by_doc_id(tmp_path):
    (tmp_path / "genia_nested").mkdir()
    records = [dict(NESTED, doc_id=f"MEDLINE:{i // 2}") for i in range(20)]  # 10 documents
    (tmp_path / "genia_nested" / "dev.jsonl").write_text("\n".join(map(json.dumps, records)))
    _convert("genia_nested", tmp_path, tmp_path / "out", layout="document")
    train, dev = _docs(tmp_path / "out" / "train.spacy"), _docs(tmp_path / "out" / "dev.spacy")
    assert (len(train), len(dev)) == (8, 2)
    assert all(len(list(d.sents)) == 2 for d in train + dev)
    assert sum(len(d.spans["sc"]) for d in train + dev) == 20 * len(NESTED["entity_mentions"])


def test_unknown_corpus_is_named(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/convert_corpus.py"),
            "ontonotes",
            str(tmp_path),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode != 0 and "Unknown corpus 'ontonotes'" in result.stderr


def test_project_commands_and_workflow():
    project = load_project_config(ROOT)
    names = [command["name"] for command in project["commands"]]
    assert project["workflows"]["all"] == [
        "encoder",
        "convert",
        "train",
        "evaluate",
        "package",
        "demo",
        "annotate",
    ]
    assert "annotate-ray" in names
    assert set(project["workflows"]["all"]) <= set(names)
    train = next(c for c in project["commands"] if c["name"] == "train")
    assert "--gpu-id -1" in " ".join(train["script"])  # vars.gpu_id, substituted
    assert project["workflows"]["pretrained"] == ["encoder", "convert", "pretrain"]


def test_train_fine_tunes_the_pretrained_encoder_when_told():
    """raw text -> `pretrain` -> `train` on its output, through one variable."""
    pretrained = "training/encoders/sample-pretrained"
    project = load_project_config(ROOT, overrides={"vars.train_encoder": pretrained})
    commands = {command["name"]: " ".join(command["script"]) for command in project["commands"]}
    assert f"--paths.encoder {pretrained}" in commands["train"]
    assert f"assets/encoders/minilm corpus/sample/train.spacy {pretrained}" in commands["pretrain"]
    default = load_project_config(ROOT)
    train = next(c for c in default["commands"] if c["name"] == "train")
    assert "--paths.encoder assets/encoders/minilm" in " ".join(train["script"])
    assets = {Path(asset["dest"]).parent.name for asset in project["assets"]}
    assert assets == {"conll2003", "wnut17", "genia_nested", "raw_text"}
