"""Train, score, time and profile a spaCy pipeline: systems 1 and 2 of the comparison.

    python -m benchmarks.systems.spacy_pipeline train CONFIG TRAIN DEV OUTPUT [--epochs 1] ...
    python -m benchmarks.systems.spacy_pipeline evaluate MODEL DEV TEST --json-out F
        [--entity-threshold-from-dev]
    python -m benchmarks.systems.spacy_pipeline speed MODEL TEST --json-out F
    python -m benchmarks.systems.spacy_pipeline profile MODEL TEST --json-out F

System 1 is `configs/spanbert_ner.cfg` (this project), system 2 `benchmarks/configs/spacy_ner.cfg`
(spaCy's `ner` listening to a stock spacy-transformers encoder): the same script runs
both, so they are trained and measured the same way. Training runs `spacy train` in
process with a schedule sized to the epoch budget; the trained pipeline is
`OUTPUT/model-last` (what the budget bought, not a dev-picked checkpoint).
"""

import cProfile
import json
import time
from pathlib import Path
from typing import Dict, List, Sequence

import spacy
import torch
import typer
from spacy.cli.train import train as spacy_train
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from spacy_spanbert.ner import SpanBertNER
from spacy_spanbert.span_pipe.thresholds import threshold_grid, threshold_scores

from ..memory import memory_by_epoch
from ..profiling import group_shares, seconds_by_module
from ..suite import ENCODER, THREADS, spacy_training_overrides
from .common import (
    Entities,
    batches_per_epoch,
    doc_entities,
    read_docs,
    score_splits,
    sentence_words,
    speed_table,
    timed_annotate,
    unannotated_copy,
    write_result,
)

app = typer.Typer(add_completion=False)


def pipe_annotator(nlp: Language):
    def annotate(sentences: List[List[str]], batch_size: int) -> List[Entities]:
        docs = (Doc(nlp.vocab, words=words) for words in sentences)
        return [doc_entities(doc) for doc in nlp.pipe(docs, batch_size=batch_size)]

    return annotate


