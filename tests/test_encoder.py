import copy
import gc
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy
import pytest
import spacy
import srsly
import torch
from spacy.tokens import Doc
from spacy.util import registry
from spacy_transformers.layers.transformer_model import forward as transformer_forward
from thinc.api import Adam, ArgsKwargs, PyTorchShim
from transformers import BertTokenizerFast

from spacy_spanbert.encoder import SpanBertTransformerModel
from spacy_spanbert.encoder.loading import (
    EncoderLoadError,
    UnsupportedEncoderError,
    load_encoder,
    vocab_is_cased,
)

from .util import LISTENER, inline_encoder, make_examples, ner_config


def test_entry_points_resolve_in_fresh_process(tiny_bert):
    """spaCy finds our factories and architectures without `import spacy_spanbert`."""
    script = textwrap.dedent(
        f"""
        import sys, spacy
        assert "spacy_spanbert" not in sys.modules
        spacy.registry.architectures.get("spacy_spanbert.SpanBertEncoder.v1")
        spacy.registry.architectures.get("spacy_spanbert.SpanBertNER.v1")
        spacy.registry.architectures.get("spacy_spanbert.SpanBoundaryReducer.v2")
        spacy.registry.architectures.get("spacy_spanbert.SpanBoundaryReducer.v1")
        spacy.registry.misc.get("spacy_spanbert.sentence_ngram_suggester.v1")
        nlp = spacy.blank("en")
        encoder = {str(tiny_bert)!r}
        nlp.add_pipe("spanbert", config={{"model": {{"name": encoder}}}})
        nlp.add_pipe("spanbert_ner", config={{"model": {{"tok2vec": {{"name": encoder}}}}}})
        print(",".join(nlp.pipe_names))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "spanbert,spanbert_ner"


def test_spanbert_layout_loads_cased_with_512_positions(spanbert_layout):
    # The fault being fixed: a plain load of this layout lowercases and has no max length.
    plain = BertTokenizerFast.from_pretrained(str(spanbert_layout))
    assert plain.tokenize("Berlin")[0] != "Berlin"[: len(plain.tokenize("Berlin")[0])]
    assert plain.model_max_length > 1e20

    hf = load_encoder(spanbert_layout, {"use_fast": True}, {})
    assert hf.tokenizer.model_max_length == 512
    pieces = hf.tokenizer.tokenize("Berlin Obama")
    assert "".join(p.lstrip("#") for p in pieces) == "BerlinObama"
    assert hf.transformer.config.max_position_embeddings == 512


def test_uncased_vocabulary_stays_uncased(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\nberlin\n##s\n")
    assert not vocab_is_cased(tmp_path / "vocab.txt")
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\nBerlin\n")
    assert vocab_is_cased(tmp_path / "vocab.txt")


def test_missing_local_path_names_it(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(EncoderLoadError, match="no-such-model") as err:
        load_encoder(str(missing), {}, {})
    assert "does not exist" in str(err.value)


def test_unreachable_hub_id_says_how_to_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    script = (
        "from spacy_spanbert.encoder.loading import load_encoder, EncoderLoadError\n"
        "try:\n    load_encoder('SpanBERT/not-downloaded-here', {}, {})\n"
        "except EncoderLoadError as e:\n    print(e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "SpanBERT/not-downloaded-here" in out
    assert "HF_HUB_OFFLINE" in out and "local" in out


def test_non_bert_model_is_refused(tiny_bert, tmp_path):
    other = tmp_path / "roberta-like"
    shutil.copytree(tiny_bert, other)
    config = json.loads((other / "config.json").read_text())
    config["model_type"] = "roberta"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedEncoderError, match="roberta"):
        load_encoder(other, {}, {})


def test_directory_without_vocab_says_what_it_needs(tiny_bert, tmp_path):
    broken = tmp_path / "no-vocab"
    shutil.copytree(tiny_bert, broken)
    (broken / "vocab.txt").unlink()
    with pytest.raises(EncoderLoadError, match="needs config.json, vocab.txt"):
        load_encoder(broken, {}, {})


def test_saved_pipeline_loads_without_the_encoder_it_was_built_from(tiny_bert, tmp_path):
    """A packaged pipeline carries its encoder: the source directory can be gone."""
    source = tmp_path / "encoder-source"
    shutil.copytree(tiny_bert, source)
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert", config={"model": {"name": str(source)}})
    nlp.add_pipe("spanbert_ner", config={"model": {"tok2vec": LISTENER}})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    text = examples[0].text
    expected = nlp(text)._.trf_data.model_output.last_hidden_state
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(source)
    loaded = spacy.load(tmp_path / "pipeline")
    numpy.testing.assert_allclose(
        loaded(text)._.trf_data.model_output.last_hidden_state, expected, rtol=1e-5, atol=1e-6
    )


def _encoder(name, window: int = 8, stride: int = 8) -> SpanBertTransformerModel:
    config = {
        "@architectures": "spacy_spanbert.SpanBertEncoder.v1",
        "name": str(name),
        "get_spans": {
            "@span_getters": "spacy-transformers.strided_spans.v1",
            "window": window,
            "stride": stride,
        },
    }
    return registry.resolve({"encoder": config})["encoder"]


@pytest.mark.issue(13)
def test_copy_before_loading_keeps_cased_loading(spanbert_layout):
    """spacy-transformers' TransformerModel.copy() rebuilds `init` as its own, which
    loads with AutoTokenizer: SpanBERT's layout would come out lowercased."""
    copied = _encoder(spanbert_layout).copy()
    assert isinstance(copied, SpanBertTransformerModel)
    copied.initialize()
    assert copied.tokenizer.tokenize("Berlin")[0].startswith("B")
    assert copied.tokenizer.model_max_length == 512


@pytest.mark.issue(13)
def test_copy_after_loading_keeps_chunked_prediction_and_safetensors(tiny_bert):
    original = _encoder(tiny_bert)
    original.initialize()
    copied = original.copy()
    assert copied.attrs["has_transformer"] and copied.get_dim("nO") == 64
    assert copied.transformer is not original.transformer
    # 40 windows of 8 tokens, predicted 16 at a time: three forward passes.
    doc = Doc(spacy.blank("en").vocab, words=["Berlin"] * 320)
    calls = []
    handle = copied.transformer.register_forward_hook(lambda *args: calls.append(1))
    try:
        output = copied.predict([doc])
    finally:
        handle.remove()
    assert len(calls) == 3
    numpy.testing.assert_allclose(
        output.model_output.last_hidden_state,
        original.predict([doc]).model_output.last_hidden_state,
        rtol=1e-5,
        atol=1e-6,
    )
    shims = srsly.msgpack_loads(copied.to_bytes())["shims"]
    (shim,) = [srsly.msgpack_loads(shim) for node in shims for shim in node]
    assert shim["weights_format"] == "safetensors"


def test_forward_is_spacy_transformers_forward_for_its_getters(tiny_bert):
    """The encoder's own forward (windows chosen, then spacy-transformers' steps) gives
    spacy-transformers' output for its strided windows: the same windows, wordpieces,
    alignment (a window of 60 words of 9 wordpieces passes 512 and is cut) and vectors."""
    encoder = _encoder(tiny_bert, window=64, stride=48)
    encoder.initialize()
    vocab = spacy.blank("en").vocab
    docs = [Doc(vocab, words=["Zqxjkvwbt"] * 60 + ["Berlin"] * 20), Doc(vocab, words=["Paris"])]
    ours, _ = encoder(docs, is_train=False)
    theirs, _ = transformer_forward(encoder, docs, False)
    assert [[(s.start, s.end) for s in doc] for doc in ours.spans] == [
        [(s.start, s.end) for s in doc] for doc in theirs.spans
    ]
    assert ours.wordpieces.input_ids.shape[1] == 512  # cut, as spacy-transformers cuts
    numpy.testing.assert_array_equal(ours.wordpieces.input_ids, theirs.wordpieces.input_ids)
    numpy.testing.assert_array_equal(ours.align.dataXd, theirs.align.dataXd)
    numpy.testing.assert_array_equal(ours.align.lengths, theirs.align.lengths)
    numpy.testing.assert_allclose(
        ours.model_output.last_hidden_state, theirs.model_output.last_hidden_state, atol=1e-6
    )


@pytest.mark.issue(29)
def test_chunked_prediction_merges_every_output_as_one_pass(tiny_bert):
    """With all hidden states and attentions asked for, prediction in chunks of 2
    windows gives every output of one padded pass at every real wordpiece (what
    padding positions hold differs: each chunk is cut to its own longest window)."""
    config = {
        "@architectures": "spacy_spanbert.SpanBertEncoder.v1",
        "name": str(tiny_bert),
        "get_spans": {
            "@span_getters": "spacy-transformers.strided_spans.v1",
            "window": 8,
            "stride": 8,
        },
        "transformer_config": {"output_hidden_states": True, "output_attentions": True},
    }
    encoder = registry.resolve({"encoder": config})["encoder"]
    encoder.initialize()
    vocab = spacy.blank("en").vocab
    words = "Barack Obama visited Berlin on Monday and met Angela Merkel there".split()
    docs = [Doc(vocab, words=(words * 3)[:n]) for n in (9, 1, 20, 5, 3)]
    outputs = {}
    for size in (1000, 2):
        encoder.wrapper.attrs["chunk_windows"] = size
        outputs[size] = encoder.predict(docs).model_output
    one_pass, chunked = outputs[1000], outputs[2]
    assert set(chunked.keys()) == set(one_pass.keys()) >= {"hidden_states", "attentions"}
    mask = torch.as_tensor(numpy.asarray(encoder.predict(docs).wordpieces.attention_mask)).bool()
    for key in one_pass.keys():
        expected, got = one_pass[key], chunked[key]
        for a, b in zip(*((x,) if torch.is_tensor(x) else x for x in (expected, got))):
            assert a.shape == b.shape, key
            if a.dim() == 3:  # hidden states, at the real wordpieces
                torch.testing.assert_close(b[mask], a[mask], rtol=1e-4, atol=1e-5)
            elif a.dim() == 4:  # attentions: from and to real wordpieces
                pairs = mask[:, None, :, None] & mask[:, None, None, :]
                pairs = pairs.expand_as(a)
                torch.testing.assert_close(b[pairs], a[pairs], rtol=1e-4, atol=1e-5)
            else:
                torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


@pytest.mark.issue(16)
def test_training_in_chunks_of_windows_gives_the_one_pass_gradients(tiny_bert, tmp_path):
    """Windows trained in length-sorted chunks, each cut to its longest: the outputs
    and parameter gradients of one padded pass (dropout off, so both are exact)."""
    import dataclasses

    import torch
    from transformers.utils import ModelOutput

    encoder_dir = tmp_path / "no-dropout"
    shutil.copytree(tiny_bert, encoder_dir)
    config = json.loads((encoder_dir / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (encoder_dir / "config.json").write_text(json.dumps(config))
    encoder = _encoder(encoder_dir)
    encoder.initialize()
    vocab = spacy.blank("en").vocab
    words = "Barack Obama visited Berlin on Monday and met Angela Merkel there".split()
    docs = [Doc(vocab, words=(words * 10)[:n]) for n in (37, 1, 20, 5, 64, 12, 2)]
    gradient = None
    results = {}
    for size in (1000, 2):
        encoder.wrapper.attrs["chunk_windows"] = size
        encoder.transformer.zero_grad()
        output, backprop = encoder.begin_update(docs)
        hidden = output.model_output.last_hidden_state
        if gradient is None:
            # Gradients reach real wordpieces only (as from the token alignment).
            real = torch.as_tensor(numpy.asarray(output.wordpieces.attention_mask)).float()
            gradient = torch.randn(hidden.shape, generator=torch.Generator().manual_seed(0))
            gradient *= real[:, :, None]
        backprop(dataclasses.replace(output, model_output=ModelOutput(last_hidden_state=gradient)))
        grads = {
            n: p.grad.clone()
            for n, p in encoder.transformer.named_parameters()
            if p.grad is not None
        }
        results[size] = (hidden.detach().clone(), grads)
    (one_pass, one_pass_grads), (chunked, chunked_grads) = results[1000], results[2]
    mask = torch.as_tensor(numpy.asarray(output.wordpieces.attention_mask)).bool()
    numpy.testing.assert_allclose(chunked[mask], one_pass[mask], rtol=1e-4, atol=1e-5)
    assert one_pass_grads.keys() == chunked_grads.keys() and len(one_pass_grads) > 10
    for name in one_pass_grads:
        numpy.testing.assert_allclose(
            chunked_grads[name], one_pass_grads[name], rtol=1e-3, atol=1e-5
        )


def _encoder_shim(tiny_bert):
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert_ner", config=ner_config(tiny_bert))
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    shim = inline_encoder(nlp).wrapper.shims[0]
    return nlp, examples, optimizer, shim


def _torch_tensors() -> int:
    gc.collect()
    return sum(isinstance(obj, torch.Tensor) for obj in gc.get_objects())


@pytest.mark.issue(16)
def test_updates_do_not_accumulate_tensors(tiny_bert):
    """thinc's PyTorchShim.finish_update leaves one tensor per parameter per update
    alive (a chain of views): 40 updates of the tiny encoder would add ~1,500."""
    nlp, examples, optimizer, shim = _encoder_shim(tiny_bert)
    n_parameters = len(list(shim._model.parameters()))
    for _ in range(5):
        nlp.update(examples, sgd=optimizer)
    before = _torch_tensors()
    for _ in range(40):
        nlp.update(examples, sgd=optimizer)
    assert _torch_tensors() - before < n_parameters


@pytest.mark.issue(16)
def test_update_in_place_gives_thincs_weights(tiny_bert):
    _, _, _, shim = _encoder_shim(tiny_bert)
    ours, thincs = copy.deepcopy(shim), copy.deepcopy(shim)
    for model in (ours, thincs):
        for i, parameter in enumerate(model._model.parameters()):
            parameter.grad = torch.full_like(parameter, 0.01 * (i % 5 + 1))
    ours.finish_update(Adam(0.01))
    PyTorchShim.finish_update(thincs, Adam(0.01))
    before = dict(shim._model.named_parameters())
    pairs = list(zip(ours._model.named_parameters(), thincs._model.named_parameters()))
    assert all(not torch.equal(p, before[name]) for (name, p), _ in pairs)  # a real step
    for (name, ours_p), (_, thincs_p) in pairs:
        torch.testing.assert_close(ours_p, thincs_p, rtol=0, atol=0, msg=name)
        assert not ours_p.grad.any()


@pytest.mark.issue(29)
def test_predict_switches_modes_only_between_training_and_prediction(tiny_bert):
    """thinc's predict walks every module twice per call (eval, then train); ours leaves
    the encoder in eval mode between predictions, drops no units there (the same output
    as thinc's predict) and trains with dropout again after an update."""
    nlp, examples, optimizer, shim = _encoder_shim(tiny_bert)
    model = shim._model
    nlp.update(examples, sgd=optimizer)
    assert model.training
    docs = [eg.predicted for eg in examples]
    first = [doc.ents for doc in nlp.pipe([doc.text for doc in docs])]
    assert not model.training
    calls = []
    model.register_forward_pre_hook(lambda module, args: calls.append(module.training))
    again = [doc.ents for doc in nlp.pipe([doc.text for doc in docs])]
    assert calls and not any(calls) and [list(e) for e in again] == [list(e) for e in first]
    inputs = ArgsKwargs(args=(), kwargs={"input_ids": torch.tensor([[2, 5, 6, 3]])})
    thincs = PyTorchShim.predict(shim, inputs)["last_hidden_state"]
    torch.testing.assert_close(shim.predict(inputs)["last_hidden_state"], thincs)
    nlp.update(examples, sgd=optimizer)
    assert model.training and calls[-1] is True
