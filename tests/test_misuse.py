"""Misuse fails early (add_pipe or initialize) with an error that says what to do."""

import pytest
import spacy
from spacy.training import Example

from .util import TRAIN_DATA, make_examples, ner_config


def test_overlapping_gold_spans_point_to_spancat(tiny_bert):
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert_ner", config=ner_config(tiny_bert))
    text = "The University of Paris hired Marie Curie."
    overlapping = [(4, 23, "ORG"), (18, 23, "LOC"), (30, 41, "PER")]
    examples = [Example.from_dict(nlp.make_doc(text), {"spans": {"sc": overlapping}})]
    with pytest.raises(ValueError, match="learns doc.ents, which never overlap.*spancat"):
        nlp.initialize(lambda: examples)


@pytest.mark.parametrize("width", [0, -3])
def test_max_span_width_below_one_is_refused_at_add_pipe(tiny_bert, width):
    config = ner_config(tiny_bert)
    config["model"]["max_span_width"] = width
    with pytest.raises(ValueError, match=f"max_span_width must be at least 1 token, got {width}"):
        spacy.blank("en").add_pipe("spanbert_ner", config=config)


@pytest.mark.parametrize("component", ["spanbert_ner", "spanbert"])
def test_window_wider_than_the_encoder_positions_is_refused_at_initialize(tiny_bert, component):
    get_spans = {
        "@span_getters": "spacy-transformers.strided_spans.v1",
        "window": 600,
        "stride": 500,
    }
    nlp = spacy.blank("en")
    if component == "spanbert":
        nlp.add_pipe("spanbert", config={"model": {"name": str(tiny_bert), "get_spans": get_spans}})
    else:
        config = ner_config(tiny_bert)
        config["model"]["tok2vec"]["get_spans"] = get_spans
        nlp.add_pipe("spanbert_ner", config=config)
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": e}) for t, e in TRAIN_DATA]
    with pytest.raises(
        ValueError, match="at most 512 wordpieces, but its span getter gives windows of 600 tokens"
    ):
        nlp.initialize(lambda: examples)


def test_window_that_fits_is_accepted(tiny_bert):
    config = ner_config(tiny_bert)
    config["model"]["tok2vec"]["get_spans"] = {
        "@span_getters": "spacy-transformers.strided_spans.v1",
        "window": 510,
        "stride": 400,
    }
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert_ner", config=config)
    nlp.initialize(lambda: make_examples(nlp))
    assert nlp("Barack Obama visited Berlin.").text
