"""Print the entities a trained pipeline finds in a few sentences, with their scores."""

import sys

import spacy

SENTENCES = [
    "Barack Obama met Angela Merkel in Berlin on Tuesday.",
    "Shares of Siemens rose after the European Central Bank cut rates in Frankfurt.",
    "The French team won the World Cup final in Moscow.",
    "Dr. Priya Raman joined the University of Toronto after ten years at Google.",
]


def main(model_path: str) -> None:
    nlp = spacy.load(model_path)
    key = nlp.get_pipe("spanbert_ner").cfg["scores_key"]
    for doc in nlp.pipe(SENTENCES):
        print(doc.text)
        group = doc.spans[key]
        for ent, score in zip(group, group.attrs["scores"]):
            print(f"    {ent.text:<30} {ent.label_:<6} {score:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
