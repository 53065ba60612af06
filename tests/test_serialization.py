"""Saving and loading: identical predictions, weights without pickle, damaged files named."""

import pickle
from pathlib import Path

import numpy
import pytest
import spacy
import srsly
import torch
from spacy.language import Language

from spacy_spanbert.pipe_files import PipelineFileError

from .util import LISTENER, TEXTS, make_examples, output_layer, predictions


@pytest.fixture(scope="module")
def listener_nlp(tiny_bert: Path) -> Language:
    """The shared `spanbert` encoder with `spanbert_ner` listening, initialized, with
    random output weights: an initialized model starts at the class prior and
    predicts no entities, which would leave the round trips nothing to compare."""
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert", config={"model": {"name": str(tiny_bert)}})
    nlp.add_pipe(
        "spanbert_ner", config={"model": {"tok2vec": LISTENER}, "min_label_probability": 0.0}
    )
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    output = output_layer(nlp)
    output.set_param(
        "W", numpy.random.default_rng(0).normal(size=output.get_param("W").shape).astype("f")
    )
    return nlp


def _shim_messages(model_file: Path) -> list:
    """The serialized shims (the encoder) inside a component's `model` file."""
    msg = srsly.msgpack_loads(model_file.read_bytes())
    return [srsly.msgpack_loads(shim) for node in msg["shims"] for shim in node]


@pytest.mark.issue(6)
@pytest.mark.parametrize("component", ["spanbert_ner", "spanbert"])
def test_encoder_weights_are_safetensors(trained_nlp, listener_nlp, tmp_path, component):
    nlp = trained_nlp if component == "spanbert_ner" else listener_nlp
    nlp.to_disk(tmp_path)
    (shim,) = _shim_messages(tmp_path / component / "model")
    assert shim["weights_format"] == "safetensors"
    header_length = int.from_bytes(shim["state"][:8], "little")
    assert shim["state"][8 : 8 + header_length].startswith(b"{")


@pytest.mark.issue(6)
def test_loading_never_unpickles(trained_nlp, listener_nlp, tmp_path, monkeypatch):
    trained_nlp.to_disk(tmp_path / "inline")
    listener_nlp.to_disk(tmp_path / "joint")

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling while loading a pipeline")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    assert predictions(spacy.load(tmp_path / "inline"), TEXTS) == predictions(trained_nlp, TEXTS)
    assert predictions(spacy.load(tmp_path / "joint"), TEXTS) == predictions(listener_nlp, TEXTS)


def test_joint_pipeline_bytes_round_trip(listener_nlp, tiny_bert):
    expected = predictions(listener_nlp, TEXTS)
    assert any(expected)
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert", config={"model": {"name": str(tiny_bert / "not-read")}})
    nlp.add_pipe("spanbert_ner", config={"model": {"tok2vec": LISTENER}})
    nlp.from_bytes(listener_nlp.to_bytes())
    assert predictions(nlp, TEXTS) == expected


@pytest.mark.issue(6)
@pytest.mark.parametrize("component", ["spanbert_ner", "spanbert"])
@pytest.mark.parametrize("file_name", ["model", "cfg"])
def test_truncated_file_is_named(trained_nlp, listener_nlp, tmp_path, component, file_name):
    nlp = trained_nlp if component == "spanbert_ner" else listener_nlp
    nlp.to_disk(tmp_path)
    damaged = tmp_path / component / file_name
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    with pytest.raises(
        PipelineFileError, match=f"'{component}' from {damaged}: the file is truncated"
    ):
        spacy.load(tmp_path)


@pytest.mark.issue(6)
@pytest.mark.parametrize("component", ["spanbert_ner", "spanbert"])
def test_missing_file_is_named(trained_nlp, listener_nlp, tmp_path, component):
    nlp = trained_nlp if component == "spanbert_ner" else listener_nlp
    nlp.to_disk(tmp_path)
    (tmp_path / component / "model").unlink()
    with pytest.raises(
        PipelineFileError, match=f"its file {tmp_path / component / 'model'} is missing"
    ):
        spacy.load(tmp_path)


@pytest.mark.parametrize("setting", ["tokenizer_config", "transformer_config"])
def test_trust_remote_code_is_refused_at_add_pipe(tiny_bert, setting):
    nlp = spacy.blank("en")
    config = {"model": {"name": str(tiny_bert), setting: {"trust_remote_code": True}}}
    with pytest.raises(ValueError, match="never runs code shipped with a model"):
        nlp.add_pipe("spanbert", config=config)
