"""`spanbert_spancat`: spaCy's `spancat`, learning rare labels from the start.

A `SpanCategorizer` with spaCy's settings and behaviour (`spans_key`, `threshold`,
`max_positive`, `allow_overlap`, `negative_weight`, the suggester, `doc.spans` with
scores), that differs where spaCy's learns rare labels slowly or loops over spans:

- the output layer starts at the label priors of the training candidates (spaCy's
  starts every label's sigmoid near 0.5), and the loss is cross-entropy on the logits
  (spaCy's squared error through the sigmoid gives a label at its prior almost no
  gradient);
- gold targets and the spans kept are found on whole arrays, not span by span;
- an inline encoder learns at `encoder_lr_scale` times the optimizer's rate.

The model (`spacy_spanbert.SpanBoundaryCategorizer.v1`) decides the kind: a sigmoid
scorer gives multi-label spans, a softmax scorer one label or none per span.
"""

from collections.abc import Iterable
from typing import Any, Callable, List, Optional, Sequence, Tuple, cast

import numpy
from spacy.language import Language
from spacy.pipeline.spancat import SpanCategorizer, Suggester, spancat_score
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.vocab import Vocab
from thinc.api import Config, Model, to_numpy
from thinc.types import Floats2d, Ragged

from ..encoder import DEFAULT_ENCODER_LR_SCALE, default_encoder_config, validate_encoder_lr_scale
from ..encoder.length_batching import DEFAULT_LENGTH_SORT_DOCS, validate_length_sort_docs
from ..layers.sigmoid_output import SIGMOID, SOFTMAX
from ..span_pipe import KeptSpans, Predictions, SpanPipe, build_sentence_ngram_suggester
from ..span_pipe.decisions import doc_of_rows, non_overlapping_rows
from ..span_pipe.statistics import SpanStatistics
from ..span_pipe.suggesters import check_suggester_width
from .decoding import best_labels, multilabel_keep
from .targets import label_targets

