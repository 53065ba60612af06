"""Print the entities (with scores) and spans a trained pipeline finds in a few sentences."""

import sys

import spacy
from spacy.pipeline.spancat import SpanCategorizer

SENTENCES = [
    "Barack Obama met Angela Merkel in Berlin on Tuesday.",
    "Shares of Siemens rose after the European Central Bank cut rates in Frankfurt.",
    "The French team won the World Cup final in Moscow.",
    "Dr. Priya Raman joined the University of Toronto after ten years at Google.",
]


def main(model_path: str) -> None:
    nlp = spacy.load(model_path)
    groups = []  # (title, spans key) of the span groups carrying scores
    if "spanbert_ner" in nlp.pipe_names:
        groups.append(("entities", nlp.get_pipe("spanbert_ner").cfg["scores_key"]))
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, SpanCategorizer):  # spaCy's spancat and spanbert_spancat
            groups.append(("spans", pipe.key))
    for doc in nlp.pipe(SENTENCES):
        print(doc.text)
        for title, key in groups:
            group = doc.spans[key]
            print(f"  {title} (doc.spans[{key!r}])")
            for span, score in zip(group, group.attrs["scores"]):
                print(f"    {span.text:<30} {span.label_:<12} {float(score):.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
