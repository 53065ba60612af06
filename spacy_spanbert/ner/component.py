"""`spanbert_ner`: named entities from scored candidate spans, written to `doc.ents`."""

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union, cast

import numpy
from spacy import Errors
from spacy.attrs import ENT_IOB
from spacy.language import Language
from spacy.pipeline.trainable_pipe import TrainablePipe
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, Span, SpanGroup, Token
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate, to_numpy
from thinc.types import Floats1d, Floats2d, Ragged

from ..encoder import (
    DEFAULT_ENCODER_LR_SCALE,
    TOK2VEC_ARCHITECTURE,
    finish_update_scaled,
    validate_encoder_lr_scale,
)
from ..pipeline import build_sentence_ngram_suggester, component_from_disk
from ..pipeline.priors import column_log_priors
from .decoding import entity_decisions, greedy_non_overlapping
from .targets import LabelStatistics, candidate_targets, label_statistics

DEFAULT_MODEL_CONFIG = f"""
[model]
@architectures = "spacy_spanbert.SpanBertNER.v1"
max_span_width = 10
width_embedding_size = 32
with_head = false
hidden_size = 150
dropout = 0.1

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
# Token.ent_iob codes: 0 missing, 1 "I", 2 "O", 3 "B".
IOB_INSIDE = Token.iob_strings().index("I")
IOB_BEGIN = Token.iob_strings().index("B")


@Language.factory(
    "spanbert_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", "doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "threshold": 0.0,
        "entity_threshold": 0.5,
        "negative_weight": 1.0,
        "scores_key": "spanbert_ner",
        "encoder_lr_scale": DEFAULT_ENCODER_LR_SCALE,
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
    },
    default_score_weights={
        "ents_f": 1.0,
        "ents_p": 0.0,
        "ents_r": 0.0,
        "ents_per_type": None,
    },
)
def make_spanbert_ner(
    nlp: Language,
    name: str,
    model: Model[Tuple[List[Doc], Ragged], Floats2d],
    threshold: float,
    entity_threshold: float,
    negative_weight: float,
    scores_key: str,
    encoder_lr_scale: float,
    scorer: Optional[Callable],
) -> "SpanBertNER":
    """Span-based NER: score every span of up to `max_span_width` tokens, keep the best.

    threshold (float): Least probability of a predicted entity's label.
    entity_threshold (float): Least entity probability (1 - p(no entity)) for a
        candidate to be an entity; choose it on dev with `python -m spacy_spanbert
        thresholds`.
    negative_weight (float): Weight in the loss of candidates that are no entity.
        Where entities are rare among candidates (WNUT-17: 0.45%), values below 1
        keep the model from settling on "no entity" everywhere, at the cost of
        scores that overstate entity probabilities.
    scores_key (str): `doc.spans[scores_key]` holds the entities this component
        predicted, with their probabilities in `.attrs["scores"]`.
    encoder_lr_scale (float): An inline encoder's learning rate as a multiple of the
        optimizer's, which the span head gets (see `spacy_spanbert.encoder.learning_rate`).
        A listener's encoder follows its own component's setting.
    """
    return SpanBertNER(
        nlp.vocab,
        model,
        name,
        threshold=threshold,
        entity_threshold=entity_threshold,
        negative_weight=negative_weight,
        scores_key=scores_key,
        encoder_lr_scale=encoder_lr_scale,
        scorer=scorer,
    )


class SpanBertNER(TrainablePipe):
    """Named entities from span boundary representations (SpanBERT, Lee et al. 2017).

    Entities already on the doc are kept, as spaCy's `ner` keeps them: predictions
    that overlap them are dropped, and tokens left without an entity are set to O.
    """

    def __init__(
        self,
        vocab: Vocab,
        model: Model[Tuple[List[Doc], Ragged], Floats2d],
        name: str = "spanbert_ner",
        *,
        threshold: float = 0.0,
        entity_threshold: float = 0.5,
        negative_weight: float = 1.0,
        scores_key: str = "spanbert_ner",
        encoder_lr_scale: float = DEFAULT_ENCODER_LR_SCALE,
        scorer: Optional[Callable] = get_ner_prf,
    ) -> None:
        """Create the component; see `make_spanbert_ner` for the settings.

        vocab (Vocab): The pipeline's vocabulary.
        model (Model[Tuple[List[Doc], Ragged], Floats2d]): The span model, which
            declares its `max_span_width` (spacy_spanbert.SpanBertNER.v1).
        name (str): The component's name in the pipeline.
        scorer (Optional[Callable]): Scores the component's entities.
        """
        if "max_span_width" not in model.attrs:
            raise ValueError(
                f"'{name}' needs a span model that declares its max_span_width, such "
                "as spacy_spanbert.SpanBertNER.v1."
            )
        if not negative_weight > 0:
            raise ValueError(f"'{name}': negative_weight must be positive, got {negative_weight}.")
        if not 0.0 <= entity_threshold <= 1.0:
            raise ValueError(
                f"'{name}': entity_threshold must be in [0, 1], got {entity_threshold}."
            )
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict = {
            "labels": [],
            "threshold": threshold,
            "entity_threshold": entity_threshold,
            "negative_weight": negative_weight,
            "scores_key": scores_key,
            "encoder_lr_scale": validate_encoder_lr_scale(encoder_lr_scale, name),
        }
        self.suggester = build_sentence_ngram_suggester(1, self.max_span_width)

    @property
    def max_span_width(self) -> int:
        """The longest candidate span, in tokens."""
        return int(self.model.attrs["max_span_width"])

    @property
    def labels(self) -> Tuple[str, ...]:
        """The entity labels, in the order of the output columns."""
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        """The labels, as `spacy init labels` saves them."""
        return list(self.labels)

    def add_label(self, label: str) -> int:
        """Add an entity label; only before the output layer is sized at initialize.

        label (str): The label to add.
        RETURNS (int): 0 if the label is already present, otherwise 1.
        """
        if not isinstance(label, str):
            raise ValueError(Errors.E187)
        if label in self.labels:
            return 0
        if self.model.get_ref("output").has_dim("nO"):
            raise ValueError(
                f"Can't add label '{label}' to '{self.name}' after initialize: its "
                "output layer is sized for its labels. Add labels before initialize."
            )
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        return 1

    def predict(self, docs: Iterable[Doc]) -> Tuple[Ragged, Floats2d]:
        """Score every candidate span of the docs, without modifying them.

        docs (Iterable[Doc]): The docs to predict.
        RETURNS (Tuple[Ragged, Floats2d]): The candidate spans per doc and, for each,
            probabilities over the labels and "no entity" (last column).
        """
        docs = list(docs)
        candidates = self.suggester(docs, ops=self.model.ops)
        if candidates.dataXd.shape[0] == 0:
            return candidates, self.model.ops.alloc2f(0, len(self.labels) + 1)
        return candidates, self.model.predict((docs, candidates))

    def set_annotations(
        self, docs: Iterable[Doc], candidates_probs: Tuple[Ragged, Floats2d]
    ) -> None:
        """Write the best non-overlapping entities to `doc.ents`, and them with their
        probabilities to `doc.spans[scores_key]`.

        docs (Iterable[Doc]): The docs to modify.
        candidates_probs (Tuple[Ragged, Floats2d]): What `predict` returned for them.
        """
        candidates, probs = candidates_probs
        spans = to_numpy(candidates.dataXd)
        lengths = to_numpy(candidates.lengths)
        best, best_p, entity_p, keep = entity_decisions(
            to_numpy(probs), self.cfg["entity_threshold"], self.cfg["threshold"]
        )
        offset = 0
        for doc, n_candidates in zip(docs, lengths):
            rows = offset + numpy.flatnonzero(keep[offset : offset + n_candidates])
            offset += n_candidates
            iob = doc.to_array(ENT_IOB)
            preset = (iob == IOB_BEGIN) | (iob == IOB_INSIDE)  # entities set before
            kept = rows[greedy_non_overlapping(spans[rows], entity_p[rows], preset)]
            ents = [
                Span(doc, int(start), int(end), label=self.labels[best[row]])
                for row, (start, end) in zip(kept, spans[kept])
            ]
            doc.set_ents(list(doc.ents) + ents, default="outside")
            group = SpanGroup(doc, name=self.cfg["scores_key"], spans=ents)
            group.attrs["scores"] = best_p[kept].astype("float32")
            doc.spans[self.cfg["scores_key"]] = group

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples: score their candidates, backpropagate the
        loss, and step the optimizer if given.

        examples (Iterable[Example]): The batch.
        drop (float): The dropout rate.
        sgd (Optional[Optimizer]): The optimizer; None only accumulates gradients.
        losses (Optional[Dict[str, float]]): Running losses, updated in place.
        RETURNS (Dict[str, float]): The updated losses.
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "SpanBertNER.update")
        docs = [eg.predicted for eg in examples]
        candidates = self.suggester(docs, ops=self.model.ops)
        if candidates.dataXd.shape[0] == 0:
            return losses
        set_dropout_rate(self.model, drop)
        probs, backprop = self.model.begin_update((docs, candidates))
        loss, d_probs = self.get_loss(examples, (candidates, probs))
        backprop(d_probs)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def finish_update(self, sgd: Optimizer) -> None:
        """Update the span head at the optimizer's rate and an inline encoder at
        `encoder_lr_scale` times it.

        sgd (Optimizer): The optimizer.
        """
        finish_update_scaled(self.model, sgd, self.cfg["encoder_lr_scale"])

    def get_loss(
        self, examples: Iterable[Example], candidates_probs: Tuple[Ragged, Floats2d]
    ) -> Tuple[float, Floats2d]:
        """Weighted mean cross-entropy over the candidates, and its gradient for the
        softmax.

        examples (Iterable[Example]): The batch the candidates come from.
        candidates_probs (Tuple[Ragged, Floats2d]): The candidates and their
            probabilities, as `predict` returns them.
        RETURNS (Tuple[float, Floats2d]): The loss and its gradient.
        """
        candidates, probs = candidates_probs
        ops = self.model.ops
        targets, weights = candidate_targets(
            examples,
            to_numpy(candidates.dataXd),
            to_numpy(candidates.lengths),
            {label: i for i, label in enumerate(self.labels)},
        )
        weights = numpy.where(
            targets == len(self.labels), weights * self.cfg["negative_weight"], weights
        ).astype("float32")
        rows = numpy.arange(len(targets))
        norm = max(float(weights.sum()), 1.0)
        d_probs = to_numpy(probs).copy()
        loss = float(-(weights * numpy.log(numpy.maximum(d_probs[rows, targets], 1e-8))).sum())
        # The gradient of cross-entropy through a softmax: probabilities minus one-hot.
        d_probs[rows, targets] -= 1.0
        d_probs *= weights[:, None] / norm
        return loss / norm, ops.asarray2f(cast(Floats2d, d_probs))

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()
    ) -> "SpanBertNER":
        """Load the component; a missing or damaged file is named in the error.

        path (Union[str, Path]): The component's directory.
        exclude (Iterable[str]): Fields not to load.
        RETURNS (SpanBertNER): The component.
        """
        component_from_disk(self, path, exclude)
        return self

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[List[str]] = None,
    ) -> None:
        """Take the labels, size the model and start its output at the class prior of
        the training candidates.

        get_examples (Callable[[], Iterable[Example]]): The training examples.
        nlp (Optional[Language]): The pipeline; not used.
        labels (Optional[List[str]]): The labels; taken from the examples' entities
            when not given.
        """
        validate_get_examples(get_examples, "SpanBertNER.initialize")
        for label in labels or []:
            self.add_label(label)
        stats = label_statistics(get_examples(), self.suggester, self.max_span_width)
        if labels is None:
            for label in stats.label_counts:
                self.add_label(label)
        self._check_labels(stats)
        docs = [eg.predicted for eg in stats.sample if len(eg.predicted)]
        if not docs:
            docs = [Doc(self.vocab, words=["initialize"])]
        candidates = self.suggester(docs, ops=self.model.ops)
        Y = self.model.ops.alloc2f(candidates.dataXd.shape[0], len(self.labels) + 1)
        self.model.initialize(X=(docs, candidates), Y=Y)
        self._start_at_class_prior(stats)

    def _check_labels(self, stats: LabelStatistics) -> None:
        """Stop on training data this component can't learn from; warn on entities it
        can't predict."""
        if not stats.n_entities and stats.has_span_groups:
            raise ValueError(
                f"'{self.name}' learns doc.ents, which never overlap, but the training "
                "examples have none: their gold spans are in doc.spans, where spans may "
                "overlap or nest. Train `spanbert_spancat` for those "
                "(configs/spanbert_spancat.cfg, or configs/spanbert_joint.cfg for both on "
                "one encoder), or put the non-overlapping entities in doc.ents."
            )
        if not self.labels:
            raise ValueError(
                f"'{self.name}' has no entity labels to learn: the training examples "
                "have no doc.ents and no labels were given. Pass labels through "
                f"[initialize.components.{self.name}.labels] or train on data with entities."
            )
        if stats.n_too_wide:
            warnings.warn(
                f"{stats.n_too_wide} of {stats.n_entities} gold entities are longer than "
                f"max_span_width={self.max_span_width} tokens; '{self.name}' can't "
                "predict them. Raise the model's max_span_width to cover them.",
                stacklevel=2,
            )

    def _start_at_class_prior(self, stats: LabelStatistics) -> None:
        """Set the output bias to the log class prior of the training candidates, so
        the first predictions are the prior (see `column_log_priors`)."""
        counts = numpy.asarray([stats.label_counts[label] for label in self.labels], dtype="int64")
        priors = column_log_priors(counts, stats.n_candidates, self.cfg["negative_weight"])
        self.model.get_ref("output").set_param(
            "b", self.model.ops.asarray1f(cast(Floats1d, priors))
        )
