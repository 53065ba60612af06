"""GLiNER, trained from the same plain encoder: a span-based peer of the comparison.

    .venv-peers/bin/python -m benchmarks.systems.gliner train TRAIN DEV OUTPUT [--epochs 1] ...
        [--spans ents|sc] [--head-learn-rate R]
    .venv-peers/bin/python -m benchmarks.systems.gliner evaluate MODEL DEV [TEST] --json-out F
        [--spans ents|sc]
    .venv-peers/bin/python -m benchmarks.systems.gliner speed MODEL TEST --json-out F [--limit N]

gliner lives in the peers' environment (`make peers`), not in this package's, so it
(and transformers) is imported inside the commands: this module imports without it.
Every model is a local directory and nothing is fetched (`HF_HUB_OFFLINE`,
`local_files_only`); the trained model's directory holds its encoder's config, its
tokenizer and `labels.json`, and loads without the encoder's directory.

The architecture is GLiNER's default, the original one: the uni-encoder span model
(`span_mode="markerV0"`, gliner's `UniEncoderSpanGLiNER`). The entity types are put
before the sentence as a prompt (`<<ENT>> type ... <<SEP>>`) and every span of up to
`--max-width` words is scored against each type's prompt embedding. It is built by
`GLiNER.from_config` on the plain encoder, every other setting at gliner's defaults
(projection to 512, dropout 0.4, one BiLSTM layer, first-subword pooling), and trained
by gliner's own `Trainer` with the settings `create_training_args` defaults to (AdamW,
weight decay 0.01, gradient norm clipped at 1.0, span loss summed), the encoder at
`--learn-rate` and the other layers at `--head-learn-rate`, batches of 8 sentences,
linear warmup then linear decay over whole epochs (the suite's recipe). The label set
is closed here: every training sentence is prompted with all the training labels in
one order, the prompt it gets at inference (GLiNER's zero-shot training instead
prompts each sentence with its own types and a few sampled negatives).

Sentences are annotated on their gold words, which go straight into gliner's collate,
forward and decode steps: `inference` takes text and re-splits it with a regex
("U.S." becomes four words), so the predicted word indices would not be the gold
tokens'. `--spans ents` trains on `doc.ents`, decodes flat (`flat_ner=True`) and is
scored like the other systems; `--spans sc` trains on `doc.spans["sc"]`, decodes
nested (`flat_ner=False`: spans may nest, not cross) and is scored by spaCy's spancat
scorer. Gold spans longer than `--max-width` words can be neither learned nor found.
"""

import json
import os
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import spacy
import torch
import typer
from spacy.tokens import Doc

from ..suite import ENCODER, THREADS
from .common import (
    Annotate,
    Entities,
    doc_entities,
    read_docs,
    score_entities,
    score_spans,
    sentence_words,
    speed_table,
    timed_annotate,
    write_result,
)

if TYPE_CHECKING:
    from gliner.model import BaseEncoderGLiNER

app = typer.Typer(add_completion=False)

LABELS_FILE = "labels.json"
THRESHOLD = 0.5  # gliner's default: a span gets a type whose score is above it


class Spans(str, Enum):
    """Which gold spans a run learns and is scored on."""

    ents = "ents"
    sc = "sc"


def gold_spans(doc: Doc, spans: Spans) -> Entities:
    if spans is Spans.ents:
        return doc_entities(doc)
    return [(span.start, span.end, span.label_) for span in doc.spans.get("sc", [])]


def score(gold: Sequence[Doc], predicted: Sequence[Entities], spans: Spans) -> Dict[str, Any]:
    return score_entities(gold, predicted) if spans is Spans.ents else score_spans(gold, predicted)


def offline() -> None:
    """Fetch nothing: every model is a local directory. Before the first import of
    gliner or transformers, which read these once."""
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})


def model_annotator(
    model: "BaseEncoderGLiNER", labels: List[str], spans: Spans, threshold: float
) -> Annotate:
    """Annotate gold words with gliner's own batch steps, prompted with all LABELS.

    gliner pads an empty sentence to one word; no span may end past the real ones.
    """
    collator = model.create_collator()

    def annotate(sentences: List[List[str]], batch_size: int) -> List[Entities]:
        model.eval()
        results: List[Entities] = []
        for i in range(0, len(sentences), batch_size):
            chunk = sentences[i : i + batch_size]
            batch = model.collate_batch(model.prepare_base_input(chunk), labels, collator)
            output = model.run_batch(batch, threshold=threshold)
            decoded = model.decode_batch(
                output, batch, threshold=threshold, flat_ner=spans is Spans.ents
            )
            results.extend(
                [(s.start, s.end + 1, s.entity_type) for s in found if s.end < len(sentence)]
                for sentence, found in zip(chunk, decoded)
            )
        return results

    return annotate


def load(model_path: str, threads: int) -> Tuple["BaseEncoderGLiNER", List[str]]:
    """The trained model and its label set, from its directory alone."""
    offline()
    from gliner import GLiNER

    torch.set_num_threads(threads)
    model = GLiNER.from_pretrained(model_path, local_files_only=True)
    labels = json.loads((Path(model_path) / LABELS_FILE).read_text())
    return model, labels


