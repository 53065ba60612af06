"""Registered architectures: the encoder, its inline tok2vec form, and the span models.

spaCy finds them through the `spacy_architectures` entry points in setup.cfg. Older
versions of an architecture stay registered in `legacy.py`, so saved pipelines load.
"""

from typing import Any, Dict, List, Optional, Tuple, cast

from spacy.tokens import Doc
from spacy.util import SimpleFrozenDict, registry
from spacy_transformers.data_classes import FullTransformerBatch
from spacy_transformers.layers import split_trf_batch, trfs2arrays
from thinc.api import Maxout, Model, chain, list2ragged, with_getitem
from thinc.types import Floats2d, Ragged

from .compat import is_normalized_softmax
from .encoder import ENCODER_ARCHITECTURE, TOK2VEC_ARCHITECTURE, SpanBertTransformerModel
from .encoder.model import SpanGetter
from .encoder.sentence_context import SentenceContextSpans
from .layers.sigmoid_output import SIGMOID, SOFTMAX, linear_sigmoid
from .layers.span_boundary import span_boundary_features
from .layers.span_chunks import in_span_chunks
from .layers.span_reducer import span_boundary_reducer
from .layers.span_rows import doc_spans_to_rows, extract_spans, ragged_to_rows
from .layers.span_scorer import span_scorer


@registry.architectures(ENCODER_ARCHITECTURE)
def build_spanbert_encoder(
    name: str,
    get_spans: SpanGetter,
    tokenizer_config: Dict[str, Any] = SimpleFrozenDict({"use_fast": True}),
    transformer_config: Dict[str, Any] = SimpleFrozenDict(),
    mixed_precision: bool = False,
    grad_scaler_config: Dict[str, Any] = SimpleFrozenDict(),
    quantization: Optional[str] = None,
) -> Model[List[Doc], FullTransformerBatch]:
    """SpanBERT (or any BERT-family model) as a spacy-transformers TransformerModel.

    name (str): A hub id such as "SpanBERT/spanbert-base-cased" or a local directory.
    get_spans (Callable): Cuts docs into windows the encoder can take (e.g. strided
        spans), so long documents are covered whole.
    tokenizer_config (Dict[str, Any]): Settings for the tokenizer; the casing and
        maximum length come from the model's files unless set here.
    transformer_config (Dict[str, Any]): Settings for the transformer's config.
    mixed_precision (bool): Run the forward pass in fp16 autocast (GPU).
    grad_scaler_config (Dict[str, Any]): Settings of the gradient scaler used with
        mixed precision.
    quantization (Optional[str]): "int8" runs the encoder's Linear layers in int8 on
        CPU (inference only: training is refused); null keeps full precision.
    RETURNS (Model[List[Doc], FullTransformerBatch]): The encoder.
    """
    return SpanBertTransformerModel(
        name,
        get_spans,
        tokenizer_config,
        transformer_config,
        mixed_precision,
        grad_scaler_config,
        quantization=quantization,
    )


