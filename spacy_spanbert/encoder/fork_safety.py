"""Keep `nlp.pipe(..., n_process=2)` from hanging, and its output clean, once the
encoder has run.

spaCy's multiprocessing forks the parent process. Two thread pools of the parent do
not survive a fork:

- torch's OpenMP pool: a forked child that enters an OpenMP parallel region waits
  forever on the parent's threads, which it does not have. With one intra-op thread
  a child never enters such a region; one thread per worker is also what spaCy's
  worker processes, which share the machine's cores, want. PyTorch's own DataLoader
  workers do the same.
- huggingface/tokenizers' Rayon pool: at the fork, tokenizers' own handler turns
  parallelism off in the child and prints a four-line warning in every child, unless
  TOKENIZERS_PARALLELISM is set. Here it is set for the instant of the fork (so the
  handler stays quiet) and restored in the parent; the child is told "false", so it
  tokenizes on one thread, as the handler would have made it.

The handler is registered when the first encoder is built, not when the package is
imported: spaCy imports every installed plugin's entry points, and a process that
never runs the encoder should not get it.
"""

import os
from typing import Optional

import torch

TOKENIZERS_PARALLELISM = "TOKENIZERS_PARALLELISM"

# The parent's TOKENIZERS_PARALLELISM before the fork in progress; None if unset.
_parent_setting: Optional[str] = None
_registered = False


def _before_fork() -> None:
    global _parent_setting
    _parent_setting = os.environ.get(TOKENIZERS_PARALLELISM)
    if _parent_setting is None:
        os.environ[TOKENIZERS_PARALLELISM] = "true"


def _after_fork_in_parent() -> None:
    if _parent_setting is None:
        os.environ.pop(TOKENIZERS_PARALLELISM, None)


def _after_fork_in_child() -> None:
    torch.set_num_threads(1)
    if _parent_setting is None:
        os.environ[TOKENIZERS_PARALLELISM] = "false"


def register_fork_handler() -> None:
    """Give every process forked from this one a single torch thread and a
    single-threaded tokenizer, without tokenizers' fork warning; once per process."""
    global _registered
    if _registered:
        return
    _registered = True
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
