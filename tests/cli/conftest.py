"""Running `python train.py` into a run folder, or `python train.py -m` into a sweep folder, as a user does."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ..conftest import Finished


class Run:
    def __init__(self, folder: Path, finished: Finished) -> None:
        self.folder, self.process = folder, finished
        self.output = finished.output

    @property
    def metrics(self) -> dict:
        return json.loads((self.folder / "metrics.json").read_text())


@pytest.fixture
def train(tmp_path, launch):
    """`train(*overrides, name='run', check=True, fresh=False)` runs train.py into tmp_path/name
    (`fresh`: in a new interpreter)."""

    def run(*overrides: str, name: str = "run", check: bool = True, fresh: bool = False) -> Run:
        folder = tmp_path / name
        result = Run(folder, launch(*overrides, f"hydra.run.dir={folder}", fresh=fresh))
        if check and result.process.returncode != 0:
            raise AssertionError(f"train.py {' '.join(overrides)} failed:\n{result.output[-4000:]}")
        return result

    return run


@pytest.fixture
def sweep(tmp_path, launch):
    """`sweep(*overrides, fresh=False, pythonpath=None)` runs `train.py -m OVERRIDES` into tmp_path/sweep:
    (result, folder)."""

    def run(*overrides: str, fresh: bool = False, pythonpath: Path | None = None) -> tuple[Finished, Path]:
        folder = tmp_path / "sweep"
        return launch("-m", *overrides, f"hydra.sweep.dir={folder}", fresh=fresh, pythonpath=pythonpath), folder

    return run


def summary_rows(folder: Path) -> list[dict[str, str]]:
    """The rows of a sweep's summary.csv."""
    with (folder / "summary.csv").open() as file:
        return list(csv.DictReader(file))
