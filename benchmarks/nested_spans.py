"""Nested spans on GENIA: spaCy's spancat against `spanbert_spancat`, and one encoder
pass for flat and nested spans against two pipelines.

    python -m benchmarks.nested_spans run CORPORA_DIR [--steps 600] [--seeds 0 --seeds 1]
        [--work benchmarks/runs/nested_spans]

GENIA's public dev split, split by document 80/20 with seed 0 (as the project's
`convert` does); every run trains on the 80% for --steps updates of ~500 words at the
configs' recipe, and is scored as its last model on the held-out 20% (spans: exact
boundaries and label; entities: the outermost spans). The held-out F at each
evaluation during training is the curve the budget is read from. Rows:

- spancat + mean_max reducer (benchmarks/configs/spancat_mean_max.cfg), spaCy's component;
- spancat + SpanBERT boundary reducer (benchmarks/configs/spancat.cfg), spaCy's component;
- spanbert_spancat, sigmoid per label (configs/spanbert_spancat.cfg);
- spanbert_spancat, softmax over the labels and none (the same, scorer Softmax.v2);
- spanbert_ner alone on the outermost spans (configs/spanbert_ner.cfg);
- joint: one encoder pass for spanbert_ner and spanbert_spancat
  (configs/spanbert_joint.cfg).

Each run's training seconds per step, and words/s of the trained pipeline on the
held-out docs. Each phase runs in its own process and leaves a JSON file under WORK.
"""

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import spacy
import torch
import typer
from spacy.cli.train import train as spacy_train
from spacy.training import Corpus

from .suite import (
    ENCODER,
    ROOT,
    THREADS,
    config_path,
    converted,
    run_phase,
    spacy_training_overrides,
)
from .tables import header, mean_spread, publish, row

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
    list(nlp.pipe(texts, batch_size=64))
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
    lines = [
        header("row", "spans F", *labels, "entities F", "s/step", "words/s", "held-out F by step")
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
        lines.append(
            row(
                name,
                mean_spread([s["f"] for s in spans], scale=100) if spans else "",
                *per_type,
                mean_spread([e["f"] for e in ents], scale=100) if ents else "",
                f"{statistics.mean(r['seconds_per_step'] for r in by_seed):.2f}",
                f"{statistics.mean(r['words_per_s'] for r in by_seed):,.0f}",
                curves,
            )
        )
    return "\n".join(lines)


@app.command("run")
def main(
    corpora_dir: Path,
    steps: int = 600,
    seeds: List[int] = typer.Option([0, 1]),
    rows: List[str] = typer.Option(list(ROWS)),
    encoder: str = ENCODER,
    work: Path = ROOT / "benchmarks/runs/nested_spans",
) -> None:
    data = converted("genia_nested", corpora_dir, work)
    results: Dict[str, Any] = {"steps": steps, "seeds": seeds, "rows": {}}
    for seed in seeds:
        for index, name in enumerate(ROWS):
            if name not in rows:
                continue
            config, overrides = ROWS[name]
            run_dir = work / f"row{index}" / f"seed{seed}"
            command = [
                *THIS,
                "train-phase",
                config,
                str(data / "train.spacy"),
                str(data / "dev.spacy"),
            ]
            command += [
                str(run_dir),
                "--steps",
                str(steps),
                "--seed",
                str(seed),
                "--encoder",
                encoder,
            ]
            command += ["--overrides", json.dumps(overrides)]
            results["rows"].setdefault(name, {})[str(seed)] = run_phase(
                run_dir / "result.json", command
            )
    text = report(results)
    publish(work, text, results)


if __name__ == "__main__":
    app()
