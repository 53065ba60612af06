"""Markdown tables, as every benchmark prints them, and where a run's tables go."""

import json
import statistics
from pathlib import Path
from typing import Any, Dict, Iterable, List


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


def mean_spread(values: List[float], scale: float = 1.0) -> str:
    """Mean ± half the range over seeds, times `scale` (100: fractions to points)."""
    half_range = (max(values) - min(values)) / 2
    return f"{scale * statistics.mean(values):.1f} ± {scale * half_range:.1f}"


def publish(work: Path, report: str, results: Dict[str, Any]) -> None:
    """A run's tables to stdout and WORK/results.md, its measurements to
    WORK/results.json."""
    (work / "results.md").write_text(report + "\n")
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print("\n" + report)
