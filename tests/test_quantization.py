"""The int8 encoder: a quantized copy of a trained pipeline loads, predicts close to
full precision, saves and reloads unchanged, and refuses training."""

from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.language import Language
from torch.ao.nn.quantized.dynamic import Linear as QuantizedLinear
from typer.testing import CliRunner

from spacy_spanbert.cli import app
from spacy_spanbert.compat import shim_torch_model
from spacy_spanbert.encoder.quantization import QuantizedEncoderError
from spacy_spanbert.encoder.quantized_copy import (
    encoder_setting_paths,
    load_quantized,
    smooth_encoders,
)
from spacy_spanbert.encoder.smoothing import SmoothedLinear, input_maxima, smooth
from spacy_spanbert.pipe_files import SavedConfigMismatch

from .util import LISTENER, TEXTS, inline_encoder, make_examples, ner_config, predictions


@pytest.fixture(scope="module")
def saved(trained_nlp: Language, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pipelines") / "fp32"
    trained_nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def quantized(saved: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pipelines") / "int8"
    result = CliRunner().invoke(app, ["quantize", str(saved), str(path)])
    assert result.exit_code == 0, result.output
    return path


def _transformer(nlp: Language) -> torch.nn.Module:
    return shim_torch_model(inline_encoder(nlp).wrapper.shims[0])


def _token_vectors(nlp: Language) -> numpy.ndarray:
    tok2vec = nlp.get_pipe("spanbert_ner").model.get_ref("tok2vec")
    return numpy.concatenate(tok2vec.predict([nlp.make_doc(text) for text in TEXTS]))


@pytest.mark.issue(29)
def test_quantize_writes_an_int8_pipeline_that_loads(saved, quantized):
    nlp = spacy.load(quantized)
    assert nlp.config["components"]["spanbert_ner"]["model"]["tok2vec"]["quantization"] == "int8"
    linears = {
        name: module
        for name, module in _transformer(nlp).named_modules()
        if isinstance(module, (torch.nn.Linear, QuantizedLinear))
    }
    kept = sorted(name for name, m in linears.items() if isinstance(m, torch.nn.Linear))
    # All but the feed-forward output projection of each of the 2 layers are int8:
    # query, key, value, attention output and feed-forward input, and the pooler.
    assert kept == ["encoder.layer.0.output.dense", "encoder.layer.1.output.dense"]
    assert sum(isinstance(m, QuantizedLinear) for m in linears.values()) == 2 * 5 + 1
    full = _token_vectors(spacy.load(saved))
    int8 = _token_vectors(nlp)
    cosine = (full * int8).sum(1) / (
        numpy.linalg.norm(full, axis=1) * numpy.linalg.norm(int8, axis=1)
    )
    assert cosine.min() > 0.99
    assert not numpy.array_equal(full, int8)


@pytest.mark.issue(29)
def test_a_quantized_pipeline_round_trips(quantized, tmp_path):
    nlp = spacy.load(quantized)
    nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    assert predictions(reloaded, TEXTS) == predictions(nlp, TEXTS)
    numpy.testing.assert_array_equal(_token_vectors(reloaded), _token_vectors(nlp))
    weights = {
        name: m.weight().int_repr()
        for name, m in _transformer(nlp).named_modules()
        if isinstance(m, QuantizedLinear)
    }
    for name, module in _transformer(reloaded).named_modules():
        if isinstance(module, QuantizedLinear):
            assert torch.equal(module.weight().int_repr(), weights[name])
            assert torch.equal(
                module.weight().q_per_channel_scales(),
                dict(_transformer(nlp).named_modules())[name].weight().q_per_channel_scales(),
            )


@pytest.mark.issue(29)
def test_the_setting_at_load_time_is_the_quantize_command(saved, quantized):
    overridden = spacy.load(
        saved, config={"components.spanbert_ner.model.tok2vec.quantization": "int8"}
    )
    numpy.testing.assert_array_equal(
        _token_vectors(overridden), _token_vectors(spacy.load(quantized))
    )


@pytest.mark.issue(29)
def test_a_quantized_encoder_refuses_training(quantized):
    nlp = spacy.load(quantized)
    with pytest.raises(QuantizedEncoderError, match="cannot be trained.*quantize"):
        nlp.update(make_examples(nlp), sgd=nlp.create_optimizer())


@pytest.mark.issue(29)
def test_int8_weights_do_not_load_as_full_precision(quantized):
    with pytest.raises(SavedConfigMismatch, match="full-precision weights are not"):
        spacy.load(quantized, config={"components.spanbert_ner.model.tok2vec.quantization": None})


@pytest.mark.issue(29)
def test_quantization_settings_are_checked(tiny_bert):
    nlp = spacy.blank("en")
    config = ner_config(tiny_bert)
    config["model"]["tok2vec"]["quantization"] = "int4"
    with pytest.raises(ValueError, match="Unknown encoder quantization 'int4'.*'int8'"):
        nlp.add_pipe("spanbert_ner", config=config)
    config["model"]["tok2vec"].update(quantization="int8", mixed_precision=True)
    with pytest.raises(ValueError, match="both mixed_precision.*choose one"):
        nlp.add_pipe("spanbert_ner", name="other", config=config)


@pytest.mark.issue(29)
def test_every_encoder_of_a_pipeline_is_found(tiny_bert, trained_nlp, tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert", config={"model": {"name": str(tiny_bert)}})
    nlp.add_pipe("spanbert_ner", config={"model": {"tok2vec": LISTENER}})
    assert encoder_setting_paths(nlp.config) == ["components.spanbert.model"]
    assert encoder_setting_paths(trained_nlp.config) == ["components.spanbert_ner.model.tok2vec"]
    spacy.blank("en").to_disk(tmp_path)
    with pytest.raises(ValueError, match="no SpanBERT encoder"):
        load_quantized(str(tmp_path), "int8")


@pytest.mark.issue(29)
def test_smoothing_evens_input_channels_and_keeps_the_output():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 4))
    x = torch.randn(32, 8)
    x[:, 0] *= 100.0
    expected = model(x)
    maxima = input_maxima({"0": model[0]}, lambda: model(x))
    torch.testing.assert_close(maxima["0"], x.abs().amax(0))
    smooth(model, maxima)
    assert isinstance(model[0], SmoothedLinear)
    torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-4)
    evened = (x * model[0].input_scale).abs().amax(0)
    assert evened.max() / evened.min() < (x.abs().amax(0).max() / x.abs().amax(0).min()) / 10


