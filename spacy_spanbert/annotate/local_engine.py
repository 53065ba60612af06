"""`--engine local`: `nlp.pipe` on this machine, appending to one JSON lines file."""

import json
from collections.abc import Iterable
from pathlib import Path

from spacy.language import Language
from spacy.util import minibatch
from tqdm import tqdm

from ..input_records import InputRecord
from .annotator import annotate_records


def annotate_local(
    nlp: Language,
    records: Iterable[InputRecord],
    output: Path,
    *,
    key: str,
    batch_size: int = 64,
    n_process: int = 1,
) -> int:
    """Append the output records to `output`, chunk by chunk, flushed, so a crash
    loses at most the chunk in flight; return how many were written. The progress
    bar counts words (whitespace-separated) per second, and records."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    chunk_size = 16 * batch_size * max(n_process, 1)
    written = 0
    with output.open("a", encoding="utf8") as out, tqdm(unit=" words", desc="annotate") as bar:
        for chunk in minibatch(records, chunk_size):
            for record in annotate_records(
                nlp, list(chunk), key=key, batch_size=batch_size, n_process=n_process
            ):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            written += len(chunk)
            bar.update(sum(len(record.text.split()) for record in chunk if record.error is None))
            bar.set_postfix(records=written)
    return written
