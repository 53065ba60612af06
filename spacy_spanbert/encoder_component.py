"""`spanbert`: a spacy-transformers Transformer component preset for SpanBERT.

Components that use a `spacy-transformers.TransformerListener.v1` share its single
forward pass, as with spacy-transformers' own `transformer` component.
"""

from typing import Callable, List

from spacy.language import Language
from spacy.tokens import Doc
from spacy_transformers.data_classes import FullTransformerBatch
from spacy_transformers.pipeline_component import DOC_EXT_ATTR, Transformer
from thinc.api import Config, Model

DEFAULT_CONFIG_STR = """
[spanbert]
max_batch_items = 4096

[spanbert.set_extra_annotations]
@annotation_setters = "spacy-transformers.null_annotation_setter.v1"

[spanbert.model]
@architectures = "spacy_spanbert.SpanBertEncoder.v1"
name = "SpanBERT/spanbert-base-cased"
tokenizer_config = {"use_fast": true}
transformer_config = {}
mixed_precision = false
grad_scaler_config = {}

[spanbert.model.get_spans]
@span_getters = "spacy-transformers.strided_spans.v1"
window = 128
stride = 96
"""
DEFAULT_CONFIG = Config().from_str(DEFAULT_CONFIG_STR)["spanbert"]


@Language.factory(
    "spanbert", assigns=[f"doc._.{DOC_EXT_ATTR}"], default_config=DEFAULT_CONFIG
)
def make_spanbert(
    nlp: Language,
    name: str,
    model: Model[List[Doc], FullTransformerBatch],
    set_extra_annotations: Callable[[List[Doc], FullTransformerBatch], None],
    max_batch_items: int,
) -> Transformer:
    """The shared SpanBERT encoder; `[components.spanbert.model.name]` picks the weights."""
    return Transformer(
        nlp.vocab,
        model,
        set_extra_annotations,
        max_batch_items=max_batch_items,
        name=name,
    )
