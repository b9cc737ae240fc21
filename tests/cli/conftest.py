"""Running `python train.py` as a user does, in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Run:
    def __init__(self, folder: Path, process: subprocess.CompletedProcess) -> None:
        self.folder, self.process = folder, process
        self.output = process.stdout + process.stderr

    @property
    def metrics(self) -> dict:
        return json.loads((self.folder / "metrics.json").read_text())


def train_command(*arguments: str) -> list[str]:
    """The command line of `python train.py ARGUMENTS`: the one way the tests launch it."""
    return [sys.executable, str(ROOT / "train.py"), *arguments]


def command(folder: Path, *overrides: str) -> list[str]:
    return train_command(*overrides, f"hydra.run.dir={folder}")


@pytest.fixture
def train(tmp_path):
    """`train(*overrides, name='run', check=True)` runs train.py into tmp_path/name."""

    def run(*overrides: str, name: str = "run", check: bool = True) -> Run:
        folder = tmp_path / name
        process = subprocess.run(command(folder, *overrides), capture_output=True, text=True, cwd=tmp_path, timeout=300)
        result = Run(folder, process)
        if check and process.returncode != 0:
            raise AssertionError(f"train.py {' '.join(overrides)} failed:\n{result.output[-4000:]}")
        return result

    return run
