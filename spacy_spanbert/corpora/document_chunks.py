"""Training on documents: chunks of consecutive sentences, with their boundaries.

spaCy's Corpus makes each example's predicted doc from the reference text, without
sentence boundaries, so the encoder's sentence-context windows would see none in
training. This augmenter cuts each document into chunks of consecutive sentences of
at most `max_tokens` tokens (a batch's memory stays bounded, as batches are counted in
words) and gives each chunk's predicted doc the reference's sentence starts, on the
tokens the corpus gave the example (gold words where spaces are unknown: re-tokenizing
the text would train on tokens the gold-word evaluation never shows). Entities and
span groups stay with their chunk. A reference without sentence boundaries is passed
through as it is.

Chunks of whole documents fill a batch with two or three documents; small chunks mix
sentences from across the corpus in each batch, but cut off their context. With
`context` > 0 each chunk also carries up to that many tokens of its document on either
side, as context only: their entity annotation is missing (the loss ignores them) and
the predicted doc marks the chunk in `CENTRE_GROUP`, so the encoder reads the chunk
as its centre with the rest around it. `centre_length.v1` counts a batch in centre
tokens, so a batch holds as many annotated words as without context.
"""

from typing import Callable, Iterator, List, Set, Tuple

from spacy.language import Language
from spacy.pipeline import SpanCategorizer
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from ..doc_centre import CENTRE_GROUP, centre_bounds

Augmenter = Callable[[Language, Example], Iterator[Example]]


@registry.augmenters("spacy_spanbert.document_chunks.v1")
def create_document_chunks(max_tokens: int = 256, context: int = 0) -> Augmenter:
    """Cut documents into chunks of whole sentences of at most `max_tokens` tokens
    (a longer sentence is a chunk of its own), with their sentence starts, and up to
    `context` tokens of unannotated context on either side."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}.")
    if context < 0:
        raise ValueError(f"context must be 0 or more tokens, got {context}.")

    def augment(nlp: Language, example: Example) -> Iterator[Example]:
        reference = example.reference
        if not len(reference) or not reference.has_annotation("SENT_START"):
            yield example
            return
        if context and trained_span_keys(nlp) & {k for k, g in reference.spans.items() if g}:
            raise ValueError(
                "document_chunks.v1 with context > 0 marks the context's entity annotation "
                "as missing; span groups cannot be marked so, and spancat would learn the "
                "context's spans as negatives. Use context 0 to train spancat."
            )
        for start, end in sentence_chunks(reference, max_tokens):
            first, last = max(0, start - context), min(len(reference), end + context)
            chunk_example = Example(
                predicted_slice(example, first, last), slice_doc(reference, first, last)
            )
            starts = chunk_example.get_aligned_sent_starts()
            for token, sent_start in zip(chunk_example.predicted, starts):
                token.is_sent_start = token.i == 0 or bool(sent_start)
            if (first, last) != (start, end):
                mark_context(chunk_example, chunk_example.reference[start - first : end - first])
            yield chunk_example

    return augment


@registry.misc("spacy_spanbert.centre_length.v1")
def create_centre_length() -> Callable[[Example], int]:
    """A batcher's `get_length`: an example's centre tokens (all of them, for an
    example without context), so context does not displace annotated words."""

    def centre_length(example: Example) -> int:
        start, end = centre_bounds(example.predicted)
        return end - start

    return centre_length


def trained_span_keys(nlp: Language) -> Set[str]:
    """The span group keys the pipeline's span categorizers learn from."""
    return {pipe.key for _, pipe in nlp.pipeline if isinstance(pipe, SpanCategorizer)}


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


def predicted_slice(example: Example, start: int, end: int) -> Doc:
    """The example's predicted tokens over reference tokens [start, end), unannotated:
    the tokenization the corpus chose (gold words where the reference's spaces are
    unknown, spaCy's tokenizer otherwise) is kept, never made again from the text."""
    aligned = example.get_aligned_spans_y2x([example.reference[start:end]])
    if not aligned:
        raise ValueError(
            f"The predicted doc has no token boundaries at reference tokens {start}-{end} "
            f"({example.reference[start:end].text[:40]!r}...), so it cannot be cut there."
        )
    span = aligned[0]
    words = [token.text for token in span]
    spaces = [bool(token.whitespace_) for token in span]
    return Doc(example.predicted.vocab, words=words, spaces=spaces)


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


def mark_context(example: Example, centre: Span) -> None:
    """Keep the reference's entities inside `centre`, mark the tokens around it
    unannotated, and record the centre on the predicted doc in `CENTRE_GROUP`."""
    reference = example.reference
    entities = [e for e in reference.ents if centre.start <= e.start and e.end <= centre.end]
    context = [s for s in (reference[: centre.start], reference[centre.end :]) if len(s)]
    reference.set_ents(entities, missing=context, default="outside")
    aligned = example.get_aligned_spans_y2x([centre])
    if not aligned:
        raise ValueError(
            f"The predicted doc has no token boundaries at the chunk's edges "
            f"({centre.text[:40]!r}...), so its context cannot be marked."
        )
    example.predicted.spans[CENTRE_GROUP] = aligned
