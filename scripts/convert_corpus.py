"""Convert one of the project's corpora to .spacy files, printing counts per split.

    python scripts/convert_corpus.py CORPUS SOURCE_DIR OUTPUT_DIR [LAYOUT]

Every corpus becomes train/dev(/test).spacy, one doc per sentence (LAYOUT "sentence",
the default) or per document with its sentences ("document": CoNLL-2003's
-DOCSTART- documents, GENIA's doc_id, groups of 10 sentences for the others), with the flat
entities in doc.ents and all spans (nested ones too) in doc.spans["sc"], so any config
(spanbert_ner, spancat, joint) trains on any corpus. SOURCE_DIR holds the raw files
under <corpus>/ (`assets` after `spacy project assets`, or any local copy); the
sample corpus is read from corpus/sample.
"""

import subprocess
import sys
from pathlib import Path
from typing import Dict, List

SPANS_KEY = "sc"
# name -> format, IOB scheme, {split: file under SOURCE_DIR/<name>/ (or "dir")}
CORPORA: Dict[str, Dict] = {
    # The project's own sample lives in the repository, not under SOURCE_DIR.
    "sample": {
        "format": "iob",
        "scheme": "iob2",
        "dir": "corpus/sample",
        "files": {"train": "train.iob", "dev": "dev.iob"},
    },
    "conll2003": {
        "format": "iob",
        "scheme": "iob1",
        "files": {"train": "train.conll", "dev": "dev.conll", "test": "test.conll"},
    },
    "wnut17": {
        "format": "iob",
        "scheme": "iob2",
        "files": {"train": "train.conll", "dev": "dev.conll", "test": "test.conll"},
    },
    # Only GENIA's dev split is public here: split it by document, 80/20, seed 0.
    "genia_nested": {"format": "nested", "files": {"all": "dev.jsonl"}},
}


def commands(corpus: str, source: Path, output: Path, layout: str) -> List[List[str]]:
    spec = CORPORA[corpus]
    cli = [sys.executable, "-m", "spacy_spanbert"]
    directory = Path(spec["dir"]) if "dir" in spec else source / corpus
    files = {split: directory / name for split, name in spec["files"].items()}
    options = ["--spans-key", SPANS_KEY, "--layout", layout]
    if spec["format"] == "iob":
        return [
            [*cli, "convert-iob", str(path), str(output / f"{split}.spacy")]
            + ["--scheme", spec["scheme"], *options]
            for split, path in files.items()
        ]
    split = ["split-docs", str(output / "all.spacy"), str(output / "train.spacy")]
    split += [str(output / "dev.spacy"), "--heldout-share", "0.2", "--seed", "0"]
    return [
        [*cli, "convert-nested", str(files["all"]), str(output / "all.spacy"), *options],
        [*cli, *split, "--spans-key", SPANS_KEY],
    ]


def main(corpus: str, source: str, output: str, layout: str = "sentence") -> None:
    if corpus not in CORPORA:
        sys.exit(f"Unknown corpus '{corpus}'; the project knows {', '.join(CORPORA)}.")
    for command in commands(corpus, Path(source), Path(output), layout):
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
