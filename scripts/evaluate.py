"""Score a trained pipeline on a corpus's dev and test splits, print per-label tables,
and draw sample predictions with displaCy.

    python scripts/evaluate.py MODEL CORPUS_DIR METRICS_DIR [--gpu-id N] [--n-docs N]

Writes METRICS_DIR/<split>.json (the scores of `nlp.evaluate`) and
METRICS_DIR/<split>-predictions.html (entities, and spans per spans key, of the first
N docs), for each of dev.spacy and test.spacy in CORPUS_DIR.
"""

import json
import warnings
from pathlib import Path
from typing import Dict, List

import spacy
import typer
from spacy import displacy
from spacy.tokens import Doc
from spacy.training import Corpus
from wasabi import msg


def per_label_rows(scores: Dict, prefix: str) -> List[tuple]:
    per_type = scores.get(f"{prefix}_per_type") or {}
    rows = [
        (label, f"{100 * s['p']:.1f}", f"{100 * s['r']:.1f}", f"{100 * s['f']:.1f}")
        for label, s in sorted(per_type.items())
    ]
    rows.append(("ALL", *(f"{100 * scores[f'{prefix}_{m}']:.1f}" for m in "prf")))
    return rows


def score_prefixes(scores: Dict) -> List[str]:
    """'ents' and 'spans_<key>' for every kind of span the pipeline scored."""
    prefixes = ["ents"] if scores.get("ents_f") is not None else []
    prefixes += sorted(
        k[: -len("_f")] for k in scores if k.startswith("spans_") and k.endswith("_f")
    )
    return prefixes


def render(docs: List[Doc], prefixes: List[str]) -> str:
    """One page: the docs' entities, then their spans per spans key."""
    # displaCy warns for every doc without entities or spans; those are expected here.
    warnings.filterwarnings("ignore", message=r"\[W(006|117)\]")
    parts = []
    if "ents" in prefixes:
        parts += ["<h2>Entities (doc.ents)</h2>", displacy.render(docs, style="ent", page=False)]
    for key in [p[len("spans_") :] for p in prefixes if p.startswith("spans_")]:
        parts.append(f"<h2>Spans (doc.spans['{key}'])</h2>")
        parts.append(displacy.render(docs, style="span", options={"spans_key": key}, page=False))
    return "<html><body>" + "\n".join(parts) + "</body></html>"


def main(
    model: Path = typer.Argument(..., exists=True),
    corpus_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    metrics_dir: Path = typer.Argument(...),
    gpu_id: int = typer.Option(-1, help="GPU to use, -1 for CPU"),
    n_docs: int = typer.Option(25, help="Docs drawn with displaCy"),
) -> None:
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    splits = [s for s in ("dev", "test") if (corpus_dir / f"{s}.spacy").exists()]
    if not splits:
        msg.fail(f"No dev.spacy or test.spacy in {corpus_dir}", exits=1)
    for split in splits:
        examples = list(Corpus(corpus_dir / f"{split}.spacy")(nlp))
        scores = nlp.evaluate(examples)
        (metrics_dir / f"{split}.json").write_text(json.dumps(scores, indent=2))
        for prefix in score_prefixes(scores):
            msg.divider(f"{split}: {prefix}, {len(examples)} docs")
            msg.table(
                per_label_rows(scores, prefix),
                header=("label", "P", "R", "F"),
                aligns=("l", "r", "r", "r"),
            )
        docs = list(nlp.pipe(eg.predicted.copy() for eg in examples[:n_docs]))
        html_path = metrics_dir / f"{split}-predictions.html"
        html_path.write_text(render(docs, score_prefixes(scores)), encoding="utf8")
        msg.good(f"Scores: {metrics_dir / f'{split}.json'}; predictions drawn: {html_path}")


if __name__ == "__main__":
    typer.run(main)
