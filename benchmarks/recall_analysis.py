"""Where recall is lost: gold entities by type, and by whether their text was seen in
training, on dev and on test.

    python -m benchmarks.recall_analysis TRAIN DEV TEST --spacy NAME=MODEL ... \
        [--hf NAME=MODEL ...] [--entity-threshold-from-dev] [--work DIR]

A system's test recall can fall below its dev recall because the test set holds more
entities it could not have memorised (WNUT-17's test set was collected for new,
rare entities), because its types are harder (a different type mix), or because of
the decision rule. For each system and split this prints recall overall, on entities
whose lower-cased text occurs as an entity in TRAIN ("seen") and on the rest
("unseen"), recall per type, and recall re-weighted to the other split's type mix.
`--entity-threshold-from-dev` sets `spanbert_ner`'s entity threshold on dev first, as
the comparison's tuned row does. Tables to stdout and WORK/results.md, counts to
WORK/results.json.
"""

from pathlib import Path
from typing import Any, Dict, List, Sequence, Set

import spacy
import torch
import typer
from spacy.tokens import Doc

from .systems import hf_token_classification as hf
from .systems.common import Annotate, Entities, read_docs, sentence_words, timed_annotate
from .systems.spacy_pipeline import choose_entity_threshold, pipe_annotator
from .tables import header, lines, publish, row

app = typer.Typer(add_completion=False)
SEEN, UNSEEN = "seen", "unseen"


def entity_texts(docs: Sequence[Doc]) -> Set[str]:
    """The lower-cased text of every gold entity in DOCS."""
    return {ent.text.lower() for doc in docs for ent in doc.ents}


def recall_counts(
    gold: Sequence[Doc], predicted: Sequence[Entities], seen: Set[str]
) -> Dict[str, List[int]]:
    """[found, total] of the gold entities: all, seen and unseen, and per type
    ("type:LABEL"). Found means predicted with the same boundaries and label."""
    counts: Dict[str, List[int]] = {"all": [0, 0], SEEN: [0, 0], UNSEEN: [0, 0]}
    for doc, entities in zip(gold, predicted):
        found = set(entities)
        for ent in doc.ents:
            hit = int((ent.start, ent.end, ent.label_) in found)
            group = SEEN if ent.text.lower() in seen else UNSEEN
            for key in ("all", group, f"type:{ent.label_}"):
                counts.setdefault(key, [0, 0])
                counts[key][0] += hit
                counts[key][1] += 1
    return counts


def recall(counts: Dict[str, List[int]], key: str) -> float:
    found, total = counts.get(key, [0, 0])
    return found / total if total else 0.0


def reweighted_recall(counts: Dict[str, List[int]], mix: Dict[str, List[int]]) -> float:
    """Recall per type of COUNTS, averaged with the type shares of MIX."""
    types = {key: total for key, (_, total) in mix.items() if key.startswith("type:")}
    return sum(recall(counts, key) * total for key, total in types.items()) / sum(types.values())


def annotators(
    spacy_models: List[str], hf_models: List[str], dev: Path, tune: bool
) -> Dict[str, Annotate]:
    """NAME -> annotate function, for every `NAME=MODEL` given."""
    result: Dict[str, Annotate] = {}
    for item in spacy_models:
        name, _, model = item.partition("=")
        nlp = spacy.load(model)
        if tune and "spanbert_ner" in nlp.pipe_names:
            tuned = choose_entity_threshold(nlp, read_docs(dev, nlp.vocab))
            name += f", τ {tuned:.2f} from dev"
        result[name] = pipe_annotator(nlp)
    for item in hf_models:
        name, _, model = item.partition("=")
        result[name] = hf.model_annotator(*hf.load(model))
    return result


def report(results: Dict[str, Any], splits: List[str]) -> str:
    types = sorted(
        {key for by_split in results.values() for c in by_split.values() for key in c}
        - {"all", SEEN, UNSEEN}
    )
    other = {split: next(s for s in splits if s != split) for split in splits}
    rows = [
        header(
            "system",
            "split",
            "gold",
            "seen share",
            "R",
            "R seen",
            "R unseen",
            "R at the other split's type mix",
            *(f"R {key[5:]}" for key in types),
        )
    ]
    for name, by_split in results.items():
        for split in splits:
            counts = by_split[split]
            total = counts["all"][1]
            rows.append(
                row(
                    name,
                    split,
                    total,
                    f"{100 * counts[SEEN][1] / total:.1f}",
                    *(f"{100 * recall(counts, key):.1f}" for key in ("all", SEEN, UNSEEN)),
                    f"{100 * reweighted_recall(counts, by_split[other[split]]):.1f}",
                    *(f"{100 * recall(counts, key):.1f}" for key in types),
                )
            )
    return lines(rows)


@app.command()
def main(
    train_path: Path,
    dev_path: Path,
    test_path: Path,
    spacy_models: List[str] = typer.Option([], "--spacy", help="NAME=MODEL, a spaCy pipeline"),
    hf_models: List[str] = typer.Option([], "--hf", help="NAME=MODEL, HF token classification"),
    entity_threshold_from_dev: bool = False,
    threads: int = 2,
    work: Path = Path("benchmarks/runs/recall_analysis"),
) -> None:
    torch.set_num_threads(threads)
    vocab = spacy.blank("en").vocab
    seen = entity_texts(read_docs(train_path, vocab))
    gold = {"dev": read_docs(dev_path, vocab), "test": read_docs(test_path, vocab)}
    results: Dict[str, Any] = {}
    systems = annotators(spacy_models, hf_models, dev_path, entity_threshold_from_dev)
    for name, annotate in systems.items():
        results[name] = {}
        for split, docs in gold.items():
            _, predicted = timed_annotate(annotate, sentence_words(docs), 64, bucketed=True)
            results[name][split] = recall_counts(docs, predicted, seen)
    work.mkdir(parents=True, exist_ok=True)
    publish(work, report(results, list(gold)), results)


if __name__ == "__main__":
    app()
