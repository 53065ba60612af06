"""Print a Markdown table of P/R/F, overall and per type, from `spacy evaluate` JSON.

    python -m benchmarks.score_table "ROW NAME=metrics.json" ...

Reads entity scores (ents_*) or span scores (spans_<key>_*), whichever the file has.
"""

import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple


def prf(scores: Dict) -> Tuple[Dict[str, float], Dict[str, Dict[str, float]]]:
    """(overall p/r/f, per type p/r/f) of a `spacy evaluate` output."""
    if "ents_f" in scores and scores["ents_f"] is not None:
        prefix = "ents"
    else:
        prefix = next(
            k[: -len("_f")] for k in scores if k.startswith("spans_") and k.endswith("_f")
        )
    overall = {m: scores[f"{prefix}_{m}"] for m in "prf"}
    return overall, scores.get(f"{prefix}_per_type") or {}


def table(rows: List[Tuple[str, Dict]]) -> str:
    types = sorted({t for _, scores in rows for t in prf(scores)[1]})
    header = ["run", "P", "R", "F"] + [f"{t} F" for t in types]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, scores in rows:
        overall, per_type = prf(scores)
        cells = [name] + [f"{100 * overall[m]:.1f}" for m in "prf"]
        cells += [f"{100 * per_type[t]['f']:.1f}" if t in per_type else "" for t in types]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(args: List[str]) -> None:
    rows = []
    for arg in args:
        name, _, path = arg.rpartition("=")
        rows.append((name, json.loads(Path(path).read_text())))
    print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
