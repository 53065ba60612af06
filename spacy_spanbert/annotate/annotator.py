"""Run a pipeline over input records and build the output records.

Both engines call `annotate_records`, so local and Ray runs write the same records.
A batch that raises is redone one record at a time, so one bad record costs only
itself: it is written with its error.
"""

from typing import Any, Dict, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc, SpanGroup

from ..input_records import InputRecord


def annotate_records(
    nlp: Language,
    records: List[InputRecord],
    *,
    key: str,
    batch_size: int = 64,
    n_process: int = 1,
) -> List[Dict[str, Any]]:
    """Output records, in input order: the input fields plus `key` holding file, line
    and entities and spans, or an error."""
    readable = [record for record in records if record.error is None]
    try:
        docs = list(
            nlp.pipe([r.text for r in readable], batch_size=batch_size, n_process=n_process)
        )
        results: Dict[int, Any] = {id(r): doc for r, doc in zip(readable, docs)}
    except Exception:
        results = {id(r): _annotate_one(nlp, r) for r in readable}
    return [_output(record, key, results.get(id(record))) for record in records]


def _annotate_one(nlp: Language, record: InputRecord) -> Any:
    try:
        return nlp(record.text)
    except Exception as err:
        return f"{type(err).__name__}: {err}"


def _output(record: InputRecord, key: str, result: Optional[Any]) -> Dict[str, Any]:
    if key in record.fields:
        raise ValueError(
            f"{record.file}:{record.line}: the input record already has a field '{key}', "
            "where the annotations go. Choose another with --output-key."
        )
    annotations: Dict[str, Any] = {"file": record.file, "line": record.line}
    if record.error is not None:
        annotations["error"] = record.error
    elif isinstance(result, Doc):
        annotations.update(doc_annotations(result))
    else:
        annotations["error"] = f"{record.file}:{record.line}: the pipeline failed: {result}"
    return {**record.fields, key: annotations}


def doc_annotations(doc: Doc) -> Dict[str, Any]:
    """Entities and every span group, with character offsets and, where the
    component gave them, scores (`spanbert_ner`'s group and spancat's hold them)."""
    groups = {name: list(zip(group, _group_scores(group))) for name, group in doc.spans.items()}
    scores: Dict[Tuple[int, int, str], float] = {}
    for pairs in groups.values():
        for span, score in pairs:
            if score is not None:
                scores.setdefault((span.start, span.end, span.label_), score)
    return {
        "entities": [_span(ent, scores.get((ent.start, ent.end, ent.label_))) for ent in doc.ents],
        "spans": {
            name: [_span(span, score) for span, score in pairs] for name, pairs in groups.items()
        },
    }


def _group_scores(group: SpanGroup) -> List[Optional[float]]:
    """One score per span, or None where the group holds no scores."""
    scores = group.attrs.get("scores")
    if scores is None or len(scores) != len(group):
        return [None] * len(group)
    # A row of label scores per span counts as its best.
    return [round(float(s.max() if getattr(s, "ndim", 0) else s), 6) for s in scores]


def _span(span, score: Optional[float]) -> Dict[str, Any]:
    return {"start": span.start_char, "end": span.end_char, "label": span.label_, "score": score}
