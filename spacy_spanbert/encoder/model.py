"""The SpanBERT encoder as a thinc model: spacy-transformers' TransformerModel, built
with this package's loading, safetensors weights and chunked prediction.

spacy-transformers' `TransformerModel` hard-wires its own wrapper (`HFWrapper` with
`HFShim`) and loading (`AutoTokenizer`, `AutoModel`). `SpanBertTransformerModel`
keeps its layout and properties, and builds each of those pieces as its own from the
start: nothing is replaced after construction, so `copy()`, `nlp.replace_listeners`
and a reload all keep them. Its forward pass is spacy-transformers' steps (public
functions), with `sentence_context` windows fitted to the encoder's positions first.
"""

import copy
from typing import Any, Callable, Dict, List, Optional, Tuple

from spacy.tokens import Doc, Span
from spacy.util import SimpleFrozenDict
from spacy.vocab import Vocab
from spacy_transformers.data_classes import FullTransformerBatch, WordpieceBatch
from spacy_transformers.layers import TransformerModel, split_trf_batch
from thinc.api import ArgsKwargs, Model, PyTorchShim, chain, xp2torch
from transformers.utils import ModelOutput

from ..compat import (
    HFObjects,
    build_transformer_model,
    get_alignment,
    get_alignment_via_offset_mapping,
    huggingface_tokenize,
    truncate_oversize_splits,
)
from .default_config import ENCODER_ARCHITECTURE, TOK2VEC_ARCHITECTURE
from .fork_safety import register_fork_handler
from .loading import load_encoder
from .sentence_context import SentenceContextSpans, keep_centre_windows
from .shim import EncoderShim
from .window_chunks import CHUNK_WINDOWS, window_chunked_forward
from .wordpiece_budget import wordpiece_budgets

SpanGetter = Callable[[List[Doc]], List[List[Span]]]


class SpanBertTransformerModel(TransformerModel):
    """A TransformerModel whose weights load through `load_encoder` (SpanBERT's
    casing and length fixed, BERT family only), are saved as safetensors, are
    run a chunk of windows of similar length at a time, and may be int8 on CPU.

    Wordpiece alignment, truncation at the tokenizer's model_max_length, mixed
    precision and the output (`FullTransformerBatch`) are spacy-transformers' own.
    """

    def __init__(
        self,
        name: str,
        get_spans: SpanGetter,
        tokenizer_config: Dict[str, Any],
        transformer_config: Dict[str, Any],
        mixed_precision: bool = False,
        grad_scaler_config: Dict[str, Any] = SimpleFrozenDict(),
        chunk_windows: int = CHUNK_WINDOWS,
        quantization: Optional[str] = None,
    ) -> None:
        _refuse_remote_code(tokenizer_config, transformer_config)
        register_fork_handler()
        if chunk_windows < 1:
            raise ValueError(f"chunk_windows must be at least 1, got {chunk_windows}.")
        self.settings: Dict[str, Any] = {
            "tokenizer_config": dict(tokenizer_config),
            "transformer_config": dict(transformer_config),
            "mixed_precision": mixed_precision,
            "grad_scaler_config": dict(grad_scaler_config),
            "chunk_windows": chunk_windows,
            "quantization": quantization,
        }
        shim = EncoderShim(
            HFObjects(None, None, None, dict(tokenizer_config), dict(transformer_config)),
            mixed_precision=mixed_precision,
            grad_scaler_config=dict(grad_scaler_config),
            quantization=quantization,
        )
        wrapper: Model[WordpieceBatch, ModelOutput] = Model(
            "hf-pytorch",
            window_chunked_forward,
            attrs={
                "convert_inputs": _convert_inputs,
                "convert_outputs": _convert_outputs,
                "chunk_windows": chunk_windows,
            },
            shims=[shim],
            dims={"nI": None, "nO": None},
        )
        # TransformerModel.__init__ would build spacy-transformers' own wrapper and
        # shim; this is the same layout and attrs with ours.
        build_transformer_model(
            self,
            encoder_forward,
            init_encoder,
            wrapper,
            {
                "get_spans": get_spans,
                "name": name,
                "replace_listener": replace_listener,
                "replace_listener_cfg": replace_listener_cfg,
            },
        )

    @property
    def wrapper(self) -> Model[WordpieceBatch, ModelOutput]:
        """The layer that runs the transformer (its shim holds weights and tokenizer)."""
        return self.layers[0]

    def copy(self) -> "SpanBertTransformerModel":
        """A copy with the same settings, weights and state (loaded or not)."""
        copied = SpanBertTransformerModel(
            self.attrs["name"], self.attrs["get_spans"], **self.settings
        )
        # As TransformerModel.copy: the wrapper holds the weights, tokenizer and shim.
        copied.layers[0] = copy.deepcopy(self.layers[0])
        copied.attrs["has_transformer"] = self.attrs["has_transformer"]
        if self.has_dim("nO"):
            copied.set_dim("nO", self.get_dim("nO"))
        return copied