@app.command()
def train(
    config: Path,
    train_path: Path,
    dev_path: Path,
    output: Path,
    encoder: str = ENCODER,
    epochs: int = 1,
    batch_words: int = 500,
    learn_rate: float = typer.Option(0.0, help="Peak rate; 0 keeps the config's"),
    warmup_share: float = 0.1,
    seed: int = 0,
    dev_limit: int = typer.Option(1000, help="Dev sentences scored during training"),
    evals_per_epoch: int = 2,
    threads: int = THREADS,
    overrides: List[str] = typer.Option(
        [], "--set", help="More config overrides, as key=JSON value"
    ),
    memory_trim: bool = typer.Option(
        False, help="Log RSS after malloc_trim and Python's object count too (not for timing)"
    ),
    json_out: Path = typer.Option(..., help="Write the result here"),
) -> None:
    """Train for a whole number of epochs, warmup then linear decay over all of them."""
    torch.set_num_threads(threads)
    extra = {key: json.loads(value) for key, _, value in (o.partition("=") for o in overrides)}
    batching = {"training.batcher.size": batch_words, **extra}
    loaded = spacy.util.load_config(config, overrides=batching, interpolate=True)
    per_epoch = batches_per_epoch(train_path, loaded)
    steps = per_epoch * epochs
    log_path = output / "train_log.jsonl"
    memory_log = output / "memory_log.jsonl"
    memory_log.unlink(missing_ok=True)
    settings: Dict[str, object] = {
        **spacy_training_overrides(train_path, dev_path, encoder, seed, steps, log_path),
        "training.max_epochs": epochs,
        "training.max_steps": 0,
        "training.eval_frequency": max(1, per_epoch // evals_per_epoch),
        "training.batcher.size": batch_words,
        "training.optimizer.learn_rate.warmup_share": warmup_share,
        "corpora.dev.limit": dev_limit,
        "training.before_update": {
            "@callbacks": "benchmarks.memory_per_update.v1",
            "path": str(memory_log),
            "trim": memory_trim,
        },
    }
    if learn_rate > 0:
        settings["training.optimizer.learn_rate.initial_rate"] = learn_rate
    settings.update(extra)
    start = time.perf_counter()
    spacy_train(config, output, use_gpu=-1, overrides=settings)
    seconds = time.perf_counter() - start
    write_result(
        json_out,
        {
            "config": str(config),
            "encoder": encoder,
            "epochs": epochs,
            "seed": seed,
            "batch_words": batch_words,
            "updates": steps,
            "warmup_share": warmup_share,
            "learn_rate": learn_rate
            or spacy.util.load_config(config)["training"]["optimizer"]["learn_rate"][
                "initial_rate"
            ],
            "overrides": overrides,
            "seconds": seconds,
            "seconds_per_epoch": seconds / epochs,
            "threads": threads,
            "dev_curve": dev_curve(log_path),
            "memory_by_epoch": memory_by_epoch(memory_log),
            "model": str(output / "model-last"),
        },
    )


def dev_curve(log_path: Path) -> List[Dict[str, float]]:
    """Entity F on the dev sentences scored during training, at each evaluation."""
    curve = []
    for line in log_path.read_text().splitlines():
        entry = json.loads(line)
        curve.append({"step": entry["step"], "epoch": entry["epoch"], "ents_f": entry["score"]})
    return curve


@app.command()
def evaluate(
    model: str,
    dev_path: Path,
    test_path: Path,
    batch_size: int = 64,
    threads: int = THREADS,
    entity_threshold_from_dev: bool = typer.Option(
        False, help="spanbert_ner: set entity_threshold to the best on DEV first"
    ),
    json_out: Path = typer.Option(...),
) -> None:
    """Entity P/R/F on dev and test, per type."""
    torch.set_num_threads(threads)
    nlp = spacy.load(model)
    chosen = {}
    if entity_threshold_from_dev:
        chosen["entity_threshold"] = choose_entity_threshold(nlp, read_docs(dev_path, nlp.vocab))
    scores = score_splits(
        pipe_annotator(nlp), {"dev": dev_path, "test": test_path}, nlp.vocab, batch_size
    )
    write_result(json_out, {"model": model, **chosen, **scores})


def choose_entity_threshold(nlp: Language, dev: Sequence[Doc]) -> float:
    """Set spanbert_ner's entity_threshold to the one with the best F on the gold DEV
    docs, of the grid the `thresholds` command prints, as a user tuning on dev would.
    The docs are annotated as they are scored: gold words, and gold sentence starts
    where the docs have them."""
    examples = [Example(unannotated_copy(gold), gold) for gold in dev]
    results = threshold_scores(nlp, "spanbert_ner", examples, threshold_grid(19))
    best = max(results, key=lambda result: result.f)
    ner = nlp.get_pipe("spanbert_ner")
    assert isinstance(ner, SpanBertNER)
    ner.cfg["entity_threshold"] = best.threshold
    print(f"entity_threshold {best.threshold} (dev F {100 * best.f:.1f})", flush=True)
    return best.threshold


@app.command()
def speed(
    model: str,
    test_path: Path,
    batch_sizes: List[int] = typer.Option([1, 32, 128]),
    batch1_limit: int = 1000,
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    """Inference words/s over the test sentences (gold tokens) at each batch size."""
    torch.set_num_threads(threads)
    nlp = spacy.load(model)
    sentences = sentence_words(read_docs(test_path, nlp.vocab))
    rows = speed_table(pipe_annotator(nlp), sentences, batch_sizes, batch1_limit)
    write_result(json_out, {"model": model, "threads": threads, "rows": rows})


@app.command()
def profile(
    model: str,
    test_path: Path,
    batch_size: int = 32,
    limit: int = 1000,
    threads: int = THREADS,
    texts: bool = typer.Option(
        False, help="Give the sentences as text in file order (the pipeline tokenizes)"
    ),
    json_out: Path = typer.Option(...),
) -> None:
    """Where inference time goes, by module (cProfile; see benchmarks.profiling):
    encoder forward, span head, wordpieces and alignment, the rest. By default on
    gold tokens, length-bucketed; `--texts` as users call it."""
    torch.set_num_threads(threads)
    nlp = spacy.load(model)
    sentences = sentence_words(read_docs(test_path, nlp.vocab))[:limit]
    if texts:
        joined = [" ".join(words) for words in sentences]

        def run() -> float:
            start = time.perf_counter()
            for _ in nlp.pipe(joined, batch_size=batch_size):
                pass
            return time.perf_counter() - start

        list(nlp.pipe(joined[:64], batch_size=batch_size))
    else:
        annotate = pipe_annotator(nlp)

        def run() -> float:
            return timed_annotate(annotate, sentences, batch_size, bucketed=True)[0]

        annotate(sentences[:64], batch_size)
    profiler = cProfile.Profile()
    profiler.enable()
    seconds = run()
    profiler.disable()
    by_module = seconds_by_module(profiler)
    shares = group_shares(by_module)
    result = {
        "model": model,
        "sentences": len(sentences),
        "batch_size": batch_size,
        "texts": texts,
        "threads": threads,
        "seconds": seconds,
        "shares": shares,
        "seconds_by_module": dict(sorted(by_module.items(), key=lambda item: -item[1])),
    }
    print(", ".join(f"{group} {100 * share:.1f}%" for group, share in shares.items()), flush=True)
    write_result(json_out, result)


if __name__ == "__main__":
    app()
