"""Command line: `python -m spacy_spanbert COMMAND`."""

from pathlib import Path
from typing import List, Optional

import typer
from spacy.pipeline.spancat import SpanCategorizer, build_ngram_range_suggester
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from wasabi import msg

from .corpora import (
    LAYOUTS,
    CorpusCounts,
    layout_docs,
    read_iob_docs,
    read_nested_docs,
    split_by_document,
)
from .corpora.iob import SCHEMES
from .corpora.span_widths import suggester_recall, width_counts, width_for_coverage

app = typer.Typer(name="spacy_spanbert", no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    """spacy-spanbert tools."""


LAYOUT_OPTION = typer.Option(
    "sentence", help=f"{' or '.join(LAYOUTS)}: one doc per sentence, or per document"
)
GROUP_SIZE_OPTION = typer.Option(
    10, help="document layout without document markers: sentences per doc"
)


@app.command("convert-iob")
def convert_iob(
    input_path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CoNLL-style IOB file"
    ),
    output_path: Path = typer.Argument(..., dir_okay=False, help="Output .spacy file"),
    scheme: str = typer.Option("iob2", help=f"Tag scheme: {' or '.join(SCHEMES)}"),
    spans_key: Optional[str] = typer.Option(
        None, help="Also copy the entities to doc.spans[KEY] (for spancat)"
    ),
    layout: str = LAYOUT_OPTION,
    group_size: int = GROUP_SIZE_OPTION,
) -> None:
    """Convert an IOB column file to a DocBin, one doc per sentence or per document,
    and print its counts."""
    sentences = read_iob_docs(input_path, Vocab(), scheme, spans_key)
    _write(layout_docs(sentences, layout, group_size), output_path, spans_key, source=input_path)


@app.command("convert-nested")
def convert_nested(
    input_path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="JSON lines with token-offset entity_mentions"
    ),
    output_path: Path = typer.Argument(..., dir_okay=False, help="Output .spacy file"),
    spans_key: str = typer.Option("sc", help="doc.spans key for all (nested) spans"),
    layout: str = LAYOUT_OPTION,
    group_size: int = GROUP_SIZE_OPTION,
) -> None:
    """Convert nested-span JSON lines to a DocBin: every span in doc.spans[KEY], the
    outermost ones in doc.ents, one doc per sentence or per doc_id; print the counts."""
    sentences = read_nested_docs(input_path, Vocab(), spans_key)
    _write(layout_docs(sentences, layout, group_size), output_path, spans_key, source=input_path)


@app.command("split-docs")
def split_docs(
    input_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .spacy file"),
    kept_path: Path = typer.Argument(
        ..., dir_okay=False, help="Output .spacy for the kept documents"
    ),
    heldout_path: Path = typer.Argument(
        ..., dir_okay=False, help="Output .spacy for the held-out documents"
    ),
    heldout_share: float = typer.Option(0.2, help="Share of documents held out"),
    seed: int = typer.Option(0, help="Random seed of the split"),
    spans_key: Optional[str] = typer.Option(None, help="Also count doc.spans[KEY]"),
) -> None:
    """Split a corpus by document (doc.user_data['document']), seeded."""
    vocab = Vocab()
    docs = list(DocBin().from_disk(input_path).get_docs(vocab))
    kept, heldout = split_by_document(docs, heldout_share, seed)
    _write(kept, kept_path, spans_key, source=input_path)
    _write(heldout, heldout_path, spans_key, source=input_path)


def _write(docs: List[Doc], output_path: Path, spans_key: Optional[str], source: Path) -> None:
    output_path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=True).to_disk(output_path)
    counts = CorpusCounts.of(docs, spans_key)
    msg.good(
        f"{source} -> {output_path}: {counts.documents} documents, "
        f"{counts.sentences} sentences, {counts.tokens} tokens, "
        f"{sum(counts.entities.values())} entities in doc.ents"
        + (f", {sum(counts.spans.values())} spans in doc.spans['{spans_key}']" if spans_key else "")
    )
    labels = sorted(set(counts.entities) | set(counts.spans))
    rows = [(label, counts.entities.get(label, 0), counts.spans.get(label, 0)) for label in labels]
    header = ("label", "ents", f"spans[{spans_key}]") if spans_key else ("label", "ents")
    msg.table([row[: len(header)] for row in rows], header=header)


@app.command("span-widths")
def span_widths(
    train_path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Training .spacy file"
    ),
    dev_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Dev .spacy file"),
    spans_key: Optional[str] = typer.Option(None, help="doc.spans key (default: doc.ents)"),
    coverage: float = typer.Option(0.99, help="Share of training spans the width cap must cover"),
) -> None:
    """Gold span widths in the training data, the width cap covering COVERAGE of them,
    and the dev recall of spaCy's n-gram suggester with that cap."""
    vocab = Vocab()
    train = list(DocBin().from_disk(train_path).get_docs(vocab))
    dev = list(DocBin().from_disk(dev_path).get_docs(vocab))
    counts = width_counts(train, spans_key)
    total = sum(counts.values())
    cumulative = 0
    rows = []
    for width in sorted(counts):
        cumulative += counts[width]
        rows.append((width, counts[width], f"{cumulative / total:.4f}"))
    msg.table(rows, header=("width", "train spans", "cumulative share"))
    max_width = width_for_coverage(counts, coverage)
    suggester = build_ngram_range_suggester(1, max_width)
    recall = suggester_recall(dev, suggester, spans_key)
    msg.good(f"Width cap covering {coverage:.1%} of training spans: {max_width}")
    msg.table(
        [(label, f"{share:.4f}") for label, share in sorted(recall.items())],
        header=(f"dev recall, n-grams 1..{max_width}", "share of gold spans"),
    )


