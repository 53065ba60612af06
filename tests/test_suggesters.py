import numpy
import pytest
import spacy
from spacy.tokens import Doc

from spacy_spanbert.span_pipe.suggesters import build_sentence_ngram_suggester


def test_all_ngrams_without_sentences():
    nlp = spacy.blank("en")
    doc = nlp.make_doc("a b c")
    spans = build_sentence_ngram_suggester(1, 2)([doc])
    assert spans.lengths.tolist() == [5]
    assert sorted(map(tuple, spans.dataXd.tolist())) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]


def test_no_span_crosses_a_sentence_boundary():
    nlp = spacy.blank("en")
    words = ["A", "b", ".", "C", "d", "e", "."]
    starts = [True, False, False, True, False, False, False]
    docs = [Doc(nlp.vocab, words=words, sent_starts=starts), nlp(""), nlp("F")]
    spans = build_sentence_ngram_suggester(1, 4)(docs)
    assert spans.lengths.tolist()[1:] == [0, 1]
    sent_id = numpy.cumsum([t.is_sent_start for t in docs[0]])
    for start, end in spans[0].dataXd.tolist():
        assert sent_id[start] == sent_id[end - 1]
    # "A b ." is 3 tokens: 6 spans; "C d e ." is 4 tokens: 10 spans.
    assert spans.lengths.tolist()[0] == 16


@pytest.mark.parametrize("min_size,max_size", [(0, 3), (3, 2)])
def test_bad_sizes_are_refused(min_size, max_size):
    with pytest.raises(ValueError, match="min_size"):
        build_sentence_ngram_suggester(min_size, max_size)


def test_no_span_starts_or_ends_on_whitespace():
    nlp = spacy.blank("en")
    doc = nlp("a  b")  # tokens: "a", " ", "b"
    assert doc[1].is_space
    spans = build_sentence_ngram_suggester(1, 3)([doc])
    assert sorted(map(tuple, spans.dataXd.tolist())) == [(0, 1), (0, 3), (2, 3)]
