"""`spanbert_ner`: named entities from scored candidate spans, written to `doc.ents`."""

from collections.abc import Iterable
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union, cast

import numpy
from spacy import Errors
from spacy.attrs import ENT_IOB
from spacy.language import Language
from spacy.pipeline.trainable_pipe import TrainablePipe
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, Span, Token
from spacy.training import Example, validate_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate, to_numpy
from thinc.types import Floats2d, Ragged

from ..encoder import DEFAULT_ENCODER_LR_SCALE, default_encoder_config, validate_encoder_lr_scale
from ..encoder.length_batching import DEFAULT_LENGTH_SORT_DOCS, validate_length_sort_docs
from ..legacy import ner_min_label_probability, upgrade_ner_cfg
from ..span_pipe import KeptSpans, Predictions, SpanPipe, build_sentence_ngram_suggester
from ..span_pipe.decisions import doc_of_rows, non_overlapping_rows
from ..span_pipe.statistics import SpanStatistics
from .decoding import entity_decisions
from .targets import candidate_targets

DEFAULT_MODEL_CONFIG = f"""
[model]
@architectures = "spacy_spanbert.SpanBertNER.v1"
max_span_width = 10
width_embedding_size = 32
with_head = true
hidden_size = 150
dropout = 0.1
{default_encoder_config("model.tok2vec", inline=True)}"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]
# Token.ent_iob codes: 0 missing, 1 "I", 2 "O", 3 "B".
IOB_INSIDE = Token.iob_strings().index("I")
IOB_BEGIN = Token.iob_strings().index("B")


@Language.factory(
    "spanbert_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", "doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "entity_threshold": 0.5,
        "min_label_probability": 0.0,
        "negative_weight": 1.0,
        "scores_key": "spanbert_ner",
        "encoder_lr_scale": DEFAULT_ENCODER_LR_SCALE,
        "length_sort_docs": DEFAULT_LENGTH_SORT_DOCS,
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
    entity_threshold: float,
    min_label_probability: float,
    negative_weight: float,
    scores_key: str,
    encoder_lr_scale: float,
    length_sort_docs: int,
    scorer: Optional[Callable],
    threshold: Optional[float] = None,
) -> "SpanBertNER":
    """Span-based NER: score every span of up to `max_span_width` tokens, keep the best.

    entity_threshold (float): Least entity probability (1 - p(no entity)) for a
        candidate to be an entity; choose it on dev with `python -m spacy_spanbert
        thresholds`.
    min_label_probability (float): Least probability of an entity's best label; a
        candidate whose entity probability is split over labels below it is dropped.
    negative_weight (float): Weight in the loss of candidates that are no entity.
        Where entities are rare among candidates (WNUT-17: 0.45%), values below 1
        keep the model from settling on "no entity" everywhere, at the cost of
        scores that overstate entity probabilities.
    scores_key (str): `doc.spans[scores_key]` holds the entities this component
        predicted, with their probabilities in `.attrs["scores"]`.
    encoder_lr_scale (float): An inline encoder's learning rate as a multiple of the
        optimizer's, which the span head gets (see `spacy_spanbert.encoder.learning_rate`).
        A listener's encoder follows its own component's setting.
    length_sort_docs (int): Docs that `nlp.pipe` reads ahead and runs in batches of
        similar length, yielding them in their order (1: each batch as it comes).
    threshold (Optional[float]): The name of min_label_probability in pipelines saved
        by spacy-spanbert 0.1, which still load; leave it null.
    """
    return SpanBertNER(
        nlp.vocab,
        model,
        name,
        entity_threshold=entity_threshold,
        min_label_probability=ner_min_label_probability(min_label_probability, threshold),
        negative_weight=negative_weight,
        scores_key=scores_key,
        encoder_lr_scale=encoder_lr_scale,
        length_sort_docs=length_sort_docs,
        scorer=scorer,
    )


class SpanBertNER(SpanPipe, TrainablePipe):
    """Named entities from span boundary representations (SpanBERT, Lee et al. 2017).

    Entities already on the doc are kept, as spaCy's `ner` keeps them: predictions
    that overlap them are dropped, and tokens left without an entity are set to O.
    """

    threshold_setting = "entity_threshold"

    def __init__(
        self,
        vocab: Vocab,
        model: Model[Tuple[List[Doc], Ragged], Floats2d],
        name: str = "spanbert_ner",
        *,
        entity_threshold: float = 0.5,
        min_label_probability: float = 0.0,
        negative_weight: float = 1.0,
        scores_key: str = "spanbert_ner",
        encoder_lr_scale: float = DEFAULT_ENCODER_LR_SCALE,
        length_sort_docs: int = DEFAULT_LENGTH_SORT_DOCS,
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
        for setting, value in (
            ("entity_threshold", entity_threshold),
            ("min_label_probability", min_label_probability),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"'{name}': {setting} must be in [0, 1], got {value}.")
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict = {
            "labels": [],
            "entity_threshold": entity_threshold,
            "min_label_probability": min_label_probability,
            "negative_weight": negative_weight,
            "scores_key": scores_key,
            "encoder_lr_scale": validate_encoder_lr_scale(encoder_lr_scale, name),
            "length_sort_docs": validate_length_sort_docs(length_sort_docs, name),
        }
        self.suggester = build_sentence_ngram_suggester(1, self.max_span_width)

    @property
    def labels(self) -> Tuple[str, ...]:
        """The entity labels, in the order of the output columns."""
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        """The labels, as `spacy init labels` saves them."""
        return list(self.labels)

    @property
    def has_none_column(self) -> bool:
        """The output is a softmax over the labels and "no entity"."""
        return True

    def gold_spans(self, doc: Doc) -> Iterable[Span]:
        """The entities of a reference doc."""
        return doc.ents

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

    def predict(self, docs: Iterable[Doc]) -> Predictions:
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

    def kept_spans(
        self, docs: Sequence[Doc], predictions: Predictions, threshold: Optional[float] = None
    ) -> KeptSpans:
        """The best non-overlapping candidates that are entities, per doc, leaving
        the tokens of entities already on the doc alone.

        docs (Sequence[Doc]): The docs, as `predict` saw them.
        predictions (Tuple[Ragged, Floats2d]): What `predict` returned for them.
        threshold (Optional[float]): The entity threshold, instead of the component's.
        RETURNS (KeptSpans): The entities, each with its best label's probability.
        """
        candidates, probs = predictions
        spans = to_numpy(candidates.dataXd)
        doc_of_row = doc_of_rows(to_numpy(candidates.lengths))
        entity_threshold = self.cfg["entity_threshold"] if threshold is None else threshold
        best, best_p, entity_p, keep = entity_decisions(
            to_numpy(probs), entity_threshold, self.cfg["min_label_probability"]
        )
        preset = [preset_entity_tokens(doc) for doc in docs]
        rows = non_overlapping_rows(numpy.flatnonzero(keep), doc_of_row, spans, entity_p, preset)
        return KeptSpans.of_rows(rows, doc_of_row, spans, best[rows], best_p[rows])

    def write_spans(self, docs: Sequence[Doc], kept: KeptSpans) -> None:
        """Add the entities to `doc.ents`, and them with their probabilities to
        `doc.spans[scores_key]`."""
        key = self.cfg["scores_key"]
        for doc, group in zip(docs, kept.span_groups(docs, self.labels, key)):
            doc.set_ents(list(doc.ents) + list(group), default="outside")
            doc.spans[key] = group

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

    def get_loss(
        self, examples: Iterable[Example], candidates_probs: Predictions
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
        """Load the component; a missing or damaged file is named in the error, and
        settings saved under their 0.1 names are read under today's.

        path (Union[str, Path]): The component's directory.
        exclude (Iterable[str]): Fields not to load.
        RETURNS (SpanBertNER): The component.
        """
        super().from_disk(path, exclude=exclude)
        upgrade_ner_cfg(self.cfg)
        return self

    def check_labels(self, stats: SpanStatistics) -> None:
        """Stop on training data this component can't learn from."""
        if not stats.n_gold and stats.has_span_groups:
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


def preset_entity_tokens(doc: Doc) -> numpy.ndarray:
    """Per token: is it inside an entity set before this component ran?"""
    iob = doc.to_array(ENT_IOB)
    return (iob == IOB_BEGIN) | (iob == IOB_INSIDE)
