"""The SpanBERT encoder: spacy-transformers' TransformerModel, loaded by `hf_loading`."""

from typing import Any, Callable, Dict, List, Optional

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab
from spacy_transformers.layers import TransformerModel

from ..hf_loading import load_encoder
from .safetensors_shim import SafetensorsHFShim
from .window_chunks import predict_in_window_chunks

ENCODER_ARCHITECTURE = "spacy_spanbert.SpanBertEncoder.v1"
TOK2VEC_ARCHITECTURE = "spacy_spanbert.SpanBertTok2Vec.v1"


def SpanBertTransformerModel(
    name: str,
    get_spans: Callable[[List[Doc]], List[List[Span]]],
    tokenizer_config: Dict[str, Any],
    transformer_config: Dict[str, Any],
    mixed_precision: bool,
    grad_scaler_config: Dict[str, Any],
) -> TransformerModel:
    """A TransformerModel whose weights load through `load_encoder`.

    Its weights are saved as safetensors (`SafetensorsHFShim`), and it predicts a
    chunk of windows at a time (`predict_in_window_chunks`). Everything else
    (wordpiece alignment, truncation at the tokenizer's model_max_length, mixed
    precision) is spacy-transformers' own.
    """
    for settings in (tokenizer_config, transformer_config):
        if settings.get("trust_remote_code"):
            raise ValueError(
                "spacy-spanbert never runs code shipped with a model: remove "
                "trust_remote_code from the encoder's tokenizer_config and "
                "transformer_config. BERT-family encoders don't need it."
            )
    model = TransformerModel(
        name,
        get_spans,
        dict(tokenizer_config),
        dict(transformer_config),
        mixed_precision,
        dict(grad_scaler_config),
    )
    wrapper = model.layers[0]
    wrapper.shims[0] = SafetensorsHFShim(
        wrapper.shims[0]._hfmodel,
        mixed_precision=mixed_precision,
        grad_scaler_config=dict(grad_scaler_config),
    )
    predict_in_window_chunks(wrapper)
    model.init = _init_encoder
    model.attrs["replace_listener_cfg"] = replace_listener_cfg
    return model


def _init_encoder(model: TransformerModel, X: Optional[List[Doc]] = None, Y=None) -> None:
    if model.attrs["has_transformer"]:
        return
    hf_objects = load_encoder(
        model.attrs["name"],
        model._init_tokenizer_config,
        model._init_transformer_config,
    )
    _check_window_fits(model.attrs["get_spans"], hf_objects.tokenizer.model_max_length)
    model.attrs["set_transformer"](model, hf_objects)


def _check_window_fits(get_spans: Callable[[List[Doc]], List[List[Span]]], max_length: int) -> None:
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


def replace_listener_cfg(
    tok2vec_model_cfg: Dict[str, Any], listener_model_cfg: Dict[str, Any]
) -> Dict[str, Any]:
    """Config of a listener replaced by its own copy of the encoder (`nlp.replace_listeners`).

    Mirrors spacy-transformers' rule for its own TransformerModel, for our architecture names.
    """
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
