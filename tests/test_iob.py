import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.vocab import Vocab

from spacy_spanbert.corpora import CorpusCounts, CorpusFormatError, read_iob_docs, tags_to_spans

from .util import CONLL_IOB1, WNUT_IOB2


def test_iob1_with_docstart(tmp_path):
    path = tmp_path / "c.conll"
    path.write_text(CONLL_IOB1)
    docs = read_iob_docs(path, Vocab(), "iob1")
    counts = CorpusCounts.of(docs)
    assert (counts.documents, counts.sentences, counts.tokens) == (2, 3, 9)
    assert counts.entities == {"ORG": 1, "MISC": 1, "PER": 2, "LOC": 1}
    assert [(e.text, e.label_) for e in docs[1].ents] == [
        ("Peter Blackburn", "PER"),
        ("Smith", "PER"),
    ]
    assert [d.user_data["document"] for d in docs] == [1, 1, 2]
    assert not any("DOCSTART" in t.text for d in docs for t in d)


def test_iob2_tab_only_lines_break_sentences(tmp_path):
    path = tmp_path / "w.conll"
    path.write_text(WNUT_IOB2)
    docs = read_iob_docs(path, Vocab(), "iob2", spans_key="sc")
    counts = CorpusCounts.of(docs, "sc")
    assert [d.text.split() for d in docs] == [
        ["@paul", "saw", "New", "York"],
        ["Apple", "rocks"],
        ["ok"],
    ]
    assert counts.entities == counts.spans == {"location": 1, "corporation": 1}


def test_iob2_rejects_inside_after_outside():
    with pytest.raises(CorpusFormatError, match="f.conll:12: 'I-PER' follows 'O'"):
        tags_to_spans(["B-LOC", "O", "I-PER"], "iob2", "f.conll", 10)
    assert tags_to_spans(["B-LOC", "O", "I-PER"], "iob1") == [(0, 1, "LOC"), (2, 3, "PER")]


def test_unknown_tag_and_column_count_name_the_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("a\tO\nb\tX-PER\n")
    with pytest.raises(CorpusFormatError, match=r"bad.conll:2: unknown tag 'X-PER'"):
        read_iob_docs(path, Vocab(), "iob2")
    path.write_text("a\tO\nb\tc\tO\n")
    with pytest.raises(CorpusFormatError, match=r"bad.conll:2: expected 2 columns"):
        read_iob_docs(path, Vocab(), "iob2")


# A sentence as chunks: None is an O token, (label, n) an entity of n tokens.
CHUNKS = st.lists(
    st.one_of(st.none(), st.tuples(st.sampled_from(["PER", "LOC", "ORG"]), st.integers(1, 3))),
    min_size=1,
    max_size=12,
)


def _render(sentence, scheme: str):
    """Tokens, tags and the (start, end, label) spans of a chunked sentence."""
    tokens, tags, spans = [], [], []
    previous = None
    for chunk in sentence:
        if chunk is None:
            tokens.append(f"w{len(tokens)}")
            tags.append("O")
        else:
            label, n = chunk
            spans.append((len(tokens), len(tokens) + n, label))
            first = "B" if scheme == "iob2" or previous == label else "I"
            tags.extend([f"{first}-{label}"] + [f"I-{label}"] * (n - 1))
            tokens.extend(f"e{len(tokens) + i}" for i in range(n))
        previous = None if chunk is None else chunk[0]
    return tokens, tags, spans


@settings(max_examples=60, deadline=None)
@given(
    documents=st.lists(st.lists(CHUNKS, min_size=1, max_size=4), min_size=1, max_size=4),
    scheme=st.sampled_from(["iob1", "iob2"]),
    tab_breaks=st.booleans(),
)
def test_counts_in_equal_counts_out(tmp_path_factory, documents, scheme, tab_breaks):
    """Whatever the documents, sentences and entities, the reader returns each
    sentence once, with its tokens and exactly its entities."""
    lines, expected = [], []
    for document in documents:
        if scheme == "iob1":
            lines += ["-DOCSTART- -X- O O", ""]
        for sentence in document:
            tokens, tags, spans = _render(sentence, scheme)
            lines += [f"{t}\t{tag}" for t, tag in zip(tokens, tags)]
            lines.append("\t" if tab_breaks else "")
            expected.append((tokens, spans))
    path = tmp_path_factory.mktemp("iob") / "corpus.conll"
    path.write_text("\n".join(lines) + "\n")
    docs = read_iob_docs(path, Vocab(), scheme, spans_key="sc")
    got = [([t.text for t in d], [(e.start, e.end, e.label_) for e in d.ents]) for d in docs]
    assert got == expected
    counts = CorpusCounts.of(docs, "sc")
    assert counts.sentences == len(expected)
    assert counts.tokens == sum(len(tokens) for tokens, _ in expected)
    assert counts.entities == counts.spans
    assert sum(counts.entities.values()) == sum(len(spans) for _, spans in expected)
    if scheme == "iob1":
        assert counts.documents == len(documents)
