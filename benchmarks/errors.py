"""Where systems differ: test F per entity length and type, and what each system did
with the long gold entities, from the predictions the systems' `evaluate` saved.

    python -m benchmarks.errors GOLD_SPACY NAME=EVALUATE_JSON ... [--split test]
        [--long 3]

GOLD_SPACY is the split the predictions were made on (`WORK/corpus/CORPUS/test.spacy`);
each EVALUATE_JSON is a run's `evaluate.json` (or spanbert_ner's
`evaluate_dev_threshold.json`). Nothing is annotated again, except with
`--scores-of MODEL`: a trained `spanbert_ner` pipeline scores the gold entities' own
spans, to tell a threshold that cuts them from scores that never rise (per length).
"""

import json
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy
import spacy
import typer
from thinc.api import to_numpy

from spacy_spanbert.ner.component import SpanBertNER
from spacy_spanbert.ner.decoding import entity_decisions

from .systems.common import (
    LENGTH_BUCKETS,
    Entities,
    doc_entities,
    length_bucket,
    read_docs,
    unannotated_copy,
)
from .tables import header, lines, row

app = typer.Typer(add_completion=False)
# What a system did with a gold entity, in the order the table shows.
OUTCOMES = ("found", "wrong label", "part of it", "crossing or wider", "nothing")


def outcome(start: int, end: int, label: str, predicted: Sequence[Sequence[Any]]) -> str:
    """Found exactly; the same tokens with another label; only spans inside it; spans
    that cross or cover it; or nothing that touches it."""
    touching = [(s, e, lab) for s, e, lab in predicted if s < end and e > start]
    if (start, end, label) in touching:
        return "found"
    if any((s, e) == (start, end) for s, e, _ in touching):
        return "wrong label"
    if touching and all(s >= start and e <= end for s, e, _ in touching):
        return "part of it"
    return "crossing or wider" if touching else "nothing"


def long_outcomes(
    gold: Sequence[Entities], predicted: Sequence[Sequence[Sequence[Any]]], long: int
) -> Counter:
    """What the system did with each gold entity of at least `long` tokens."""
    counts: Counter = Counter()
    for gold_entities, predicted_entities in zip(gold, predicted):
        for start, end, label in gold_entities:
            if end - start >= long:
                counts[outcome(start, end, label, predicted_entities)] += 1
    return counts


def report(gold: Sequence[Entities], runs: Dict[str, Dict[str, Any]], split: str, long: int) -> str:
    types = sorted({t for run in runs.values() for t in run[split]["per_type"]})
    counts = Counter(length_bucket(start, end) for doc in gold for start, end, _ in doc)
    by_length = [
        header("system", "F", *(f"{b} token(s) ({counts[b]})" for b in LENGTH_BUCKETS), *types)
    ]
    for name, run in runs.items():
        scores = run[split]
        by_length.append(
            row(
                name,
                _pct(scores["f"]),
                *(_pct(scores["per_length"][b]["f"]) for b in LENGTH_BUCKETS),
                *(_pct(scores["per_type"].get(t, {}).get("f", 0.0)) for t in types),
            )
        )
    n_long = sum(1 for doc in gold for start, end, _ in doc if end - start >= long)
    outcomes = [header("system", *OUTCOMES)]
    for name, run in runs.items():
        found = long_outcomes(gold, run[split]["predicted"], long)
        outcomes.append(row(name, *(found[o] for o in OUTCOMES)))
    return "\n\n".join(
        [
            f"{split}: F per entity length (gold entities) and per type",
            lines(by_length),
            f"{split}: the {n_long} gold entities of {long} or more tokens",
            lines(outcomes),
        ]
    )


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def gold_span_scores(model: str, gold_path: Path, batch_size: int = 64) -> str:
    """The probability a `spanbert_ner` pipeline gives each gold entity's own span of
    being an entity (1 - P(no entity)), per entity length: mean, and the shares above
    0.5 (the default threshold) and 0.2."""
    nlp = spacy.load(model)
    ner = nlp.get_pipe("spanbert_ner")
    assert isinstance(ner, SpanBertNER)
    gold = read_docs(gold_path, nlp.vocab)
    by_length: Dict[str, List[float]] = {bucket: [] for bucket in LENGTH_BUCKETS}
    for i in range(0, len(gold), batch_size):
        batch = gold[i : i + batch_size]
        # The components before spanbert_ner, then its own predict once.
        docs = list(nlp.pipe((unannotated_copy(doc) for doc in batch), disable=["spanbert_ner"]))
        candidates, probs = ner.predict(docs)
        rows = numpy.asarray(to_numpy(candidates.dataXd))
        entity_p = entity_decisions(numpy.asarray(to_numpy(probs)), 0.5, 0.0)[2]
        start = 0
        for doc, n_rows in zip(batch, to_numpy(candidates.lengths)):
            where = {
                (int(a), int(b)): start + k for k, (a, b) in enumerate(rows[start : start + n_rows])
            }
            start += int(n_rows)
            for begin, end, _ in doc_entities(doc):
                if (begin, end) in where:
                    by_length[length_bucket(begin, end)].append(float(entity_p[where[begin, end]]))
    table = [header("entity length", "gold spans scored", "mean P(entity)", "> 0.5", "> 0.2")]
    for bucket, values in by_length.items():
        found = numpy.asarray(values)
        cells = ["", "", ""]
        if len(values):
            cells = [f"{found.mean():.2f}", _pct((found > 0.5).mean()), _pct((found > 0.2).mean())]
        table.append(row(bucket, len(values), *cells))
    return lines(table)


@app.command()
def main(
    gold_path: Path,
    runs: List[str] = typer.Argument(..., help="NAME=EVALUATE_JSON, one per system"),
    split: str = "test",
    long: int = typer.Option(3, help="Entities of at least this many tokens are long"),
    scores_of: Optional[str] = typer.Option(
        None, help="A spanbert_ner pipeline to score gold spans"
    ),
) -> None:
    gold = [doc_entities(doc) for doc in read_docs(gold_path, spacy.blank("en").vocab)]
    loaded = {}
    for item in runs:
        name, _, path = item.partition("=")
        loaded[name] = json.loads(Path(path).read_text())
        if "predicted" not in loaded[name][split]:
            raise typer.BadParameter(f"{path} holds no predictions: evaluate the run again")
    print(report(gold, loaded, split, long))
    if scores_of is not None:
        print(f"\n{split}: what {scores_of} gives the gold entities' spans\n")
        print(gold_span_scores(scores_of, gold_path))


if __name__ == "__main__":
    app()
