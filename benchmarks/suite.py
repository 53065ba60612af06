"""What every benchmark driver shares: where things are, how a phase runs, the systems
and their training recipes (the learning rates tried on dev, and each system's default).

A system is a script with `train`, `evaluate` and `speed` commands
(`benchmarks/systems/`), run by a Python interpreter: ours for the spaCy and Hugging
Face systems, the peers' own environment (`make peers`) for SpanMarker and GLiNER,
whose dependencies never enter this package's.
"""

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from spacy.util import load_config

ROOT = Path(__file__).resolve().parent.parent
# The configs users start from, then the baselines only benchmarks train.
CONFIG_DIRS = [ROOT / "configs", ROOT / "benchmarks/configs"]
PEERS_PYTHON = ROOT / ".venv-peers/bin/python"
# The encoder every system trains from (the project's `encoder` step puts it there),
# and torch's threads in every process: the same for all systems.
ENCODER = "assets/encoders/minilm"
THREADS = 2
# Each phase runs in its own process: `python -m MODULE COMMAND ...` from ROOT.
SPACY_SCRIPT = [sys.executable, "-m", "benchmarks.systems.spacy_pipeline"]
HF_SCRIPT = [sys.executable, "-m", "benchmarks.systems.hf_token_classification"]
MEMORY_SCRIPT = [sys.executable, "-m", "benchmarks.memory"]
SPAN_MARKER_SCRIPT = [str(PEERS_PYTHON), "-m", "benchmarks.systems.span_marker"]
GLINER_SCRIPT = [str(PEERS_PYTHON), "-m", "benchmarks.systems.gliner"]


def config_path(name: str) -> Path:
    """configs/NAME.cfg, or the benchmark baseline of that name."""
    for directory in CONFIG_DIRS:
        if (directory / f"{name}.cfg").exists():
            return directory / f"{name}.cfg"
    raise FileNotFoundError(f"no config {name}.cfg in {[str(d) for d in CONFIG_DIRS]}")


@dataclass(frozen=True)
class Recipe:
    """A system's peak learning rates: the encoder's, and the head's where the system
    trains its head at a rate of its own (`spanbert_ner`)."""

    encoder_lr: float
    head_lr: Optional[float] = None

    @property
    def name(self) -> str:
        head = f" head {self.head_lr:g}" if self.head_lr is not None else ""
        return f"encoder {self.encoder_lr:g}{head}"

    @property
    def slug(self) -> str:
        """The recipe's run folder name."""
        head = f"-head{self.head_lr:g}" if self.head_lr is not None else ""
        return f"lr{self.encoder_lr:g}{head}"

    def to_json(self) -> Dict[str, Optional[float]]:
        return {"encoder_lr": self.encoder_lr, "head_lr": self.head_lr}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Recipe":
        return cls(data["encoder_lr"], data.get("head_lr"))


@dataclass(frozen=True)
class System:
    """How to run one system's phases, and the recipes tried for it on dev (the
    first is its default: the quickstart's or the library's own)."""

    script: List[str]
    grid: List[Recipe]
    config: Optional[Path] = None
    # What sets this system apart from another on the same script (SpanMarker's context).
    train_options: Tuple[str, ...] = ()

    def train_command(self, train: Path, dev: Path, output: Path, recipe: Recipe) -> List[str]:
        paths = [str(train), str(dev), str(output)]
        config = [] if self.config is None else [str(self.config)]
        return [
            *self.script,
            "train",
            *config,
            *paths,
            *self.rate_args(recipe),
            *self.train_options,
        ]

    def rate_args(self, recipe: Recipe) -> List[str]:
        if recipe.head_lr is None:
            return ["--learn-rate", str(recipe.encoder_lr)]
        if self.config is None:
            return [
                "--learn-rate",
                str(recipe.encoder_lr),
                "--head-learn-rate",
                str(recipe.head_lr),
            ]
        [(key, scale)] = encoder_scale_override(self.config, recipe).items()
        return ["--learn-rate", str(recipe.head_lr), "--set", f"{key}={scale:g}"]


