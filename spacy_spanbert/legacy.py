"""Earlier versions of registered architectures, kept so that saved pipelines and
configs that name them still load (spaCy's habit: spacy-legacy)."""

from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d, Ragged

from .architectures import build_span_boundary_reducer


@registry.architectures("spacy_spanbert.SpanBoundaryReducer.v1")
def build_span_boundary_reducer_v1(
    hidden_size: int = 128,
    width_embedding_size: int = 32,
    max_width: int = 10,
    with_head: bool = True,
) -> Model[Ragged, Floats2d]:
    """v2 with the width cap named `max_width` and the head on by default.

    v2 names the cap `max_span_width` and leaves the head off by default, as
    `spacy_spanbert.SpanBertNER.v1` does; the model is the same.
    """
    return build_span_boundary_reducer(hidden_size, width_embedding_size, max_width, with_head)
