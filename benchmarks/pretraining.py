"""Does continued pre-training with SpanBERT's objective help on in-domain NER?

    python -m benchmarks.pretraining run CORPORA_DIR [--work benchmarks/runs/pretraining]
        [--pretrain-steps 300] [--seeds 0 --seeds 1]

Four rows per corpus, each fine-tuned with the same recipe and seeds: the encoder as
it is, then pre-trained for the same steps with token masking (MLM only), span masking
(MLM only), and span masking with the span boundary objective (MLM + SBO).

- WNUT-17: pre-train on raw_text/tweets.txt + the WNUT-17 training text; fine-tune
  `spanbert_ner` (configs/spanbert_ner.cfg) for --wnut-epochs; dev and test F.
- GENIA: pre-train on raw_text/biomedical.txt + the GENIA training text (the 80% of
  its dev split); fine-tune `spancat` with the boundary reducer (benchmarks/configs/spancat.cfg)
  for --genia-steps; F on the held-out 20%.

Each phase runs in its own process and leaves a JSON file under WORK, so an
interrupted run resumes where it stopped. Tables go to stdout and WORK/results.md.
"""

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import spacy
import torch
import typer
from spacy.cli.train import train as spacy_train
from spacy.tokens import DocBin
from spacy.training import Corpus

from spacy_spanbert.pretrain import PretrainSettings, default_warmup, pretrain

from .memory import peak_rss_mib
from .suite import ROOT, SPACY_SCRIPT, config_path, converted, run_phase
from .tables import header, mean_spread, publish, row

app = typer.Typer(add_completion=False)
THIS = [sys.executable, "-m", "benchmarks.pretraining"]
# name -> (masking, sbo weight); None: the encoder as it is.
ROWS: Dict[str, Optional[tuple]] = {
    "no continued pre-training": None,
    "token masking, MLM only": ("token", 0.0),
    "span masking, MLM only": ("span", 0.0),
    "span masking, MLM + SBO": ("span", 1.0),
}
RAW_TEXT = {"wnut17": "raw_text/tweets.txt", "genia_nested": "raw_text/biomedical.txt"}
CURVE_POINTS = (0.1, 0.25, 0.5, 1.0)


@app.command("pretrain-phase", hidden=True)
def pretrain_phase(
    encoder: str,
    text: Path,
    output: Path,
    masking: str = "span",
    sbo_weight: float = 1.0,
    steps: int = 300,
    batch_size: int = 32,
    max_length: int = 128,
    seed: int = 0,
    threads: int = 2,
    json_out: Path = typer.Option(...),
) -> None:
    """Pre-train one encoder; record speed, peak RSS and the loss curve."""
    torch.set_num_threads(threads)
    settings = PretrainSettings(
        encoder=encoder,
        text=str(text),
        steps=steps,
        batch_size=batch_size,
        max_length=max_length,
        warmup=default_warmup(steps, None),
        masking=masking,
        sbo_weight=sbo_weight,
        seed=seed,
    )
    result = pretrain(settings, output, save_every=steps, progress=False)
    log = [json.loads(line) for line in (output / "pretraining" / "log.jsonl").open()]
    losses = [entry for entry in log if "event" not in entry]
    _write(
        json_out,
        {
            "encoder": str(output),
            "settings": vars(settings),
            "counts": result.counts,
            "seconds": result.seconds,
            "sequences_per_s": result.sequences_per_second,
            "peak_rss_mib": peak_rss_mib(),
            "curve": loss_curve(losses),
        },
    )


