"""Keep `nlp.pipe(..., n_process=2)` from hanging once the encoder has run.

spaCy's multiprocessing forks the parent process. If torch's OpenMP thread pool has
already run in the parent (any earlier `nlp(text)`), a forked child that enters an
OpenMP parallel region waits forever on the parent's threads, which it does not have.
With one intra-op thread a child never enters such a region. One thread per worker
is also what spaCy's worker processes, which share the machine's cores, want.
PyTorch's own DataLoader workers do the same.
"""

import os

import torch


def _one_torch_thread() -> None:
    torch.set_num_threads(1)


def register_fork_handler() -> None:
    """Give every process forked from this one a single torch thread."""
    os.register_at_fork(after_in_child=_one_torch_thread)
