"""One test per private or undocumented upstream name in `spacy_spanbert.compat`: each
checks the behaviour this package relies on, and fails naming the upstream change."""

from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy_transformers.data_classes import WordpieceBatch
from thinc.api import Linear, Logistic, Model, NumpyOps, PyTorchGradScaler, Softmax_v2, chain
from transformers import BertModel, BertTokenizerFast

from spacy_spanbert import compat
from spacy_spanbert.encoder import SpanBertTransformerModel
from spacy_spanbert.encoder.loading import load_encoder

from .util import TEXTS


def changed(name: str, what: str) -> str:
    """The failure message: which upstream name changed, and how."""
    return (
        f"Upstream change: {name} {what}. Update spacy_spanbert/compat.py for the "
        f"installed version (tested with {compat.TESTED_WITH})."
    )


@pytest.fixture(scope="module")
def tokenizer(tiny_bert: Path) -> BertTokenizerFast:
    return BertTokenizerFast.from_pretrained(str(tiny_bert))


@pytest.fixture(scope="module")
def docs() -> list:
    nlp = spacy.blank("en")
    return [nlp(text) for text in TEXTS[:3]]


@pytest.fixture(scope="module")
def loaded_encoder(tiny_bert: Path) -> SpanBertTransformerModel:
    model = SpanBertTransformerModel(
        str(tiny_bert), lambda docs: compat.get_strided_spans(docs, 16, 12), {"use_fast": True}, {}
    )
    model.initialize()
    return model


def test_a_missing_upstream_name_fails_at_import_naming_it():
    with pytest.raises(compat.UpstreamChanged, match="thinc.layers.chain.no_such_name"):
        compat._upstream("thinc.layers.chain", "no_such_name")
    with pytest.raises(compat.UpstreamChanged, match=r"tested with spacy-transformers 1\.4"):
        compat._upstream("spacy_transformers.no_such_module", "anything")


def test_hf_objects_fields():
    hf = compat.HFObjects(None, None, None, {"use_fast": True}, {"x": 1})
    assert (hf.tokenizer, hf.transformer, hf.vocab_file_contents) == (None, None, None), changed(
        "spacy_transformers.data_classes.HFObjects", "no longer takes its fields in order"
    )
    assert compat.hf_init_configs(hf) == ({"use_fast": True}, {"x": 1}), changed(
        "HFObjects._init_tokenizer_config/_init_transformer_config", "moved"
    )


def test_huggingface_tokenize_gives_offsets(tokenizer):
    encoding = compat.huggingface_tokenize(tokenizer, ["Barack Obama", "Berlin"])
    for key in ("input_ids", "attention_mask", "offset_mapping"):
        assert key in encoding, changed(
            "spacy_transformers.layers.transformer_model.huggingface_tokenize",
            f"no longer returns {key}",
        )
    assert encoding["input_ids"].shape[0] == 2


def test_alignments_map_each_token_to_its_wordpieces(tokenizer, docs):
    spans = [doc[:] for doc in docs]
    encoding = compat.huggingface_tokenize(tokenizer, [span.text for span in spans])
    wordpieces = WordpieceBatch.from_batch_encoding(encoding)
    by_offsets = compat.get_alignment_via_offset_mapping(spans, encoding["offset_mapping"])
    by_strings = compat.get_alignment(spans, wordpieces.strings, tokenizer.all_special_tokens)
    n_tokens = sum(len(span) for span in spans)
    for name, align in (
        ("get_alignment_via_offset_mapping", by_offsets),
        ("get_alignment", by_strings),
    ):
        assert len(align.lengths) == n_tokens and all(align.lengths >= 1), changed(
            f"spacy_transformers.align.{name}", "no longer aligns every token to wordpieces"
        )
    numpy.testing.assert_array_equal(by_offsets.dataXd, by_strings.dataXd)


def test_truncate_oversize_splits_cuts_to_the_limit(tokenizer, docs):
    spans = [doc[:] for doc in docs]
    encoding = compat.huggingface_tokenize(tokenizer, [span.text for span in spans])
    wordpieces = WordpieceBatch.from_batch_encoding(encoding)
    align = compat.get_alignment_via_offset_mapping(spans, encoding["offset_mapping"])
    cut, cut_align = compat.truncate_oversize_splits(wordpieces, align, 6)
    assert cut.input_ids.shape[1] <= 6 and max(cut.lengths) <= 6, changed(
        "spacy_transformers.truncate.truncate_oversize_splits", "no longer cuts to max_length"
    )
    assert len(cut_align.lengths) == len(align.lengths)


def test_get_strided_spans_covers_the_doc(docs):
    windows = compat.get_strided_spans(docs[:1], 4, 3)[0]
    assert [(s.start, s.end) for s in windows[:2]] == [(0, 4), (3, 7)], changed(
        "spacy_transformers.span_getters.get_strided_spans", "gives other windows"
    )
    assert windows[-1].end == len(docs[0])


