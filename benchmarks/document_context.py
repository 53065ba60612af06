"""Sentences alone, or each sentence inside its document: accuracy and speed.

    python -m benchmarks.document_context run CORPORA_DIR [--contexts 0 --contexts 32 ...]
        [--centres 0 --centres 128] [--corpora conll2003 --corpora wnut17]
        [--seeds 0 --seeds 1] [--work benchmarks/runs/document_context]
    python -m benchmarks.document_context evaluate-phase MODEL DEV TEST --json-out F
        [--read-with CONTEXT CENTRE WINDOW]

CoNLL-2003, `spanbert_ner` with the MiniLM encoder, the same epoch, recipe and seeds
for every row:

- sentences: one doc per sentence, spacy-transformers' strided windows
  (configs/spanbert_ner.cfg), as the project trains by default;
- documents, context N: one doc per -DOCSTART- document, a window per sentence with
  up to N tokens of context on either side (configs/spanbert_ner_context.cfg);
- documents, context N, centre G: consecutive sentences of up to G tokens share a
  window (`centre`), the window widened to G + 2N tokens;
- ..., training chunks of M tokens: trained on chunks of whole sentences of up to M
  tokens, each with up to N tokens of its document on either side as unannotated
  context, batched by centre tokens (`--chunks`; 0: chunks of up to 256 tokens, no
  context outside them).

WNUT-17 (no document markers: groups of 10 tweets, the same document rows) checks that
context does no harm. Dev and test F (the sentences' gold boundaries given to the
document rows), and words/s over the test set at batch 32 (docs or sentences),
length-bucketed. Every row is also scored with `spanbert_ner`'s entity threshold chosen
on dev (the context may shift how sure the model is that a span is an entity). Each
phase runs in its own process and leaves a JSON file under WORK. `evaluate-phase`
scores a trained model, `--read-with` reading with other windows than it trained with.
"""

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import spacy
import torch
import typer
from spacy.language import Language
from spacy.tokens import Doc

from .compare import TUNED
from .suite import ROOT, SPACY_SCRIPT, run_phase
from .systems.common import Entities, doc_entities, read_docs, score_entities
from .systems.spacy_pipeline import choose_entity_threshold
from .tables import header, mean_spread, publish, row

app = typer.Typer(add_completion=False)
THIS = [sys.executable, "-m", "benchmarks.document_context"]
SENTENCE_CONFIG = ROOT / "configs/spanbert_ner.cfg"
CONTEXT_CONFIG = ROOT / "configs/spanbert_ner_context.cfg"
SPEED_BATCH = 32
# A unit of text to annotate: its words and each word's sentence start.
Unit = Tuple[List[str], List[bool]]


def units_of(docs: List[Doc]) -> List[Unit]:
    """Words and gold sentence starts of each doc (a sentence or a document)."""
    return [
        ([t.text for t in doc], [t.i == 0 or bool(t.is_sent_start) for t in doc]) for doc in docs
    ]


def annotate(nlp: Language, units: List[Unit], batch_size: int) -> Tuple[float, List[Entities]]:
    """Seconds to annotate the units (length-bucketed, in order again), and entities."""
    start = time.perf_counter()
    order = sorted(range(len(units)), key=lambda i: len(units[i][0]))
    docs = (Doc(nlp.vocab, words=units[i][0], sent_starts=units[i][1]) for i in order)
    results: List[Entities] = [[] for _ in units]
    for i, doc in zip(order, nlp.pipe(docs, batch_size=batch_size)):
        results[i] = doc_entities(doc)
    return time.perf_counter() - start, results


@app.command("evaluate-phase")
def evaluate_phase(
    model: str,
    dev_path: Path,
    test_path: Path,
    threads: int = 2,
    entity_threshold_from_dev: bool = False,
    read_with: Optional[Tuple[int, int, int]] = typer.Option(
        None, help="CONTEXT CENTRE WINDOW: read with these sentence_context windows instead"
    ),
    json_out: Path = typer.Option(...),
) -> None:
    """Entity P/R/F on dev and test, and words/s on test."""
    torch.set_num_threads(threads)
    nlp = spacy.load(model, config=windows_override(*read_with) if read_with else {})
    result: Dict[str, Any] = {"model": model}
    if entity_threshold_from_dev:
        dev = read_docs(dev_path, nlp.vocab)
        result["entity_threshold"] = choose_entity_threshold(nlp, dev)
    for split, path in (("dev", dev_path), ("test", test_path)):
        gold = read_docs(path, nlp.vocab)
        units = units_of(gold)
        if split == "test":
            annotate(nlp, units[:SPEED_BATCH], SPEED_BATCH)  # warm up
        seconds, predicted = annotate(nlp, units, SPEED_BATCH)
        result[split] = score_entities(gold, predicted)
        words = sum(len(words) for words, _ in units)
        result[split].update({"seconds": seconds, "words": words, "words_per_s": words / seconds})
        print(f"{split}: F {100 * result[split]['f']:.1f}, {words / seconds:,.0f} words/s")
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(result, indent=2))