def encoder_forward(
    model: SpanBertTransformerModel, docs: List[Doc], is_train: bool
) -> Tuple[FullTransformerBatch, Callable]:
    """spacy-transformers' forward; a `sentence_context` getter's windows are cut to
    the encoder's positions by wordpiece counts, and each token's vectors come from its
    own window alone."""
    get_spans = model.attrs["get_spans"]
    if not isinstance(get_spans, SentenceContextSpans):
        return encode_windows(model, docs, get_spans(docs), is_train)
    budgets = wordpiece_budgets(model.tokenizer, docs)
    windows = [get_spans.windows(doc, budget) for doc, budget in zip(docs, budgets)]
    output, backprop = encode_windows(model, docs, [w.spans for w in windows], is_train)
    return keep_centre_windows(output, docs, [w.centres for w in windows]), backprop


def encode_windows(
    model: SpanBertTransformerModel, docs: List[Doc], windows: List[List[Span]], is_train: bool
) -> Tuple[FullTransformerBatch, Callable]:
    """The docs' windows through the transformer, as spacy-transformers' forward runs
    them: tokenized, aligned to the tokens, cut to the tokenizer's maximum length."""
    tokenizer = model.tokenizer
    flat = [span for doc_windows in windows for span in doc_windows]
    encoding = huggingface_tokenize(tokenizer, [span.text for span in flat])
    wordpieces = WordpieceBatch.from_batch_encoding(encoding)
    if "offset_mapping" in encoding:
        align = get_alignment_via_offset_mapping(flat, encoding["offset_mapping"])
    else:
        align = get_alignment(flat, wordpieces.strings, tokenizer.all_special_tokens)
    wordpieces, align = truncate_oversize_splits(wordpieces, align, tokenizer.model_max_length)
    model_output, backprop_tensors = model.wrapper(wordpieces, is_train)
    output = FullTransformerBatch(
        spans=windows, wordpieces=wordpieces, model_output=model_output, align=align
    )

    def backprop(d_output: FullTransformerBatch) -> List[Doc]:
        backprop_tensors(d_output.model_output)
        return docs

    return output, backprop


def init_encoder(
    model: SpanBertTransformerModel, X: Optional[List[Doc]] = None, Y: Optional[Any] = None
) -> None:
    """Load the weights named by the model's `name`, once."""
    if model.attrs["has_transformer"]:
        return
    hf_objects = load_encoder(
        model.attrs["name"],
        model.settings["tokenizer_config"],
        model.settings["transformer_config"],
    )
    check_window_fits(model.attrs["get_spans"], hf_objects.tokenizer.model_max_length)
    shim = model.wrapper.shims[0]
    assert isinstance(shim, EncoderShim)
    shim.apply_quantization(hf_objects.transformer)
    model.attrs["set_transformer"](model, hf_objects)


