"""`spanbert`: a spacy-transformers Transformer component preset for SpanBERT.

Components that use a `spacy-transformers.TransformerListener.v1` share its single
forward pass, as with spacy-transformers' own `transformer` component.
"""

from collections.abc import Iterable
from typing import Callable, Dict, Iterator, List, Optional

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab
from spacy_transformers import Transformer
from spacy_transformers.data_classes import FullTransformerBatch
from thinc.api import Config, Model, Optimizer

from ..compat import DOC_EXT_ATTR
from ..pipe_files import NamedFileLoading
from .default_config import default_encoder_config
from .learning_rate import DEFAULT_ENCODER_LR_SCALE, scaled, validate_encoder_lr_scale
from .length_batching import DEFAULT_LENGTH_SORT_DOCS, pool_size, validate_length_sort_docs

DEFAULT_CONFIG_STR = f"""
[spanbert]
max_batch_items = 4096
encoder_lr_scale = {DEFAULT_ENCODER_LR_SCALE}
length_sort_docs = {DEFAULT_LENGTH_SORT_DOCS}

[spanbert.set_extra_annotations]
@annotation_setters = "spacy-transformers.null_annotation_setter.v1"
{default_encoder_config("spanbert.model", inline=False)}"""
DEFAULT_CONFIG = Config().from_str(DEFAULT_CONFIG_STR)["spanbert"]


@Language.factory("spanbert", assigns=[f"doc._.{DOC_EXT_ATTR}"], default_config=DEFAULT_CONFIG)
def make_spanbert(
    nlp: Language,
    name: str,
    model: Model[List[Doc], FullTransformerBatch],
    set_extra_annotations: Callable[[List[Doc], FullTransformerBatch], None],
    max_batch_items: int,
    encoder_lr_scale: float,
    length_sort_docs: int,
) -> "SpanBertTransformer":
    """The shared SpanBERT encoder; `[components.spanbert.model.name]` picks the weights.

    max_batch_items (int): The most padded tokens the encoder runs together
        (spacy-transformers' setting).
    encoder_lr_scale (float): The encoder's learning rate as a multiple of the
        optimizer's, which the listening heads get (see `spacy_spanbert.encoder.learning_rate`).
    length_sort_docs (int): Docs that `nlp.pipe` reads ahead and runs in batches of
        similar length, yielding them in their order (1: each batch as it comes).
    """
    return SpanBertTransformer(
        nlp.vocab,
        model,
        set_extra_annotations,
        max_batch_items=max_batch_items,
        name=name,
        encoder_lr_scale=encoder_lr_scale,
        length_sort_docs=length_sort_docs,
    )


class SpanBertTransformer(NamedFileLoading, Transformer):
    """spacy-transformers' Transformer, stepping its encoder at `encoder_lr_scale`
    times the optimizer's rate, and batching a stream's docs by length over
    `length_sort_docs` docs at a time."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[Doc], FullTransformerBatch],
        set_extra_annotations: Callable[[List[Doc], FullTransformerBatch], None],
        *,
        name: str = "spanbert",
        max_batch_items: int = 4096,
        encoder_lr_scale: float = DEFAULT_ENCODER_LR_SCALE,
        length_sort_docs: int = DEFAULT_LENGTH_SORT_DOCS,
    ) -> None:
        super().__init__(
            vocab, model, set_extra_annotations, name=name, max_batch_items=max_batch_items
        )
        self.encoder_lr_scale = validate_encoder_lr_scale(encoder_lr_scale, name)
        self.length_sort_docs = validate_length_sort_docs(length_sort_docs, name)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """spacy-transformers' `pipe`, which runs each batch's docs in sub-batches of
        similar length (`max_batch_items`), over up to `length_sort_docs` docs at a time;
        the docs come out in their order."""
        return super().pipe(stream, batch_size=pool_size(batch_size, self.length_sort_docs))

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        # With `sgd`, the last listener's backprop steps the encoder directly.
        encoder_sgd = None if sgd is None else scaled(sgd, self.encoder_lr_scale)
        return super().update(examples, drop=drop, sgd=encoder_sgd, losses=losses)

    def finish_update(self, sgd: Optimizer) -> None:
        self.model.finish_update(scaled(sgd, self.encoder_lr_scale))
