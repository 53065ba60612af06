"""Session fixtures: a tiny random BERT built locally (no network), and toy NER data."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest
import spacy
import torch
from spacy.language import Language
from spacy.training import Example
from spacy.util import fix_random_seed
from tokenizers.pre_tokenizers import BertPreTokenizer
from transformers import BertConfig, BertModel, BertTokenizerFast

# (text, [(start_char, end_char, label)])
TRAIN_DATA: List[Tuple[str, List[Tuple[int, int, str]]]] = [
    ("Barack Obama visited Berlin on Monday.", [(0, 12, "PER"), (21, 27, "LOC")]),
    ("Angela Merkel met Emmanuel Macron in Paris.", [(0, 13, "PER"), (18, 33, "PER"), (37, 42, "LOC")]),
    ("Google opened an office in London.", [(0, 6, "ORG"), (27, 33, "LOC")]),
    ("The European Central Bank raised rates.", [(4, 25, "ORG")]),
    ("Marie Curie worked at the University of Paris.", [(0, 11, "PER"), (26, 45, "ORG")]),
    ("Nothing happened here today.", []),
    ("Apple and Microsoft compete in New York City.", [(0, 5, "ORG"), (10, 19, "ORG"), (31, 44, "LOC")]),
    ("Lionel Messi scored twice for Inter Miami.", [(0, 12, "PER"), (30, 41, "ORG")]),
]

SPECIAL_PIECES = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB_TEXT = [text for text, _ in TRAIN_DATA] + [
    "The quick brown fox jumps over the lazy dog in Madrid and Rome.",
    "Researchers at Stanford University and the Max Planck Society published results.",
    "On Tuesday , Prime Minister Jacinda Ardern flew from Wellington to Sydney .",
    "Shares of Toyota , Siemens and Nestle rose in Tokyo , Frankfurt and Zurich .",
]


def make_examples(nlp: Language) -> List[Example]:
    examples = []
    for text, ents in TRAIN_DATA:
        doc = nlp.make_doc(text)
        examples.append(Example.from_dict(doc, {"entities": ents}))
    return examples


def _build_tiny_bert(path: Path) -> None:
    """A 2-layer, 64-wide BERT with a cased WordPiece vocabulary built from VOCAB_TEXT.

    The vocabulary is built, not trained: `tokenizers`' WordPiece trainer breaks ties
    in hash order, which gives a different vocabulary, and so a different model, on
    each run. Here: the special pieces, every character alone and as a `##`
    continuation, and every whole word, sorted.
    """
    path.mkdir(parents=True)
    words = sorted({w for text in VOCAB_TEXT for w, _ in BertPreTokenizer().pre_tokenize_str(text)})
    chars = sorted({c for word in words for c in word})
    pieces = SPECIAL_PIECES + chars + [f"##{c}" for c in chars] + [w for w in words if len(w) > 1]
    (path / "vocab.txt").write_text("\n".join(pieces) + "\n", encoding="utf8")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(pieces),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(str(path))
    BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=False).save_pretrained(
        str(path)
    )


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("encoders") / "tiny-bert"
    _build_tiny_bert(path)
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


# A component's tok2vec listening to the shared `spanbert` component.
LISTENER = {
    "@architectures": "spacy-transformers.TransformerListener.v1",
    "grad_factor": 1.0,
    "upstream": "spanbert",
    "pooling": {"@layers": "reduce_mean.v1"},
}


def ner_config(encoder: Path) -> dict:
    return {"model": {"tok2vec": {"name": str(encoder)}, "dropout": 0.0}}


@pytest.fixture(scope="session")
def trained_nlp(tiny_bert: Path) -> Language:
    """spanbert_ner trained on TRAIN_DATA until it fits it, from seed 0."""
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert_ner", config=ner_config(tiny_bert))
    examples = make_examples(nlp)
    fit(nlp, examples)
    return nlp


def fit(nlp: Language, examples: List[Example], max_epochs: int = 200) -> int:
    """Update until the examples are predicted perfectly; return the epochs used."""
    optimizer = nlp.initialize(lambda: examples)
    for epoch in range(max_epochs):
        nlp.update(examples, sgd=optimizer)
        if epoch % 10 == 9 and nlp.evaluate(examples)["ents_f"] == 1.0:
            return epoch + 1
    return max_epochs


def predictions(nlp: Language, texts: List[str]) -> List[list]:
    out = []
    for doc in nlp.pipe(texts):
        group = doc.spans[nlp.get_pipe("spanbert_ner").cfg["scores_key"]]
        out.append(
            [
                (e.start_char, e.end_char, e.label_, round(float(s), 5))
                for e, s in zip(group, group.attrs["scores"])
            ]
        )
    return out


def spacy_train(config: str, output: Path, corpus: Path, encoder: Path, *overrides: str) -> None:
    """`python -m spacy train CONFIG` in a fresh process, training and scoring on `corpus`."""
    subprocess.run(
        [
            sys.executable, "-m", "spacy", "train", config,
            "--output", str(output),
            "--paths.train", str(corpus),
            "--paths.dev", str(corpus),
            "--paths.encoder", str(encoder),
            *overrides,
        ],
        check=True,
        capture_output=True,
    )
