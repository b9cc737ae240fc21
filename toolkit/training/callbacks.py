"""Toolkit's own callbacks, and building the `callbacks` group of a config.

`callbacks=default` holds two `EpochCheckpoint`s (the best epoch by val_acc, and the last one),
a learning rate monitor and Rich's progress bar; every entry is a `_target_` node, built in order.
`callbacks=ema` adds `EMA`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, EMAWeightAveraging, LearningRateMonitor, ModelCheckpoint, ProgressBar
from lightning.pytorch.trainer.states import TrainerFn

from ..config.targets import build_target


class EpochCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint with epochs counted from 1 in file names, as people count them.

    `callbacks=default` uses two: `best-epochNN-val_accX.ckpt` (monitored, top 1) and `last.ckpt`
    (no monitor), since Lightning's `save_last` beside a monitored top-k rewrites `last.ckpt` only
    when the monitored metric improves.
    """

    def format_checkpoint_name(
        self, metrics: dict[str, Any], filename: str | None = None, ver: int | None = None, prefix: str | None = None
    ) -> str:
        if "epoch" in metrics:
            metrics = {**metrics, "epoch": metrics["epoch"] + 1}
        return super().format_checkpoint_name(metrics, filename, ver, prefix)


class EMA(EMAWeightAveraging):
    """Lightning's exponential moving average of the weights (`callbacks=ema`), which validation, the
    checkpoints' `state_dict` (so the test split and the export) and the final weights use; the raw
    weights travel in the checkpoints beside them, for a resume.

    Scoring a checkpoint outside training (the test split after `fit`, `mode=eval`) keeps its averaged
    weights: Lightning's callback, still holding its average after `fit`, would put the raw ones back
    as it does to resume. BatchNorm's running statistics are averaged with the weights
    (`use_buffers`); its batch count is no average and stays as it was first copied.

    Args:
        decay: The weight of the average so far at each step, in (0, 1).
        update_starting_at_step: The step the average starts at, from the weights of then (a warm-up;
            None: the first).
        update_every_n_steps: Steps between updates.
    """

    def __init__(
        self, decay: float = 0.999, update_starting_at_step: int | None = None, update_every_n_steps: int = 1
    ) -> None:
        super().__init__(
            decay=decay, update_starting_at_step=update_starting_at_step, update_every_n_steps=update_every_n_steps
        )

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        if trainer.state.fn == TrainerFn.FITTING:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)


def build_callbacks(node: Mapping[str, Any] | None, progress_bar: bool, logging: bool) -> list[Callback]:
    """The callbacks of a `callbacks` node, in order; progress bars only with `progress_bar`, and
    learning rate monitors only with a logger (`logging`) to write to."""
    callbacks = [build_target(f"callbacks.{name}", entry, Callback) for name, entry in (node or {}).items() if entry]
    return [
        callback
        for callback in callbacks
        if (progress_bar or not isinstance(callback, ProgressBar))
        and (logging or not isinstance(callback, LearningRateMonitor))
    ]
