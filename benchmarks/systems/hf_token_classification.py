"""Hugging Face token classification: system 3 of the comparison.

    python -m benchmarks.systems.hf_token_classification train TRAIN DEV OUTPUT [--epochs 1] ...
    python -m benchmarks.systems.hf_token_classification evaluate MODEL DEV TEST --json-out F
    python -m benchmarks.systems.hf_token_classification speed MODEL TEST --json-out F

The usual recipe outside spaCy: `AutoModelForTokenClassification` on IOB2 tags, the
label on each word's first subword (the others ignored, -100), AdamW with linear
decay, batches of 32 sentences, gradient norm clipped at 1.0 (what `Trainer` does;
`accelerate`, which `Trainer` needs, is not installed here, so the loop is written
out). Entities are decoded from the predicted tags the way seqeval does by default
(an I- tag whose type differs from the open entity starts a new one) and scored
with the same scorer as the spaCy systems. `speed` also times
`transformers.pipeline("token-classification", aggregation_strategy="first")` on the
sentences as text, the path the library's users take.
"""

import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import List

import spacy
import torch
import typer
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
    pipeline,
)

from ..suite import ENCODER, THREADS
from .common import (
    Entities,
    doc_entities,
    iob2_labels,
    iob2_tags,
    read_docs,
    score_entities,
    score_splits,
    sentence_words,
    speed_table,
    timed_annotate,
    write_result,
)

app = typer.Typer(add_completion=False)

IGNORED = -100


def tags_to_entities(tags: Sequence[str]) -> Entities:
    """seqeval's default decoding: B- opens; I- continues an open entity of its type,
    else opens one."""
    entities: Entities = []
    start, label = None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, tag_label = tag.partition("-")
        continues = prefix == "I" and label == tag_label
        if start is not None and label is not None and not continues:
            entities.append((start, i, label))
            start, label = None, None
        if prefix in ("B", "I") and not continues:
            start, label = i, tag_label
    return entities


def encode(tokenizer, sentences: List[List[str]], max_length: int = 512):
    return tokenizer(
        sentences,
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )


def first_subword_rows(encoding, n_sentences: int):
    """(batch row, subword position, word index) of each word's first subword."""
    rows = []
    for b in range(n_sentences):
        previous = None
        for position, word in enumerate(encoding.word_ids(b)):
            if word is not None and word != previous:
                rows.append((b, position, word))
            previous = word
    return rows


def model_annotator(model, tokenizer):
    labels = model.config.id2label

    @torch.inference_mode()
    def annotate(sentences: List[List[str]], batch_size: int) -> List[Entities]:
        results: List[Entities] = []
        for i in range(0, len(sentences), batch_size):
            batch = sentences[i : i + batch_size]
            encoding = encode(tokenizer, batch)
            predicted = model(**encoding).logits.argmax(-1).tolist()
            tags = [["O"] * len(words) for words in batch]
            for b, position, word in first_subword_rows(encoding, len(batch)):
                tags[b][word] = labels[predicted[b][position]]
            results.extend(tags_to_entities(t) for t in tags)
        return results

    return annotate


def text_pipeline(model, tokenizer):
    """`transformers.pipeline` for token classification, as its users run it on CPU."""
    return pipeline(
        "token-classification",
        model=model,
        tokenizer=tokenizer,
        aggregation_strategy="first",
        device=-1,
    )


def pipeline_annotator(model, tokenizer):
    """The text pipeline; its character offsets are mapped back to the gold words."""
    ner = text_pipeline(model, tokenizer)

    def annotate(sentences: List[List[str]], batch_size: int) -> List[Entities]:
        texts = [" ".join(words) for words in sentences]
        results = []
        for words, found in zip(sentences, ner(texts, batch_size=batch_size)):
            starts, offset = {}, 0
            for index, word in enumerate(words):
                starts[offset] = index
                offset += len(word) + 1
            ends = {start + len(words[index]): index + 1 for start, index in starts.items()}
            results.append(
                [
                    (starts[e["start"]], ends[e["end"]], e["entity_group"])
                    for e in found
                    if e["start"] in starts and e["end"] in ends
                ]
            )
        return results

    return annotate


