"""Run the NER systems side by side and print the comparison as Markdown tables.

    python -m benchmarks.compare CORPORA_DIR [--corpora conll2003 --corpora wnut17]
        [--epochs conll2003=1 --epochs wnut17=3] [--seeds 0] [--systems spanbert_ner ...]
        [--recipes WORK/chosen.json] [--no-speed] [--work benchmarks/runs/compare]

CORPORA_DIR holds the raw corpora (`conll2003/`, `wnut17/`; e.g. the project's assets/);
a corpus already converted under WORK/corpus/NAME (such as a subset written by
`benchmarks.subsets`) is used as it is. Systems (`benchmarks.suite`), all on the same
encoder (`--encoder`): `spanbert_ner` (configs/spanbert_ner.cfg), spaCy's transformer +
`ner` (benchmarks/configs/spacy_ner.cfg), Hugging Face token classification, and the
span-based peers SpanMarker and GLiNER (in their own environment, `make peers`). Each
trains with its default learning rates, or those `benchmarks.tuning` chose on dev
(`--recipes`). Each phase (train, evaluate, speed, profile, long documents) runs in its
own process, one after another, and leaves a JSON file under WORK; a phase whose JSON
exists is not run again, so an interrupted run resumes where it stopped. `--no-speed`
trains and scores only. The tables go to stdout and WORK/results.md, everything measured
to WORK/results.json. `spanbert_ner` is scored twice: at its config's
`entity_threshold`, and at the one with the best F on dev (as the project's `evaluate`
step advises); the summary over seeds keeps the two apart.
"""

import json
import platform
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import typer

from .suite import (
    ENCODER,
    FULL_CORPUS_SYSTEMS,
    MEMORY_SCRIPT,
    ROOT,
    SYSTEMS,
    THREADS,
    Recipe,
    converted,
    run_dir,
    run_phase,
)
from .systems.common import LENGTH_BUCKETS
from .tables import header, lines, mean_spread, publish, row

PACKAGES = ["spacy", "spacy-transformers", "transformers", "torch", "thinc"]
# spanbert_ner is also scored with its entity_threshold chosen on dev (the project's
# `evaluate` step prints that choice): the result key of that scoring.
TUNED = "evaluate_dev_threshold"

app = typer.Typer(add_completion=False)


def train_and_evaluate(
    system: str, data: Path, output: Path, encoder: str, epochs: int, seed: int, recipe: Recipe
) -> Dict[str, Any]:
    """Train one system with one recipe, then score it on dev and test."""
    runner = SYSTEMS[system]
    train = runner.train_command(data / "train.spacy", data / "dev.spacy", output, recipe)
    common = ["--encoder", encoder, "--epochs", str(epochs), "--seed", str(seed)]
    trained = run_phase(output / "train.json", train + common)
    evaluate = [
        *runner.script,
        "evaluate",
        trained["model"],
        str(data / "dev.spacy"),
        str(data / "test.spacy"),
    ]
    result = {
        "run_dir": str(output),
        "recipe": recipe.to_json(),
        "train": trained,
        "evaluate": run_phase(output / "evaluate.json", evaluate),
    }
    if system == "spanbert_ner":
        result[TUNED] = run_phase(
            output / "evaluate_dev_threshold.json", evaluate + ["--entity-threshold-from-dev"]
        )
    return result


def measure_speed(
    system: str, model: str, test: Path, output: Path, batch1_limit: int
) -> Dict[str, Any]:
    runner = SYSTEMS[system]
    speed = [*runner.script, "speed", model, str(test), "--batch1-limit", str(batch1_limit)]
    measured = {"speed": run_phase(output / "speed.json", speed)}
    if runner.config is not None:
        profile = [*runner.script, "profile", model, str(test)]
        measured["profile"] = run_phase(output / "profile.json", profile)
    if system == "hf_token_classification":
        pipeline = speed + ["--path", "pipeline"]
        measured["pipeline_speed"] = run_phase(output / "pipeline_speed.json", pipeline)
    return measured


def measure_inference(
    results: Dict[str, Any],
    corpora_dir: Path,
    corpus: str,
    seed: int,
    batch1_limit: int,
    work: Path,
) -> None:
    """Words/s of every system's pipeline trained on CORPUS with SEED, on its test set."""
    runs = results["accuracy"][corpus][str(seed)]
    test = converted(corpus, corpora_dir, work) / "test.spacy"
    for system, run in runs.items():
        results["speed"][system] = measure_speed(
            system, run["train"]["model"], test, Path(run["run_dir"]), batch1_limit
        )


def measure_long_docs(
    results: Dict[str, Any], corpus: str, seed: int, sizes: List[int], work: Path
) -> None:
    """Long-document speed and memory of the spaCy pipelines trained on CORPUS."""
    runs = results["accuracy"][corpus][str(seed)]
    for system, run in runs.items():
        if SYSTEMS[system].config is None:
            continue
        size_args = [arg for size in sizes for arg in ("--sizes", str(size))]
        model = run["train"]["model"]
        results["long_docs"][system] = run_phase(
            Path(run["run_dir"]) / "long_docs.json",
            [*MEMORY_SCRIPT, "long-docs", model, *size_args],
        )


