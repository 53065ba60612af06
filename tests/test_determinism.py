"""The same config and seed train to the same model on CPU, in two separate runs."""

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from .util import TRAIN_DATA, make_examples, predictions, spacy_train


@pytest.mark.issue(6)
def test_same_seed_same_scores_and_predictions(tiny_bert, tmp_path):
    corpus = tmp_path / "train.spacy"
    DocBin(docs=[eg.reference for eg in make_examples(spacy.blank("en"))]).to_disk(corpus)
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("other seed", 1)):
        spacy_train(
            "tests/configs/spanbert_ner_tiny.cfg",
            tmp_path / name,
            corpus,
            tiny_bert,
            "--system.seed",
            str(seed),
            "--training.max_steps",
            "40",
            "--training.optimizer.learn_rate.total_steps",
            "40",
            "--training.eval_frequency",
            "20",
            # Dropout draws random numbers at every step: the seed must fix them too.
            "--training.dropout",
            "0.1",
            "--components.spanbert_ner.model.dropout",
            "0.1",
        )
        model = tmp_path / name / "model-last"
        runs[name] = (
            srsly.read_json(model / "meta.json")["performance"],
            predictions(spacy.load(model), [text for text, _ in TRAIN_DATA]),
        )
    assert runs["a"] == runs["b"]
    # The check can fail: another seed gives other scores.
    assert runs["other seed"][1] != runs["a"][1]
