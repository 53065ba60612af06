"""CPU inference as users call it: texts in, file order, words/s and peak RSS.

    python -m benchmarks.cpu_inference run TEST_SPACY --system NAME=KIND:MODEL ...
        [--batch-sizes 1 --batch-sizes 32 --batch-sizes 128] [--passes 3]
        [--batch1-limit 1000] [--work benchmarks/runs/cpu_inference]
    python -m benchmarks.cpu_inference pass KIND MODEL TEST_SPACY --batch-size N --json-out F

Every system is given the test sentences as text (the gold words joined by spaces)
in file order and tokenizes them itself. KIND is `spacy` (`nlp.pipe(texts)`: this
project's pipelines, int8 or not, and spaCy's transformer + `ner`), `hf_forward`
(the fast tokenizer, the token-classification model's forward and each word's tag
from its first wordpiece, decoded to entities) or `hf_pipeline`
(`transformers.pipeline("token-classification", aggregation_strategy="first")`).

Each (system, batch size, pass) runs in its own process: load, warm up on the first
64 texts, time the texts, report words/s (whitespace words) and the process's peak
RSS. Passes go round the systems in turn, so a slow spell of the machine touches
them all; the table gives each cell's median over the passes and their range.
Batch size 1 is timed over the first `batch1_limit` texts.
"""

import json
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Dict, List

import spacy
import torch
import typer

from .memory import peak_rss_mib
from .suite import THREADS
from .systems.common import read_docs, sentence_words
from .tables import header, lines, publish, row

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("spacy", "hf_forward", "hf_pipeline")
WARMUP_TEXTS = 64
PACKAGES = ["spacy", "spacy-transformers", "transformers", "torch", "thinc"]
# Runs a batch of texts through a system.
Annotate = Callable[[List[str], int], Any]

app = typer.Typer(add_completion=False)


def spacy_annotator(model: str) -> Annotate:
    nlp = spacy.load(model)

    def annotate(texts: List[str], batch_size: int) -> int:
        return sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size))

    return annotate


def hf_forward_annotator(model_path: str) -> Annotate:
    from .systems.hf_token_classification import first_subword_rows, load, tags_to_entities

    model, tokenizer = load(model_path)
    labels = model.config.id2label

    @torch.inference_mode()
    def annotate(texts: List[str], batch_size: int) -> int:
        found = 0
        for i in range(0, len(texts), batch_size):
            batch = texts[i : i + batch_size]
            encoding = tokenizer(
                batch, truncation=True, max_length=512, padding=True, return_tensors="pt"
            )
            predicted = model(**encoding).logits.argmax(-1).tolist()
            rows = first_subword_rows(encoding, len(batch))
            tags: List[List[str]] = [[] for _ in batch]
            for b, position, _ in rows:
                tags[b].append(labels[predicted[b][position]])
            found += sum(len(tags_to_entities(t)) for t in tags)
        return found

    return annotate


def hf_pipeline_annotator(model_path: str) -> Annotate:
    from .systems.hf_token_classification import load, text_pipeline

    ner = text_pipeline(*load(model_path))

    def annotate(texts: List[str], batch_size: int) -> int:
        return sum(len(found) for found in ner(texts, batch_size=batch_size))

    return annotate


ANNOTATORS: Dict[str, Callable[[str], Annotate]] = {
    "spacy": spacy_annotator,
    "hf_forward": hf_forward_annotator,
    "hf_pipeline": hf_pipeline_annotator,
}


def sentence_texts(test_path: Path) -> List[str]:
    """The test sentences as text, in file order."""
    return [
        " ".join(words) for words in sentence_words(read_docs(test_path, spacy.blank("en").vocab))
    ]


@app.command("pass")
def one_pass(
    kind: str,
    model: str,
    test_path: Path,
    batch_size: int = typer.Option(...),
    batch1_limit: int = 1000,
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    """One timed pass of one system at one batch size, in this process."""
    torch.set_num_threads(threads)
    texts = sentence_texts(test_path)
    if batch_size == 1:
        texts = texts[:batch1_limit]
    annotate = ANNOTATORS[kind](model)
    annotate(texts[:WARMUP_TEXTS], min(batch_size, 32))
    start = time.perf_counter()
    entities = annotate(texts, batch_size)
    seconds = time.perf_counter() - start
    words = sum(len(text.split()) for text in texts)
    result = {
        "kind": kind,
        "model": model,
        "batch_size": batch_size,
        "texts": len(texts),
        "words": words,
        "entities": entities,
        "seconds": seconds,
        "words_per_s": words / seconds,
        "peak_rss_mib": peak_rss_mib(),
    }
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(result, indent=2))
    print(
        f"{kind} {model} batch {batch_size}: {words / seconds:,.0f} words/s, "
        f"{entities} entities, peak RSS {result['peak_rss_mib']:,.0f} MiB",
        flush=True,
    )


