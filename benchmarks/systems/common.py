"""What the three systems' benchmark scripts share, so they are measured the same way.

Every system reads the same converted corpus (`.spacy` files from
`scripts/convert_corpus.py`: gold tokens, flat entities), is scored by the same
entity-level exact-match scorer (spaCy's `get_ner_prf`), and is timed by the same
loop over the same sentences. Each script phase runs in its own process and reports
its own peak RSS, so loading one system never counts against another.
"""

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import spacy
from spacy.pipeline.spancat import spancat_score
from spacy.scorer import PRFScore, get_ner_prf
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Corpus, Example
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Config

from ..memory import peak_rss_mib

# (start token, end token, label) per sentence
Entities = List[Tuple[int, int, str]]
# Annotates a list of sentences (gold words) in batches of the given size.
Annotate = Callable[[List[List[str]], int], List[Entities]]

WARMUP_SENTENCES = 64


def read_docs(path: Path, vocab: Vocab) -> List[Doc]:
    return list(DocBin().from_disk(path).get_docs(vocab))


def sentence_words(docs: Sequence[Doc]) -> List[List[str]]:
    return [[token.text for token in doc] for doc in docs]


def iob2_labels(docs: Sequence[Doc]) -> List[str]:
    """ "O" and a B- and I- tag per entity label of the docs: the tag set of the
    token-tagging systems (HF token classification, SpanMarker's input)."""
    labels = sorted({ent.label_ for doc in docs for ent in doc.ents})
    return ["O"] + [f"{prefix}-{label}" for label in labels for prefix in "BI"]


def iob2_tags(words: Sequence[str], entities: Entities) -> List[str]:
    tags = ["O"] * len(words)
    for start, end, label in entities:
        tags[start] = f"B-{label}"
        for i in range(start + 1, end):
            tags[i] = f"I-{label}"
    return tags


def unannotated_copy(gold: Doc) -> Doc:
    """The gold doc's words, and its sentence starts where it has them: what a system
    is given to annotate."""
    starts: Optional[List[Union[bool, int, None]]] = None
    if gold.has_annotation("SENT_START"):
        starts = [t.is_sent_start for t in gold]
    return Doc(gold.vocab, words=[t.text for t in gold], sent_starts=starts)


def doc_entities(doc: Doc) -> Entities:
    return [(ent.start, ent.end, ent.label_) for ent in doc.ents]


# Entity lengths in tokens for the error analysis: 1, 2, 3 and longer.
LENGTH_BUCKETS = ("1", "2", "3", "4+")


def length_bucket(start: int, end: int) -> str:
    return LENGTH_BUCKETS[min(end - start, len(LENGTH_BUCKETS)) - 1]


def per_length(gold: Sequence[Entities], predicted: Sequence[Entities]) -> Dict[str, Any]:
    """Exact-match P/R/F per entity length: recall over the gold entities of that
    length, precision over the predicted ones (a match has the same length in both),
    so a system that finds short names and misses long ones shows where."""
    scores = {bucket: PRFScore() for bucket in LENGTH_BUCKETS}
    for gold_entities, predicted_entities in zip(gold, predicted):
        gold_set = {(start, end, label) for start, end, label in gold_entities}
        predicted_set = {(start, end, label) for start, end, label in predicted_entities}
        for start, end, label in gold_set | predicted_set:
            score = scores[length_bucket(start, end)]
            if (start, end, label) not in predicted_set:
                score.fn += 1
            elif (start, end, label) in gold_set:
                score.tp += 1
            else:
                score.fp += 1
    return {
        bucket: {"p": s.precision, "r": s.recall, "f": s.fscore, "gold": s.tp + s.fn}
        for bucket, s in scores.items()
    }


def score_entities(gold: Sequence[Doc], predicted: Sequence[Entities]) -> Dict[str, Any]:
    """Entity P/R/F, overall, per type and per length, exact match on gold tokens;
    with the predictions, so any later analysis reads them instead of annotating
    again."""
    examples = []
    for doc, entities in zip(gold, predicted):
        pred = Doc(doc.vocab, words=[token.text for token in doc])
        pred.ents = [Span(pred, start, end, label=label) for start, end, label in entities]
        examples.append(Example(pred, doc))
    scores = get_ner_prf(examples)
    return {
        "p": scores["ents_p"] or 0.0,
        "r": scores["ents_r"] or 0.0,
        "f": scores["ents_f"] or 0.0,
        "per_type": dict(sorted(scores["ents_per_type"].items())),
        "per_length": per_length([doc_entities(doc) for doc in gold], predicted),
        "predicted": [[list(entity) for entity in entities] for entities in predicted],
    }