def pct(x: Optional[float]) -> str:
    return "" if x is None else f"{100 * x:.1f}"


def scorings(runs: Dict[str, Any]) -> Iterator[Tuple[str, str, Dict[str, Any], Dict[str, Any]]]:
    """(row name, name over seeds, run, scores) for each system's run, and for
    spanbert_ner's scoring with the entity threshold chosen on dev where it was made."""
    for system, run in runs.items():
        yield system, system, run, run["evaluate"]
        if TUNED in run:
            threshold = run[TUNED]["entity_threshold"]
            yield f"{system}, τ {threshold:.2f} from dev", f"{system}, τ from dev", run, run[TUNED]


def seeds_table(results: Dict[str, Any]) -> str:
    """Mean ± half range over the seeds, per corpus and system (spanbert_ner's
    dev-chosen threshold as its own row, whatever τ each seed chose)."""
    rows = [
        header(
            "corpus",
            "system",
            "seeds",
            "dev F",
            "test P",
            "test R",
            "test F",
            "train s/epoch",
            "train peak RSS (GiB)",
            "words/s, batch 32",
        )
    ]
    for corpus, by_seed in results["accuracy"].items():
        collected: Dict[str, List[Tuple[Dict[str, Any], Dict[str, Any]]]] = {}
        for runs in by_seed.values():
            for _, name, run, scores in scorings(runs):
                collected.setdefault(name, []).append((run, scores))
        for name, entries in collected.items():
            metric = {
                key: mean_spread([scores[split][m] for _, scores in entries], 100)
                for key, split, m in (
                    ("dev F", "dev", "f"),
                    ("test P", "test", "p"),
                    ("test R", "test", "r"),
                    ("test F", "test", "f"),
                )
            }
            seconds = [run["train"]["seconds_per_epoch"] for run, _ in entries]
            peak = max(run["train"]["peak_rss_mib"] for run, _ in entries) / 1024
            system = name.split(",")[0]
            rows.append(
                row(
                    corpus,
                    name,
                    len(entries),
                    *metric.values(),
                    f"{min(seconds):,.0f}-{max(seconds):,.0f}",
                    f"{peak:.2f}",
                    words_per_s(results, corpus, system, batch_size=32),
                )
            )
    return lines(rows)


def words_per_s(results: Dict[str, Any], corpus: str, system: str, batch_size: int) -> str:
    """The system's words/s in file order on the speed corpus' test set (blank on the
    other corpora, or when speed was not measured): cost beside accuracy."""
    if corpus != results.get("speed_corpus"):
        return ""
    measured = results["speed"].get(system, {}).get("speed", {}).get("rows", [])
    found = [
        r["words_per_s"]
        for r in measured
        if (r["batch_size"], r["bucketed"]) == (batch_size, False)
    ]
    return f"{found[0]:,.0f}" if found else ""