def loss_curve(losses: List[Dict[str, float]]) -> List[Dict[str, float]]:
    """Mean MLM and SBO loss over the last 10% of steps before each CURVE_POINTS share."""
    n = len(losses)
    window = max(1, n // 10)
    curve = []
    for share in CURVE_POINTS:
        end = max(1, int(round(share * n)))
        part = losses[max(0, end - window) : end]
        point = {"step": end, "mlm": statistics.mean(e["mlm"] for e in part)}
        if all("sbo" in e for e in part):
            point["sbo"] = statistics.mean(e["sbo"] for e in part)
        curve.append(point)
    return curve


@app.command("spancat-phase", hidden=True)
def spancat_phase(
    encoder: str,
    train_path: Path,
    heldout_path: Path,
    output: Path,
    steps: int = 300,
    seed: int = 0,
    threads: int = 2,
    json_out: Path = typer.Option(...),
) -> None:
    """Fine-tune spancat + boundary reducer; spans F on the held-out docs."""
    torch.set_num_threads(threads)
    overrides = {
        "paths.train": str(train_path),
        "paths.dev": str(heldout_path),
        "paths.encoder": encoder,
        "system.seed": seed,
        "training.max_steps": steps,
        "training.optimizer.learn_rate.total_steps": steps,
        "training.optimizer.learn_rate.warmup_share": 0.1,
        "training.eval_frequency": max(1, steps // 3),
    }
    start = time.perf_counter()
    spacy_train(config_path("spancat"), output, use_gpu=-1, overrides=overrides)
    seconds = time.perf_counter() - start
    nlp = spacy.load(output / "model-last")
    examples = Corpus(heldout_path)(nlp)
    scores = nlp.evaluate(examples)
    per_type = {label: s["f"] for label, s in (scores["spans_sc_per_type"] or {}).items()}
    _write(
        json_out,
        {
            "encoder": encoder,
            "seed": seed,
            "steps": steps,
            "seconds": seconds,
            "heldout": {
                "p": scores["spans_sc_p"],
                "r": scores["spans_sc_r"],
                "f": scores["spans_sc_f"],
                "per_type": per_type,
            },
        },
    )


def domain_text(corpus: str, corpora_dir: Path, data: Path, work: Path) -> Path:
    """The corpus's raw in-domain text, then its training sentences, a text per line."""
    path = work / corpus / "domain.txt"
    if not path.exists():
        raw = (corpora_dir / RAW_TEXT[corpus]).read_text(encoding="utf8").splitlines()
        docs = DocBin().from_disk(data / "train.spacy").get_docs(spacy.blank("en").vocab)
        lines = raw + [doc.text for doc in docs]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def finetune(
    corpus: str, encoder: str, data: Path, run_dir: Path, seed: int, budget: int
) -> Dict[str, Any]:
    if corpus == "genia_nested":
        command = [*THIS, "spancat-phase", encoder, str(data / "train.spacy")]
        command += [
            str(data / "dev.spacy"),
            str(run_dir),
            "--steps",
            str(budget),
            "--seed",
            str(seed),
        ]
        return run_phase(run_dir / "spancat.json", command)
    train = [*SPACY_SCRIPT, "train", str(ROOT / "configs/spanbert_ner.cfg")]
    train += [str(data / "train.spacy"), str(data / "dev.spacy"), str(run_dir)]
    train += ["--encoder", encoder, "--epochs", str(budget), "--seed", str(seed)]
    trained = run_phase(run_dir / "train.json", train)
    splits = [str(data / "dev.spacy"), str(data / "test.spacy")]
    scores = run_phase(
        run_dir / "evaluate.json", [*SPACY_SCRIPT, "evaluate", trained["model"], *splits]
    )
    return {"train": trained, "evaluate": scores}


def scores_of(corpus: str, run: Dict[str, Any]) -> Dict[str, float]:
    if corpus == "genia_nested":
        return {"held-out F": run["heldout"]["f"]}
    return {"dev F": run["evaluate"]["dev"]["f"], "test F": run["evaluate"]["test"]["f"]}


def report(results: Dict[str, Any]) -> str:
    lines = []
    for corpus, rows in results["finetune"].items():
        metrics = list(scores_of(corpus, next(iter(next(iter(rows.values())).values()))))
        lines += ["", f"**{corpus}** ({results['budget'][corpus]}), seeds {results['seeds']}", ""]
        lines.append(header("row", *(f"{m} (mean ± half range)" for m in metrics), "per seed"))
        for name, by_seed in rows.items():
            values = {m: [scores_of(corpus, run)[m] for run in by_seed.values()] for m in metrics}
            per_seed = "; ".join(
                f"seed {seed}: "
                + ", ".join(f"{100 * scores_of(corpus, run)[m]:.1f}" for m in metrics)
                for seed, run in by_seed.items()
            )
            lines.append(row(name, *(mean_spread(values[m], scale=100) for m in metrics), per_seed))
    lines += [
        "",
        header("corpus", "row", "sequences/s", "peak RSS (GiB)", "loss curve (MLM / SBO)"),
    ]
    for corpus, phases in results["pretrain"].items():
        for name, phase in phases.items():
            curve = ", ".join(
                f"{p['step']}: {p['mlm']:.2f}" + (f" / {p['sbo']:.2f}" if "sbo" in p else "")
                for p in phase["curve"]
            )
            rss = phase["peak_rss_mib"] / 1024
            lines.append(row(corpus, name, f"{phase['sequences_per_s']:.1f}", f"{rss:.2f}", curve))
    return "\n".join(lines)


@app.command("run")
def main(
    corpora_dir: Path,
    corpora: List[str] = typer.Option(["wnut17", "genia_nested"]),
    encoder: str = "assets/encoders/minilm",
    pretrain_steps: int = 300,
    batch_size: int = 32,
    seeds: List[int] = typer.Option([0, 1]),
    wnut_epochs: int = 3,
    genia_steps: int = 300,
    work: Path = ROOT / "benchmarks/runs/pretraining",
) -> None:
    started = time.perf_counter()
    budget = {"wnut17": f"{wnut_epochs} epochs", "genia_nested": f"{genia_steps} steps"}
    results: Dict[str, Any] = {
        "encoder": encoder,
        "pretrain_steps": pretrain_steps,
        "batch_size": batch_size,
        "seeds": seeds,
        "budget": {c: budget[c] for c in corpora},
        "pretrain": {},
        "finetune": {},
    }
    encoders: Dict[str, Dict[str, str]] = {}
    for corpus in corpora:
        data = converted(corpus, corpora_dir, work)
        text = domain_text(corpus, corpora_dir, data, work)
        encoders[corpus] = {}
        results["pretrain"][corpus] = {}
        for name, objective in ROWS.items():
            if objective is None:
                encoders[corpus][name] = encoder
                continue
            masking, sbo_weight = objective
            out = work / corpus / "encoders" / f"{masking}-sbo{sbo_weight:g}"
            command = [*THIS, "pretrain-phase", encoder, str(text), str(out)]
            command += ["--masking", masking, "--sbo-weight", str(sbo_weight)]
            command += ["--steps", str(pretrain_steps), "--batch-size", str(batch_size)]
            phase = run_phase(work / corpus / f"pretrain-{masking}-sbo{sbo_weight:g}.json", command)
            results["pretrain"][corpus][name] = phase
            encoders[corpus][name] = phase["encoder"]
    # Seed by seed, so the first seed of every row is done before the second starts.
    for seed in seeds:
        for corpus in corpora:
            data = converted(corpus, corpora_dir, work)
            rows = results["finetune"].setdefault(corpus, {})
            for index, (name, encoder_path) in enumerate(encoders[corpus].items()):
                run_dir = work / corpus / f"row{index}" / f"seed{seed}"
                corpus_budget = wnut_epochs if corpus == "wnut17" else genia_steps
                run = finetune(corpus, encoder_path, data, run_dir, seed, corpus_budget)
                rows.setdefault(name, {})[str(seed)] = run
    results["driver_seconds_this_invocation"] = time.perf_counter() - started
    text = report(results)
    publish(work, text, results)


def _write(path: Path, result: Dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    app()
