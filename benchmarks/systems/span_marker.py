"""SpanMarker: the span-based NER peer (tomaarsen/SpanMarkerNER), run from the peers'
environment (`make peers`), whose dependencies are not this package's.

    .venv-peers/bin/python -m benchmarks.systems.span_marker train TRAIN DEV OUTPUT \
        [--epochs 1] [--learn-rate 5e-5] [--context] --json-out F
    .venv-peers/bin/python -m benchmarks.systems.span_marker evaluate MODEL DEV TEST --json-out F
    .venv-peers/bin/python -m benchmarks.systems.span_marker speed MODEL TEST --json-out F

The library's own recipe: `SpanMarkerModel.from_pretrained(encoder, labels=IOB2 tags)`
trained by its `Trainer` (AdamW, linear warmup and decay, weight decay 0.01), each
candidate span up to `--entity-max-length` words marked by a pair of marker tokens
appended to the sentence (PL-Marker's "packed levitated markers"), so the encoder attends
to every candidate. `--context` adds each sentence's document around it (the
`document_id` / `sentence_id` columns, from the corpus' `doc.user_data["document"]`).

Offline rules: no `Trainer.evaluate` (it loads seqeval from the hub); prediction is
`SpanMarkerModel.predict` on the gold words, scored by the suite's scorer against every
gold entity (SpanMarker's own evaluation drops gold entities it cannot represent).
`model_max_length` stays below the encoder's positions less 2: marker positions are
offset by 2 and reach past 510 with a BERT-family encoder.
"""

import os
import random
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import spacy
import typer
from spacy.tokens import Doc

