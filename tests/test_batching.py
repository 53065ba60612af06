"""Batching, multiprocessing and pickling give the same entities as one doc at a time."""

import json
import pickle
import random
import subprocess
import sys
from pathlib import Path
from typing import List

import numpy
import pytest
from spacy.language import Language

PIECES = [
    "Barack Obama",
    "visited",
    "Berlin",
    "on Monday",
    ".",
    "Angela Merkel",
    "Google",
    "London",
    "😀",
    "東京",
    "",
    "  ",
    "\n",
    "the University of Paris",
    "x" * 300,
]


def mixed_texts(n: int, seed: int = 0) -> List[str]:
    """Empty to ~40-piece texts; the long "x" word is one [UNK] wordpiece."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def entities(docs) -> List[list]:
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs]


def scores(docs) -> numpy.ndarray:
    return numpy.concatenate([doc.spans["spanbert_ner"].attrs["scores"] for doc in docs])


def check_batch_sizes(nlp: Language, texts: List[str]) -> None:
    """Same entities; scores equal up to float rounding, which padding changes."""
    docs = [nlp(text) for text in texts]
    one_at_a_time = entities(docs)
    assert sum(map(len, one_at_a_time)) > len(texts) / 2  # there is something to compare
    for batch_size in (1, 8, 128):
        batched = list(nlp.pipe(texts, batch_size=batch_size))
        assert entities(batched) == one_at_a_time, batch_size
        numpy.testing.assert_allclose(scores(batched), scores(docs), rtol=0, atol=1e-5)


def test_batch_sizes_give_the_same_entities(trained_nlp):
    check_batch_sizes(trained_nlp, mixed_texts(200))


@pytest.mark.slow
def test_batch_sizes_give_the_same_entities_on_5000_docs(trained_nlp):
    check_batch_sizes(trained_nlp, mixed_texts(5000))


N_PROCESS_SCRIPT = """
import json, sys, spacy
nlp = spacy.load(sys.argv[1])
texts = json.loads(sys.argv[2])
# Run the encoder in the parent first: the case that used to hang the forked workers.
# Batches use the tokenizer's thread pool, which warned in every forked worker.
expected = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(texts)]
got = [[(e.start_char, e.end_char, e.label_) for e in d.ents]
       for d in nlp.pipe(texts, batch_size=8, n_process=2)]
print(json.dumps({"same": got == expected, "n_ents": sum(map(len, expected))}))
"""


@pytest.mark.issue(6)
@pytest.mark.issue(13)
def test_n_process_2_after_the_encoder_ran_in_the_parent(trained_nlp, tmp_path: Path):
    """The workers finish (they hung), agree with the parent, and print nothing of
    huggingface/tokenizers' fork warning (it printed in every worker)."""
    trained_nlp.to_disk(tmp_path / "pipeline")
    texts = mixed_texts(40)
    result = subprocess.run(
        [sys.executable, "-c", N_PROCESS_SCRIPT, str(tmp_path / "pipeline"), json.dumps(texts)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["same"] and outcome["n_ents"] > 0
    assert "huggingface/tokenizers" not in result.stderr, result.stderr


def test_pipeline_and_component_pickle(trained_nlp):
    texts = mixed_texts(20)
    expected = entities(trained_nlp.pipe(texts))
    assert entities(pickle.loads(pickle.dumps(trained_nlp)).pipe(texts)) == expected
    ner = pickle.loads(pickle.dumps(trained_nlp.get_pipe("spanbert_ner")))
    assert entities(ner.pipe(trained_nlp.make_doc(t) for t in texts)) == expected


def record_batch_lengths(monkeypatch, pipe) -> List[List[int]]:
    """The doc lengths of each batch `pipe.predict` is given from now on."""
    seen: List[List[int]] = []
    predict = pipe.predict

    def recording_predict(docs):
        seen.append([len(doc) for doc in docs])
        return predict(docs)

    monkeypatch.setattr(pipe, "predict", recording_predict)
    return seen


@pytest.mark.issue(29)
def test_a_stream_runs_in_batches_of_similar_length_and_comes_out_in_order(
    trained_nlp, monkeypatch
):
    """`nlp.pipe` in the user's order: batches of sorted lengths, docs in their order,
    and the entities and scores of each batch as it comes."""
    ner = trained_nlp.get_pipe("spanbert_ner")
    texts = mixed_texts(200, seed=1)
    ner.cfg["length_sort_docs"] = 1
    try:
        as_they_come = list(trained_nlp.pipe(texts, batch_size=8))
    finally:
        ner.cfg["length_sort_docs"] = 1024
    seen = record_batch_lengths(monkeypatch, ner)
    sorted_run = list(trained_nlp.pipe(texts, batch_size=8))
    assert [doc.text for doc in sorted_run] == texts
    assert entities(sorted_run) == entities(as_they_come)
    numpy.testing.assert_allclose(scores(sorted_run), scores(as_they_come), rtol=0, atol=1e-5)
    flat = [length for batch in seen for length in batch]
    assert flat == sorted(flat) and max(map(len, seen)) == 8 and len(seen) == 25


@pytest.mark.issue(29)
def test_a_failing_batch_goes_to_the_error_handler_and_the_rest_comes_out(trained_nlp, monkeypatch):
    from spacy.util import raise_error

    ner = trained_nlp.get_pipe("spanbert_ner")
    texts = [f"Angela Merkel met {'x ' * i}Obama ." for i in range(20)]
    handled: List[str] = []
    predict = ner.predict

    def failing_predict(docs):
        if any(len(doc) == 10 for doc in docs):
            raise RuntimeError("bad batch")
        return predict(docs)

    monkeypatch.setattr(ner, "predict", failing_predict)
    ner.set_error_handler(lambda name, pipe, docs, err: handled.extend(d.text for d in docs))
    try:
        out = [doc.text for doc in trained_nlp.pipe(texts, batch_size=4)]
    finally:
        ner.set_error_handler(raise_error)
    assert len(handled) == 4 and any(len(text.split()) == 10 for text in handled)
    assert out == [text for text in texts if text not in handled]


def test_the_pool_is_the_batch_at_batch_size_1():
    from spacy_spanbert.encoder.length_batching import pool_size

    assert pool_size(1, 1024) == 1
    assert pool_size(32, 1024) == 1024 and pool_size(2048, 1024) == 2048


@pytest.mark.issue(29)
def test_the_shared_encoder_reads_ahead_and_batches_by_length(tiny_bert, monkeypatch):
    import spacy

    from .util import LISTENER, make_examples

    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    encoder = nlp.add_pipe("spanbert", config={"model": {"name": str(tiny_bert)}})
    ner = nlp.add_pipe("spanbert_ner", config={"model": {"tok2vec": LISTENER}})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    output = ner.model.get_ref("output")
    output.set_param(
        "W", numpy.random.default_rng(0).normal(size=output.get_param("W").shape).astype("f")
    )
    texts = mixed_texts(100, seed=2)
    encoder.length_sort_docs = 1
    as_they_come = list(nlp.pipe(texts, batch_size=8))
    encoder.length_sort_docs = 1024
    seen = record_batch_lengths(monkeypatch, encoder)
    sorted_run = list(nlp.pipe(texts, batch_size=8))
    assert [doc.text for doc in sorted_run] == texts
    assert entities(sorted_run) == entities(as_they_come)
    assert sum(map(len, entities(sorted_run))) > 0
    # spacy-transformers runs the longest docs first, each sub-batch in its docs' order.
    assert all(max(shorter) <= min(longer) for longer, shorter in zip(seen, seen[1:]))
    assert max(map(len, seen)) > 8