def check_window_fits(get_spans: SpanGetter, max_length: int) -> None:
    """Refuse a span getter whose windows hold more tokens than the encoder has
    positions for: spacy-transformers would cut the wordpieces past the limit, and
    the tokens there would get no representation.

    The getter is run on a doc twice the limit long with one sentence per token, so
    strided windows show their width and sentence windows stay within bounds.
    """
    n_tokens = 2 * max_length
    probe = Doc(Vocab(), words=["a"] * n_tokens, sent_starts=[True] * n_tokens)
    widest = max((len(span) for spans in get_spans([probe]) for span in spans), default=0)
    # At least one wordpiece per token, plus [CLS] and [SEP].
    if widest + 2 > max_length:
        raise ValueError(
            f"The encoder takes at most {max_length} wordpieces, but its span getter "
            f"gives windows of {widest} tokens (at least {widest + 2} wordpieces): "
            "tokens past the limit would get no vectors. Use "
            "spacy-transformers.strided_spans.v1 with a window well under "
            f"{max_length - 2} tokens, leaving room for words of several wordpieces "
            "(SpanBERT's 512 positions: window 128, stride 96)."
        )


def replace_listener(model: SpanBertTransformerModel) -> Model:
    """What a listener becomes in `nlp.replace_listeners`: the encoder's own copy,
    split per doc (as spacy-transformers does for its TransformerModel)."""
    return chain(model, split_trf_batch())


def replace_listener_cfg(
    tok2vec_model_cfg: Dict[str, Any], listener_model_cfg: Dict[str, Any]
) -> Dict[str, Any]:
    """Config of a listener replaced by its own copy of the encoder: the inline
    architecture, with the listener's pooling and grad_factor."""
    result = dict(tok2vec_model_cfg)
    if (
        tok2vec_model_cfg["@architectures"] == ENCODER_ARCHITECTURE
        and "TransformerListener" in listener_model_cfg["@architectures"]
    ):
        result["@architectures"] = TOK2VEC_ARCHITECTURE
        for key in ("pooling", "grad_factor"):
            if key in listener_model_cfg and key not in result:
                result[key] = listener_model_cfg[key]
    return result


def _refuse_remote_code(*settings: Dict[str, Any]) -> None:
    if any(setting.get("trust_remote_code") for setting in settings):
        raise ValueError(
            "spacy-spanbert never runs code shipped with a model: remove "
            "trust_remote_code from the encoder's tokenizer_config and "
            "transformer_config. BERT-family encoders don't need it."
        )


def _convert_inputs(
    model: Model, wordpieces: WordpieceBatch, is_train: bool
) -> Tuple[ArgsKwargs, Callable[[Any], List]]:
    """Wordpiece arrays -> the transformer's keyword arguments, on its device."""
    shim = model.shims[0]
    assert isinstance(shim, PyTorchShim)
    device = shim.device
    kwargs = {
        "input_ids": xp2torch(wordpieces.input_ids, device=device),
        "attention_mask": xp2torch(wordpieces.attention_mask, device=device),
    }
    if wordpieces.token_type_ids is not None:
        kwargs["token_type_ids"] = xp2torch(wordpieces.token_type_ids, device=device)
    return ArgsKwargs(args=(), kwargs=kwargs), lambda d_inputs: []


def _convert_outputs(
    model: Model, inputs_outputs: Tuple[Any, ModelOutput], is_train: bool
) -> Tuple[ModelOutput, Callable[[ModelOutput], ArgsKwargs]]:
    """The transformer's output as is; its gradient goes to every output tensor."""
    _, output = inputs_outputs

    def backprop(d_output: ModelOutput) -> ArgsKwargs:
        return ArgsKwargs(
            args=(output["last_hidden_state"],), kwargs={"grad_tensors": d_output.values()}
        )

    return output, backprop
