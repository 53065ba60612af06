"""Training on documents: chunks of consecutive sentences, with their boundaries.

spaCy's Corpus makes each example's predicted doc from the reference text, without
sentence boundaries, so the encoder's sentence-context windows would see none in
training. This augmenter cuts each document into chunks of consecutive sentences of
at most `max_tokens` tokens (a batch's memory stays bounded, as batches are counted in
words) and gives each chunk's predicted doc the reference's sentence starts. Entities
and span groups stay with their chunk. A reference without sentence boundaries is
passed through as it is.
"""

from typing import Callable, Iterator, List, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

Augmenter = Callable[[Language, Example], Iterator[Example]]


@registry.augmenters("spacy_spanbert.document_chunks.v1")
def create_document_chunks(max_tokens: int = 256) -> Augmenter:
    """Cut documents into chunks of whole sentences of at most `max_tokens` tokens
    (a longer sentence is a chunk of its own), with their sentence starts."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}.")

    def augment(nlp: Language, example: Example) -> Iterator[Example]:
        reference = example.reference
        if not len(reference) or not reference.has_annotation("SENT_START"):
            yield example
            return
        for start, end in sentence_chunks(reference, max_tokens):
            chunk = slice_doc(reference, start, end)
            predicted = nlp.make_doc(chunk.text)
            chunk_example = Example(predicted, chunk)
            starts = chunk_example.get_aligned_sent_starts()
            for token, sent_start in zip(predicted, starts):
                token.is_sent_start = token.i == 0 or bool(sent_start)
            yield chunk_example

    return augment


def sentence_chunks(doc: Doc, max_tokens: int) -> List[Tuple[int, int]]:
    """[start, end) token ranges of consecutive whole sentences, each at most
    `max_tokens` tokens unless one sentence is longer."""
    chunks: List[Tuple[int, int]] = []
    start = end = 0
    for sentence in doc.sents:
        if end > start and sentence.end - start > max_tokens:
            chunks.append((start, end))
            start = end
        end = sentence.end
    if end > start:
        chunks.append((start, end))
    return chunks


def slice_doc(doc: Doc, start: int, end: int) -> Doc:
    """doc[start:end] as a Doc with its sentences, entities and span groups (spans
    wholly inside it); `Span.as_doc` drops the span groups."""
    chunk = doc[start:end].as_doc(copy_user_data=True)
    for key, group in doc.spans.items():
        chunk.spans[key] = [
            Span(chunk, span.start - start, span.end - start, label=span.label_)
            for span in group
            if start <= span.start and span.end <= end
        ]
    return chunk
