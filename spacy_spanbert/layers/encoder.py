"""The SpanBERT encoder: spacy-transformers' TransformerModel, loaded by `hf_loading`."""

from typing import Any, Callable, Dict, List, Optional

from spacy.tokens import Doc, Span
from spacy_transformers.layers import TransformerModel

from ..hf_loading import load_encoder

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

    Everything else (wordpiece alignment, truncation at the tokenizer's
    model_max_length, mixed precision, serialization) is spacy-transformers' own.
    """
    model = TransformerModel(
        name,
        get_spans,
        dict(tokenizer_config),
        dict(transformer_config),
        mixed_precision,
        dict(grad_scaler_config),
    )
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
    model.attrs["set_transformer"](model, hf_objects)


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
