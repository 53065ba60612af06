"""Every config (the users' in configs/, the benchmarks' baselines, the tests' own) passes
`spacy debug config` and `spacy debug data`, and the users' configs hold no setting that
does nothing."""

import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from .util import make_examples

ROOT = Path(__file__).parent.parent
USER_CONFIGS = sorted(ROOT.joinpath("configs").glob("*.cfg"))
CONFIGS = USER_CONFIGS + sorted(
    path
    for folder in ("benchmarks/configs", "tests/configs")
    for path in ROOT.joinpath(folder).glob("*.cfg")
)


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


@pytest.mark.parametrize("config", USER_CONFIGS, ids=[c.stem for c in USER_CONFIGS])
def test_user_configs_say_what_they_are_for_and_hold_no_inert_setting(config):
    """A header comment first; no `encoder_lr_scale` on a component that listens to a
    shared encoder (it has no encoder weights to scale); warmup as a share of the steps."""
    text = config.read_text()
    assert text.startswith("# "), f"{config.name}: no header line saying what it is for"
    loaded = spacy.util.load_config(config)
    for name, component in loaded["components"].items():
        tok2vec = component.get("model", {}).get("tok2vec", {})
        if "Listener" in tok2vec.get("@architectures", ""):
            assert "encoder_lr_scale" not in component, f"{config.name}: {name} listens"
    schedule = loaded["training"]["optimizer"]["learn_rate"]
    assert schedule["@schedules"] == "spacy_spanbert.warmup_linear.v1", config.name


def test_warmup_share_schedule_is_thincs_with_the_share_as_steps():
    from thinc.api import registry, warmup_linear

    def rates(config, n=25):
        schedule = registry.resolve({"s": config})["s"]
        return [next(schedule) for _ in range(n)]

    share = {"@schedules": "spacy_spanbert.warmup_linear.v1", "initial_rate": 1e-3}
    expected = warmup_linear(1e-3, 2, 20)
    assert rates({**share, "total_steps": 20}) == [next(expected) for _ in range(25)]
    assert rates({**share, "total_steps": 20, "warmup_share": 0.25})[5] == 1e-3
    with pytest.raises(ValueError, match="warmup_share"):
        rates({**share, "total_steps": 20, "warmup_share": 1.0})
