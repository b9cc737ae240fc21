"""`mode=lr_find`: Lightning's learning-rate finder on the configured model, data and optimizer.

The finder trains `lr_find.num_training` steps while raising the learning rate exponentially from
`lr_find.min_lr` to `lr_find.max_lr` (it drives the rate itself, whatever `sched=` says), then puts
the weights back. The run folder gets `lr_find.png` (the loss against the learning rate, the
suggestion marked) and `metrics.json` with `suggested_lr`; the override to use is printed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning as L

from ..errors import ConfigError
from ..figures import pyplot, save_png


def check_lr_find(settings: Any) -> None:
    """Stop before any work on a range the finder cannot sweep, or too few steps to suggest from.

    >>> check_lr_find(type('Settings', (), {'min_lr': 1.0, 'max_lr': 0.1, 'num_training': 100}))
    Traceback (most recent call last):
    toolkit.errors.ConfigError: lr_find.min_lr=1.0, lr_find.max_lr=0.1: need 0 < min_lr < max_lr
    """
    if not 0 < settings.min_lr < settings.max_lr:
        raise ConfigError(
            f"lr_find.min_lr={settings.min_lr}, lr_find.max_lr={settings.max_lr}: need 0 < min_lr < max_lr"
        )
    if settings.num_training < 12:  # the suggestion skips the first 10 rates and the last one
        raise ConfigError(f"lr_find.num_training={settings.num_training}: need at least 12 steps to suggest a rate")


def find_lr(trainer: L.Trainer, module: L.LightningModule, datamodule: Any, settings: Any, folder: Path) -> dict:
    """Run the finder and write `lr_find.png`; returns `suggested_lr` (None when the loss gave no slope to
    suggest from) and the rates and losses it tried."""
    from lightning.pytorch.tuner import Tuner

    pyplot()  # the finder draws with pyplot: on the file-only backend

    finder = Tuner(trainer).lr_find(
        module,
        datamodule=datamodule,
        min_lr=settings.min_lr,
        max_lr=settings.max_lr,
        num_training=settings.num_training,
        update_attr=False,
    )
    suggestion = finder.suggestion() if finder is not None else None
    if finder is None:
        raise ConfigError("mode=lr_find: the finder did not run (a fast_dev_run or no training batch?)")
    figure = finder.plot(suggest=suggestion is not None)
    figure.axes[0].set_title(
        f"suggested lr: {suggestion:.3g}" if suggestion else "no suggestion: the loss did not fall"
    )
    save_png(figure, folder / "lr_find.png")
    finite = suggestion is not None and math.isfinite(suggestion)
    return {
        "suggested_lr": suggestion if finite else None,
        "lr_find": {"lr": list(finder.results["lr"]), "loss": list(finder.results["loss"])},
    }
