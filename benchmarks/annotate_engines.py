"""docs/s and words/s of `annotate` with the local and the Ray engine, side by side.

    python -m benchmarks.annotate_engines MODEL [--docs 4000] [--shards 4] [--batch-size 64]

Writes `--docs` JSON lines records (1 to 4 news sentences each, seed 0) in `--shards`
files to a temporary directory, then runs `python -m spacy_spanbert annotate` once per
setting, each in a fresh process, timing the whole command (start-up and pipeline
loading included, as a user sees it). Prints a Markdown table.
"""

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

import typer

from .memory import SENTENCES
from .tables import row

SETTINGS: List[Tuple[str, List[str]]] = [
    ("local, n_process 1", ["--engine", "local", "--n-process", "1"]),
    ("local, n_process 2", ["--engine", "local", "--n-process", "2"]),
    (
        "ray, 1 actor x 2 CPUs",
        ["--engine", "ray", "--num-actors", "1", "--num-cpus-per-actor", "2"],
    ),
    (
        "ray, 2 actors x 1 CPU",
        ["--engine", "ray", "--num-actors", "2", "--num-cpus-per-actor", "1"],
    ),
]


def write_shards(directory: Path, n_docs: int, n_shards: int) -> int:
    """The input shards; returns the number of whitespace-separated words."""
    rng = random.Random(0)
    words = 0
    files = [
        (directory / f"part-{i:03d}.jsonl").open("w", encoding="utf8") for i in range(n_shards)
    ]
    for i in range(n_docs):
        text = " ".join(rng.choices(SENTENCES, k=rng.randint(1, 4)))
        words += len(text.split())
        files[i % n_shards].write(json.dumps({"id": i, "text": text}) + "\n")
    for file_ in files:
        file_.close()
    return words


def main(model: str, docs: int = 4000, shards: int = 4, batch_size: int = 64) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "input"
        inputs.mkdir()
        n_words = write_shards(inputs, docs, shards)
        print(f"model {model}; {docs} docs, {n_words} words in {shards} shards; ", end="")
        print(f"batch size {batch_size}\n")
        print("| engine | seconds | docs/s | words/s | records out |")
        print("|---|---:|---:|---:|---:|")
        for name, options in SETTINGS:
            output = Path(tmp) / "".join(c if c.isalnum() else "_" for c in name)
            if "local" in options:
                output = output.with_suffix(".jsonl")
            command = [
                sys.executable,
                "-m",
                "spacy_spanbert",
                "annotate",
                model,
                str(inputs),
                str(output),
                "--batch-size",
                str(batch_size),
                *options,
            ]
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            seconds = time.perf_counter() - start
            paths = [output] if output.is_file() else sorted(output.rglob("*.jsonl"))
            n_out = sum(1 for path in paths for _ in path.open(encoding="utf8"))
            rate = f"{docs / seconds:,.1f} | {n_words / seconds:,.0f}"
            print(row(name, f"{seconds:.1f}", rate, f"{n_out:,}"), flush=True)


if __name__ == "__main__":
    typer.run(main)