DEFAULT_SPANS_KEY = "sc"
DEFAULT_MODEL_CONFIG = f"""
[model]
@architectures = "spacy_spanbert.SpanBoundaryCategorizer.v1"
hidden_size = 128
width_embedding_size = 32
max_span_width = 8
with_head = false

[model.scorer]
@layers = "spacy_spanbert.LinearSigmoid.v1"
{default_encoder_config("model.tok2vec", inline=True)}"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "spanbert_spancat",
    assigns=["doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "suggester": None,
        "spans_key": DEFAULT_SPANS_KEY,
        "threshold": 0.5,
        "max_positive": None,
        "negative_weight": 1.0,
        "allow_overlap": True,
        "encoder_lr_scale": DEFAULT_ENCODER_LR_SCALE,
        "length_sort_docs": DEFAULT_LENGTH_SORT_DOCS,
        "scorer": {"@scorers": "spacy.spancat_scorer.v1"},
    },
    default_score_weights={"spans_sc_f": 1.0, "spans_sc_p": 0.0, "spans_sc_r": 0.0},
)
def make_spanbert_spancat(
    nlp: Language,
    name: str,
    model: Model[Tuple[List[Doc], Ragged], Floats2d],
    suggester: Optional[Suggester],
    spans_key: str,
    threshold: float,
    max_positive: Optional[int],
    negative_weight: float,
    allow_overlap: bool,
    encoder_lr_scale: float,
    length_sort_docs: int,
    scorer: Optional[Callable],
) -> "SpanBertSpanCategorizer":
    """Nested and overlapping spans from SpanBERT's boundary representation.

    suggester (Optional[Suggester]): The candidate spans; null (the default) takes
        every span of up to the model's max_span_width tokens within a sentence. A
        suggester proposing wider spans than max_span_width is refused.
    spans_key (str): `doc.spans[spans_key]` holds the gold spans and the predictions.
    threshold (float): Least probability for a predicted label to be kept (choose it
        on dev: `python -m spacy_spanbert thresholds`).
    max_positive (Optional[int]): Most labels kept per span (multi-label).
    negative_weight (float): Weight in the loss of candidates that are no gold span.
    allow_overlap (bool): One label per span (softmax scorer) only: False keeps the
        best non-overlapping spans.
    encoder_lr_scale (float): An inline encoder's learning rate as a multiple of the
        optimizer's (see `spacy_spanbert.encoder.learning_rate`).
    length_sort_docs (int): Docs that `nlp.pipe` reads ahead and runs in batches of
        similar length, yielding them in their order (1: each batch as it comes).
    """
    return SpanBertSpanCategorizer(
        nlp.vocab,
        model,
        suggester,
        name,
        spans_key=spans_key,
        threshold=threshold,
        max_positive=max_positive,
        negative_weight=negative_weight,
        allow_overlap=allow_overlap,
        encoder_lr_scale=encoder_lr_scale,
        length_sort_docs=length_sort_docs,
        scorer=scorer,
    )


class SpanBertSpanCategorizer(SpanPipe, SpanCategorizer):
    """spaCy's SpanCategorizer, started at the label priors and trained with
    cross-entropy, its targets and annotations computed on whole arrays."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[Tuple[List[Doc], Ragged], Floats2d],
        suggester: Optional[Suggester] = None,
        name: str = "spanbert_spancat",
        *,
        spans_key: str = DEFAULT_SPANS_KEY,
        threshold: float = 0.5,
        max_positive: Optional[int] = None,
        negative_weight: float = 1.0,
        allow_overlap: bool = True,
        encoder_lr_scale: float = DEFAULT_ENCODER_LR_SCALE,
        length_sort_docs: int = DEFAULT_LENGTH_SORT_DOCS,
        scorer: Optional[Callable] = spancat_score,
    ) -> None:
        """Create the component; see `make_spanbert_spancat` for the settings.

        model (Model[Tuple[List[Doc], Ragged], Floats2d]): A span model that declares
            its output activation and max_span_width
            (spacy_spanbert.SpanBoundaryCategorizer.v1).
        """
        activation = model.attrs.get("activation")
        if activation not in (SIGMOID, SOFTMAX) or "max_span_width" not in model.attrs:
            raise ValueError(
                f"'{name}' needs a span model that declares its output activation and "
                "max_span_width, such as spacy_spanbert.SpanBoundaryCategorizer.v1: the "
                "loss is cross-entropy on the scorer's logits."
            )
        if not negative_weight > 0:
            raise ValueError(f"'{name}': negative_weight must be positive, got {negative_weight}.")
        max_span_width = int(model.attrs["max_span_width"])
        if suggester is None:
            suggester = build_sentence_ngram_suggester(1, max_span_width)
        else:
            check_suggester_width(suggester, max_span_width, name)
        single_label = activation == SOFTMAX
        super().__init__(
            vocab,
            model,
            suggester,
            name,
            add_negative_label=single_label,
            spans_key=spans_key,
            negative_weight=negative_weight,
            allow_overlap=allow_overlap,
            max_positive=1 if single_label else max_positive,
            threshold=threshold,
            scorer=scorer,
        )
        self.cfg["encoder_lr_scale"] = validate_encoder_lr_scale(encoder_lr_scale, name)
        self.cfg["length_sort_docs"] = validate_length_sort_docs(length_sort_docs, name)

    @property
    def has_none_column(self) -> bool:
        """One label or none per span (softmax with a "none" column), else any labels
        (a sigmoid per label)."""
        return bool(self.add_negative_label)

    def gold_spans(self, doc: Doc) -> Iterable[Span]:
        """The spans of a reference doc under `spans_key`."""
        return doc.spans.get(self.key, [])

    def check_labels(self, stats: SpanStatistics) -> None:
        """Stop when there are no labels to learn."""
        if not self.labels:
            raise ValueError(
                f"'{self.name}' has no span labels to learn: the training examples have "
                f"no spans in doc.spans[{self.key!r}] and no labels were given. Pass labels "
                f"through [initialize.components.{self.name}.labels], or set spans_key to "
                "the span group that holds the training spans."
            )

    # spaCy annotates SpanCategorizer.get_loss as returning (float, float), though the
    # gradient is an array; Any keeps this override compatible with that annotation.
    def get_loss(self, examples: Iterable[Example], spans_scores: Predictions) -> Tuple[float, Any]:
        """Cross-entropy (binary per label, or over the labels and "none") averaged
        over the candidates, candidates that are no gold span weighted by
        `negative_weight`; and its gradient for the scorer's logits.

        examples (Iterable[Example]): The batch the candidates come from.
        spans_scores (Tuple[Ragged, Floats2d]): The candidates and their scores.
        RETURNS (Tuple[float, Floats2d]): The loss and its gradient.
        """
        spans, scores = spans_scores
        targets = label_targets(
            list(examples),
            to_numpy(spans.dataXd),
            to_numpy(spans.lengths),
            self.labels,
            self.key,
        )
        negative = ~targets.any(axis=1)
        weights = numpy.where(negative, float(cast(float, self.cfg["negative_weight"])), 1.0)
        norm = max(float(weights.sum()), 1.0)
        probs = to_numpy(scores).astype("float32")
        if self.has_none_column:
            # A span with two gold labels (rare: GENIA has 4 in 4,714) learns its first.
            columns = numpy.where(negative, len(self.labels), targets.argmax(axis=1))
            targets = numpy.zeros_like(probs)
            targets[numpy.arange(len(columns)), columns] = 1.0
            per_row = -numpy.log(numpy.maximum((probs * targets).sum(axis=1), 1e-8))
        else:
            clipped = numpy.clip(probs, 1e-8, 1 - 1e-8)
            per_label = targets * numpy.log(clipped) + (1 - targets) * numpy.log(1 - clipped)
            per_row = -per_label.sum(axis=1)
        loss = float((weights * per_row).sum() / norm)
        d_scores = (probs - targets) * (weights / norm)[:, None]
        return loss, self.model.ops.asarray2f(cast(Floats2d, d_scores.astype("float32")))

    def kept_spans(
        self, docs: Sequence[Doc], predictions: Predictions, threshold: Optional[float] = None
    ) -> KeptSpans:
        """Every label at or above the threshold (the best `max_positive` of a span's),
        or the best label of each span, whose spans may not overlap without
        `allow_overlap`; in candidate order, or per doc in order of start.

        docs (Sequence[Doc]): The docs, as `predict` saw them.
        predictions (Tuple[Ragged, Floats2d]): What `predict` returned for them.
        threshold (Optional[float]): The threshold, instead of the component's.
        RETURNS (KeptSpans): The spans with their labels' probabilities.
        """
        candidates, scores = predictions
        spans = to_numpy(candidates.dataXd).reshape(-1, 2)
        doc_of_row = doc_of_rows(to_numpy(candidates.lengths))
        probs = to_numpy(scores)
        if threshold is None:
            threshold = float(cast(float, self.cfg["threshold"]))
        if not self.has_none_column:
            keep = multilabel_keep(probs, threshold, cast(Optional[int], self.cfg["max_positive"]))
            rows, labels = numpy.nonzero(keep)
            return KeptSpans.of_rows(rows, doc_of_row, spans, labels, probs[rows, labels])
        best, best_p, keep = best_labels(probs, threshold)
        rows = numpy.flatnonzero(keep)
        if not self.cfg["allow_overlap"]:
            free = [numpy.zeros(len(doc), dtype=bool) for doc in docs]
            rows = non_overlapping_rows(rows, doc_of_row, spans, best_p, free)
        return KeptSpans.of_rows(rows, doc_of_row, spans, best[rows], best_p[rows])

    def write_spans(self, docs: Sequence[Doc], kept: KeptSpans) -> None:
        """Set `doc.spans[spans_key]` to the spans kept, with their scores."""
        for doc, group in zip(docs, kept.span_groups(docs, self.labels, self.key)):
            doc.spans[self.key] = group