@pytest.mark.issue(29)
def test_a_smoothed_encoder_computes_the_same_and_round_trips(saved, tmp_path):
    nlp = spacy.load(saved)
    before = _token_vectors(nlp)
    smooth_encoders(nlp, TEXTS)
    smoothed = [m for m in _transformer(nlp).modules() if isinstance(m, SmoothedLinear)]
    assert len(smoothed) == 2 * 5 + 1
    numpy.testing.assert_allclose(_token_vectors(nlp), before, rtol=1e-4, atol=1e-4)
    nlp.to_disk(tmp_path)
    numpy.testing.assert_array_equal(_token_vectors(spacy.load(tmp_path)), _token_vectors(nlp))


@pytest.mark.issue(29)
def test_quantize_with_calibration_texts_smooths_then_quantizes(saved, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n")
    out = tmp_path / "int8"
    args = ["quantize", str(saved), str(out), "--calibration", str(texts)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Calibrating on {len(TEXTS)} texts" in result.output
    nlp = spacy.load(out)
    smoothed = [m for m in _transformer(nlp).modules() if isinstance(m, SmoothedLinear)]
    assert len(smoothed) == 2 * 5 + 1
    assert all(isinstance(m.linear, QuantizedLinear) for m in smoothed)
    nlp.to_disk(tmp_path / "again")
    reloaded = spacy.load(tmp_path / "again")
    numpy.testing.assert_array_equal(_token_vectors(reloaded), _token_vectors(nlp))
    full = _token_vectors(spacy.load(saved))
    int8 = _token_vectors(nlp)
    norms = numpy.linalg.norm(full, axis=1) * numpy.linalg.norm(int8, axis=1)
    assert ((full * int8).sum(1) / norms).min() > 0.99
