"""Fixed subsets of a converted corpus, of whole documents, for systems too slow on CPU
for the full corpus (SpanMarker): every system in a subset table trains and is scored
on the same files.

    python -m benchmarks.subsets CORPUS_DIR OUTPUT [--train 1000] [--dev 500] [--test 0]

CORPUS_DIR holds `train.spacy`, `dev.spacy` (and `test.spacy`) in the sentence layout
(`scripts/convert_corpus.py`); each split keeps its first documents (by
`doc.user_data["document"]`) until it has at least the number of sentences asked for;
0 keeps the whole split.
"""

from pathlib import Path
from typing import List, Sequence

import spacy
import typer
from spacy.tokens import Doc, DocBin

from .systems.common import read_docs

app = typer.Typer(add_completion=False)


def whole_documents(sentences: Sequence[Doc], at_least: int) -> List[Doc]:
    """The first sentences up to the end of the document in which the count reaches
    `at_least` (a corpus of one document, such as WNUT-17's tweets, is cut at the
    count)."""
    if at_least <= 0:
        return list(sentences)
    if len({doc.user_data.get("document") for doc in sentences}) == 1:
        return list(sentences[:at_least])
    for i in range(at_least, len(sentences)):
        if sentences[i].user_data.get("document") != sentences[i - 1].user_data.get("document"):
            return list(sentences[:i])
    return list(sentences)


@app.command()
def main(corpus_dir: Path, output: Path, train: int = 1000, dev: int = 500, test: int = 0) -> None:
    vocab = spacy.blank("en").vocab
    output.mkdir(parents=True, exist_ok=True)
    for split, size in (("train", train), ("dev", dev), ("test", test)):
        path = corpus_dir / f"{split}.spacy"
        if not path.exists():
            continue
        docs = whole_documents(read_docs(path, vocab), size)
        DocBin(docs=docs, store_user_data=True).to_disk(output / f"{split}.spacy")
        documents = len({doc.user_data.get("document") for doc in docs})
        print(f"{split}: {len(docs):,} sentences, {documents:,} documents", flush=True)


if __name__ == "__main__":
    app()