def accuracy_table(results: Dict[str, Any]) -> str:
    lines = []
    for corpus, by_seed in results["accuracy"].items():
        types = sorted(
            {
                t
                for runs in by_seed.values()
                for run in runs.values()
                for t in run["evaluate"]["test"]["per_type"]
            }
        )
        header = [
            "seed",
            "system",
            "updates",
            "dev P",
            "dev R",
            "dev F",
            "test P",
            "test R",
            "test F",
        ]
        header += [f"test {t} F" for t in types]
        header += [f"test F, {n} token{'' if n == '1' else 's'}" for n in LENGTH_BUCKETS] + [
            "dev F curve (training dev subset)",
            "train s/epoch",
            "train peak RSS (GiB)",
        ]
        lines += [
            f"\n**{corpus}**, {results['epochs'][corpus]} epoch(s)\n",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
        ]
        for seed, runs in by_seed.items():
            for system, _, run, scores in scorings(runs):
                dev, test, train = scores["dev"], scores["test"], run["train"]
                curve = " → ".join(pct(point["ents_f"]) for point in train["dev_curve"])
                cells = [seed, system, str(train["updates"])]
                cells += [pct(dev[m]) for m in "prf"] + [pct(test[m]) for m in "prf"]
                cells += [pct(test["per_type"].get(t, {}).get("f")) for t in types]
                lengths = test.get("per_length", {})
                cells += [pct(lengths.get(n, {}).get("f")) for n in LENGTH_BUCKETS]
                cells += [
                    curve,
                    f"{train['seconds_per_epoch']:,.0f}",
                    f"{train['peak_rss_mib'] / 1024:.1f}",
                ]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def speed_table(results: Dict[str, Any]) -> str:
    rows = []
    for system, measured in results["speed"].items():
        for key, name in (
            ("speed", system),
            ("pipeline_speed", f"{system} (transformers.pipeline)"),
        ):
            if key in measured:
                by = {
                    (r["batch_size"], r["bucketed"]): r["words_per_s"]
                    for r in measured[key]["rows"]
                }
                rows.append((name, by, measured[key]["peak_rss_mib"] / 1024))
    settings = sorted({s for _, by, _ in rows for s in by})
    header = (
        ["system"]
        + [f"batch {b}{' bucketed' if bucketed else ''}" for b, bucketed in settings]
        + ["peak RSS (GiB)"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, by, rss in rows:
        lines.append(
            "| "
            + " | ".join(
                [name] + [f"{by[s]:,.0f}" if s in by else "" for s in settings] + [f"{rss:.2f}"]
            )
            + " |"
        )
    profiles = [(s, m["profile"]) for s, m in results["speed"].items() if "profile" in m]
    if profiles:
        groups = list(profiles[0][1]["shares"])
        lines += ["", "| system | profiled sentences | " + " | ".join(groups) + " |"]
        lines.append("|---|---|" + "---|" * len(groups))
        for system, p in profiles:
            shares = " | ".join(f"{pct(p['shares'][group])}%" for group in groups)
            lines.append(f"| {system} | {p['sentences']} | {shares} |")
    return "\n".join(lines)


def long_docs_table(results: Dict[str, Any]) -> str:
    lines = ["| system | tokens | words/s | peak RSS growth (MiB) |", "|---|---:|---:|---:|"]
    for system, measured in results["long_docs"].items():
        for r in measured["rows"]:
            growth = r["peak_rss_mib"] - r["rss_before_mib"]
            lines.append(
                row(system, f"{r['tokens']:,}", f"{r['words_per_s']:,.0f}", f"{growth:,.0f}")
            )
    return "\n".join(lines)


@app.command()
def main(
    corpora_dir: Path,
    corpora: List[str] = typer.Option(["conll2003", "wnut17"]),
    systems: List[str] = typer.Option(
        FULL_CORPUS_SYSTEMS, help="Which systems, of " + ", ".join(SYSTEMS)
    ),
    epochs: List[str] = typer.Option(
        ["conll2003=1", "wnut17=3"], help="Training epochs per corpus, the same for every system"
    ),
    seeds: List[int] = typer.Option([0]),
    encoder: str = ENCODER,
    speed_corpus: str = "conll2003",
    batch1_limit: int = 1000,
    long_doc_sizes: List[int] = typer.Option([1000, 10000, 100000]),
    speed: bool = typer.Option(True, help="Inference speed and long documents too"),
    recipes: Optional[Path] = typer.Option(
        None,
        help="The recipes chosen on dev (benchmarks.tuning's chosen.json); default: "
        "each system's default recipe",
    ),
    work: Path = ROOT / "benchmarks/runs/compare",
) -> None:
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        raise typer.BadParameter(f"unknown systems {sorted(unknown)}; choose from {list(SYSTEMS)}")
    chosen = json.loads(recipes.read_text()) if recipes else {}

    def recipe(corpus: str, system: str) -> Recipe:
        if system in chosen.get(corpus, {}):
            return Recipe.from_json(chosen[corpus][system])
        return SYSTEMS[system].grid[0]

    start = time.perf_counter()
    budget = {corpus: int(n) for corpus, _, n in (item.partition("=") for item in epochs)}
    results: Dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "torch_threads": THREADS,
        },
        "versions": {
            "python": platform.python_version(),
            **{name: version(name) for name in PACKAGES},
        },
        "encoder": encoder,
        "epochs": budget,
        "seeds": seeds,
        "accuracy": {},
        "speed": {},
        "long_docs": {},
        "speed_corpus": speed_corpus if speed else None,
    }
    for corpus in corpora:
        data = converted(corpus, corpora_dir, work)
        results["accuracy"][corpus] = {
            str(seed): {
                system: train_and_evaluate(
                    system,
                    data,
                    run_dir(work, corpus, seed, system, recipe(corpus, system)),
                    encoder,
                    budget[corpus],
                    seed,
                    recipe(corpus, system),
                )
                for system in systems
            }
            for seed in seeds
        }
    if speed:
        measure_inference(results, corpora_dir, speed_corpus, seeds[0], batch1_limit, work)
        measure_long_docs(results, speed_corpus, seeds[0], long_doc_sizes, work)
    results["driver_seconds_this_invocation"] = time.perf_counter() - start
    sections = [
        f"Encoder {encoder}, epochs {budget}, seeds {seeds}, torch threads {THREADS}, "
        f"{results['versions']}",
        "## Accuracy (entity exact match)",
        accuracy_table(results),
        "## Over the seeds (mean ± half range; training time as the range)",
        seeds_table(results),
    ]
    if speed:
        sections += [
            f"## Inference words/s ({speed_corpus} test, gold tokens)",
            speed_table(results),
            "## Long documents",
            long_docs_table(results),
        ]
    report = "\n\n".join(sections)
    publish(work, report, results)


if __name__ == "__main__":
    app()
