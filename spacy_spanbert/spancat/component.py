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
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple, Union, cast

import numpy
from numpy.typing import NDArray
from spacy.language import Language
from spacy.pipeline.spancat import SpanCategorizer, Suggester, spancat_score
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, to_numpy
from thinc.types import Floats1d, Floats2d, Ragged

from ..encoder import (
    DEFAULT_ENCODER_LR_SCALE,
    TOK2VEC_ARCHITECTURE,
    finish_update_scaled,
    validate_encoder_lr_scale,
)
from ..layers.sigmoid_output import SIGMOID, SOFTMAX
from ..ner.decoding import best_labels, greedy_non_overlapping
from ..pipeline import component_from_disk
from ..pipeline.priors import column_log_priors, label_logit_priors
from .decoding import multilabel_keep
from .targets import SpanStatistics, label_targets, span_statistics

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

[model.tok2vec]
@architectures = "{TOK2VEC_ARCHITECTURE}"
name = "SpanBERT/spanbert-base-cased"
tokenizer_config = {{"use_fast": true}}
transformer_config = {{}}
mixed_precision = false
grad_scaler_config = {{}}
grad_factor = 1.0

[model.tok2vec.get_spans]
@span_getters = "spacy-transformers.strided_spans.v1"
window = 128
stride = 96

