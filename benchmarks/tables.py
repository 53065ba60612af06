"""Markdown tables, as every benchmark prints them."""

from typing import Iterable


def row(*cells: object) -> str:
    """One Markdown table row: `| a | b |`."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def header(*names: str, align: str = "---") -> str:
    """A header row and its rule; `align` is each column's rule (`---:` right-aligns)."""
    return row(*names) + "\n" + rule(len(names), align)


def rule(n_columns: int, align: str = "---") -> str:
    return "|" + "|".join([align] * n_columns) + "|"


def lines(rows: Iterable[str]) -> str:
    return "\n".join(rows)
