"""Choose every system's learning rates on dev: each system's grid (`benchmarks.suite`),
one seed, the same corpus and epochs for all.

    python -m benchmarks.tuning CORPORA_DIR --corpus wnut17 --epochs 3 [--seed 0]
        [--systems spanbert_ner ...] [--work benchmarks/runs/compare]

Each run is the comparison's own (`benchmarks.compare` finds it under WORK and does not
train it again). The recipe with the best dev F (at the system's default decision
rule) is written to WORK/chosen.json under the corpus, for
`benchmarks.compare --recipes WORK/chosen.json` to run on the other seeds. The grid's
table goes to stdout and WORK/tuning-CORPUS.md.
"""

import json
from pathlib import Path
from typing import Any, Dict, List

import typer

from .compare import pct, train_and_evaluate
from .suite import ENCODER, FULL_CORPUS_SYSTEMS, ROOT, SYSTEMS, Recipe, converted, run_dir
from .tables import header, lines, row

app = typer.Typer(add_completion=False)


def grid_table(corpus: str, runs: Dict[str, List[Dict[str, Any]]], chosen: Dict[str, Any]) -> str:
    rows = [header("system", "recipe", "dev F", "test F", "train s/epoch", "chosen")]
    for system, results in runs.items():
        for result in results:
            recipe = Recipe.from_json(result["recipe"])
            scores = result["evaluate"]
            rows.append(
                row(
                    system,
                    recipe.name,
                    pct(scores["dev"]["f"]),
                    pct(scores["test"]["f"]),
                    f"{result['train']['seconds_per_epoch']:,.0f}",
                    "✓" if result["recipe"] == chosen[corpus][system] else "",
                )
            )
    return lines(rows)


def best_recipes(runs: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Dict[str, Any]]:
    """Each system's recipe with the best dev F (ties: the earlier, i.e. the default)."""
    return {
        system: max(results, key=lambda result: result["evaluate"]["dev"]["f"])["recipe"]
        for system, results in runs.items()
    }


@app.command()
def main(
    corpora_dir: Path,
    corpus: str = typer.Option(...),
    epochs: int = typer.Option(...),
    seed: int = 0,
    systems: List[str] = typer.Option(FULL_CORPUS_SYSTEMS),
    encoder: str = ENCODER,
    work: Path = ROOT / "benchmarks/runs/compare",
) -> None:
    data = converted(corpus, corpora_dir, work)
    runs = {
        system: [
            train_and_evaluate(
                system,
                data,
                run_dir(work, corpus, seed, system, recipe),
                encoder,
                epochs,
                seed,
                recipe,
            )
            for recipe in SYSTEMS[system].grid
        ]
        for system in systems
    }
    chosen_path = work / "chosen.json"
    chosen = json.loads(chosen_path.read_text()) if chosen_path.exists() else {}
    chosen.setdefault(corpus, {}).update(best_recipes(runs))
    chosen_path.write_text(json.dumps(chosen, indent=2))
    report = (
        f"{corpus}, {epochs} epoch(s), seed {seed}, encoder {encoder}: the grid on dev\n\n"
        + grid_table(corpus, runs, chosen)
    )
    (work / f"tuning-{corpus}.md").write_text(report + "\n")
    print("\n" + report)


if __name__ == "__main__":
    app()