@app.command("annotate")
def annotate(
    model: str = typer.Argument(..., help="Pipeline directory or package name"),
    input_path: Path = typer.Argument(
        ..., exists=True, help="JSON lines or text file, or a directory of them (shards)"
    ),
    output: Path = typer.Argument(
        ..., help="Output: a .jsonl file (local) or a directory of shards (ray)"
    ),
    engine: str = typer.Option("local", help="local (nlp.pipe) or ray (Ray Data)"),
    input_format: str = typer.Option(
        "auto", "--format", help="auto (by file suffix), jsonl or text"
    ),
    output_key: str = typer.Option(
        "annotations", help="Output field holding file, line, entities, spans or error"
    ),
    batch_size: int = typer.Option(64, help="Docs per nlp.pipe batch (per actor batch with ray)"),
    n_process: int = typer.Option(1, help="local: processes for nlp.pipe"),
    num_actors: int = typer.Option(2, help="ray: pipeline actors, each loading the pipeline once"),
    num_cpus_per_actor: float = typer.Option(1.0, help="ray: CPUs per actor (its torch threads)"),
    num_gpus_per_actor: float = typer.Option(
        0.0, help="ray: GPUs per actor (e.g. 0.5 puts two on a GPU)"
    ),
    ray_address: Optional[str] = typer.Option(
        None, help="ray: cluster address; a local Ray starts without it"
    ),
) -> None:
    """Annotate records with a pipeline, keeping every input field and record.

    A re-run skips the records already in OUTPUT. Records that can't be read or
    annotated are written with an error in OUTPUT_KEY.
    """
    from .annotate.output import count_records, done_records
    from .input_records import read_records

    if engine not in ("local", "ray"):
        raise typer.BadParameter("use local or ray", param_hint="--engine")
    if engine == "local" and output.is_dir():
        raise typer.BadParameter(
            f"{output} is a directory; --engine local writes one .jsonl file", param_hint="OUTPUT"
        )
    if engine == "ray" and output.is_file():
        raise typer.BadParameter(
            f"{output} is a file; --engine ray writes a directory of shards", param_hint="OUTPUT"
        )
    done = done_records(output, output_key)
    if done:
        msg.info(f"Resuming: {len(done)} records already in {output} are skipped")
    if engine == "local":
        import spacy

        from .annotate import annotate_local

        nlp = spacy.load(model)
        records = read_records(input_path, input_format, done)
        annotate_local(
            nlp, records, output, key=output_key, batch_size=batch_size, n_process=n_process
        )
    else:
        from .annotate.ray_engine import annotate_ray

        annotate_ray(
            model,
            input_path,
            output,
            key=output_key,
            fmt=input_format,
            done=done,
            batch_size=batch_size,
            num_actors=num_actors,
            num_gpus_per_actor=num_gpus_per_actor,
            ray_address=ray_address,
            num_cpus_per_actor=num_cpus_per_actor,
        )
    total, errors = count_records(output, output_key)
    msg.good(f"{output}: {total} records, {errors} with an error")


@app.command("pretrain")
def pretrain_command(
    encoder: str = typer.Argument(..., help="BERT-family encoder: hub id or directory"),
    text: Path = typer.Argument(
        ...,
        exists=True,
        help="Text: .txt (a text per line), .jsonl ('text'), .spacy; or a directory",
    ),
    output: Path = typer.Argument(..., help="New directory for the encoder (or the run to resume)"),
    steps: int = typer.Option(1000, help="Updates"),
    batch_size: int = typer.Option(32, help="Sequences per update"),
    max_length: int = typer.Option(128, help="Wordpieces per sequence, [CLS] and [SEP] included"),
    lr: float = typer.Option(1e-4, help="Peak learning rate"),
    warmup: Optional[int] = typer.Option(None, help="Warmup steps (default: 10% of --steps)"),
    masking: str = typer.Option("span", help="span (SpanBERT) or token (BERT)"),
    sbo_weight: float = typer.Option(
        1.0, help="Weight of the span boundary objective; 0 = MLM only"
    ),
    seed: int = typer.Option(0, help="Seed of data order, masks and dropout"),
    gpu_id: int = typer.Option(-1, help="GPU to use, -1 for CPU"),
    mixed_precision: bool = typer.Option(False, help="fp16 autocast with a gradient scaler (GPU)"),
    save_every: int = typer.Option(500, help="Checkpoint every N steps (and at the end)"),
) -> None:
    """Continued pre-training with SpanBERT's objective: span masking and the span
    boundary objective. OUTPUT gets an encoder that spacy_spanbert.SpanBertEncoder.v1
    loads by path; running the same command again resumes an interrupted run."""
    from .pretrain import PretrainSettings, default_warmup, pretrain

    settings = PretrainSettings(
        encoder=encoder,
        text=str(text),
        steps=steps,
        batch_size=batch_size,
        max_length=max_length,
        lr=lr,
        warmup=default_warmup(steps, warmup),
        masking=masking,
        sbo_weight=sbo_weight,
        seed=seed,
        mixed_precision=mixed_precision,
    )
    result = pretrain(settings, output, gpu_id=gpu_id, save_every=save_every)
    counts = result.counts
    if result.steps_done == 0:
        msg.info(f"{output} holds this run, finished ({steps} steps): nothing to do")
        return
    if result.resumed_from:
        msg.info(f"Resumed at step {result.resumed_from}")
    msg.good(
        f"{output}: {result.steps_done} steps in {result.seconds:.0f} s "
        f"({result.sequences_per_second:.1f} sequences/s)"
    )
    msg.table(list(counts.items()), header=("text", "count"))


