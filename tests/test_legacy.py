"""Settings renamed or derived in 0.2 (issue 27): configs and pipelines saved with the
old names still load, and spanbert_spancat's width comes from one place."""

from pathlib import Path

import pytest
import spacy
import srsly
from spacy.language import Language

from .util import TEXTS, ner_config, predictions


def _spancat_config(tiny_bert: Path, **overrides) -> dict:
    return {"model": {"tok2vec": {"name": str(tiny_bert)}, "max_span_width": 4}, **overrides}


@pytest.mark.issue(27)
def test_a_pipeline_saved_with_spanbert_ners_old_threshold_loads(
    trained_nlp: Language, tmp_path: Path
):
    """A 0.1 pipeline: `threshold` in config.cfg and in the component's cfg file."""
    trained_nlp.get_pipe("spanbert_ner").cfg["min_label_probability"] = 0.25
    try:
        expected = predictions(trained_nlp, TEXTS)
        trained_nlp.to_disk(tmp_path / "pipeline")
    finally:
        trained_nlp.get_pipe("spanbert_ner").cfg["min_label_probability"] = 0.0
    config_path = tmp_path / "pipeline" / "config.cfg"
    config = config_path.read_text()
    config = config.replace("min_label_probability = 0.0\n", "").replace(
        "threshold = null", "threshold = 0.25"
    )
    assert "min_label_probability" not in config and "threshold = 0.25" in config
    config_path.write_text(config)
    cfg_path = tmp_path / "pipeline" / "spanbert_ner" / "cfg"
    cfg = srsly.read_json(cfg_path)
    cfg["threshold"] = cfg.pop("min_label_probability")
    srsly.write_json(cfg_path, cfg)

    loaded = spacy.load(tmp_path / "pipeline")
    ner = loaded.get_pipe("spanbert_ner")
    assert ner.cfg["min_label_probability"] == 0.25 and "threshold" not in ner.cfg
    assert predictions(loaded, TEXTS) == expected


@pytest.mark.issue(27)
def test_old_and_new_label_floor_names_must_agree(tiny_bert: Path):
    nlp = spacy.blank("en")
    config = {**ner_config(tiny_bert), "threshold": 0.3, "min_label_probability": 0.1}
    with pytest.raises(ValueError, match="threshold is the old name of min_label_probability"):
        nlp.add_pipe("spanbert_ner", config=config)
    same = {**ner_config(tiny_bert), "threshold": 0.3, "min_label_probability": 0.3}
    assert nlp.add_pipe("spanbert_ner", config=same).cfg["min_label_probability"] == 0.3


@pytest.mark.issue(27)
def test_spancat_suggests_up_to_its_models_width_by_default(tiny_bert: Path):
    nlp = spacy.blank("en")
    component = nlp.add_pipe("spanbert_spancat", config=_spancat_config(tiny_bert))
    assert nlp.config["components"]["spanbert_spancat"]["suggester"] is None
    doc = nlp.make_doc("one two three four five six seven")
    spans = component.suggester([doc]).dataXd
    widths = {int(end - start) for start, end in spans}
    assert widths == {1, 2, 3, 4}


@pytest.mark.issue(27)
def test_spancat_refuses_a_suggester_wider_than_its_model(tiny_bert: Path):
    wide = {"@misc": "spacy.ngram_range_suggester.v1", "min_size": 1, "max_size": 6}
    with pytest.raises(ValueError, match=r"up to 6 tokens.*max_span_width = 6"):
        spacy.blank("en").add_pipe(
            "spanbert_spancat", config=_spancat_config(tiny_bert, suggester=wide)
        )
    narrow = {"@misc": "spacy.ngram_suggester.v1", "sizes": [1, 2]}
    config = _spancat_config(tiny_bert, suggester=narrow)
    spacy.blank("en").add_pipe("spanbert_spancat", config=config)


@pytest.mark.issue(27)
def test_spancat_warns_of_gold_spans_wider_than_its_model(tiny_bert: Path):
    from .util import nested_examples

    nlp = spacy.blank("en")
    config = _spancat_config(tiny_bert)
    config["model"]["max_span_width"] = 2
    nlp.add_pipe("spanbert_spancat", config=config)
    examples = nested_examples(nlp)
    with pytest.warns(UserWarning, match=r"gold spans are longer than\s+max_span_width=2"):
        nlp.initialize(lambda: examples)
