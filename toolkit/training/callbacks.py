"""Toolkit's own callbacks, and building the `callbacks` group of a config.

`callbacks=default` holds two `EpochCheckpoint`s (the best epoch by val_acc, and the last one),
a learning rate monitor and Rich's progress bar; every entry is a `_target_` node, built in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ModelCheckpoint, ProgressBar

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
