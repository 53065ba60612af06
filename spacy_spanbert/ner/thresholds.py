"""Precision, recall and F of `spanbert_ner` at every entity threshold, from one pass.

The candidates are scored once; each threshold then keeps the candidates whose
entity probability reaches it, takes the best non-overlapping ones per doc (as
`set_annotations` does) and counts exact matches with the gold entities.
"""

from typing import List, Sequence, Tuple

import numpy
from numpy.typing import NDArray
from spacy.language import Language
from spacy.training import Example
from spacy.util import minibatch
from thinc.api import to_numpy

from ..pipeline.threshold_scores import ThresholdScores, prf
from .component import IOB_BEGIN, IOB_INSIDE, SpanBertNER
from .decoding import entity_decisions, greedy_non_overlapping

# Per doc: its candidates [start, end), their probabilities, entities preset on the
# predicted doc (tokens), and its gold entities (start, end, label index).
Scored = Tuple[NDArray[numpy.int32], NDArray[numpy.float32], NDArray[numpy.bool_], set]


def entity_threshold_scores(
    nlp: Language,
    component: str,
    examples: Sequence[Example],
    thresholds: Sequence[float],
    batch_size: int = 64,
) -> List[ThresholdScores]:
    """P/R/F (and F per label) of the component's entities at each entity threshold."""
    pipe = nlp.get_pipe(component)
    if not isinstance(pipe, SpanBertNER):
        raise ValueError(f"'{component}' is a {type(pipe).__name__}, not spanbert_ner.")
    scored = score_candidates(nlp, pipe, component, examples, batch_size)
    labels = list(pipe.labels)
    gold = numpy.zeros(len(labels))
    for _, _, _, gold_set in scored:
        for _, _, label in gold_set:
            gold[label] += 1
    results = []
    for threshold in thresholds:
        true_positives = numpy.zeros(len(labels))
        predicted = numpy.zeros(len(labels))
        for spans, probs, preset, gold_set in scored:
            best, _, entity_p, keep = entity_decisions(probs, threshold, pipe.cfg["threshold"])
            rows = numpy.flatnonzero(keep)
            kept = rows[greedy_non_overlapping(spans[rows], entity_p[rows], preset)]
            found = {(int(spans[r, 0]), int(spans[r, 1]), int(best[r])) for r in kept}
            for _, _, label in found:
                predicted[label] += 1
            for _, _, label in found & gold_set:
                true_positives[label] += 1
        results.append(prf(threshold, true_positives, predicted, gold, labels))
    return results


def score_candidates(
    nlp: Language, pipe: SpanBertNER, component: str, examples: Sequence[Example], batch_size: int
) -> List[Scored]:
    """Every doc's candidates and probabilities (the pipeline before the component
    run on the predicted docs), preset entities and gold entities."""
    scored: List[Scored] = []
    label_ids = {label: i for i, label in enumerate(pipe.labels)}
    for batch in minibatch(examples, batch_size):
        docs = list(nlp.pipe((eg.predicted.copy() for eg in batch), disable=[component]))
        candidates, probs = pipe.predict(docs)
        spans, lengths, probs = (
            to_numpy(x) for x in (candidates.dataXd, candidates.lengths, probs)
        )
        offset = 0
        for doc, eg, n in zip(docs, batch, lengths):
            iob = doc.to_array("ENT_IOB")
            aligned = Example(doc, eg.reference).get_aligned_spans_y2x(eg.reference.ents)
            gold = {(e.start, e.end, label_ids[e.label_]) for e in aligned if e.label_ in label_ids}
            rows = slice(offset, offset + int(n))
            scored.append(
                (spans[rows], probs[rows], (iob == IOB_BEGIN) | (iob == IOB_INSIDE), gold)
            )
            offset += int(n)
    return scored