def encoder_scale_override(config: Path, recipe: Recipe) -> Dict[str, float]:
    """In this package's configs the optimizer's rate is the heads' and the encoder's is
    a share of it, `encoder_lr_scale` on the component that owns the encoder
    (`spanbert`, or `spanbert_ner` with its own copy): that setting, for the recipe."""
    if recipe.head_lr is None:
        raise ValueError(f"{recipe.name} has no head rate: the config's rate is the recipe")
    components = load_config(config)["components"]
    owners = [name for name, block in components.items() if "encoder_lr_scale" in block]
    if len(owners) != 1:
        raise ValueError(f"{config}: expected one component with encoder_lr_scale, {owners}")
    return {f"components.{owners[0]}.encoder_lr_scale": recipe.encoder_lr / recipe.head_lr}


def recipe_overrides(config: Path, recipe: Recipe) -> Dict[str, Any]:
    """A spaCy config's settings for the recipe: the peak rate, and the encoder's share."""
    if recipe.head_lr is None:
        return {"training.optimizer.learn_rate.initial_rate": recipe.encoder_lr}
    return {
        "training.optimizer.learn_rate.initial_rate": recipe.head_lr,
        **encoder_scale_override(config, recipe),
    }


ENCODER_RATES = [5e-5, 1e-4, 2e-4]
SYSTEMS: Dict[str, System] = {
    "spanbert_ner": System(
        SPACY_SCRIPT,
        [Recipe(rate, 1e-3) for rate in ENCODER_RATES],
        config_path("spanbert_ner"),
    ),
    "spacy_ner": System(
        SPACY_SCRIPT, [Recipe(rate) for rate in ENCODER_RATES], config_path("spacy_ner")
    ),
    "hf_token_classification": System(HF_SCRIPT, [Recipe(rate) for rate in ENCODER_RATES]),
    "span_marker": System(SPAN_MARKER_SCRIPT, [Recipe(rate) for rate in ENCODER_RATES]),
    # Each sentence read in its document (SpanMarker's document context); a model trained
    # so reads its documents at evaluation too.
    "span_marker_context": System(
        SPAN_MARKER_SCRIPT, [Recipe(rate) for rate in ENCODER_RATES], train_options=("--context",)
    ),
    # GLiNER's released models train the layers above the encoder at 5x its rate.
    "gliner": System(GLINER_SCRIPT, [Recipe(rate, 5 * rate) for rate in ENCODER_RATES]),
}


# The systems that train on full CoNLL-2003 within a session here; SpanMarker (marker
# tokens for every candidate: inputs of model + 2 x marker length) and GLiNER run on the
# fixed subsets of benchmarks.subsets.
FULL_CORPUS_SYSTEMS = ["spanbert_ner", "spacy_ner", "hf_token_classification"]


def spacy_training_overrides(
    train: Path, dev: Path, encoder: str, seed: int, steps: int, log_path: Path
) -> Dict[str, Any]:
    """What every benchmark's `spacy train` run is given: its data, encoder and seed, a
    learning-rate schedule over exactly `steps` updates, and spaCy's log as JSON lines
    (the dev curve is read from it)."""
    return {
        "paths.train": str(train),
        "paths.dev": str(dev),
        "paths.encoder": encoder,
        "system.seed": seed,
        "training.optimizer.learn_rate.total_steps": steps,
        "training.logger.@loggers": "spacy.ConsoleLogger.v2",
        "training.logger.output_file": str(log_path),
    }


def run_phase(json_path: Path, command: List[str]) -> Dict[str, Any]:
    """Run one phase in its own process unless its result is already on disk."""
    if not json_path.exists():
        print(f"\n$ {' '.join(command)}", flush=True)
        start = time.perf_counter()
        subprocess.run(command + ["--json-out", str(json_path)], check=True, cwd=ROOT)
        print(f"({time.perf_counter() - start:.0f} s)", flush=True)
    return json.loads(json_path.read_text())


def converted(corpus: str, corpora_dir: Path, work: Path) -> Path:
    """The corpus converted under WORK/corpus/CORPUS (train.spacy, dev.spacy, test.spacy
    where the corpus has a test split), once."""
    out = work / "corpus" / corpus
    if not (out / "train.spacy").exists() or not (out / "dev.spacy").exists():
        subprocess.run(
            [sys.executable, "scripts/convert_corpus.py", corpus, str(corpora_dir), str(out)],
            check=True,
            cwd=ROOT,
        )
    return out


def run_dir(work: Path, corpus: str, seed: int, system: str, recipe: Recipe) -> Path:
    """Where one training run and its evaluations live."""
    return work / corpus / f"seed{seed}" / system / recipe.slug
