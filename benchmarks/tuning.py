"""Choose every system's learning rates on dev: each system's grid (`benchmarks.suite`),
one seed, the same corpus and epochs for all.

    python -m benchmarks.tuning CORPORA_DIR --corpus wnut17 --epochs 3 [--seed 0]
        [--systems spanbert_ner ...] [--work benchmarks/runs/compare]

Each run is the comparison's own (`benchmarks.compare` finds it under WORK and does not
train it again). Where the best recipe sits on the grid's edge, the grid is extended
past it (the encoder rate doubled, or halved at the low end), up to twice, so that no
system is held below its best by where the grid stopped. The recipe with the best dev
F (at the system's default decision rule) is written to WORK/chosen.json under the
corpus, for
`benchmarks.compare --recipes WORK/chosen.json` to run on the other seeds. The grid's
table goes to stdout and WORK/tuning-CORPUS.md.
"""

import json
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

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


MAX_EXTENSIONS = 2


def past_the_edge(tried: List[Recipe], best: Recipe) -> Optional[Recipe]:
    """The next recipe beyond the grid when the best sits on its edge: the encoder
    rate doubled at the top, halved at the bottom; a head rate shared by the whole
    grid stays, one that moves with the encoder's (GLiNER's 5x) moves with it."""
    rates = sorted(recipe.encoder_lr for recipe in tried)
    if len(rates) < 2 or rates[0] < best.encoder_lr < rates[-1]:
        return None
    factor = 2.0 if best.encoder_lr == rates[-1] else 0.5
    heads = {recipe.head_lr for recipe in tried}
    if best.head_lr is None or len(heads) == 1:
        return Recipe(best.encoder_lr * factor, best.head_lr)
    return Recipe(best.encoder_lr * factor, best.head_lr * factor)


def tune_system(
    grid: List[Recipe], run: Callable[[Recipe], Dict[str, Any]]
) -> List[Dict[str, Any]]:
    """Every recipe of the grid, then past its edge while the best sits there."""
    results = [run(recipe) for recipe in grid]
    for _ in range(MAX_EXTENSIONS):
        tried = [Recipe.from_json(result["recipe"]) for result in results]
        best = Recipe.from_json(_best(results)["recipe"])
        extension = past_the_edge(tried, best)
        if extension is None:
            break
        results.append(run(extension))
    return results


def _best(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    return max(results, key=lambda result: result["evaluate"]["dev"]["f"])


def best_recipes(runs: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Dict[str, Any]]:
    """Each system's recipe with the best dev F (ties: the earlier, i.e. the default)."""
    return {system: _best(results)["recipe"] for system, results in runs.items()}


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

    def run(system: str, recipe: Recipe) -> Dict[str, Any]:
        output = run_dir(work, corpus, seed, system, recipe)
        return train_and_evaluate(system, data, output, encoder, epochs, seed, recipe)

    runs = {system: tune_system(SYSTEMS[system].grid, partial(run, system)) for system in systems}
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
