"""Text records read from files: a text per line, or JSON lines with a "text" field.

Every input line is one record, identified by (file, line), so that `annotate` can
carry both into its output (and skip them on a re-run) and a record that can't be
read (invalid JSON, no text) becomes a record with an error, never a silent gap.
`annotate` and `pretrain` both read their text through `read_records`.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
TEXT_SUFFIXES = (".txt", ".text")


@dataclass
class InputRecord:
    file: str  # path relative to the input root
    line: int  # 1-based line number in that file
    fields: Dict[str, Any]  # the input record; {"raw": line} when it isn't JSON
    error: Optional[str] = None

    @property
    def text(self) -> str:
        """The text to annotate; a record with an error has none."""
        if self.error is not None:
            raise ValueError(f"{self.file}:{self.line} has no text to annotate: {self.error}")
        return self.fields["text"]


def read_input_files(path: Path) -> List[Tuple[Path, str]]:
    """(file, name relative to `path`) for a file, or the shards of a directory."""
    path = Path(path)
    if path.is_file():
        return [(path, path.name)]
    if not path.is_dir():
        raise FileNotFoundError(f"No input file or directory at {path}.")
    files = sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix in JSONL_SUFFIXES + TEXT_SUFFIXES
    )
    if not files:
        raise FileNotFoundError(
            f"No {' or '.join(JSONL_SUFFIXES + TEXT_SUFFIXES)} files under {path}."
        )
    return [(p, str(p.relative_to(path))) for p in files]


def input_format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    return "text" if Path(path).suffix in TEXT_SUFFIXES else "jsonl"


def parse_line(raw: str, fmt: str, name: str, line: int) -> InputRecord:
    """One input line as a record: plain text is the text; JSON must be an object
    with a string "text"."""
    if fmt == "text":
        return InputRecord(name, line, {"text": raw})
    try:
        fields = json.loads(raw)
    except json.JSONDecodeError as err:
        return InputRecord(name, line, {"raw": raw}, f"invalid JSON at {name}:{line}: {err}")
    if not isinstance(fields, dict):
        return InputRecord(
            name, line, {"raw": raw}, f"{name}:{line}: a record must be a JSON object"
        )
    if not isinstance(fields.get("text"), str):
        return InputRecord(
            name, line, fields, f"{name}:{line}: the record has no string field 'text'"
        )
    return InputRecord(name, line, fields)


def read_lines(path: Path, name: str, fmt: str) -> Iterator[Tuple[str, int, str]]:
    """(file name, line number, line) for each record line; blank lines in JSON lines
    files are no records."""
    fmt = input_format(path, fmt)
    with Path(path).open(encoding="utf8", newline="\n") as file_:
        for line_no, line in enumerate(file_, start=1):
            line = line.rstrip("\r\n")
            if fmt == "jsonl" and not line.strip():
                continue
            yield name, line_no, line


def read_records(
    path: Path, fmt: str = "auto", done: Optional[Set[Tuple[str, int]]] = None
) -> Iterator[InputRecord]:
    """Records of a file or a directory of shards, skipping (file, line) pairs in `done`."""
    done = done or set()
    for file_path, name in read_input_files(path):
        file_fmt = input_format(file_path, fmt)
        for _, line_no, line in read_lines(file_path, name, fmt):
            if (name, line_no) not in done:
                yield parse_line(line, file_fmt, name, line_no)