def batches_per_epoch(train_path: Path, config: Config) -> int:
    """How many updates one epoch of spaCy's training makes (file order): the
    examples the config's train augmenter yields, cut by the config's batcher. Every
    system's schedule then spans whole epochs."""
    resolved = registry.resolve(
        {
            "augmenter": config["corpora"]["train"].get("augmenter"),
            "batcher": config["training"]["batcher"],
        }
    )
    examples = Corpus(train_path, augmenter=resolved["augmenter"])(spacy.blank("en"))
    return sum(1 for _ in resolved["batcher"](examples))


def timed_annotate(
    annotate: Annotate, sentences: List[List[str]], batch_size: int, bucketed: bool
) -> Tuple[float, List[Entities]]:
    """Seconds to annotate all sentences, and the results in input order.

    `bucketed` sorts the sentences by length first (less padding per batch) and
    puts the results back in input order; both are inside the timing.
    """
    start = time.perf_counter()
    if bucketed:
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        sorted_results = annotate([sentences[i] for i in order], batch_size)
        results: List[Entities] = [[] for _ in sentences]
        for i, entities in zip(order, sorted_results):
            results[i] = entities
    else:
        results = annotate(sentences, batch_size)
    return time.perf_counter() - start, results


def score_splits(
    annotate: Annotate, splits: Dict[str, Path], vocab: Vocab, batch_size: int
) -> Dict[str, Any]:
    """Entity P/R/F of each split (name -> .spacy path), annotated length-bucketed."""
    result = {}
    for split, path in splits.items():
        gold = read_docs(path, vocab)
        _, predicted = timed_annotate(annotate, sentence_words(gold), batch_size, bucketed=True)
        result[split] = score_entities(gold, predicted)
        print(f"{split}: F {100 * result[split]['f']:.1f}", flush=True)
    return result


def speed_table(
    annotate: Annotate, sentences: List[List[str]], batch_sizes: Sequence[int], batch1_limit: int
) -> List[Dict[str, Any]]:
    """Words/s at each batch size, in file order and length-bucketed.

    Batch size 1 has no padding to save, so it is run once, over the first
    `batch1_limit` sentences (it is the slowest setting by far).
    """
    annotate(sentences[:WARMUP_SENTENCES], 32)
    rows = []
    for batch_size in batch_sizes:
        for bucketed in [False] if batch_size == 1 else [False, True]:
            subset = sentences[:batch1_limit] if batch_size == 1 else sentences
            seconds, _ = timed_annotate(annotate, subset, batch_size, bucketed)
            n_words = sum(len(s) for s in subset)
            rows.append(
                {
                    "batch_size": batch_size,
                    "bucketed": bucketed,
                    "sentences": len(subset),
                    "words": n_words,
                    "seconds": seconds,
                    "words_per_s": n_words / seconds,
                }
            )
            print(
                f"  batch {batch_size:>3} {'bucketed ' if bucketed else 'file order'}: "
                f"{n_words / seconds:,.0f} words/s",
                flush=True,
            )
    return rows


def write_result(path: Path, result: Dict[str, Any]) -> None:
    """Write one phase's result as JSON, with the phase's own peak RSS."""
    result["peak_rss_mib"] = peak_rss_mib()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path} (peak RSS {result['peak_rss_mib']:,.0f} MiB)", flush=True)


def score_spans(
    gold: Sequence[Doc], predicted: Sequence[Entities], key: str = "sc"
) -> Dict[str, Any]:
    """Span P/R/F, overall and per type, exact match on gold tokens, nested spans
    included: spaCy's spancat scorer on `doc.spans[key]`, so a system outside spaCy
    gets the numbers `nlp.evaluate` gives a spancat pipeline."""
    examples = []
    for doc, spans in zip(gold, predicted):
        pred = Doc(doc.vocab, words=[token.text for token in doc])
        pred.spans[key] = [Span(pred, start, end, label=label) for start, end, label in spans]
        examples.append(Example(pred, doc))
    scores = spancat_score(examples, spans_key=key)
    prefix = f"spans_{key}"
    gold_spans = [[(s.start, s.end, s.label_) for s in doc.spans.get(key, [])] for doc in gold]
    return {
        "p": scores[f"{prefix}_p"] or 0.0,
        "r": scores[f"{prefix}_r"] or 0.0,
        "f": scores[f"{prefix}_f"] or 0.0,
        "per_type": dict(sorted((scores[f"{prefix}_per_type"] or {}).items())),
        "per_length": per_length(gold_spans, predicted),
        "predicted": [[list(span) for span in spans] for spans in predicted],
    }
