"""Nested spans on GENIA: spaCy's spancat, `spanbert_spancat` and GLiNER from the same
encoder, and one encoder pass for flat and nested spans against two pipelines.

    python -m benchmarks.nested_spans tune CORPORA_DIR [--rows NAME ...] [--steps 600]
    python -m benchmarks.nested_spans run CORPORA_DIR [--steps 600] [--seeds 0 --seeds 1]
        [--recipes WORK/chosen.json] [--rows NAME ...] [--work benchmarks/runs/nested_spans]

GENIA's public dev split, split by document 80/20 with seed 0 (as the project's
`convert` does); every run trains on the 80% with the same budget, about 600 updates
of ~500 words (GLiNER, which batches sentences: as many epochs as that many words), and
is scored as its last model on the held-out 20% (spans: exact boundaries and label;
entities: the outermost spans). The held-out F at each evaluation during training is
the curve the budget is read from. Rows:

- spancat + mean_max reducer (benchmarks/configs/spancat_mean_max.cfg), spaCy's component;
- spancat + SpanBERT boundary reducer (benchmarks/configs/spancat.cfg), spaCy's component;
- spanbert_spancat, sigmoid per label (configs/spanbert_spancat.cfg);
- spanbert_spancat, softmax over the labels and none (the same, scorer Softmax.v2);
- spanbert_ner alone on the outermost spans (configs/spanbert_ner.cfg);
- joint: one encoder pass for spanbert_ner and spanbert_spancat
  (configs/spanbert_joint.cfg);
- GLiNER, nested decoding (`benchmarks/systems/gliner.py --spans sc`, in the peers'
  environment), spans up to the same width.

`tune` chooses each row's learning rates (its grid: `benchmarks.suite`) on a tuning
split carved from the 80% by document (an eighth of it, seed 0), never the held-out
20%, and writes them to WORK/chosen.json; `run --recipes` trains with them. Each run's
training seconds, and words/s of the trained model on the held-out docs. Each phase
runs in its own process and leaves a JSON file under WORK.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import spacy
import torch
import typer
from spacy.cli.train import train as spacy_train
from spacy.tokens import DocBin
from spacy.training import Corpus
from spacy.util import load_config

from .suite import (
    ENCODER,
    PEERS_PYTHON,
    ROOT,
    SYSTEMS,
    THREADS,
    Recipe,
    config_path,
    converted,
    recipe_overrides,
    run_phase,
    spacy_training_overrides,
)
from .tables import header, lines, mean_spread, publish, row

app = typer.Typer(add_completion=False)
THIS = [sys.executable, "-m", "benchmarks.nested_spans"]
MAX_WIDTH = 8  # 99.5% of GENIA's training spans (docs/design.md, width caps)
SOFTMAX = {"@layers": "Softmax.v2"}
# name -> (config, overrides as JSON)
ROWS: Dict[str, Tuple[str, Dict[str, Any]]] = {
    "spancat + mean_max": ("spancat_mean_max", {}),
    "spancat + boundary reducer": ("spancat", {}),
    "spanbert_spancat, sigmoid": ("spanbert_spancat", {}),
    "spanbert_spancat, softmax": (
        "spanbert_spancat",
        {"components.spanbert_spancat.model.scorer": SOFTMAX},
    ),
    "spanbert_ner alone (outermost spans)": ("spanbert_ner", {}),
    "joint: spanbert_ner + spanbert_spancat (one encoder)": ("spanbert_joint", {}),
}
GLINER_ROW = "GLiNER, nested decoding"
ALL_ROWS = [*ROWS, GLINER_ROW]
# The rows the issue's target compares, tuned unless told otherwise.
TUNED_ROWS = ["spanbert_spancat, sigmoid", GLINER_ROW]
CORPUS = "genia_nested"
SPANS_KEY = "sc"
# nlp.pipe's batch size for words/s, and the tuning split's share of the 80%.
SPEED_BATCH = 64
TUNING_SHARE = 0.125


def grid(name: str) -> List[Recipe]:
    """The recipes tried for a row: GLiNER's own; the spaCy rows run this package's
    configs (the heads' rate, the encoder's a share of it), so `spanbert_ner`'s grid."""
    return SYSTEMS["gliner" if name == GLINER_ROW else "spanbert_ner"].grid