from ..suite import ENCODER, THREADS
from .common import (
    Entities,
    doc_entities,
    iob2_labels,
    iob2_tags,
    read_docs,
    score_entities,
    sentence_words,
    speed_table,
    write_result,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

app = typer.Typer(add_completion=False)

DOCUMENT_KEY = "document"


def positions(docs: Sequence[Doc]) -> List[Tuple[int, int]]:
    """(document id, sentence index in its document) per sentence, documents numbered
    in order of first appearance: SpanMarker's context columns."""
    ids: Dict[Any, int] = {}
    counts: Dict[int, int] = {}
    result = []
    for doc in docs:
        document = ids.setdefault(doc.user_data.get(DOCUMENT_KEY), len(ids))
        result.append((document, counts.get(document, 0)))
        counts[document] = counts.get(document, 0) + 1
    return result


def columns(
    sentences: Sequence[List[str]], context: Optional[Sequence[Tuple[int, int]]]
) -> Dict[str, List[Any]]:
    data: Dict[str, List[Any]] = {"tokens": list(sentences)}
    if context is not None:
        data["document_id"] = [document for document, _ in context]
        data["sentence_id"] = [sentence for _, sentence in context]
    return data


def predict(
    model: Any,
    sentences: Sequence[List[str]],
    context: Optional[Sequence[Tuple[int, int]]],
    batch_size: int,
) -> List[Entities]:
    """Entities per sentence, on the gold words; `context` given: each sentence read
    in its document."""
    from datasets import Dataset

    if not sentences:
        return []
    predicted = model.predict(Dataset.from_dict(columns(sentences, context)), batch_size)
    return [
        [(e["word_start_index"], e["word_end_index"], e["label"]) for e in entities]
        for entities in predicted
    ]


def load(model_path: str, threads: int) -> Any:
    import torch
    from span_marker import SpanMarkerModel

    torch.set_num_threads(threads)
    return SpanMarkerModel.from_pretrained(model_path).eval()


def score(model: Any, docs: Sequence[Doc], batch_size: int) -> Dict[str, Any]:
    context = positions(docs) if model.config.trained_with_document_context else None
    return score_entities(docs, predict(model, sentence_words(docs), context, batch_size))


@app.command()
def train(
    train_path: Path,
    dev_path: Path,
    output: Path,
    encoder: str = ENCODER,
    epochs: int = 1,
    batch_size: int = 16,
    learn_rate: float = 5e-5,
    warmup_share: float = 0.1,
    weight_decay: float = 0.01,
    model_max_length: int = 128,
    marker_max_length: int = 64,
    entity_max_length: int = 8,
    context: bool = typer.Option(False, help="Read each sentence in its document"),
    seed: int = 0,
    dev_limit: int = typer.Option(300, help="Dev sentences scored after each epoch"),
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    import torch
    from datasets import Dataset
    from span_marker import SpanMarkerModel, Trainer
    from transformers import TrainerCallback, TrainingArguments

    torch.set_num_threads(threads)
    random.seed(seed)
    torch.manual_seed(seed)
    vocab = spacy.blank("en").vocab
    train_docs = read_docs(train_path, vocab)
    dev_docs = read_docs(dev_path, vocab)[:dev_limit]
    labels = iob2_labels(train_docs)
    label_ids = {label: i for i, label in enumerate(labels)}
    sentences = sentence_words(train_docs)
    data = columns(sentences, positions(train_docs) if context else None)
    data["ner_tags"] = [
        [label_ids[tag] for tag in iob2_tags(words, doc_entities(doc))]
        for words, doc in zip(sentences, train_docs)
    ]
    model = SpanMarkerModel.from_pretrained(
        encoder,
        labels=labels,
        model_max_length=model_max_length,
        marker_max_length=marker_max_length,
        entity_max_length=entity_max_length,
    )
    curve: List[Dict[str, Any]] = []

    class DevCurve(TrainerCallback):  # type: ignore[misc]
        """Dev F after each epoch, on the suite's scorer."""

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            model.eval()
            f = score(model, dev_docs, 32)["f"]
            model.train()
            curve.append({"step": state.global_step, "epoch": round(state.epoch), "ents_f": f})
            print(f"step {state.global_step:>5}  dev F {100 * f:.1f}", flush=True)

    args = TrainingArguments(
        output_dir=str(output / "checkpoints"),
        learning_rate=learn_rate,
        per_device_train_batch_size=batch_size,
        num_train_epochs=epochs,
        warmup_ratio=warmup_share,
        weight_decay=weight_decay,
        lr_scheduler_type="linear",
        seed=seed,
        save_strategy="no",
        report_to="none",
        logging_steps=25,
        use_cpu=True,
        dataloader_num_workers=0,
    )
    trainer = Trainer(
        model=model, args=args, train_dataset=Dataset.from_dict(data), callbacks=[DevCurve()]
    )
    start = time.perf_counter()
    trained = trainer.train()
    seconds = time.perf_counter() - start
    model.save_pretrained(output)
    write_result(
        json_out,
        {
            "encoder": encoder,
            "epochs": epochs,
            "seed": seed,
            "batch_samples": batch_size,
            "updates": trained.global_step,
            "samples_per_s": trained.metrics["train_samples_per_second"],
            "warmup_share": warmup_share,
            "learn_rate": learn_rate,
            "lengths": {
                "model_max_length": model_max_length,
                "marker_max_length": marker_max_length,
                "entity_max_length": entity_max_length,
            },
            "context": context,
            "seconds": seconds,
            "seconds_per_epoch": seconds / epochs,
            "threads": threads,
            "dev_curve": curve,
            "model": str(output),
        },
    )


@app.command()
def evaluate(
    model_path: str,
    dev_path: Path,
    test_path: Path,
    batch_size: int = 32,
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    """Entity P/R/F on dev and test against every gold entity."""
    model = load(model_path, threads)
    vocab = spacy.blank("en").vocab
    result: Dict[str, Any] = {"model": model_path}
    for split, path in (("dev", dev_path), ("test", test_path)):
        result[split] = score(model, read_docs(path, vocab), batch_size)
        print(f"{split}: F {100 * result[split]['f']:.1f}", flush=True)
    write_result(json_out, result)


@app.command()
def speed(
    model_path: str,
    test_path: Path,
    batch_sizes: List[int] = typer.Option([32]),
    batch1_limit: int = 1000,
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    """Words/s over the test sentences on the gold words, as the suite times every
    system; a model trained with context reads each sentence in its document."""
    model = load(model_path, threads)
    docs = read_docs(test_path, spacy.blank("en").vocab)
    sentences = sentence_words(docs)
    # The suite's timing loop hands over sentences (sliced, or sorted by length); a
    # model trained with context looks each one's document up by the list object.
    where = {id(words): position for words, position in zip(sentences, positions(docs))}
    with_context = model.config.trained_with_document_context

    def annotate(batch: List[List[str]], size: int) -> List[Entities]:
        context = [where[id(words)] for words in batch] if with_context else None
        return predict(model, batch, context, size)

    rows = speed_table(annotate, sentences, batch_sizes, batch1_limit)
    write_result(json_out, {"model": model_path, "threads": threads, "rows": rows})


if __name__ == "__main__":
    app()
