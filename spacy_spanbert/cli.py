"""Command line: `python -m spacy_spanbert COMMAND`."""

from pathlib import Path

import typer
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from wasabi import msg

from .corpora.iob import SCHEMES, read_iob_docs

app = typer.Typer(name="spacy_spanbert", no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    """spacy-spanbert tools."""


@app.command("convert-iob")
def convert_iob(
    input_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CoNLL-style IOB file"),
    output_path: Path = typer.Argument(..., dir_okay=False, help="Output .spacy file"),
    scheme: str = typer.Option("iob2", help=f"Tag scheme: {' or '.join(SCHEMES)}"),
) -> None:
    """Convert an IOB column file to a DocBin, one doc per sentence, and print its counts."""
    docs, counts = read_iob_docs(input_path, Vocab(), scheme)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=True).to_disk(output_path)
    msg.good(
        f"{input_path} -> {output_path}: {counts.documents} documents, "
        f"{counts.sentences} sentences, {counts.tokens} tokens, "
        f"{sum(counts.entities.values())} entities"
    )
    msg.table(sorted(counts.entities.items()), header=("label", "entities"))
