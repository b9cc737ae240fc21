"""`TrainConfig`: the schema of the whole config, the base of `conf/config.yaml`.

It types every top-level key, so Hydra rejects `mode=trian`, `logger=nosuch` or `threads=abc`
before anything runs, naming the key and what is allowed. The groups (`conv`, `norm`, ...) are
typed by their own option's schema (`schema/<group>/<dataclass>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from omegaconf import MISSING


class Mode(str, Enum):
    """`train` (resuming from `ckpt_path` if given), or `eval` (the metrics of `ckpt_path` on the val split)."""

    train = "train"
    eval = "eval"


class Logger(str, Enum):
    """Where the metrics are logged besides `logs/metrics.csv`."""

    csv = "csv"
    tensorboard = "tensorboard"


@dataclass
class TrainConfig:
    """Every top-level key of a run."""

    conv: Any = MISSING
    norm: Any = MISSING
    act: Any = MISSING
    init: Any = MISSING
    model: Any = MISSING
    data: Any = MISSING
    trainer: Any = MISSING
    optim: Any = MISSING
    sched: Any = MISSING
    seed: int = 0
    mode: Mode = Mode.train
    ckpt_path: str | None = None
    logger: Logger = Logger.csv
    export: str | None = None
    threads: int | None = None
