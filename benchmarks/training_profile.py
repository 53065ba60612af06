"""Where a training step's time goes, for a spaCy pipeline config.

    python -m benchmarks.training_profile CONFIG TRAIN DEV [--encoder E] [--steps 60]
        [--json-out F]

Runs the config's own corpus, batcher and optimizer for --steps updates after a few
warm-up steps, and splits the time:

- data: reading the corpus and making the batch's Examples (alignment included);
- encoder forward and backward: thinc's PyTorch shim forward, and torch's backward
  (`torch.autograd.backward`), as cProfile's cumulative times of those public calls;
- span candidates: the suggesters (ours and spaCy's), inclusive;
- span head: the time inside `spacy_spanbert.layers` (span rows, projections, scorer
  and output, forward and backward), callees such as thinc's layers included;
- targets and loss: the components' `get_loss`, inclusive;
- the rest of the update (spaCy, thinc, wordpieces and alignment, pooling);
- optimizer: every component's `finish_update`;
- evaluation: one evaluation on up to 1,000 dev docs, shown per evaluation and as a
  share of a step at the config's eval frequency.
"""

import cProfile
import json
import pstats
import time
from itertools import islice
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import torch
import typer
from spacy.training import Corpus
from spacy.training.initialize import init_nlp
from spacy.util import load_config, registry, resolve_dot_names

from .memory import peak_rss_mib
from .profiling import seconds_by_module, seconds_inside
from .tables import header, row

app = typer.Typer(add_completion=False)
WARMUP_STEPS = 3
EVAL_DOCS = 1000
SUGGESTERS = ("sentence_ngram_suggester", "ngram_suggester")
SPAN_HEAD_MODULES = ("spacy_spanbert.layers",)
LOSS_FUNCTIONS = ("get_loss",)


def cumulative_seconds(profiler: cProfile.Profile, file_suffix: str, function: str) -> float:
    """Cumulative time of a (public) function, outermost calls only."""
    stats = pstats.Stats(profiler).stats
    return sum(
        cumulative
        for (filename, _, name), (_, primitive_calls, _, cumulative, _) in stats.items()
        if filename.endswith(file_suffix) and name == function and primitive_calls
    )


def seconds_in_functions(profiler: cProfile.Profile, functions: Tuple[str, ...]) -> float:
    """Inclusive time of the calls to functions of these names (a component's
    `get_loss`) from functions of other names (not a `get_loss` calling thinc's)."""
    stats = pstats.Stats(profiler).stats
    return sum(
        time_from_caller
        for (_, _, name), (*_, callers) in stats.items()
        if name in functions
        for (_, _, caller), (_, _, _, time_from_caller) in callers.items()
        if caller not in functions
    )


def epochs_of_batches(batcher: Any, corpus: Any, nlp: Any) -> Iterator[List[Any]]:
    """The batcher over the corpus, epoch after epoch, as spaCy's training loop does."""
    while True:
        yield from batcher(corpus(nlp))


@app.command()
def main(
    config_path: Path,
    train_path: Path,
    dev_path: Path,
    encoder: str = "assets/encoders/minilm",
    steps: int = 60,
    batch_words: int = 500,
    threads: int = 2,
    json_out: Path = typer.Option(None),
) -> None:
    torch.set_num_threads(threads)
    overrides = {
        "paths.train": str(train_path), "paths.dev": str(dev_path), "paths.encoder": encoder,
        "training.batcher.size": batch_words,
    }  # fmt: skip
    config = load_config(config_path, overrides=overrides, interpolate=False)
    nlp = init_nlp(config)
    training = registry.resolve(nlp.config.interpolate()["training"])
    (train_corpus,) = resolve_dot_names(nlp.config.interpolate(), [training["train_corpus"]])
    optimizer = training["optimizer"]
    batches = epochs_of_batches(training["batcher"], train_corpus, nlp)
    dropout = training["dropout"]
    for batch in islice(batches, WARMUP_STEPS):
        nlp.update(batch, sgd=optimizer, drop=dropout)
    times: Dict[str, float] = {"data": 0.0, "update": 0.0, "optimizer": 0.0}
    words = 0
    profiler = cProfile.Profile()
    for _ in range(steps):
        start = time.perf_counter()
        batch = next(batches)
        times["data"] += time.perf_counter() - start
        words += sum(len(eg.reference) for eg in batch)
        start = time.perf_counter()
        profiler.enable()
        nlp.update(batch, drop=dropout)
        profiler.disable()
        times["update"] += time.perf_counter() - start
        start = time.perf_counter()
        for _, component in nlp.pipeline:
            if hasattr(component, "finish_update") and component.is_trainable:
                component.finish_update(optimizer)
        optimizer.step_schedules()
        times["optimizer"] += time.perf_counter() - start
    by_module = seconds_by_module(profiler)
    split = {
        "data": times["data"],
        "encoder forward": cumulative_seconds(profiler, "thinc/shims/pytorch.py", "begin_update"),
        "encoder backward": cumulative_seconds(profiler, "torch/autograd/__init__.py", "backward"),
        "span candidates": seconds_in_functions(profiler, SUGGESTERS),
        "span head (forward and backward)": seconds_inside(profiler, SPAN_HEAD_MODULES),
        "targets and loss": seconds_in_functions(profiler, LOSS_FUNCTIONS),
    }
    measured_in_update = sum(split.values()) - split["data"]
    split["rest of the update (spaCy, thinc, wordpieces, pooling)"] = max(
        0.0, times["update"] - measured_in_update
    )
    split["optimizer"] = times["optimizer"]
    dev = list(islice(Corpus(dev_path)(nlp), EVAL_DOCS))
    start = time.perf_counter()
    nlp.evaluate(dev)
    evaluation = time.perf_counter() - start
    eval_frequency = nlp.config["training"]["eval_frequency"]
    total = sum(split.values())
    result: Dict[str, Any] = {
        "config": str(config_path), "encoder": encoder, "steps": steps, "words": words,
        "batch_words": batch_words, "threads": threads, "seconds_per_step": total / steps,
        "words_per_s": words / total, "split_seconds": split,
        "evaluation_seconds": evaluation, "evaluation_docs": len(dev),
        "eval_frequency": eval_frequency,
        "evaluation_share_per_step": evaluation / eval_frequency / (total / steps),
        "peak_rss_mib": peak_rss_mib(),
        "seconds_by_module": dict(sorted(by_module.items(), key=lambda item: -item[1])),
    }  # fmt: skip
    print(report(result))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2))


def report(result: Dict[str, Any]) -> str:
    total = sum(result["split_seconds"].values())
    steps = result["steps"]
    lines: List[str] = [
        f"{result['config']}, {steps} steps of ~{result['batch_words']} words, "
        f"{result['seconds_per_step']:.2f} s/step, {result['words_per_s']:,.0f} words/s, "
        f"peak RSS {result['peak_rss_mib'] / 1024:.2f} GiB",
        "",
        header("part of a step", "ms per step", "share"),
    ]
    for name, seconds in result["split_seconds"].items():
        lines.append(row(name, f"{1000 * seconds / steps:,.0f}", f"{100 * seconds / total:.1f}%"))
    every = f"every {result['eval_frequency']} steps"
    lines.append(
        row(
            f"evaluation ({result['evaluation_docs']} docs, {every})",
            f"{1000 * result['evaluation_seconds']:,.0f} per evaluation",
            f"{100 * result['evaluation_share_per_step']:.1f}% of a step",
        )
    )
    return "\n".join(lines)


if __name__ == "__main__":
    app()
