"""What the tests share: toy data, the tiny test encoder, and helpers to train and
read predictions. Fixtures that build from these are in conftest.py."""

import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import torch
from spacy.language import Language
from spacy.training import Example
from thinc.api import Model
from tokenizers.pre_tokenizers import BertPreTokenizer
from transformers import BertConfig, BertModel, BertTokenizerFast

from spacy_spanbert.corpora import outermost_spans
from spacy_spanbert.encoder import SpanBertTransformerModel

ROOT = Path(__file__).parent.parent

# (text, [(start_char, end_char, label)])
TRAIN_DATA: List[Tuple[str, List[Tuple[int, int, str]]]] = [
    ("Barack Obama visited Berlin on Monday.", [(0, 12, "PER"), (21, 27, "LOC")]),
    (
        "Angela Merkel met Emmanuel Macron in Paris.",
        [(0, 13, "PER"), (18, 33, "PER"), (37, 42, "LOC")],
    ),
    ("Google opened an office in London.", [(0, 6, "ORG"), (27, 33, "LOC")]),
    ("The European Central Bank raised rates.", [(4, 25, "ORG")]),
    ("Marie Curie worked at the University of Paris.", [(0, 11, "PER"), (26, 45, "ORG")]),
    ("Nothing happened here today.", []),
    (
        "Apple and Microsoft compete in New York City.",
        [(0, 5, "ORG"), (10, 19, "ORG"), (31, 44, "LOC")],
    ),
    ("Lionel Messi scored twice for Inter Miami.", [(0, 12, "PER"), (30, 41, "ORG")]),
]
TEXTS = [text for text, _ in TRAIN_DATA]

SPECIAL_PIECES = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB_TEXT = [
    *TEXTS,
    "The quick brown fox jumps over the lazy dog in Madrid and Rome.",
    "Researchers at Stanford University and the Max Planck Society published results.",
    "On Tuesday , Prime Minister Jacinda Ardern flew from Wellington to Sydney .",
    "Shares of Toyota , Siemens and Nestle rose in Tokyo , Frankfurt and Zurich .",
]

# Nested spans: (text, [(start_char, end_char, label)]); the first span of a nest is
# the outermost, which is also the flat entity spanbert_ner learns.
NESTED_DATA = [
    ("The University of Paris is in Paris.", [(4, 23, "ORG"), (18, 23, "LOC"), (30, 35, "LOC")]),
    ("Bank of England staff met in London.", [(0, 15, "ORG"), (8, 15, "LOC"), (29, 35, "LOC")]),
    ("Nothing happened here today.", []),
    (
        "Marie Curie visited Stanford University.",
        [(0, 11, "PER"), (20, 39, "ORG"), (20, 28, "LOC")],
    ),
    ("Google opened an office in Berlin.", [(0, 6, "ORG"), (27, 33, "LOC")]),
    ("The Max Planck Society is in Munich.", [(4, 22, "ORG"), (8, 14, "PER"), (29, 35, "LOC")]),
]

# A component's tok2vec listening to the shared `spanbert` component.
LISTENER = {
    "@architectures": "spacy-transformers.TransformerListener.v1",
    "grad_factor": 1.0,
    "upstream": "spanbert",
    "pooling": {"@layers": "reduce_mean.v1"},
}

# CoNLL-2003 layout: IOB1, -DOCSTART- lines, a B- tag between two entities of a type.
CONLL_IOB1 = """-DOCSTART- -X- O O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER
Smith NNP I-NP B-PER

-DOCSTART- -X- O O

BRUSSELS NNP I-NP I-LOC
"""

# WNUT-17 layout: IOB2, tab-separated, a line holding only a tab breaks sentences.
WNUT_IOB2 = (
    "@paul\tO\nsaw\tO\nNew\tB-location\nYork\tI-location\n\t\n"
    "Apple\tB-corporation\nrocks\tO\n\nok\tO\n"
)

# GENIA layout: one sentence, nested spans, one span with two labels.
NESTED: Dict[str, Any] = {
    "tokens": ["c-fos", "and", "jun", "B", "mRNAs", "decreased", "in", "PHA", "-activated", "PBL"],
    "doc_id": "MEDLINE:1",
    "sent_id": "MEDLINE:1-0",
    "entity_mentions": [
        {"start": 0, "end": 1, "entity_type": "RNA"},
        {"start": 2, "end": 5, "entity_type": "RNA"},
        {"start": 0, "end": 5, "entity_type": "RNA"},
        {"start": 7, "end": 8, "entity_type": "protein"},
        {"start": 7, "end": 10, "entity_type": "cell_line"},
        {"start": 7, "end": 10, "entity_type": "cell_type"},
    ],
}


def build_tiny_bert(path: Path) -> None:
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
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=False)
    tokenizer.save_pretrained(str(path))


def make_examples(nlp: Language) -> List[Example]:
    return [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in TRAIN_DATA]


def ner_config(encoder: Path) -> Dict[str, Any]:
    """`spanbert_ner` with its own encoder, loaded from `encoder`, and no dropout."""
    return {"model": {"tok2vec": {"name": str(encoder)}, "dropout": 0.0}}


def fit(nlp: Language, examples: List[Example], max_epochs: int = 200) -> int:
    """Update until the examples are predicted perfectly; return the epochs used."""
    optimizer = nlp.initialize(lambda: examples)
    for epoch in range(max_epochs):
        nlp.update(examples, sgd=optimizer)
        if epoch % 10 == 9 and nlp.evaluate(examples)["ents_f"] == 1.0:
            return epoch + 1
    return max_epochs


def predictions(nlp: Language, texts: List[str]) -> List[list]:
    """Entities with their scores (rounded), per text."""
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


def inline_encoder(nlp: Language, component: str = "spanbert_ner") -> SpanBertTransformerModel:
    """The encoder inside a component's inline tok2vec."""
    return nlp.get_pipe(component).model.get_ref("tok2vec").get_ref("encoder")


def output_layer(nlp: Language, component: str = "spanbert_ner") -> Model:
    return nlp.get_pipe(component).model.get_ref("output")


def spacy_train(config: str, output: Path, corpus: Path, encoder: Path, *overrides: str) -> None:
    """`python -m spacy train CONFIG` in a fresh process, training and scoring on `corpus`."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "train",
            config,
            "--output",
            str(output),
            "--paths.train",
            str(corpus),
            "--paths.dev",
            str(corpus),
            "--paths.encoder",
            str(encoder),
            *overrides,
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )


def nested_examples(nlp: Language) -> List[Example]:
    """NESTED_DATA as examples: every span in doc.spans["sc"], the outermost in doc.ents."""
    examples = []
    for text, spans in NESTED_DATA:
        example = Example.from_dict(nlp.make_doc(text), {"spans": {"sc": spans}})
        example.reference.ents = outermost_spans(list(example.reference.spans["sc"]))
        examples.append(example)
    return examples