@registry.architectures(TOK2VEC_ARCHITECTURE)
def build_spanbert_tok2vec(
    name: str,
    get_spans: SpanGetter,
    pooling: Model[Ragged, Floats2d],
    tokenizer_config: Dict[str, Any] = SimpleFrozenDict({"use_fast": True}),
    transformer_config: Dict[str, Any] = SimpleFrozenDict(),
    mixed_precision: bool = False,
    grad_scaler_config: Dict[str, Any] = SimpleFrozenDict(),
    grad_factor: float = 1.0,
    quantization: Optional[str] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """The encoder inline in a component, giving one vector per spaCy token.

    Same layout as spacy-transformers' Tok2VecTransformer.v3, which is what a
    TransformerListener becomes after `nlp.replace_listeners`.
    pooling (Model[Ragged, Floats2d]): Pools each token's wordpiece vectors.
    grad_factor (float): Scales the gradient that reaches the encoder.
    quantization (Optional[str]): As for the encoder: "int8" on CPU, or null.
    RETURNS (Model[List[Doc], List[Floats2d]]): Token vectors per doc; ref "encoder".
    """
    encoder = build_spanbert_encoder(
        name,
        get_spans,
        tokenizer_config,
        transformer_config,
        mixed_precision,
        grad_scaler_config,
        quantization,
    )
    model = chain(chain(encoder, split_trf_batch()), trfs2arrays(pooling, grad_factor))
    model.set_ref("encoder", encoder)
    return model


@registry.architectures("spacy_spanbert.SpanBertNER.v1")
def build_span_ner_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    max_span_width: int = 10,
    width_embedding_size: int = 32,
    with_head: bool = True,
    hidden_size: int = 150,
    dropout: float = 0.1,
) -> Model[Tuple[List[Doc], Ragged], Floats2d]:
    """Score candidate spans over the labels plus "no entity".

    Input: docs and their candidate spans (token offsets per doc, as spaCy's
    suggesters give them). Output: one probability row per candidate; the last
    column is "no entity". Prediction scores the candidates in chunks, so memory
    stays bounded on long documents.
    tok2vec (Model[List[Doc], List[Floats2d]]): Token vectors: the inline encoder
        or a listener.
    max_span_width (int): Longest candidate span, in tokens.
    width_embedding_size (int): Size of the learned span-width embedding.
    with_head (bool): Add the attention-pooled head word to the boundary tokens.
    hidden_size (int): Width of the hidden layer.
    dropout (float): Dropout after the hidden layer.
    RETURNS (Model[Tuple[List[Doc], Ragged], Floats2d]): The span model; refs
        "tok2vec", "span_features" and "output" (the layer the labels size).
    """
    if max_span_width < 1:
        raise ValueError(
            f"max_span_width must be at least 1 token, got {max_span_width}: the "
            "model would have no candidate spans to score."
        )
    features = span_boundary_features(width_embedding_size, max_span_width, with_head)
    scorer = span_scorer(features, hidden_size, dropout)
    model = chain(
        with_getitem(0, chain(tok2vec, list2ragged())),
        doc_spans_to_rows(),
        in_span_chunks(scorer),
    )
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("span_features", features)
    model.set_ref("output", scorer.get_ref("output"))
    model.attrs["max_span_width"] = max_span_width
    return model


@registry.architectures("spacy_spanbert.SpanCategorizer.v1")
def build_spancat_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    reducer: Model[Ragged, Floats2d],
    scorer: Model[Floats2d, Floats2d],
) -> Model[Tuple[List[Doc], Ragged], Floats2d]:
    """spaCy's `spacy.SpanCategorizer.v1` with span extraction on the array backend.

    Same layers, refs and config as spaCy's: any reducer and scorer fit. spaCy's own
    extraction builds its gather indices in a Python loop over every span; this one
    builds them with array arithmetic.
    RETURNS (Model[Tuple[List[Doc], Ragged], Floats2d]): Label scores per span; refs
        "tok2vec", "reducer" and "scorer".
    """
    model = chain(
        with_getitem(0, chain(tok2vec, list2ragged())),
        extract_spans(),
        reducer,
        scorer,
    )
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("reducer", reducer)
    model.set_ref("scorer", scorer)
    return model


@registry.architectures("spacy_spanbert.SpanBoundaryReducer.v2")
def build_span_boundary_reducer(
    hidden_size: int = 128,
    width_embedding_size: int = 32,
    max_span_width: int = 10,
    with_head: bool = False,
) -> Model[Ragged, Floats2d]:
    """A reducer for spaCy's `spacy.SpanCategorizer.v1`: each span's token vectors to
    [first; last; (head;) width], then a hidden layer (as spaCy's mean_max reducer has).

    Settings mean what they mean in `spacy_spanbert.SpanBertNER.v1`, with the same
    defaults; set max_span_width to the suggester's max_size.
    RETURNS (Model[Ragged, Floats2d]): One hidden_size vector per span.
    """
    return chain(
        ragged_to_rows(),
        span_boundary_features(width_embedding_size, max_span_width, with_head),
        Maxout(nO=hidden_size, normalize=True, dropout=0.0),
    )


