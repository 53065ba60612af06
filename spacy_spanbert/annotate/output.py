"""What an annotation output already holds: the records done, and how many failed.

Output records carry their input's (file, line), so a re-run skips what is done.
"""

import json
from pathlib import Path
from typing import List, Set, Tuple

OUTPUT_SUFFIX = ".jsonl"


def output_files(output: Path) -> List[Path]:
    output = Path(output)
    if output.is_file():
        return [output]
    if output.is_dir():
        return sorted(p for p in output.rglob(f"*{OUTPUT_SUFFIX}") if p.is_file())
    return []


def done_records(output: Path, key: str) -> Set[Tuple[str, int]]:
    """(file, line) of every record already in the output (a file or a directory).

    A last line cut short by a crash is not a record: it is removed, and the record
    is annotated again.
    """
    done: Set[Tuple[str, int]] = set()
    for path in output_files(output):
        _drop_partial_last_line(path)
        with path.open(encoding="utf8") as file_:
            for line in file_:
                where = json.loads(line)[key]
                done.add((where["file"], where["line"]))
    return done


def count_records(output: Path, key: str) -> Tuple[int, int]:
    """(records, records with an error) in the output (a file or a directory)."""
    total = errors = 0
    for path in output_files(output):
        with path.open(encoding="utf8") as file_:
            for line in file_:
                total += 1
                errors += "error" in json.loads(line)[key]
    return total, errors


def _drop_partial_last_line(path: Path, block: int = 1 << 16) -> None:
    """Cut the file after its last newline, reading only its tail."""
    with path.open("r+b") as file_:
        end = file_.seek(0, 2)
        position = end
        while position > 0:
            start = max(0, position - block)
            file_.seek(start)
            chunk = file_.read(position - start)
            if start + len(chunk) == end and chunk.endswith(b"\n"):
                return
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                file_.truncate(start + newline + 1)
                return
            position = start
        file_.truncate(0)
