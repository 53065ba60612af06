"""`spanbert`: a spacy-transformers Transformer component preset for SpanBERT.

Components that use a `spacy-transformers.TransformerListener.v1` share its single
forward pass, as with spacy-transformers' own `transformer` component.
"""

from collections.abc import Iterable
from typing import Callable, Dict, List, Optional

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

DEFAULT_CONFIG_STR = f"""
[spanbert]
max_batch_items = 4096
encoder_lr_scale = {DEFAULT_ENCODER_LR_SCALE}

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
) -> "SpanBertTransformer":
    """The shared SpanBERT encoder; `[components.spanbert.model.name]` picks the weights.

    encoder_lr_scale (float): The encoder's learning rate as a multiple of the
        optimizer's, which the listening heads get (see `spacy_spanbert.encoder.learning_rate`).
    """
    return SpanBertTransformer(
        nlp.vocab,
        model,
        set_extra_annotations,
        max_batch_items=max_batch_items,
        name=name,
        encoder_lr_scale=encoder_lr_scale,
    )


class SpanBertTransformer(NamedFileLoading, Transformer):
    """spacy-transformers' Transformer, stepping its encoder at `encoder_lr_scale`
    times the optimizer's rate."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[Doc], FullTransformerBatch],
        set_extra_annotations: Callable[[List[Doc], FullTransformerBatch], None],
        *,
        name: str = "spanbert",
        max_batch_items: int = 4096,
        encoder_lr_scale: float = DEFAULT_ENCODER_LR_SCALE,
    ) -> None:
        super().__init__(
            vocab, model, set_extra_annotations, name=name, max_batch_items=max_batch_items
        )
        self.encoder_lr_scale = validate_encoder_lr_scale(encoder_lr_scale, name)

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
