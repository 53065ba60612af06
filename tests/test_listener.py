"""spanbert_ner listening to a shared `spanbert` component."""

import numpy
import spacy
from thinc.api import Adam

from .util import LISTENER, make_examples


def _joint(tiny_bert):
    nlp = spacy.blank("en")
    # A random tiny encoder needs a fast rate: heads 1e-2, encoder 1e-3 (see below).
    nlp.add_pipe("spanbert", config={"model": {"name": str(tiny_bert)}, "encoder_lr_scale": 0.1})
    nlp.add_pipe("spanbert_ner", config={"model": {"tok2vec": LISTENER, "dropout": 0.0}})
    return nlp


def _encoder_weights(nlp):
    transformer = nlp.get_pipe("spanbert").model.transformer
    return transformer.embeddings.word_embeddings.weight.detach().numpy().copy()


def test_listener_trains_the_shared_encoder(tiny_bert):
    nlp = _joint(tiny_bert)
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.01)
    assert nlp.get_pipe("spanbert").listening_components == ["spanbert_ner"]
    before = _encoder_weights(nlp)
    for _ in range(60):
        losses = nlp.update(examples, sgd=optimizer)
    assert numpy.isfinite(losses["spanbert_ner"])
    assert not numpy.allclose(before, _encoder_weights(nlp))
    assert nlp.evaluate(examples)["ents_f"] > 0.5


def test_replace_listeners_then_source(tiny_bert, tmp_path):
    nlp = _joint(tiny_bert)
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    texts = [eg.text for eg in examples]
    expected = _probabilities(nlp, texts)
    nlp.replace_listeners("spanbert", "spanbert_ner", ["model.tok2vec"])
    nlp.to_disk(tmp_path / "joint")
    tok2vec_cfg = spacy.load(tmp_path / "joint").config["components"]["spanbert_ner"]["model"][
        "tok2vec"
    ]
    assert tok2vec_cfg["@architectures"] == "spacy_spanbert.SpanBertTok2Vec.v1"
    other = spacy.blank("en")
    other.add_pipe("spanbert_ner", source=spacy.load(tmp_path / "joint"))
    numpy.testing.assert_allclose(_probabilities(other, texts), expected, rtol=1e-4, atol=1e-6)


def _probabilities(nlp, texts):
    docs = list(nlp.pipe(texts, disable=["spanbert_ner"]))
    return nlp.get_pipe("spanbert_ner").predict(docs)[1]