@registry.architectures("spacy_spanbert.SpanBoundaryCategorizer.v1")
def build_span_boundary_categorizer(
    tok2vec: Model[List[Doc], List[Floats2d]],
    scorer: Model[Floats2d, Floats2d],
    hidden_size: int = 128,
    width_embedding_size: int = 32,
    max_span_width: int = 10,
    with_head: bool = False,
) -> Model[Tuple[List[Doc], Ragged], Floats2d]:
    """Label scores for spancat's candidate spans from SpanBERT's boundary
    representation, through per-token projections in training and prediction.

    The spans are read off the doc's token vectors (no copy of each span's tokens),
    reduced by a maxout layer and a LayerNorm (`span_boundary_reducer`), and scored:
    `spacy_spanbert.LinearSigmoid.v1` for multi-label spans, `Softmax.v2` for one
    label (or none) per span; both are trained with cross-entropy on their logits.
    Prediction scores the candidates in chunks, so memory stays bounded.
    scorer (Model[Floats2d, Floats2d]): The output layer.
    RETURNS (Model[Tuple[List[Doc], Ragged], Floats2d]): refs "tok2vec", "reducer",
        "scorer" and "output" (the layer whose bias the labels size); attrs
        "max_span_width" and "activation".
    """
    activation = output_activation(scorer)
    features = span_boundary_features(width_embedding_size, max_span_width, with_head)
    reducer = span_boundary_reducer(features, hidden_size)
    model = chain(
        with_getitem(0, chain(tok2vec, list2ragged())),
        doc_spans_to_rows(),
        in_span_chunks(chain(reducer, scorer)),
    )
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("reducer", reducer)
    model.set_ref("scorer", scorer)
    model.set_ref("output", scorer.get_ref("logits") if scorer.has_ref("logits") else scorer)
    model.attrs["max_span_width"] = max_span_width
    model.attrs["activation"] = activation
    return model


@registry.layers("spacy_spanbert.LinearSigmoid.v1")
def build_linear_sigmoid(
    nO: Optional[int] = None, nI: Optional[int] = None
) -> Model[Floats2d, Floats2d]:
    """The multi-label output layer: linear, then sigmoid, trained with binary
    cross-entropy (its backprop takes the logits' gradient; see `layers/sigmoid_output`).
    """
    return linear_sigmoid(nO=nO, nI=nI)


def output_activation(scorer: Model[Floats2d, Floats2d]) -> str:
    """ "sigmoid" or "softmax": which cross-entropy the scorer's backprop pairs with."""
    if scorer.attrs.get("activation") == SIGMOID:
        return SIGMOID
    if is_normalized_softmax(scorer):
        return SOFTMAX
    raise ValueError(
        f"The span categorizer's scorer ('{scorer.name}') must be "
        "spacy_spanbert.LinearSigmoid.v1 (multi-label) or Softmax.v2 (one label per "
        "span): it is trained with cross-entropy on the scorer's logits, and other "
        "output layers (spacy.LinearLogistic.v1) scale that gradient down."
    )


# spacy-transformers adds the span_getters registry to spaCy's when it is imported.
span_getters: Any = cast(Any, registry).span_getters


@span_getters("spacy_spanbert.sentence_context.v1")
def configure_sentence_context(
    context: int, window: int = 128, stride: int = 96, centre: int = 0
) -> SpanGetter:
    """Windows for the encoder: each sentence with up to `context` tokens of its
    document on either side, each token's vectors from its own sentence's window.

    context (int): Tokens of context on either side of a sentence (0: the sentence
        alone), less where the window would exceed `window` tokens.
    window (int): The most tokens in a window: longer sentences get strided windows
        (`window`, `stride`), as do docs without sentence boundaries.
    stride (int): The stride of those windows.
    centre (int): Consecutive whole sentences of up to this many tokens share one
        window, their context read once (0: a window per sentence). At most `window`.
    RETURNS (SpanGetter): The span getter (see `encoder/sentence_context.py`).
    """
    return SentenceContextSpans(context, window, stride, centre)
