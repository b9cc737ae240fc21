"""The Lightning Trainer of a run: its arguments from config, checkpoints, loggers and plugins."""

from __future__ import annotations

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

from ..config.bridge import ConfigError, to_builder_cfg
from .checkpoint_io import AtomicCheckpointIO
from .ddp import strategy_for
from .rank_spread import BatchNormRankSpread
from .sync_bn import ToolkitSyncBatchNorm

LOGGERS = ("csv", "tensorboard")


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


def make_loggers(cfg: Any, folder: Path) -> list[Any]:
    loggers: list[Any] = [CSVLogger(folder, name="logs", version="")]
    if cfg.logger == "tensorboard":
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


def make_trainer(cfg: Any, folder: Path) -> L.Trainer:
    """A Trainer with the config's arguments, checkpoints by val_acc plus last.ckpt, and logs."""
    arguments = to_builder_cfg(cfg.trainer)
    checkpoints = ModelCheckpoint(
        dirpath=folder / "checkpoints",
        filename="best-epoch{epoch:02d}-val_acc{val_acc:.4f}",
        auto_insert_metric_name=False,
        monitor="val_acc",
        mode="max",
        save_top_k=1,
        save_last=True,
    )
    callbacks: list[Any] = [checkpoints, BatchNormRankSpread()]
    plugins: list[Any] = [AtomicCheckpointIO()]
    if arguments.pop("sync_batchnorm", False):
        plugins.append(ToolkitSyncBatchNorm())
    check_devices(arguments)
    if "strategy" in arguments:
        arguments["strategy"] = strategy_for(arguments["strategy"])
    if "enable_progress_bar" not in arguments:
        arguments["enable_progress_bar"] = sys.stdout.isatty()
        if arguments["enable_progress_bar"]:
            callbacks.append(RichProgressBar())
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