def windows_override(context: int, centre: int, window: int) -> Dict[str, Any]:
    """A config override giving `spanbert_ner`'s encoder `sentence_context` windows."""
    getter = {
        "@span_getters": "spacy_spanbert.sentence_context.v1",
        "context": context,
        "centre": centre,
        "window": window,
        "stride": max(1, 3 * window // 4),
    }
    return {"components": {"spanbert_ner": {"model": {"tok2vec": {"get_spans": getter}}}}}


def converted(corpus: str, corpora_dir: Path, work: Path, layout: str) -> Path:
    out = work / "corpus" / f"{corpus}-{layout}"
    if not (out / "dev.spacy").exists():
        script = [sys.executable, "scripts/convert_corpus.py", corpus, str(corpora_dir)]
        subprocess.run([*script, str(out), layout], check=True, cwd=ROOT)
    return out


@dataclass(frozen=True)
class Row:
    """One row of the table: a corpus layout and, for documents, the windows."""

    name: str
    layout: str
    context: int = 0
    centre: int = 0
    chunk: int = 0

    @property
    def slug(self) -> str:
        if self.layout == "sentence":
            return "sentences"
        return (
            f"context{self.context}"
            + (f"-centre{self.centre}" if self.centre else "")
            + (f"-chunks{self.chunk}" if self.chunk else "")
        )

    def overrides(self) -> List[str]:
        if self.layout == "sentence":
            return []
        getter = "components.spanbert_ner.model.tok2vec.get_spans"
        augmenter = "corpora.train.augmenter"
        # Every window setting is the row's own, whatever the context config ships.
        settings = {
            f"{getter}.context": self.context,
            f"{getter}.centre": self.centre,
            f"{getter}.window": self.centre + 2 * self.context if self.centre else 256,
        }
        settings[f"{augmenter}.max_tokens"] = self.chunk or 256
        settings[f"{augmenter}.context"] = self.context if self.chunk else 0
        return [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]


def run_row(row: Row, data: Path, run_dir: Path, epochs: int, seed: int) -> Dict[str, Any]:
    config = SENTENCE_CONFIG if row.layout == "sentence" else CONTEXT_CONFIG
    train = [*SPACY_SCRIPT, "train", str(config), str(data / "train.spacy")]
    train += [str(data / "dev.spacy"), str(run_dir), "--epochs", str(epochs), "--seed", str(seed)]
    trained = run_phase(run_dir / "train.json", train + row.overrides())
    splits = [str(data / "dev.spacy"), str(data / "test.spacy")]
    evaluate = [*THIS, "evaluate-phase", trained["model"], *splits]
    return {
        "train": trained,
        "evaluate": run_phase(run_dir / "evaluate.json", evaluate),
        TUNED: run_phase(run_dir / f"{TUNED}.json", evaluate + ["--entity-threshold-from-dev"]),
    }


def report(results: Dict[str, Any]) -> str:
    lines = []
    for corpus, rows in results["rows"].items():
        lines += [
            "",
            f"**{corpus}**, {results['epochs'][corpus]} epoch(s), seeds {results['seeds']}",
            "",
        ]
        lines.append(
            header(
                "row",
                "dev F",
                "test F",
                "test words/s",
                "train s/epoch",
                "per seed (dev / test F)",
                "dev F, τ from dev",
                "test F, τ from dev",
                "τ per seed",
            )
        )
        for name, by_seed in rows.items():
            runs = list(by_seed.values())

            def values(
                split: str, key: str, runs: List[Dict[str, Any]] = runs, scoring: str = "evaluate"
            ) -> List[float]:
                scale = 100 if key == "f" else 1
                return [scale * run[scoring][split][key] for run in runs]

            per_seed = "; ".join(
                f"{seed}: "
                + " / ".join(f"{100 * run['evaluate'][s]['f']:.1f}" for s in ("dev", "test"))
                for seed, run in by_seed.items()
            )
            seconds = [run["train"]["seconds_per_epoch"] for run in runs]
            lines.append(
                row(
                    name,
                    mean_spread(values("dev", "f")),
                    mean_spread(values("test", "f")),
                    f"{statistics.mean(values('test', 'words_per_s')):,.0f}",
                    f"{statistics.mean(seconds):,.0f}",
                    per_seed,
                    mean_spread(values("dev", "f", scoring=TUNED)),
                    mean_spread(values("test", "f", scoring=TUNED)),
                    ", ".join(f"{run[TUNED]['entity_threshold']:.2f}" for run in runs),
                )
            )
    return "\n".join(lines)


@app.command("run")
def main(
    corpora_dir: Path,
    contexts: List[int] = typer.Option([0, 32, 64, 128]),
    centres: List[int] = typer.Option([0], help="0: a window per sentence"),
    chunks: List[int] = typer.Option(
        [0], help="Training chunks of up to M tokens with their context; 0: 256, no context"
    ),
    corpora: List[str] = typer.Option(["conll2003", "wnut17"]),
    seeds: List[int] = typer.Option([0, 1]),
    conll_epochs: int = 1,
    wnut_epochs: int = 3,
    work: Path = ROOT / "benchmarks/runs/document_context",
) -> None:
    def documents(unit: str) -> List[Row]:
        return [
            Row(
                f"{unit}, context {c}"
                + (f", centre {g}" if g else "")
                + (f", training chunks of {m} tokens" if m else ""),
                "document",
                c,
                g,
                m,
            )
            for c in contexts
            for g in centres
            for m in chunks
        ]

    plan = {
        "conll2003": [Row("sentences", "sentence"), *documents("documents")],
        "wnut17": [Row("sentences", "sentence"), *documents("groups of 10 tweets")],
    }
    epochs = {"conll2003": conll_epochs, "wnut17": wnut_epochs}
    results: Dict[str, Any] = {"seeds": seeds, "epochs": epochs, "rows": {}}
    started = time.perf_counter()
    for seed in seeds:
        for corpus in corpora:
            for row_ in plan[corpus]:
                data = converted(corpus, corpora_dir, work, row_.layout)
                run_dir = work / corpus / row_.slug / f"seed{seed}"
                run = run_row(row_, data, run_dir, epochs[corpus], seed)
                results["rows"].setdefault(corpus, {}).setdefault(row_.name, {})[str(seed)] = run
    results["driver_seconds_this_invocation"] = time.perf_counter() - started
    text = report(results)
    publish(work, text, results)


if __name__ == "__main__":
    app()
