"""The Lightning Trainer of a run: its arguments from config, checkpoints, loggers and plugins."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger

from ..config.bridge import to_builder_cfg
from ..config.root import Logger, TrainConfig
from ..errors import ConfigError
from .checkpoint_io import AtomicCheckpointIO
from .ddp import strategy_for
from .rank_spread import BatchNormRankSpread
from .sync_bn import ToolkitSyncBatchNorm


def tidy_logging() -> None:
    """One line per message: Lightning's own console handler goes when the app has handlers (Hydra's),
    and its advertising tip is dropped; warnings that only concern Lightning's internals are muted."""
    lightning_logger = logging.getLogger("lightning")
    if logging.getLogger().handlers:
        lightning_logger.handlers.clear()
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
        lambda record: "litlogger" not in record.getMessage()
    )
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")


class EpochCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint with epochs counted from 1 in file names, as people count them."""

    def format_checkpoint_name(
        self, metrics: dict[str, Any], filename: str | None = None, ver: int | None = None, prefix: str | None = None
    ) -> str:
        if "epoch" in metrics:
            metrics = {**metrics, "epoch": metrics["epoch"] + 1}
        return super().format_checkpoint_name(metrics, filename, ver, prefix)


class EpochProgressBar(RichProgressBar):
    """Rich's progress bar, showing `Epoch 3/3` in the last of three epochs (Lightning shows `2/2`)."""

    def _get_train_description(self, current_epoch: int) -> str:
        description = f"Epoch {current_epoch + 1}"
        if self.trainer.max_epochs is not None and self.trainer.max_epochs >= 0:
            description += f"/{self.trainer.max_epochs}"
        return f"{description:{len(self.validation_description)}}"


def checkpoint_callbacks(folder: Path) -> list[ModelCheckpoint]:
    """`best-epochNN-val_accX.ckpt`, the best epoch by val_acc, and `last.ckpt`, the latest finished epoch.

    They are two callbacks: Lightning's `save_last` beside a monitored top-k rewrites `last.ckpt`
    only when the monitored metric improves.
    """
    best = EpochCheckpoint(
        dirpath=folder / "checkpoints",
        filename="best-epoch{epoch:02d}-val_acc{val_acc:.4f}",
        auto_insert_metric_name=False,
        monitor="val_acc",
        mode="max",
        save_top_k=1,
    )
    last = EpochCheckpoint(
        dirpath=folder / "checkpoints", filename="last", monitor=None, save_top_k=1, enable_version_counter=False
    )
    return [best, last]


def check_logger(name: str) -> None:
    """Stop before training when a logger's package is missing, with the command that installs it."""
    if name == "tensorboard" and not any(importlib.util.find_spec(p) for p in ("tensorboard", "tensorboardX")):
        raise ConfigError(
            "logger=tensorboard needs the tensorboard package, which is not installed: "
            "pip install 'toolkit[loggers]' (or pip install tensorboard)"
        )


def make_loggers(cfg: TrainConfig, folder: Path) -> list[Any]:
    loggers: list[Any] = [CSVLogger(folder, name="logs", version="")]
    if cfg.logger == Logger.tensorboard:
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(folder, name="tensorboard", version=""))
    return loggers


def check_devices(arguments: dict[str, Any]) -> None:
    """Stop with advice when the trainer asks for GPUs that are not there, or more devices than exist."""
    accelerator, devices = arguments.get("accelerator", "auto"), arguments.get("devices", "auto")
    if accelerator in ("gpu", "cuda"):
        available, kind = torch.cuda.device_count(), "GPUs"
        if available == 0:
            raise ConfigError(f"trainer.accelerator={accelerator}: this machine has no GPU; use trainer=ddp_cpu")
    elif accelerator == "cpu":
        available, kind = os.cpu_count() or 1, "CPU cores"
    else:
        return
    if isinstance(devices, int) and devices > available:
        raise ConfigError(f"trainer.devices={devices}: this machine has {available} {kind}")


def make_trainer(cfg: TrainConfig, folder: Path) -> L.Trainer:
    """A Trainer with the config's arguments, the best and the last checkpoints, and logs."""
    arguments = to_builder_cfg(cfg.trainer)
    callbacks: list[Any] = [*checkpoint_callbacks(folder), BatchNormRankSpread()]
    plugins: list[Any] = [AtomicCheckpointIO()]
    if arguments.pop("sync_batchnorm", False):
        plugins.append(ToolkitSyncBatchNorm())
    check_devices(arguments)
    if "strategy" in arguments:
        arguments["strategy"] = strategy_for(arguments["strategy"])
    if "enable_progress_bar" not in arguments:
        arguments["enable_progress_bar"] = sys.stdout.isatty()
        if arguments["enable_progress_bar"]:
            callbacks.append(EpochProgressBar())
    try:
        return L.Trainer(
            **arguments,
            default_root_dir=folder,
            callbacks=callbacks,
            logger=make_loggers(cfg, folder),
            plugins=plugins,
        )
    except (ValueError, TypeError, RuntimeError) as error:
        raise ConfigError(f"trainer: {error}") from error