@app.command()
def train(
    train_path: Path,
    dev_path: Path,
    output: Path,
    encoder: str = ENCODER,
    epochs: int = 1,
    batch_size: int = 8,
    learn_rate: float = typer.Option(1e-5, help="Peak rate of the encoder"),
    head_learn_rate: Optional[float] = typer.Option(
        None, help="Peak rate of the other layers; default: --learn-rate (gliner's default)"
    ),
    warmup_share: float = 0.1,
    spans: Spans = typer.Option(Spans.ents, help="ents: doc.ents; sc: doc.spans['sc']"),
    max_width: int = typer.Option(12, help="Longest span in words (gliner's default)"),
    seed: int = 0,
    dev_limit: int = typer.Option(1000, help="Dev sentences scored during training"),
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    """Train for whole epochs; score the dev sentences at the end of each."""
    offline()
    from gliner import GLiNER
    from gliner.training import Trainer
    from transformers import TrainerCallback, set_seed

    torch.set_num_threads(threads)
    set_seed(seed)
    vocab = spacy.blank("en").vocab
    train_docs = read_docs(train_path, vocab)
    dev_docs = read_docs(dev_path, vocab)[:dev_limit]
    labels = sorted({label for doc in train_docs for _, _, label in gold_spans(doc, spans)})
    examples = [
        {
            "tokenized_text": words,
            "ner": [[start, end - 1, label] for start, end, label in gold_spans(doc, spans)],
            "ner_labels": labels,
        }
        for doc, words in zip(train_docs, sentence_words(train_docs))
    ]
    model = GLiNER.from_config(
        {"model_name": encoder, "span_mode": "markerV0", "max_width": max_width},
        local_files_only=True,
    )
    args = model.create_training_args(
        output_dir=str(output),
        learning_rate=learn_rate,
        others_lr=head_learn_rate,
        lr_scheduler_type="linear",
        warmup_ratio=warmup_share,
        per_device_train_batch_size=batch_size,
        num_train_epochs=epochs,
        max_steps=-1,
        save_strategy="no",
        use_cpu=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        seed=seed,
        disable_tqdm=True,
        logging_steps=100,
    )
    dev_words = sentence_words(dev_docs)
    curve: List[Dict[str, float]] = []
    dev_seconds = 0.0

    class DevCurve(TrainerCallback):
        def on_epoch_end(self, args, state, control, **kwargs) -> None:
            nonlocal dev_seconds
            annotate = model_annotator(model, labels, spans, THRESHOLD)
            seconds, predicted = timed_annotate(annotate, dev_words, 32, bucketed=True)
            dev_seconds += seconds
            f = score(dev_docs, predicted, spans)["f"]
            curve.append({"step": state.global_step, "epoch": round(state.epoch) - 1, "ents_f": f})
            print(f"step {state.global_step:>5}  dev F {100 * f:.1f}", flush=True)

    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=examples,
        data_collator=model.data_collator_class(model.config, data_processor=model.data_processor),
        callbacks=[DevCurve()],
    )
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    model.save_pretrained(output)
    (output / LABELS_FILE).write_text(json.dumps(labels))
    write_result(
        json_out,
        {
            "encoder": encoder,
            "architecture": "gliner uni-encoder span, markerV0",
            "spans": spans.value,
            "labels": labels,
            "max_width": max_width,
            "epochs": epochs,
            "seed": seed,
            "batch_sentences": batch_size,
            "updates": trainer.state.global_step,
            "warmup_share": warmup_share,
            "learn_rate": learn_rate,
            "head_learn_rate": head_learn_rate or learn_rate,
            "seconds": seconds,
            "seconds_per_epoch": seconds / epochs,
            "dev_seconds": dev_seconds,
            "samples_per_s": len(examples) * epochs / (seconds - dev_seconds),
            "threads": threads,
            "dev_curve": curve,
            "model": str(output),
        },
    )


@app.command()
def evaluate(
    model_path: str,
    dev_path: Path,
    test_path: Optional[Path] = typer.Argument(None, help="Left out where there is none"),
    spans: Spans = typer.Option(
        Spans.ents, help="ents: doc.ents, flat; sc: doc.spans['sc'], nested"
    ),
    threshold: float = THRESHOLD,
    batch_size: int = 8,
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    """P/R/F on dev (and test), per type, annotated length-bucketed."""
    model, labels = load(model_path, threads)
    annotate = model_annotator(model, labels, spans, threshold)
    vocab = spacy.blank("en").vocab
    splits = {"dev": dev_path, **({"test": test_path} if test_path is not None else {})}
    result: Dict[str, Any] = {"model": model_path, "spans": spans.value, "threshold": threshold}
    for split, path in splits.items():
        gold = read_docs(path, vocab)
        _, predicted = timed_annotate(annotate, sentence_words(gold), batch_size, bucketed=True)
        result[split] = score(gold, predicted, spans)
        print(f"{split}: F {100 * result[split]['f']:.1f}", flush=True)
    write_result(json_out, result)


@app.command()
def speed(
    model_path: str,
    test_path: Path,
    batch_sizes: List[int] = typer.Option([1, 32, 128]),
    batch1_limit: int = 1000,
    limit: int = typer.Option(0, help="Time only the first N sentences (0: all); for smoke runs"),
    spans: Spans = typer.Option(Spans.ents, help="ents: flat decoding; sc: nested"),
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    """Words/s on TEST's gold words at each batch size, file order and bucketed."""
    model, labels = load(model_path, threads)
    sentences = sentence_words(read_docs(test_path, spacy.blank("en").vocab))
    if limit:
        sentences = sentences[:limit]
    rows = speed_table(
        model_annotator(model, labels, spans, THRESHOLD), sentences, batch_sizes, batch1_limit
    )
    write_result(
        json_out, {"model": model_path, "spans": spans.value, "threads": threads, "rows": rows}
    )


if __name__ == "__main__":
    app()
