"""Where systems differ: test F per entity length and type, and what each system did
with the long gold entities, from the predictions the systems' `evaluate` saved.

    python -m benchmarks.errors GOLD_SPACY NAME=EVALUATE_JSON ... [--split test]
        [--long 3]

GOLD_SPACY is the split the predictions were made on (`WORK/corpus/CORPUS/test.spacy`);
each EVALUATE_JSON is a run's `evaluate.json` (or spanbert_ner's
`evaluate_dev_threshold.json`). Nothing is annotated again.
"""

import json
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Sequence

import spacy
import typer

from .systems.common import LENGTH_BUCKETS, Entities, doc_entities, length_bucket, read_docs
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


@app.command()
def main(
    gold_path: Path,
    runs: List[str] = typer.Argument(..., help="NAME=EVALUATE_JSON, one per system"),
    split: str = "test",
    long: int = typer.Option(3, help="Entities of at least this many tokens are long"),
) -> None:
    gold = [doc_entities(doc) for doc in read_docs(gold_path, spacy.blank("en").vocab)]
    loaded = {}
    for item in runs:
        name, _, path = item.partition("=")
        loaded[name] = json.loads(Path(path).read_text())
        if "predicted" not in loaded[name][split]:
            raise typer.BadParameter(f"{path} holds no predictions: evaluate the run again")
    print(report(gold, loaded, split, long))


if __name__ == "__main__":
    app()