def test_doc_extension_attribute_is_the_one_the_encoder_sets(tiny_bert):
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert", config={"model": {"name": str(tiny_bert)}})
    assert Doc.has_extension(compat.DOC_EXT_ATTR), changed(
        "spacy_transformers.pipeline_component.DOC_EXT_ATTR",
        "is no longer the doc extension the Transformer component sets",
    )


def test_set_pytorch_transformer_and_the_transformer_model_layout(tiny_bert):
    model = SpanBertTransformerModel(str(tiny_bert), lambda docs: [], {"use_fast": True}, {})
    assert model.tokenizer is None and not model.attrs["has_transformer"], changed(
        "spacy_transformers.layers.TransformerModel", "reads its wrapper elsewhere than layers[0]"
    )
    compat.set_pytorch_transformer(model, load_encoder(str(tiny_bert), {"use_fast": True}, {}))
    assert model.attrs["has_transformer"] and isinstance(model.transformer, BertModel), changed(
        "spacy_transformers.layers.transformer_model.set_pytorch_transformer",
        "no longer sets the shim's transformer",
    )
    assert model.get_dim("nO") == model.transformer.config.hidden_size


def test_shim_accessors(loaded_encoder):
    shim = loaded_encoder.layers[0].shims[0]
    hf = compat.shim_hf_objects(shim)
    assert isinstance(hf.transformer, BertModel), changed("HFShim._hfmodel", "moved")
    assert compat.shim_torch_model(shim) is hf.transformer, changed(
        "PyTorchShim._model", "is no longer the torch module the shim runs"
    )
    assert isinstance(compat.shim_grad_scaler(shim), PyTorchGradScaler), changed(
        "PyTorchShim._grad_scaler", "moved"
    )
    replacement = compat.HFObjects(hf.tokenizer, hf.transformer, None, {}, {})
    copy = type(shim)(compat.HFObjects(None, None, None, {}, {}))
    compat.set_shim_hf_objects(copy, replacement)
    assert compat.shim_hf_objects(copy) is replacement
    assert compat.shim_torch_model(copy) is hf.transformer


def test_hf_shim_subclass_round_trips(loaded_encoder):
    shim = loaded_encoder.layers[0].shims[0]
    assert isinstance(shim, compat.HFShim), changed(
        "spacy_transformers.layers.hf_shim.HFShim", "moved"
    )
    restored = type(shim)(compat.HFObjects(None, None, None, {}, {})).from_bytes(shim.to_bytes())
    for name, tensor in compat.shim_torch_model(shim).state_dict().items():
        assert torch.equal(tensor, compat.shim_torch_model(restored).state_dict()[name])


def test_pytorch_wrapper_forward_runs_the_shim(loaded_encoder, tokenizer):
    wrapper = loaded_encoder.layers[0]
    encoding = compat.huggingface_tokenize(tokenizer, ["Barack Obama", "Berlin"])
    wordpieces = WordpieceBatch.from_batch_encoding(encoding)
    output, _ = compat.pytorch_wrapper_forward(wrapper, wordpieces, False)
    assert output["last_hidden_state"].shape[:2] == wordpieces.input_ids.shape, changed(
        "thinc.layers.pytorchwrapper.forward",
        "no longer runs convert_inputs, the shim and convert_outputs",
    )


def test_chain_init_infers_the_dimensions_between_layers():
    first, second = Linear(nO=3), Linear(nO=2)
    model: Model = Model(
        "two", lambda m, X, t: (X, None), init=compat.chain_init, dims={"nO": None, "nI": None}
    )
    model.layers.extend([first, second])
    compat.chain_init(model, X=numpy.zeros((4, 5), dtype="f"), Y=numpy.zeros((4, 2), dtype="f"))
    assert (first.get_dim("nI"), second.get_dim("nI")) == (5, 3), changed(
        "thinc.layers.chain.init", "no longer sizes each layer from the one before"
    )


def test_softmax_is_recognised_by_its_attrs():
    assert compat.is_normalized_softmax(Softmax_v2()), changed(
        "thinc's Softmax_v2", "no longer has the name 'softmax' and attr softmax_normalize"
    )
    assert not compat.is_normalized_softmax(chain(Linear(), Logistic()))
    assert not compat.is_normalized_softmax(Softmax_v2(normalize_outputs=False))


def test_softmax_sequences_clips_its_logits():
    """The span head's prediction path clips its logits as thinc's softmax_sequences
    does in training: a logit past the clip weighs as one at it."""
    ops = NumpyOps()
    clip = compat.SOFTMAX_SEQUENCES_CLIP
    logits = numpy.asarray([[clip + 5.0], [clip - 5.0], [0.0]], dtype="float32")
    clipped = numpy.clip(logits, -clip, clip)
    expected = numpy.exp(clipped) / numpy.exp(clipped).sum()
    got = ops.softmax_sequences(logits, numpy.asarray([3], dtype="int32"))
    assert numpy.allclose(got, expected, rtol=1e-6), changed(
        "thinc's Ops.softmax_sequences", f"no longer clips its inputs to +-{clip}"
    )