@app.command("thresholds")
def thresholds_command(
    model: str = typer.Argument(..., help="Pipeline directory or package name"),
    dev_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Dev .spacy file"),
    component: Optional[str] = typer.Option(
        None, help="spanbert_ner or a span categorizer (default: the first in the pipeline)"
    ),
    steps: int = typer.Option(19, help="Thresholds evenly spaced in (0, 1)"),
) -> None:
    """P/R/F of spanbert_ner (its entity_threshold) or a span categorizer (its
    threshold) on DEV at each threshold, from one scoring pass: choose it on dev,
    never on test."""
    import spacy
    from spacy.training import Corpus

    from .span_pipe import SpanPipe
    from .span_pipe.thresholds import threshold_grid, threshold_scores

    nlp = spacy.load(model)
    tunable = [n for n, p in nlp.pipeline if isinstance(p, (SpanPipe, SpanCategorizer))]
    if component is None:
        if not tunable:
            msg.fail(f"{model} has no spanbert_ner or span categorizer to tune.", exits=1)
        component = tunable[0]
    pipe = nlp.get_pipe(component)
    setting = pipe.threshold_setting if isinstance(pipe, SpanPipe) else "threshold"
    examples = list(Corpus(dev_path)(nlp))
    results = threshold_scores(nlp, component, examples, threshold_grid(steps))
    labels = list(results[0].per_label) if results else []
    best = max(results, key=lambda result: result.f)
    rows = [
        (
            f"{r.threshold:.2f}" + (" *" if r is best else ""),
            *(f"{100 * x:.1f}" for x in (r.p, r.r, r.f)),
            *(f"{100 * r.per_label[label]:.1f}" for label in labels),
        )
        for r in results
    ]
    msg.table(rows, header=(setting, "P", "R", "F", *labels))
    current = getattr(pipe, "cfg", {}).get(setting)
    msg.good(
        f"Best on {dev_path}: {setting} {best.threshold:.2f} (F {100 * best.f:.1f}); the "
        f"pipeline has {current}. Set it with --components.{component}.{setting} "
        f"{best.threshold:.2f} (training) or nlp.get_pipe({component!r}).cfg[{setting!r}]."
    )


@app.command("quantize")
def quantize_command(
    model: str = typer.Argument(..., help="Trained pipeline directory or package name"),
    output_path: Path = typer.Argument(..., file_okay=False, help="Output pipeline directory"),
    calibration: Optional[Path] = typer.Option(
        None,
        exists=True,
        help="Texts like those you will annotate (JSON lines or plain text, a file or a "
        "directory): the encoder's inputs are smoothed for their ranges first",
    ),
    calibration_limit: int = typer.Option(512, help="Calibration texts to read at most"),
    quantization: str = typer.Option("int8", help="Encoder weights: int8 (CPU inference)"),
) -> None:
    """Save a copy of a trained pipeline whose SpanBERT encoders run in int8 on CPU:
    faster annotation, a smaller encoder on disk; the copy can't be trained."""
    from itertools import islice

    from .encoder.quantized_copy import encoder_setting_paths, load_quantized
    from .input_records import read_records

    texts: List[str] = []
    if calibration is None:
        msg.warn(
            "No --calibration texts: the encoder is quantized without smoothing its "
            "inputs, which costs more accuracy. Pass a few hundred of your texts."
        )
    else:
        records = (r for r in read_records(calibration) if r.error is None)
        texts = [record.text for record in islice(records, calibration_limit)]
        msg.info(f"Calibrating on {len(texts)} texts from {calibration}")
    nlp = load_quantized(model, quantization, texts)
    nlp.to_disk(output_path)
    paths = ", ".join(encoder_setting_paths(nlp.config))
    msg.good(f"Saved {output_path}: {paths} quantized to {quantization}.")