[model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


@Language.factory(
    "spanbert_spancat",
    assigns=["doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "suggester": {
            "@misc": "spacy_spanbert.sentence_ngram_suggester.v1",
            "min_size": 1,
            "max_size": 8,
        },
        "spans_key": DEFAULT_SPANS_KEY,
        "threshold": 0.5,
        "max_positive": None,
        "negative_weight": 1.0,
        "allow_overlap": True,
        "encoder_lr_scale": DEFAULT_ENCODER_LR_SCALE,
        "scorer": {"@scorers": "spacy.spancat_scorer.v1"},
    },
    default_score_weights={"spans_sc_f": 1.0, "spans_sc_p": 0.0, "spans_sc_r": 0.0},
)
def make_spanbert_spancat(
    nlp: Language,
    name: str,
    model: Model[Tuple[List[Doc], Ragged], Floats2d],
    suggester: Suggester,
    spans_key: str,
    threshold: float,
    max_positive: Optional[int],
    negative_weight: float,
    allow_overlap: bool,
    encoder_lr_scale: float,
    scorer: Optional[Callable],
) -> "SpanBertSpanCategorizer":
    """Nested and overlapping spans from SpanBERT's boundary representation.

    spans_key (str): `doc.spans[spans_key]` holds the gold spans and the predictions.
    threshold (float): Least probability for a predicted label to be kept (choose it
        on dev: `python -m spacy_spanbert thresholds`).
    max_positive (Optional[int]): Most labels kept per span (multi-label).
    negative_weight (float): Weight in the loss of candidates that are no gold span.
    allow_overlap (bool): One label per span (softmax scorer) only: False keeps the
        best non-overlapping spans.
    encoder_lr_scale (float): An inline encoder's learning rate as a multiple of the
        optimizer's (see `spacy_spanbert.encoder.learning_rate`).
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
        scorer=scorer,
    )


class SpanBertSpanCategorizer(SpanCategorizer):
    """spaCy's SpanCategorizer, started at the label priors and trained with
    cross-entropy, its targets and annotations computed on whole arrays."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[Tuple[List[Doc], Ragged], Floats2d],
        suggester: Suggester,
        name: str = "spanbert_spancat",
        *,
        spans_key: str = DEFAULT_SPANS_KEY,
        threshold: float = 0.5,
        max_positive: Optional[int] = None,
        negative_weight: float = 1.0,
        allow_overlap: bool = True,
        encoder_lr_scale: float = DEFAULT_ENCODER_LR_SCALE,
        scorer: Optional[Callable] = spancat_score,
    ) -> None:
        """Create the component; see `make_spanbert_spancat` for the settings.

        model (Model[Tuple[List[Doc], Ragged], Floats2d]): A span model that declares
            its output activation (spacy_spanbert.SpanBoundaryCategorizer.v1).
        """
        activation = model.attrs.get("activation")
        if activation not in (SIGMOID, SOFTMAX):
            raise ValueError(
                f"'{name}' needs a span model that declares its output activation, "
                "such as spacy_spanbert.SpanBoundaryCategorizer.v1: the loss is "
                "cross-entropy on the scorer's logits."
            )
        if not negative_weight > 0:
            raise ValueError(f"'{name}': negative_weight must be positive, got {negative_weight}.")
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

    @property
    def single_label(self) -> bool:
        """One label or none per span (softmax), else any labels (sigmoid)."""
        return bool(self.add_negative_label)

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Take the labels, size the model and start its output at the label priors
        of the training candidates.

        get_examples (Callable[[], Iterable[Example]]): The training examples.
        nlp (Optional[Language]): The pipeline; not used.
        labels (Optional[List[str]]): The labels; taken from the examples' spans under
            `spans_key` when not given.
        """
        validate_get_examples(get_examples, "SpanBertSpanCategorizer.initialize")
        for label in labels or []:
            self.add_label(label)
        stats = span_statistics(get_examples(), self.key, self.suggester)
        if labels is None:
            for label in stats.label_counts:
                self.add_label(label)
        self._require_labels()
        docs = [eg.predicted for eg in stats.sample if len(eg.predicted)]
        if not docs:
            docs = [Doc(self.vocab, words=["initialize"])]
        candidates = self.suggester(docs, ops=self.model.ops)
        Y = self.model.ops.alloc2f(candidates.dataXd.shape[0], self._n_labels)
        self.model.initialize(X=(docs, candidates), Y=Y)
        self._start_at_label_priors(stats)

    def _start_at_label_priors(self, stats: SpanStatistics) -> None:
        counts = numpy.asarray([stats.label_counts[label] for label in self.labels], dtype="int64")
        weight = float(cast(float, self.cfg["negative_weight"]))
        priors = (column_log_priors if self.single_label else label_logit_priors)(
            counts, stats.n_candidates, weight
        )
        self.model.get_ref("output").set_param(
            "b", self.model.ops.asarray1f(cast(Floats1d, priors))
        )

    # spaCy annotates SpanCategorizer.get_loss as returning (float, float), though the
    # gradient is an array; Any keeps this override compatible with that annotation.
    def get_loss(
        self, examples: Iterable[Example], spans_scores: Tuple[Ragged, Floats2d]
    ) -> Tuple[float, Any]:
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
        if self.single_label:
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

    def set_annotations(self, docs: Iterable[Doc], indices_scores: Tuple[Ragged, Floats2d]) -> None:
        """Write the spans kept, with their scores, to `doc.spans[spans_key]`, in
        candidate order.

        docs (Iterable[Doc]): The docs to modify.
        indices_scores (Tuple[Ragged, Floats2d]): What `predict` returned for them.
        """
        indices, scores = indices_scores
        spans = to_numpy(indices.dataXd).reshape(-1, 2)
        lengths = to_numpy(indices.lengths)
        rows, labels, label_scores = self._kept(to_numpy(scores))
        doc_of_row = numpy.repeat(numpy.arange(len(lengths)), lengths)[rows]
        for i, doc in enumerate(docs):
            mine = doc_of_row == i
            doc_rows, doc_labels, doc_scores = rows[mine], labels[mine], label_scores[mine]
            if self.single_label and not self.cfg["allow_overlap"]:
                free = numpy.zeros(len(doc), dtype=bool)
                best = greedy_non_overlapping(spans[doc_rows], doc_scores, free)
                doc_rows, doc_labels, doc_scores = (
                    doc_rows[best],
                    doc_labels[best],
                    doc_scores[best],
                )
            group = SpanGroup(
                doc,
                name=self.key,
                spans=[
                    Span(doc, int(start), int(end), label=self.labels[label])
                    for (start, end), label in zip(spans[doc_rows], doc_labels)
                ],
            )
            group.attrs["scores"] = doc_scores.astype("float32")
            doc.spans[self.key] = group

    def _kept(
        self, probs: NDArray[numpy.float32]
    ) -> Tuple[NDArray[numpy.int64], NDArray[numpy.int64], NDArray[numpy.float32]]:
        """(candidate row, label, probability) of every label kept, row by row."""
        threshold = float(cast(float, self.cfg["threshold"]))
        if not probs.size:
            none = numpy.zeros(0, dtype="int64")
            return none, none, numpy.zeros(0, dtype="float32")
        if self.single_label:
            best, best_p, keep = best_labels(probs, threshold)
            rows = numpy.flatnonzero(keep)
            return rows, best[rows], best_p[rows]
        keep = multilabel_keep(probs, threshold, cast(Optional[int], self.cfg["max_positive"]))
        rows, labels = numpy.nonzero(keep)
        return rows, labels, probs[rows, labels]

    def finish_update(self, sgd: Optimizer) -> None:
        """Update the span head at the optimizer's rate and an inline encoder at
        `encoder_lr_scale` times it.

        sgd (Optimizer): The optimizer.
        """
        finish_update_scaled(self.model, sgd, float(cast(float, self.cfg["encoder_lr_scale"])))

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()
    ) -> "SpanBertSpanCategorizer":
        """Load the component; a missing or damaged file is named in the error.

        path (Union[str, Path]): The component's directory.
        exclude (Iterable[str]): Fields not to load.
        RETURNS (SpanBertSpanCategorizer): The component.
        """
        component_from_disk(self, path, exclude)
        return self