@app.command()
def train(
    train_path: Path,
    dev_path: Path,
    output: Path,
    encoder: str = ENCODER,
    epochs: int = 1,
    batch_size: int = 32,
    learn_rate: float = 5e-5,
    warmup_share: float = 0.1,
    weight_decay: float = 0.01,
    seed: int = 0,
    dev_limit: int = typer.Option(1000, help="Dev sentences scored during training"),
    evals_per_epoch: int = 2,
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    vocab = spacy.blank("en").vocab
    train_docs = read_docs(train_path, vocab)
    dev_docs = read_docs(dev_path, vocab)[:dev_limit]
    labels = iob2_labels(train_docs)
    label_ids = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = AutoModelForTokenClassification.from_pretrained(
        encoder, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label_ids
    )
    examples = [
        (sentence_words([d])[0], iob2_tags(sentence_words([d])[0], doc_entities(d)))
        for d in train_docs
    ]
    per_epoch = (len(examples) + batch_size - 1) // batch_size
    steps = per_epoch * epochs
    no_decay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=learn_rate,
    )
    schedule = get_linear_schedule_with_warmup(optimizer, int(warmup_share * steps), steps)
    eval_every = max(1, per_epoch // evals_per_epoch)
    dev_words = sentence_words(dev_docs)
    curve = []

    def evaluate_dev(step: int, epoch: int) -> None:
        model.eval()
        _, predicted = timed_annotate(
            model_annotator(model, tokenizer), dev_words, 64, bucketed=True
        )
        curve.append(
            {"step": step, "epoch": epoch, "ents_f": score_entities(dev_docs, predicted)["f"]}
        )
        print(f"step {step:>5}  dev F {100 * curve[-1]['ents_f']:.1f}", flush=True)
        model.train()

    start = time.perf_counter()
    step = 0
    evaluate_dev(step, 0)
    for epoch in range(epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        for i in range(0, len(order), batch_size):
            batch = [examples[j] for j in order[i : i + batch_size]]
            encoding = encode(tokenizer, [words for words, _ in batch])
            targets = torch.full(encoding["input_ids"].shape, IGNORED, dtype=torch.long)
            for b, position, word in first_subword_rows(encoding, len(batch)):
                targets[b, position] = label_ids[batch[b][1][word]]
            loss = model(**encoding, labels=targets).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % eval_every == 0:
                evaluate_dev(step, epoch)
    seconds = time.perf_counter() - start
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    write_result(
        json_out,
        {
            "encoder": encoder,
            "epochs": epochs,
            "seed": seed,
            "batch_sentences": batch_size,
            "updates": steps,
            "warmup_share": warmup_share,
            "learn_rate": learn_rate,
            "seconds": seconds,
            "seconds_per_epoch": seconds / epochs,
            "threads": threads,
            "dev_curve": curve,
            "model": str(output),
        },
    )


def load(model_path: str):
    return AutoModelForTokenClassification.from_pretrained(
        model_path
    ).eval(), AutoTokenizer.from_pretrained(model_path)


@app.command()
def evaluate(
    model_path: str,
    dev_path: Path,
    test_path: Path,
    batch_size: int = 64,
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    torch.set_num_threads(threads)
    annotate = model_annotator(*load(model_path))
    scores = score_splits(
        annotate, {"dev": dev_path, "test": test_path}, spacy.blank("en").vocab, batch_size
    )
    write_result(json_out, {"model": model_path, **scores})


@app.command()
def speed(
    model_path: str,
    test_path: Path,
    batch_sizes: List[int] = typer.Option([1, 32, 128]),
    batch1_limit: int = 1000,
    path: str = typer.Option(
        "model", help="'model' (forward + decoding) or 'pipeline' (transformers.pipeline)"
    ),
    threads: int = THREADS,
    json_out: Path = typer.Option(...),
) -> None:
    torch.set_num_threads(threads)
    model, tokenizer = load(model_path)
    annotate = (
        model_annotator(model, tokenizer)
        if path == "model"
        else pipeline_annotator(model, tokenizer)
    )
    sentences = sentence_words(read_docs(test_path, spacy.blank("en").vocab))
    rows = speed_table(annotate, sentences, batch_sizes, batch1_limit)
    write_result(json_out, {"model": model_path, "path": path, "threads": threads, "rows": rows})


if __name__ == "__main__":
    app()
