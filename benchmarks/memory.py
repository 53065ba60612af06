"""Peak memory and speed on long documents, and a leak check over repeated passes.

    python -m benchmarks.memory long-docs MODEL [--sizes 1000 10000 100000] [--threads 2]
    python -m benchmarks.memory leak MODEL [--passes 10] [--docs 1000] [--threads 2]

MODEL is a pipeline directory or package name: this project's (`spanbert_ner`, with
an inline or shared encoder) or any other, e.g. spaCy's transformer + ner, to compare.
`long-docs` runs each size in a fresh process and resets the peak after loading, so
each peak RSS is that document's own (Linux: VmHWM).
Texts are built from a fixed bank of news sentences; no corpus is needed. Prints
Markdown tables.
"""

import ctypes
import gc
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import spacy
import torch
import typer
from spacy.language import Language
from spacy.util import registry

from .suite import THREADS
from .tables import header

app = typer.Typer(add_completion=False)

SENTENCES = [
    "Barack Obama visited Berlin on Monday and met Angela Merkel at the Chancellery.",
    "Shares of Toyota, Siemens and Nestle rose in Tokyo, Frankfurt and Zurich.",
    "The European Central Bank left interest rates unchanged on Thursday.",
    "Researchers at Stanford University and the Max Planck Society published the results.",
    "Lionel Messi scored twice as Inter Miami beat New York City FC 3-1.",
    "Prime Minister Jacinda Ardern flew from Wellington to Sydney for the summit.",
    "Apple and Microsoft reported quarterly earnings above Wall Street forecasts.",
    "The United Nations called for a ceasefire in the region.",
]


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def current_rss_mib() -> float:
    return _status_mib("VmRSS")


def peak_rss_mib() -> float:
    """Peak RSS since the last `reset_peak_rss` (VmHWM)."""
    return _status_mib("VmHWM")


def reset_peak_rss() -> None:
    """Start the peak afresh, so loading the pipeline doesn't count (Linux)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


@registry.callbacks("benchmarks.memory_per_update.v1")
def memory_per_update(path: str, trim: bool = False) -> Callable[[Language, Dict[str, Any]], None]:
    """A `[training.before_update]` callback: before each update, its epoch, its step,
    the RSS and the peak RSS so far, as JSON lines in PATH. It reads /proc only, so
    training is unchanged; it shows whether memory grows from epoch to epoch.

    `trim` tells a leak from the allocator keeping freed memory: it also returns free
    heap to the system (glibc `malloc_trim`) and logs the RSS after that and the
    number of objects Python's garbage collector tracks. That changes the allocator's
    behaviour, so it is off for timed runs."""
    log = Path(path)
    log.parent.mkdir(parents=True, exist_ok=True)

    def sample(nlp: Language, args: Dict[str, Any]) -> None:
        record = {"epoch": args["epoch"], "step": args["step"]}
        record.update(rss_mib=current_rss_mib(), peak_mib=peak_rss_mib())
        if trim:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            record.update(trimmed_rss_mib=current_rss_mib(), python_objects=len(gc.get_objects()))
        with log.open("a") as lines:
            lines.write(json.dumps(record) + "\n")

    return sample


def memory_by_epoch(path: Path) -> List[Dict[str, float]]:
    """Per epoch of a `memory_per_update` log: the largest RSS before an update and
    the peak RSS at the epoch's last update (evaluations and saves included)."""
    epochs: Dict[int, Dict[str, float]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        epoch = epochs.setdefault(record["epoch"], {"epoch": record["epoch"], "rss_mib": 0.0})
        epoch["rss_mib"] = max(epoch["rss_mib"], record["rss_mib"])
        epoch["peak_mib"] = record["peak_mib"]
    return [epochs[epoch] for epoch in sorted(epochs)]


def text_of(n_tokens: int, nlp: spacy.Language) -> str:
    """About n_tokens spaCy tokens of sentences drawn from the bank (seed 0)."""
    rng = random.Random(0)
    sentences: List[str] = []
    total = 0
    while total < n_tokens:
        sentence = rng.choice(SENTENCES)
        sentences.append(sentence)
        total += len(nlp.make_doc(sentence))
    return " ".join(sentences)


@app.command("one-doc", hidden=True)
def one_doc(model: str, n_tokens: int, threads: int = THREADS) -> None:
    torch.set_num_threads(threads)
    nlp = spacy.load(model)
    nlp("Warm up the pipeline once.")
    text = text_of(n_tokens, nlp)
    before = current_rss_mib()
    reset_peak_rss()
    start = time.perf_counter()
    doc = nlp(text)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "tokens": len(doc),
                "seconds": seconds,
                "words_per_s": len(doc) / seconds,
                "rss_before_mib": before,
                "peak_rss_mib": peak_rss_mib(),
                "entities": len(doc.ents),
            }
        )
    )


@app.command("long-docs")
def long_docs(
    model: str,
    sizes: List[int] = typer.Option([1000, 10000, 100000]),
    threads: int = THREADS,
    json_out: Optional[Path] = typer.Option(None, help="Also write the rows here, as JSON"),
) -> None:
    """One document of each size, each in its own process."""
    rows = []
    print(f"model {model}, torch threads {threads}\n")
    columns = ["tokens", "seconds", "words/s", "RSS before (MiB)", "peak RSS (MiB)"]
    columns += ["growth (MiB)", "growth per 1k tokens (MiB)"]
    print(header(*columns, align="---:"))
    for size in sizes:
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", "one-doc", model, str(size)]
            + ["--threads", str(threads)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append(r)
        growth = r["peak_rss_mib"] - r["rss_before_mib"]
        print(
            f"| {r['tokens']:,} | {r['seconds']:.1f} | {r['words_per_s']:,.0f} | "
            f"{r['rss_before_mib']:,.0f} | {r['peak_rss_mib']:,.0f} | {growth:,.0f} | "
            f"{1000 * growth / r['tokens']:.2f} |",
            flush=True,
        )
    if json_out is not None:
        json_out.write_text(
            json.dumps({"model": model, "threads": threads, "rows": rows}, indent=2)
        )


@app.command()
def leak(
    model: str, passes: int = 10, docs: int = 1000, threads: int = THREADS, batch_size: int = 64
) -> None:
    """RSS after each of `passes` runs of nlp.pipe over the same docs."""
    torch.set_num_threads(threads)
    nlp = spacy.load(model)
    rng = random.Random(0)
    texts = [" ".join(rng.choices(SENTENCES, k=rng.randint(1, 4))) for _ in range(docs)]
    print(f"model {model}, {docs} docs, batch_size {batch_size}, torch threads {threads}\n")
    print("| pass | seconds | entities | RSS after (MiB) |")
    print("|---:|---:|---:|---:|")
    rss = []
    for i in range(1, passes + 1):
        start = time.perf_counter()
        n_ents = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size))
        rss.append(current_rss_mib())
        print(
            f"| {i} | {time.perf_counter() - start:.1f} | {n_ents} | {rss[-1]:,.0f} |", flush=True
        )
    if passes > 2:
        print(f"\nRSS change from pass 2 to pass {passes}: {rss[-1] - rss[1]:+,.0f} MiB")


if __name__ == "__main__":
    app()
