"""Session fixtures: the tiny test encoder (built locally, no network), laid out as
itself and as the SpanBERT hub repository, and `spanbert_ner` trained on toy data."""

import json
import shutil
from pathlib import Path

import pytest
import spacy
import torch
from spacy.language import Language
from spacy.util import fix_random_seed
from transformers import BertModel

from .util import build_tiny_bert, fit, make_examples, ner_config


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("encoders") / "tiny-bert"
    build_tiny_bert(path)
    return path


@pytest.fixture(scope="session")
def spanbert_layout(tiny_bert: Path, tmp_path_factory) -> Path:
    """The tiny BERT laid out like the SpanBERT hub repo: config.json without
    model_type, vocab.txt and pickled weights; no tokenizer files."""
    path = tmp_path_factory.mktemp("encoders") / "spanbert-layout"
    path.mkdir()
    config = json.loads((tiny_bert / "config.json").read_text())
    for key in ("model_type", "architectures", "transformers_version"):
        config.pop(key, None)
    (path / "config.json").write_text(json.dumps(config))
    shutil.copy(tiny_bert / "vocab.txt", path / "vocab.txt")
    model = BertModel.from_pretrained(str(tiny_bert))
    torch.save(model.state_dict(), path / "pytorch_model.bin")
    return path


@pytest.fixture(scope="session")
def trained_nlp(tiny_bert: Path) -> Language:
    """spanbert_ner trained on TRAIN_DATA until it fits it, from seed 0."""
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert_ner", config=ner_config(tiny_bert))
    fit(nlp, make_examples(nlp))
    return nlp
