"""Every config in configs/ passes `spacy debug config` and `spacy debug data`."""

import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from .util import make_examples

CONFIGS = sorted(Path(__file__).parent.parent.joinpath("configs").glob("*.cfg"))


@pytest.fixture(scope="module")
def toy_corpus(tmp_path_factory) -> Path:
    """104 docs (debug data wants 100 to train a new pipeline) with ents and spans."""
    path = tmp_path_factory.mktemp("corpus") / "toy.spacy"
    docs = []
    for eg in make_examples(spacy.blank("en")) * 13:
        doc = eg.reference
        doc.spans["sc"] = list(doc.ents)
        docs.append(doc)
    DocBin(docs=docs).to_disk(path)
    return path


def _debug(command, config, corpus, tiny_bert):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "debug",
            command,
            str(config),
            "--paths.train",
            str(corpus),
            "--paths.dev",
            str(corpus),
            "--paths.encoder",
            str(tiny_bert),
        ],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_debug_config(config, tiny_bert, toy_corpus):
    result = _debug("config", config, toy_corpus, tiny_bert)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config is valid" in result.stdout


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_debug_data(config, tiny_bert, toy_corpus):
    result = _debug("data", config, toy_corpus, tiny_bert)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checks passed" in result.stdout


def test_schedule_spans_the_training_steps():
    """`spacy debug data` can't interpolate ${training.max_steps} into the schedule, so
    each config states total_steps; it must match max_steps."""
    for path in CONFIGS:
        config = spacy.util.load_config(path)
        schedule = config["training"]["optimizer"]["learn_rate"]
        assert schedule["total_steps"] == config["training"]["max_steps"], path.name
