"""Which candidates `spanbert_ner` calls entities: "no entity" against the best label
(the rule before `entity_threshold`), or against the labels' total at each threshold.

    python -m benchmarks.decision_rule MODEL DEV TEST

Scores dev and test at each setting from one scoring pass each (gold tokens, exact
match). Choose the threshold on dev; test only shows what that choice gives.
"""

from pathlib import Path
from typing import List

import numpy
import spacy
import typer
from spacy.training import Corpus

from spacy_spanbert.ner.decoding import greedy_non_overlapping
from spacy_spanbert.ner.thresholds import Scored, entity_threshold_scores, score_candidates

from .tables import header, row

app = typer.Typer(add_completion=False)
THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


def best_label_rule(scored: List[Scored]) -> List[float]:
    """P/R/F when a candidate is an entity if its best label beats "no entity"."""
    tp = predicted = gold = 0
    for spans, probs, preset, gold_set in scored:
        best = probs.argmax(axis=1)
        rows = numpy.flatnonzero(best != probs.shape[1] - 1)
        best_p = probs[rows, best[rows]]
        kept = rows[greedy_non_overlapping(spans[rows], best_p, preset)]
        found = {(int(spans[r, 0]), int(spans[r, 1]), int(best[r])) for r in kept}
        tp, predicted, gold = (
            tp + len(found & gold_set),
            predicted + len(found),
            gold + len(gold_set),
        )
    p, r = tp / max(predicted, 1), tp / max(gold, 1)
    return [p, r, 2 * p * r / max(p + r, 1e-9)]


@app.command()
def main(model: str, dev_path: Path, test_path: Path) -> None:
    nlp = spacy.load(model)
    ner = nlp.get_pipe("spanbert_ner")
    splits = {
        name: list(Corpus(path)(nlp)) for name, path in (("dev", dev_path), ("test", test_path))
    }
    print(header("rule", "dev P", "dev R", "dev F", "test P", "test R", "test F"))
    old = [
        best_label_rule(score_candidates(nlp, ner, "spanbert_ner", examples, 64))
        for examples in splits.values()
    ]
    print(row("best label beats no entity", *(f"{100 * x:.1f}" for split in old for x in split)))
    new = {
        name: entity_threshold_scores(nlp, "spanbert_ner", examples, THRESHOLDS)
        for name, examples in splits.items()
    }
    best_on_dev = max(new["dev"], key=lambda result: result.f).threshold
    for dev, test in zip(new["dev"], new["test"]):
        mark = " (best on dev)" if dev.threshold == best_on_dev else ""
        values = [f"{100 * x:.1f}" for x in (dev.p, dev.r, dev.f, test.p, test.r, test.f)]
        print(row(f"entity probability >= {dev.threshold}{mark}", *values))


if __name__ == "__main__":
    app()