def parse_system(spec: str) -> Dict[str, str]:
    """`NAME=KIND:MODEL` -> its parts."""
    name, _, rest = spec.partition("=")
    kind, _, model = rest.partition(":")
    if not (name and model) or kind not in KINDS:
        raise typer.BadParameter(f"{spec!r}: expected NAME=KIND:MODEL with KIND one of {KINDS}")
    return {"name": name, "kind": kind, "model": model}


@app.command()
def run(
    test_path: Path,
    system: List[str] = typer.Option(..., help="NAME=KIND:MODEL, once per system"),
    batch_sizes: List[int] = typer.Option([1, 32, 128]),
    passes: int = 3,
    batch1_limit: int = 1000,
    threads: int = THREADS,
    work: Path = ROOT / "benchmarks/runs/cpu_inference",
) -> None:
    """Every system at every batch size, `passes` times, each in its own process."""
    systems = [parse_system(spec) for spec in system]
    for n in range(passes):
        for batch_size in batch_sizes:
            for s in systems:
                out = work / f"{s['name']}-b{batch_size}-pass{n}.json"
                if out.exists():
                    continue
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.cpu_inference",
                        "pass",
                        s["kind"],
                        s["model"],
                        str(test_path),
                        "--batch-size",
                        str(batch_size),
                        "--batch1-limit",
                        str(batch1_limit),
                        "--threads",
                        str(threads),
                        "--json-out",
                        str(out),
                    ],
                    check=True,
                    cwd=ROOT,
                )
    results: Dict[str, Any] = {
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "versions": {"python": platform.python_version(), **{p: version(p) for p in PACKAGES}},
        "threads": threads,
        "test": str(test_path),
        "systems": {},
    }
    for s in systems:
        cells = {}
        for batch_size in batch_sizes:
            runs = [
                json.loads((work / f"{s['name']}-b{batch_size}-pass{n}.json").read_text())
                for n in range(passes)
            ]
            cells[str(batch_size)] = runs
        results["systems"][s["name"]] = {**s, "cells": cells}
    publish(work, speed_report(results, batch_sizes), results)


def speed_report(results: Dict[str, Any], batch_sizes: List[int]) -> str:
    """words/s (median of the passes, range) per batch size, peak RSS, and each
    system's ratio to the others at batch 32."""
    names = list(results["systems"])
    table = [header("system", *(f"batch {b} words/s" for b in batch_sizes), "peak RSS (MiB)")]
    medians: Dict[str, Dict[int, float]] = {}
    for name in names:
        cells = results["systems"][name]["cells"]
        medians[name] = {}
        formatted = []
        for b in batch_sizes:
            speeds = [r["words_per_s"] for r in cells[str(b)]]
            medians[name][b] = statistics.median(speeds)
            formatted.append(f"{medians[name][b]:,.0f} ({min(speeds):,.0f}-{max(speeds):,.0f})")
        rss = max(r["peak_rss_mib"] for runs in cells.values() for r in runs)
        table.append(row(name, *formatted, f"{rss:,.0f}"))
    ratios = [header("at batch 32: row / column", *names)]
    if 32 in batch_sizes:
        for name in names:
            ratios.append(
                row(name, *(f"{medians[name][32] / medians[other][32]:.2f}×" for other in names))
            )
    first = next(iter(results["systems"].values()))["cells"]
    sizes = ", ".join(
        f"batch {b} over {first[str(b)][0]['texts']:,} texts ({first[str(b)][0]['words']:,} words)"
        for b in batch_sizes
    )
    return "\n\n".join(
        [
            f"{results['test']}: texts in, file order; {sizes}; torch threads "
            f"{results['threads']}; {results['versions']}",
            lines(table),
            lines(ratios),
        ]
    )


if __name__ == "__main__":
    app()
