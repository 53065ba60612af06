"""Every config in configs/ passes `spacy debug config`."""

import subprocess
import sys
from pathlib import Path

import pytest

CONFIGS = sorted(Path(__file__).parent.parent.joinpath("configs").glob("*.cfg"))


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_debug_config(config, tiny_bert, tmp_path):
    (tmp_path / "empty.spacy").write_bytes(b"")
    result = subprocess.run(
        [
            sys.executable, "-m", "spacy", "debug", "config", str(config),
            "--paths.train", str(tmp_path / "empty.spacy"),
            "--paths.dev", str(tmp_path / "empty.spacy"),
            "--paths.encoder", str(tiny_bert),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config is valid" in result.stdout
