"""A pre-training run's output directory: the encoder to fine-tune, and what resuming
needs.

    OUTPUT/                        the encoder at the latest checkpoint: config.json,
                                   model.safetensors, vocab.txt, tokenizer files
                                   (`spacy_spanbert.SpanBertEncoder.v1` loads it by path)
    OUTPUT/pretraining/log.jsonl   one line per step
    OUTPUT/pretraining/checkpoint/ the encoder again, run.json (settings, step, counts),
                                   heads.safetensors (masked-LM and SBO heads) and
                                   optimizer.pt (optimizer and gradient scaler state)

A checkpoint is written whole into a new directory, then swapped in by renames, so a
crash leaves either the old checkpoint or the new one. A run only resumes a
directory holding a run with the same settings; anything else there is an error, so
no earlier run is overwritten.
"""

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import BertModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from .settings import PretrainSettings

RUN_DIR = "pretraining"
CHECKPOINT = "checkpoint"
RUN_FILE = "run.json"
HEADS_FILE = "heads.safetensors"
OPTIMIZER_FILE = "optimizer.pt"
LOG_FILE = "log.jsonl"


class PretrainOutputError(ValueError):
    """The output directory holds something a run must not overwrite."""


@dataclass
class Checkpoint:
    """A saved state: where it is, its step and the data counts of its run."""

    path: Path
    step: int
    counts: Dict[str, int]


class RunDirectory:
    def __init__(self, output: Path) -> None:
        self.output = Path(output)
        self.run_dir = self.output / RUN_DIR
        self.checkpoint_dir = self.run_dir / CHECKPOINT
        self.log_path = self.run_dir / LOG_FILE

    def open(self, settings: PretrainSettings) -> Optional[Checkpoint]:
        """The checkpoint to resume from, None for a new run; an error if OUTPUT holds
        anything else than a run with these settings."""
        self._recover_swap()
        run_file = self.checkpoint_dir / RUN_FILE
        if not run_file.exists():
            if self.output.exists() and any(self.output.iterdir()):
                raise PretrainOutputError(
                    f"{self.output} is not empty and holds no pre-training run: choose "
                    "a new or empty directory for OUTPUT, so nothing in it is overwritten."
                )
            return None
        saved = json.loads(run_file.read_text(encoding="utf8"))
        differences = {
            name: (saved["settings"].get(name), value)
            for name, value in asdict(settings).items()
            if saved["settings"].get(name) != value
        }
        if differences:
            listed = "; ".join(
                f"{name} was {old!r}, now {new!r}" for name, (old, new) in differences.items()
            )
            raise PretrainOutputError(
                f"{self.output} holds a pre-training run with other settings ({listed}). "
                "Resume it with its own settings, or choose a new OUTPUT."
            )
        return Checkpoint(self.checkpoint_dir, saved["step"], saved["counts"])

    def save(
        self,
        step: int,
        settings: PretrainSettings,
        counts: Dict[str, int],
        encoder: BertModel,
        tokenizer: PreTrainedTokenizerBase,
        heads: nn.Module,
        optimizer_state: Dict[str, Any],
    ) -> None:
        """Write a checkpoint and put its encoder at OUTPUT."""
        partial = self.run_dir / f"{CHECKPOINT}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        encoder.save_pretrained(str(partial), safe_serialization=True)
        tokenizer.save_pretrained(str(partial))
        shared = encoder.get_input_embeddings().weight
        save_file(own_tensors(heads, shared), str(partial / HEADS_FILE))
        torch.save(optimizer_state, partial / OPTIMIZER_FILE)
        record = {"settings": asdict(settings), "step": step, "counts": counts}
        (partial / RUN_FILE).write_text(json.dumps(record, indent=2), encoding="utf8")
        old = self.run_dir / f"{CHECKPOINT}.old"
        if self.checkpoint_dir.exists():
            self.checkpoint_dir.rename(old)
        partial.rename(self.checkpoint_dir)
        shutil.rmtree(old, ignore_errors=True)
        for path in self.checkpoint_dir.iterdir():
            if path.name not in (RUN_FILE, HEADS_FILE, OPTIMIZER_FILE):
                shutil.copy2(path, self.output / path.name)

    def load_heads(self, checkpoint: Checkpoint, heads: nn.Module, shared: torch.Tensor) -> None:
        """Load the heads' own tensors; the tied ones come with the encoder."""
        state = load_file(str(checkpoint.path / HEADS_FILE))
        missing, unexpected = heads.load_state_dict(state, strict=False)
        expected_missing = set(heads.state_dict()) - set(own_tensors(heads, shared))
        if unexpected or set(missing) != expected_missing:
            raise PretrainOutputError(
                f"{checkpoint.path / HEADS_FILE} does not fit the heads of this run "
                f"(missing {sorted(set(missing) - expected_missing)}, unexpected {unexpected})."
            )

    def load_optimizer_state(self, checkpoint: Checkpoint) -> Dict[str, Any]:
        return torch.load(checkpoint.path / OPTIMIZER_FILE, weights_only=True)

    def log(self, entry: Dict[str, Any]) -> None:
        with self.log_path.open("a", encoding="utf8") as file_:
            file_.write(json.dumps(entry) + "\n")

    def truncate_log(self, step: int) -> None:
        """Drop the log lines of steps after `step`: an interrupted run's last steps,
        which the resumed run does again."""
        if not self.log_path.exists():
            return
        lines = self.log_path.read_text(encoding="utf8").splitlines()
        kept = [line for line in lines if json.loads(line)["step"] <= step]
        self.log_path.write_text("".join(line + "\n" for line in kept), encoding="utf8")

    def _recover_swap(self) -> None:
        """A crash between the renames of `save` leaves the old checkpoint aside."""
        old = self.run_dir / f"{CHECKPOINT}.old"
        if old.exists() and not self.checkpoint_dir.exists():
            old.rename(self.checkpoint_dir)


def own_tensors(heads: nn.Module, shared: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The heads' tensors, each once: not the word embeddings their output projections
    are tied to (saved with the encoder), and one name for tensors tied to each other."""
    seen = {shared.data_ptr()}
    tensors = {}
    for name, tensor in heads.state_dict().items():
        if tensor.data_ptr() not in seen:
            seen.add(tensor.data_ptr())
            tensors[name] = tensor.detach().contiguous()
    return tensors
