"""`TrainConfig`: the schema of the whole config, the base of `conf/config.yaml`.

It types every top-level key, so Hydra rejects `mode=trian` or `threads=abc` before anything
runs, naming the key and what is allowed (and `logger=nosuch`, as a group with no such option).
The layer, init, trainer, optim, sched and augment groups are typed by their option's schema
(`schema/<group>/<dataclass>`); model, data, callbacks and logger are `_target_` nodes, whose
arguments are checked against their constructors before training (`toolkit.config.targets`).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from omegaconf import MISSING

from ..errors import ConfigError
from ..metrics import NAMES


class Mode(str, Enum):
    """`train` (resuming from `ckpt_path` if given), `eval` (the metrics of `ckpt_path` on the val split),
    `predict` (`ckpt_path`'s predictions for the images under `predict.root`), or `lr_find` (Lightning's
    learning-rate finder: a suggested `optim.lr`)."""

    train = "train"
    eval = "eval"
    predict = "predict"
    lr_find = "lr_find"


@dataclass
class LRFindConfig:
    """`mode=lr_find`: the range of learning rates tried, and over how many training steps."""

    min_lr: float = 1e-6
    max_lr: float = 1.0
    num_training: int = 100


@dataclass
class PredictConfig:
    """`mode=predict`: the folder of images (any nesting), how many classes each row ranks, the batch size."""

    root: str | None = None
    top_k: int = 5
    batch_size: int = 64


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
    augment: Any = MISSING
    callbacks: Any = None
    logger: Any = None
    paths: Any = MISSING
    seed: int = 0
    mode: Mode = Mode.train
    ckpt_path: str | None = None
    resume: bool = False
    export: Any = None  # a path, or a list of paths
    threads: int | None = None
    tags: list[str] = field(default_factory=list)
    optimized_metric: str = "val_acc"
    channels_last: bool = False
    compile: bool = False
    compile_backend: str = "inductor"
    lr_find: LRFindConfig = field(default_factory=LRFindConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)


def check_optimized_metric(name: str) -> None:
    """Stop when `optimized_metric` names a metric that no run produces.

    >>> check_optimized_metric('val_accuracy')
    Traceback (most recent call last):
    toolkit.errors.ConfigError: optimized_metric=val_accuracy: no run reports it; choose one of \
val_acc, test_acc, val_loss, test_loss, train_loss, train_acc (did you mean 'val_acc'?)
    """
    if name not in NAMES:
        close = difflib.get_close_matches(name, NAMES, n=1)
        raise ConfigError(
            f"optimized_metric={name}: no run reports it; choose one of {', '.join(NAMES)}"
            + (f" (did you mean {close[0]!r}?)" if close else "")
        )


def without_resume(overrides: Sequence[str]) -> list[str]:
    """The overrides that say what a run is, without `resume=` (which says only how it is run).

    >>> without_resume(['norm=gn', 'resume=True'])
    ['norm=gn']
    """
    return [override for override in overrides if not override.lstrip("+~").startswith("resume=")]


def same_run(overrides: Sequence[str], others: Sequence[str]) -> bool:
    """Whether two lists of overrides describe the same run (in any order, `resume=` aside).

    >>> same_run(['norm=gn', 'seed=1', 'resume=true'], ['seed=1', 'norm=gn'])
    True
    """
    return sorted(without_resume(overrides)) == sorted(without_resume(others))
