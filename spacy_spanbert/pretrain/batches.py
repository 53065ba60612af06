"""A training batch: sequences masked afresh, their masked-LM and span boundary targets.

Masks are drawn each time a sequence is seen, from a generator seeded by the run's
seed and the step, so any step's batch can be made again (a resumed run sees the
batches an uninterrupted one would have).
"""

from dataclasses import dataclass
from typing import List
from typing import Sequence as SequenceType

import numpy
import torch
from numpy.typing import NDArray

from .data import Sequence
from .heads import SBO_MAX_POSITIONS
from .masking import Masking, ranks_within, span_masking, token_masking


@dataclass
class SpecialIds:
    """The tokenizer's ids that masking needs."""

    cls: int
    sep: int
    pad: int
    mask: int
    replacements: NDArray[numpy.int64]  # ids a random replacement is drawn from


@dataclass
class Batch:
    """input_ids, attention_mask: (sequences, length). The targets index the flattened
    (sequences × length) positions: mlm_positions / mlm_labels for every masked
    wordpiece; sbo_left, sbo_right (the span's outer boundaries), sbo_positions (place
    in the span) and sbo_labels for those with a span boundary target."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    mlm_positions: torch.Tensor
    mlm_labels: torch.Tensor
    sbo_left: torch.Tensor
    sbo_right: torch.Tensor
    sbo_positions: torch.Tensor
    sbo_labels: torch.Tensor

    def to(self, device: torch.device) -> "Batch":
        return Batch(**{name: value.to(device) for name, value in vars(self).items()})


def make_batch(
    sequences: SequenceType[Sequence],
    scheme: str,
    special: SpecialIds,
    rng: numpy.random.Generator,
) -> Batch:
    """Mask each sequence and collect the targets of all of them."""
    width = max(len(sequence.input_ids) for sequence in sequences) + 2
    input_ids = numpy.full((len(sequences), width), special.pad, dtype=numpy.int64)
    attention_mask = numpy.zeros((len(sequences), width), dtype=numpy.int64)
    mlm: List[NDArray[numpy.int64]] = []
    sbo: List[NDArray[numpy.int64]] = []
    for row, sequence in enumerate(sequences):
        n = len(sequence.input_ids)
        masking = (
            span_masking(sequence.word_ids, rng) if scheme == "span" else token_masking(n, rng)
        )
        offset = row * width + 1  # flat position of the sequence's first content piece
        input_ids[row, 0], input_ids[row, n + 1] = special.cls, special.sep
        input_ids[row, 1 : n + 1] = corrupt(sequence.input_ids, masking, special, rng)
        attention_mask[row, : n + 2] = 1
        targets = numpy.flatnonzero(masking.masked)
        mlm.append(numpy.stack([targets + offset, sequence.input_ids[targets]]))
        sbo.append(span_boundary_targets(masking.spans, n, sequence.input_ids, offset))
    mlm_all, sbo_all = numpy.concatenate(mlm, axis=1), numpy.concatenate(sbo, axis=1)
    return Batch(
        input_ids=torch.from_numpy(input_ids),
        attention_mask=torch.from_numpy(attention_mask),
        mlm_positions=torch.from_numpy(mlm_all[0]),
        mlm_labels=torch.from_numpy(mlm_all[1]),
        sbo_left=torch.from_numpy(sbo_all[0]),
        sbo_right=torch.from_numpy(sbo_all[1]),
        sbo_positions=torch.from_numpy(sbo_all[2]),
        sbo_labels=torch.from_numpy(sbo_all[3]),
    )


def corrupt(
    input_ids: NDArray[numpy.int64],
    masking: Masking,
    special: SpecialIds,
    rng: numpy.random.Generator,
) -> NDArray[numpy.int64]:
    """The sequence as the encoder sees it: masked pieces replaced as drawn."""
    corrupted = input_ids.copy()
    corrupted[masking.masked & (masking.replacement == 0)] = special.mask
    random = masking.masked & (masking.replacement == 1)
    corrupted[random] = rng.choice(special.replacements, size=int(random.sum()))
    return corrupted


def span_boundary_targets(
    spans: NDArray[numpy.int64], n: int, input_ids: NDArray[numpy.int64], offset: int
) -> NDArray[numpy.int64]:
    """Rows (left boundary, right boundary, place in span, label) of the span boundary
    targets: the first SBO_MAX_POSITIONS pieces of every masked span that touches
    neither the first nor the last piece of the sequence. Positions are flat (`offset`
    is the first piece's)."""
    inside = spans[(spans[:, 0] > 0) & (spans[:, 1] < n)]
    lengths = numpy.minimum(inside[:, 1] - inside[:, 0], SBO_MAX_POSITIONS)
    places = ranks_within(lengths)
    pieces = numpy.repeat(inside[:, 0], lengths) + places
    return numpy.stack(
        [
            numpy.repeat(inside[:, 0] - 1, lengths) + offset,
            numpy.repeat(inside[:, 1], lengths) + offset,
            places,
            input_ids[pieces],
        ]
    ).astype(numpy.int64)
