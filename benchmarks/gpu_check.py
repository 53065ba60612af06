"""Train and run the joint SpanBERT pipeline on a GPU and report speed and memory.

    python -m benchmarks.gpu_check --gpu-id 0 [--steps 200] [--layers 12 --hidden 768]

Builds a random encoder shaped like SpanBERT-base-cased locally (no download: 12
layers, 768 wide, 512 positions, a 28,996-piece cased vocabulary, laid out like the
hub repository), trains `configs/spanbert_base_gpu.cfg` (spanbert_ner + spanbert_spancat on
one encoder, mixed precision) for --steps updates on the project's sample corpus, and
prints words/s for training (batches as the config makes them) and for `nlp.pipe`, and
peak GPU memory. Random weights:
the speed and memory are real, the accuracy is not. With --gpu-id -1 and a small
--layers/--hidden it runs on CPU, to check the script itself.
"""

import json
import tempfile
import time
from pathlib import Path

import spacy
import torch
import typer
from spacy.training import Corpus
from spacy.util import load_config, load_model_from_config, registry
from tokenizers import BertWordPieceTokenizer
from transformers import BertConfig, BertModel

from .tables import row

ROOT = Path(__file__).parent.parent
VOCAB_SIZE = 28996  # bert-base-cased, SpanBERT's vocabulary size


def build_random_spanbert(path: Path, texts, layers: int, hidden: int) -> None:
    """config.json without model_type, vocab.txt and weights, as the hub repo has them."""
    path.mkdir(parents=True, exist_ok=True)
    wordpiece = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    wordpiece.train_from_iterator(texts, vocab_size=VOCAB_SIZE, min_frequency=1)
    vocab = sorted(wordpiece.get_vocab(), key=wordpiece.get_vocab().get)
    vocab += [f"[unused{i}]" for i in range(VOCAB_SIZE - len(vocab))]  # pad as BERT does
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf8")
    config = BertConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64),
        intermediate_size=4 * hidden,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(str(path))
    saved = json.loads((path / "config.json").read_text())
    saved.pop("model_type", None)
    (path / "config.json").write_text(json.dumps(saved))


def main(
    gpu_id: int = typer.Option(0, help="GPU id; -1 runs on CPU (a dry run of the script)"),
    steps: int = typer.Option(200, help="Training updates"),
    layers: int = typer.Option(12),
    hidden: int = typer.Option(768),
    train_path: Path = typer.Option(ROOT / "corpus/sample/train.spacy"),
    pipe_batch_size: int = typer.Option(256, help="nlp.pipe batch size"),
) -> None:
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
        torch.cuda.reset_peak_memory_stats()
        print(f"GPU {gpu_id}: {torch.cuda.get_device_name(gpu_id)}")
    with tempfile.TemporaryDirectory() as tmp:
        nlp = spacy.blank("en")
        docs = [eg.reference for eg in Corpus(train_path)(nlp)]
        encoder = Path(tmp) / "spanbert-base-random"
        build_random_spanbert(encoder, [doc.text for doc in docs] * 3, layers, hidden)
        config = load_config(
            ROOT / "configs/spanbert_base_gpu.cfg",
            overrides={
                "paths.encoder": str(encoder),
                "paths.train": str(train_path),
                "paths.dev": str(train_path),
                # torch's gradient scaler needs a GPU: a CPU dry run goes without.
                "components.spanbert.model.mixed_precision": gpu_id >= 0,
            },
        )
        nlp = load_model_from_config(config, auto_fill=True)
        examples = list(Corpus(train_path)(nlp))
        optimizer = nlp.initialize(lambda: examples)
        mixed = nlp.config["components"]["spanbert"]["model"]["mixed_precision"]
        print(f"pipeline {nlp.pipe_names}, {len(examples)} training docs, mixed precision {mixed}")

        batcher = registry.resolve({"b": nlp.config.interpolate()["training"]["batcher"]})["b"]
        done, words, start = 0, 0, time.perf_counter()
        while done < steps:
            for batch in batcher(examples):
                nlp.update(batch, sgd=optimizer)
                words += sum(len(eg.reference) for eg in batch)
                done += 1
                if done == steps:
                    break
        if gpu_id >= 0:
            torch.cuda.synchronize()
        train_seconds = time.perf_counter() - start

        texts = [doc.text for doc in docs] * 4
        n_words = sum(len(doc) for doc in docs) * 4
        start = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=pipe_batch_size):
            pass
        if gpu_id >= 0:
            torch.cuda.synchronize()
        pipe_seconds = time.perf_counter() - start

    print("| measure | value |")
    print("|---|---|")
    print(f"| encoder | random, {layers} layers, {hidden} wide, vocab {VOCAB_SIZE} |")
    train_rate = f"{words / train_seconds:,.0f} words/s"
    print(row("training", f"{done} updates, {words:,} words, {train_seconds:.1f} s, {train_rate}"))
    pipe_rate = f"{n_words / pipe_seconds:,.0f} words/s"
    pipe_name = f"nlp.pipe (batch {pipe_batch_size})"
    print(row(pipe_name, f"{n_words:,} words, {pipe_seconds:.1f} s, {pipe_rate}"))
    if gpu_id >= 0:
        print(
            row(
                "peak GPU memory",
                f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB allocated, "
                f"{torch.cuda.max_memory_reserved() / 2**30:.2f} GiB reserved",
            )
        )


if __name__ == "__main__":
    typer.run(main)