@app.command("train-phase", hidden=True)
def train_phase(
    config: str,
    train_path: Path,
    heldout_path: Path,
    output: Path,
    steps: int = 600,
    seed: int = 0,
    encoder: str = ENCODER,
    overrides: str = "{}",
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    """Train, then score the last model on the held-out docs and time it there."""
    torch.set_num_threads(threads)
    settings: Dict[str, Any] = {
        **spacy_training_overrides(
            train_path, heldout_path, encoder, seed, steps, output / "train_log.jsonl"
        ),
        "training.max_steps": steps,
        "training.eval_frequency": max(1, steps // 6),
        **json.loads(overrides),
    }
    start = time.perf_counter()
    spacy_train(config_path(config), output, use_gpu=-1, overrides=settings)
    seconds = time.perf_counter() - start
    nlp = spacy.load(output / "model-last")
    examples = list(Corpus(heldout_path)(nlp))
    scores = nlp.evaluate(examples)
    texts = [eg.reference.text for eg in examples]
    list(nlp.pipe(texts[:64]))
    timer = time.perf_counter()
    list(nlp.pipe(texts, batch_size=SPEED_BATCH))
    words = sum(len(eg.reference) for eg in examples)
    curve = [json.loads(line)["score"] for line in (output / "train_log.jsonl").open()]
    result = {
        "config": config, "overrides": settings, "seed": seed, "steps": steps,
        "train_seconds": seconds, "seconds_per_step": seconds / steps,
        "words_per_s": words / (time.perf_counter() - timer),
        "spans": _prf(scores, "spans_sc"), "ents": _prf(scores, "ents"), "curve": curve,
    }  # fmt: skip
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(result, indent=2))


def _prf(scores: Dict[str, Any], prefix: str) -> Optional[Dict[str, Any]]:
    if scores.get(f"{prefix}_f") is None:
        return None
    per_type = {label: s["f"] for label, s in (scores.get(f"{prefix}_per_type") or {}).items()}
    return {m: scores[f"{prefix}_{m}"] for m in "prf"} | {"per_type": per_type}


def report(results: Dict[str, Any]) -> str:
    labels = sorted(
        {
            t
            for runs in results["rows"].values()
            for r in runs.values()
            for t in (r["spans"] or {}).get("per_type", {})
        }
    )
    table = [
        header(
            "row",
            "recipe",
            "spans F",
            *labels,
            "entities F",
            "train s",
            "words/s",
            "held-out F during training",
        )
    ]
    for name, runs in results["rows"].items():
        by_seed = list(runs.values())
        spans = [r["spans"] for r in by_seed if r["spans"]]
        ents = [r["ents"] for r in by_seed if r["ents"]]
        per_type = [
            mean_spread([s["per_type"].get(label, 0.0) for s in spans], scale=100) if spans else ""
            for label in labels
        ]
        curves = "; ".join(", ".join(f"{100 * v:.1f}" for v in r["curve"]) for r in by_seed)
        table.append(
            row(
                name,
                Recipe.from_json(by_seed[0]["recipe"]).name,
                mean_spread([s["f"] for s in spans], scale=100) if spans else "",
                *per_type,
                mean_spread([e["f"] for e in ents], scale=100) if ents else "",
                f"{statistics.mean(r['train_seconds'] for r in by_seed):,.0f}",
                f"{statistics.mean(r['words_per_s'] for r in by_seed):,.0f}",
                curves,
            )
        )
    return lines(table)


def gliner_epochs(train: Path, steps: int) -> int:
    """GLiNER batches sentences: the whole epochs that hold about the words the spaCy
    rows train on (`steps` batches of the configs' size in words)."""
    batch_words = load_config(config_path("spanbert_spancat"))["training"]["batcher"]["size"]
    docs = DocBin().from_disk(train).get_docs(spacy.blank("en").vocab)
    return max(1, round(steps * batch_words / sum(len(doc) for doc in docs)))


def gliner_result(
    train: Dict[str, Any], scores: Dict[str, Any], speed: Dict[str, Any]
) -> Dict[str, Any]:
    """GLiNER's train, evaluate and speed phases as one row, in the spaCy rows' terms."""
    heldout = scores["dev"]
    per_type = {label: s["f"] for label, s in heldout["per_type"].items()}
    return {
        "steps": train["updates"],
        "train_seconds": train["seconds"],
        "seconds_per_step": train["seconds"] / train["updates"],
        "words_per_s": next(r["words_per_s"] for r in speed["rows"] if not r["bucketed"]),
        "spans": {m: heldout[m] for m in "prf"} | {"per_type": per_type},
        "ents": None,
        "curve": [point["ents_f"] for point in train["dev_curve"]],
    }


def run_gliner(
    data: Dict[str, Path], out: Path, steps: int, seed: int, encoder: str, recipe: Recipe
) -> Dict[str, Any]:
    if not PEERS_PYTHON.exists():
        raise typer.BadParameter(
            f"The {GLINER_ROW!r} row runs in the peers' environment: `make peers` "
            "first, or leave the row out with --rows."
        )
    system = SYSTEMS["gliner"]
    model = out / "model"
    train = system.train_command(data["train"], data["heldout"], model, recipe)
    train += ["--spans", SPANS_KEY, "--max-width", str(MAX_WIDTH), "--seed", str(seed)]
    train += ["--epochs", str(gliner_epochs(data["train"], steps)), "--encoder", encoder]
    evaluate = [*system.script, "evaluate", str(model), str(data["heldout"]), "--spans", SPANS_KEY]
    speed = [*system.script, "speed", str(model), str(data["heldout"]), "--spans", SPANS_KEY]
    speed += ["--batch-sizes", str(SPEED_BATCH)]
    return gliner_result(
        run_phase(out / "train.json", train),
        run_phase(out / "evaluate.json", evaluate),
        run_phase(out / "speed.json", speed),
    )


def run_row(
    name: str, data: Dict[str, Path], out: Path, steps: int, seed: int, encoder: str, recipe: Recipe
) -> Dict[str, Any]:
    """One row trained on data["train"] with the recipe, scored on data["heldout"]."""
    if name == GLINER_ROW:
        result = run_gliner(data, out, steps, seed, encoder, recipe)
    else:
        config, overrides = ROWS[name]
        settings = {**recipe_overrides(config_path(config), recipe), **overrides}
        command = [*THIS, "train-phase", config, str(data["train"]), str(data["heldout"]), str(out)]
        command += ["--steps", str(steps), "--seed", str(seed), "--encoder", encoder]
        command += ["--overrides", json.dumps(settings)]
        result = run_phase(out / "result.json", command)
    return {**result, "recipe": recipe.to_json()}


def tuned_f(result: Dict[str, Any]) -> float:
    """What a row is tuned on: its spans F, or entities F for the flat-only row."""
    return (result["spans"] or result["ents"])["f"]


def tuning_split(data: Path) -> Dict[str, Path]:
    """The 80% split again by document: most to train on, an eighth to choose on."""
    split = {"train": data / "tune-train.spacy", "heldout": data / "tune.spacy"}
    if not split["heldout"].exists():
        command = [sys.executable, "-m", "spacy_spanbert", "split-docs", str(data / "train.spacy")]
        command += [str(split["train"]), str(split["heldout"]), "--heldout-share"]
        command += [str(TUNING_SHARE), "--seed", "0", "--spans-key", SPANS_KEY]
        subprocess.run(command, check=True, cwd=ROOT)
    return split


def check_rows(rows: List[str]) -> None:
    unknown = [name for name in rows if name not in ALL_ROWS]
    if unknown:
        raise typer.BadParameter(f"Unknown rows {unknown}; the rows are {ALL_ROWS}")


@app.command("tune")
def tune(
    corpora_dir: Path,
    steps: int = 600,
    rows: List[str] = typer.Option(TUNED_ROWS),
    encoder: str = ENCODER,
    work: Path = ROOT / "benchmarks/runs/nested_spans",
) -> None:
    """Each row's grid, seed 0, chosen on the tuning split: WORK/chosen.json."""
    check_rows(rows)
    split = tuning_split(converted(CORPUS, corpora_dir, work))
    chosen_path = work / "chosen.json"
    chosen = json.loads(chosen_path.read_text()) if chosen_path.exists() else {}
    table = [header("row", "recipe", "tuning split F", "chosen")]
    for name in rows:
        index = ALL_ROWS.index(name)
        results = [
            run_row(name, split, work / "tune" / f"row{index}" / r.slug, steps, 0, encoder, r)
            for r in grid(name)
        ]
        best = max(results, key=tuned_f)
        chosen.setdefault(CORPUS, {})[name] = best["recipe"]
        for result in results:
            recipe = Recipe.from_json(result["recipe"])
            mark = "✓" if result is best else ""
            table.append(row(name, recipe.name, f"{100 * tuned_f(result):.1f}", mark))
    chosen_path.write_text(json.dumps(chosen, indent=2))
    report = f"{CORPUS}, {steps} steps, seed 0, the tuning split\n\n" + lines(table)
    (work / f"tuning-{CORPUS}.md").write_text(report + "\n")
    print("\n" + report)


@app.command("run")
def main(
    corpora_dir: Path,
    steps: int = 600,
    seeds: List[int] = typer.Option([0, 1]),
    rows: List[str] = typer.Option(ALL_ROWS),
    recipes: Optional[Path] = typer.Option(None, help="`tune`'s chosen.json"),
    encoder: str = ENCODER,
    work: Path = ROOT / "benchmarks/runs/nested_spans",
) -> None:
    """Every row on the 80/20 split, each seed, at its chosen recipe or its default."""
    check_rows(rows)
    data = converted(CORPUS, corpora_dir, work)
    split = {"train": data / "train.spacy", "heldout": data / "dev.spacy"}
    chosen = json.loads(recipes.read_text()).get(CORPUS, {}) if recipes else {}
    results: Dict[str, Any] = {"steps": steps, "seeds": seeds, "rows": {}}
    for seed in seeds:
        for index, name in enumerate(ALL_ROWS):
            if name not in rows:
                continue
            recipe = Recipe.from_json(chosen[name]) if name in chosen else grid(name)[0]
            out = work / f"row{index}" / recipe.slug / f"seed{seed}"
            results["rows"].setdefault(name, {})[str(seed)] = run_row(
                name, split, out, steps, seed, encoder, recipe
            )
    text = report(results)
    publish(work, text, results)


if __name__ == "__main__":
    app()
