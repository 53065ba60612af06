"""`SpanPipe`: what `spanbert_ner` and `spanbert_spancat` share.

Both score a suggester's candidate spans with a span model that declares its
`max_span_width`, start their output at the label priors of the training candidates,
step an inline encoder at `encoder_lr_scale` times the optimizer's rate, and write the
spans one method decides (`kept_spans`). Each component says where its gold spans
are, how many output columns it has and how it decides; the rest lives here once.
"""

import warnings
from collections.abc import Iterable
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    cast,
)

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_get_examples
from spacy.util import minibatch
from thinc.api import Model, Optimizer
from thinc.types import Floats1d, Floats2d, Ragged

from ..encoder.learning_rate import finish_update_scaled
from ..encoder.length_batching import length_sorted_batches, pool_size
from ..pipe_files import NamedFileLoading
from .decisions import KeptSpans
from .priors import column_log_priors, label_logit_priors
from .statistics import SpanStatistics, span_statistics

Predictions = Tuple[Ragged, Floats2d]


class SpanPipe(NamedFileLoading):
    """A mixin for a `TrainablePipe` over candidate spans (listed first among its bases).

    The component provides `labels`, `add_label`, `suggester`, `gold_spans`,
    `has_none_column`, `kept_spans` and `write_spans`, and in `cfg`
    `negative_weight`, `encoder_lr_scale` and `length_sort_docs`.
    """

    # The cfg setting the `thresholds` command chooses on dev.
    threshold_setting: str = "threshold"

    if TYPE_CHECKING:
        model: Model
        vocab: Any
        name: str
        cfg: Dict[str, Any]
        labels: Any
        add_label: Callable[[str], int]
        suggester: Callable[..., Ragged]
        get_error_handler: Any
        predict: Any

    @property
    def max_span_width(self) -> int:
        """The longest candidate span the model represents, in tokens."""
        return int(self.model.attrs["max_span_width"])

    @property
    def has_none_column(self) -> bool:
        """Softmax over the labels and a last "no span" column (True), or a sigmoid
        per label (False)."""
        raise NotImplementedError

    @property
    def n_columns(self) -> int:
        """The output columns: the labels, and "no span" where there is one."""
        return len(self.labels) + int(self.has_none_column)

    def gold_spans(self, doc: Doc) -> Iterable[Span]:
        """The gold spans of a reference doc that this component learns."""
        raise NotImplementedError

    def kept_spans(
        self, docs: Sequence[Doc], predictions: Predictions, threshold: Optional[float] = None
    ) -> KeptSpans:
        """The spans this component writes for the docs, given `predict`'s output;
        `threshold` replaces the setting named by `threshold_setting`."""
        raise NotImplementedError

    def write_spans(self, docs: Sequence[Doc], kept: KeptSpans) -> None:
        """Write the spans kept to the docs."""
        raise NotImplementedError

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Annotate a stream of docs, yielding them in the order they came. Up to
        `length_sort_docs` docs are read ahead and run in batches of `batch_size`
        docs of similar length, so that the encoder pads little.

        stream (Iterable[Doc]): The docs.
        batch_size (int): The docs run together.
        YIELDS (Doc): The annotated docs; those of a batch that failed are handed
            to the component's error handler instead, as spaCy's components do.
        """
        error_handler = self.get_error_handler()
        for pool in minibatch(stream, pool_size(batch_size, self.cfg["length_sort_docs"])):
            failed: Set[int] = set()
            for batch in length_sorted_batches(pool, batch_size):
                try:
                    self.set_annotations(batch, self.predict(batch))
                except Exception as err:
                    failed.update(id(doc) for doc in batch)
                    error_handler(self.name, self, batch, err)
            yield from (doc for doc in pool if id(doc) not in failed)

    def set_annotations(self, docs: Iterable[Doc], predictions: Predictions) -> None:
        """Write the spans `kept_spans` decides on to the docs.

        docs (Iterable[Doc]): The docs to modify.
        predictions (Tuple[Ragged, Floats2d]): What `predict` returned for them.
        """
        docs = list(docs)
        self.write_spans(docs, self.kept_spans(docs, predictions))

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
        labels (Optional[List[str]]): The labels; taken from the examples' gold spans
            when not given.
        """
        validate_get_examples(get_examples, f"{type(self).__name__}.initialize")
        for label in labels or []:
            self.add_label(label)
        stats = span_statistics(
            get_examples(), self.gold_spans, self.suggester, self.max_span_width
        )
        if labels is None:
            for label in stats.label_counts:
                self.add_label(label)
        self.check_labels(stats)
        if stats.n_too_wide:
            warnings.warn(
                f"{stats.n_too_wide} of {stats.n_gold} gold spans are longer than "
                f"max_span_width={self.max_span_width} tokens; '{self.name}' can't "
                "predict them. Raise the model's max_span_width to cover them.",
                stacklevel=2,
            )
        docs = [eg.predicted for eg in stats.sample if len(eg.predicted)]
        if not docs:
            docs = [Doc(self.vocab, words=["initialize"])]
        candidates = self.suggester(docs, ops=self.model.ops)
        Y = self.model.ops.alloc2f(candidates.dataXd.shape[0], self.n_columns)
        self.model.initialize(X=(docs, candidates), Y=Y)
        self._start_at_label_priors(stats)

    def check_labels(self, stats: SpanStatistics) -> None:
        """Stop on training data the component can't learn from."""
        raise NotImplementedError

    def _start_at_label_priors(self, stats: SpanStatistics) -> None:
        """Set the output bias so that the first predictions are the label priors of
        the training candidates (see `priors`)."""
        counts = numpy.asarray([stats.label_counts[label] for label in self.labels], dtype="int64")
        priors = (column_log_priors if self.has_none_column else label_logit_priors)(
            counts, stats.n_candidates, float(self.cfg["negative_weight"])
        )
        self.model.get_ref("output").set_param(
            "b", self.model.ops.asarray1f(cast(Floats1d, priors))
        )

    def finish_update(self, sgd: Optimizer) -> None:
        """Update the span head at the optimizer's rate and an inline encoder at
        `encoder_lr_scale` times it.

        sgd (Optimizer): The optimizer.
        """
        finish_update_scaled(self.model, sgd, float(self.cfg["encoder_lr_scale"]))
