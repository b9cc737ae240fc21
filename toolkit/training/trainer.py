"""The Lightning Trainer of a run: its arguments, callbacks and loggers from config, and plugins."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.environments import SLURMEnvironment

from ..config.bridge import to_builder_cfg
from ..config.root import TrainConfig
from ..errors import ConfigError
from .callbacks import build_callbacks
from .checkpoint_io import AtomicCheckpointIO
from .ddp import mute_lightning_internals, strategy_for
from .history import EpochHistory
from .loggers import build_loggers
from .rank_spread import BatchNormRankSpread
from .seeding import StepSeeds
from .stop import StopTogether
from .sync_bn import ToolkitSyncBatchNorm


def not_a_tip(record: logging.LogRecord) -> bool:
    """False for Lightning's advertising tips."""
    return not record.getMessage().startswith("💡 Tip")


def tidy_logging() -> None:
    """One line per message: Lightning's own console handler goes when the app has handlers (Hydra's),
    and its advertising tips are dropped (one filter, however many runs); warnings that only concern
    Lightning's internals are muted."""
    lightning_logger = logging.getLogger("lightning")
    if logging.getLogger().handlers:
        lightning_logger.handlers.clear()
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(not_a_tip)
    mute_lightning_internals()


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
    """A Trainer with the config's arguments, its `callbacks` and its `logger` entries."""
    arguments = to_builder_cfg(cfg.trainer)
    plugins: list[Any] = [AtomicCheckpointIO()]
    if SLURMEnvironment.detect():  # a requeued job resumes from last.ckpt (`task`); Lightning requeues nothing
        plugins.append(SLURMEnvironment(auto_requeue=False))
    if arguments.pop("sync_batchnorm", False):
        plugins.append(ToolkitSyncBatchNorm())
    check_devices(arguments)
    if "strategy" in arguments:
        arguments["strategy"] = strategy_for(arguments["strategy"])
    arguments.setdefault("enable_progress_bar", sys.stdout.isatty())
    loggers = build_loggers(cfg.logger)
    callbacks = build_callbacks(cfg.callbacks, arguments["enable_progress_bar"], bool(loggers))
    arguments.setdefault("enable_checkpointing", any(isinstance(c, ModelCheckpoint) for c in callbacks))
    common = dict(
        default_root_dir=folder,
        callbacks=[
            *callbacks,
            BatchNormRankSpread(),
            EpochHistory(folder / "history.json"),
            StopTogether(),
            StepSeeds(cfg.seed),
        ],
        logger=loggers or False,
        plugins=plugins,
    )
    if arguments.get("strategy", "auto") == "auto" and processes(arguments) > 1:
        # Lightning's own choice for several devices starts each rank by running the command line
        # again (a second run of the script, or of a whole -m sweep): spawn them from this process.
        arguments["strategy"] = strategy_for("ddp_spawn")
    try:
        return L.Trainer(**arguments, **common)
    except (ValueError, TypeError, RuntimeError) as error:
        raise ConfigError(f"trainer: {error}") from error


def processes(arguments: dict[str, Any]) -> int:
    """How many processes the Trainer's `accelerator`, `devices` and `num_nodes` ask for, as Lightning
    counts them (`devices="auto"`: one CPU, or every GPU).

    >>> processes({'devices': 2, 'num_nodes': 2}), processes({'accelerator': 'cpu'}), processes({'devices': '0,1'})
    (4, 1, 2)
    """
    accelerator, devices = arguments.get("accelerator", "auto"), arguments.get("devices", "auto")
    gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if isinstance(devices, str) and devices.strip().lstrip("-").isdigit():
        devices = int(devices)
    if devices == "auto" or devices == -1:
        count = torch.cuda.device_count() if gpu else (1 if devices == "auto" else os.cpu_count() or 1)
    elif isinstance(devices, str):
        count = len([device for device in devices.split(",") if device.strip()])
    elif isinstance(devices, int):
        count = devices
    else:
        count = len(devices)
    return max(count, 1) * int(arguments.get("num_nodes", 1))


def score_test_split(trainer: L.Trainer, module: L.LightningModule, datamodule: Any, ckpt_path: str | None) -> dict:
    """The test metrics of `module` with the weights of `ckpt_path` (None: as they are), scored by
    `trainer` itself on one device; after a multi-process run, by a one-device trainer in this
    process with the same accelerator, precision and loggers (so the test set is neither padded nor
    split across processes, and no processes are started again). That trainer loads the weights
    only and runs on one device, so Lightning's warnings about the checkpoint's callbacks and about
    accumulating metrics across devices do not concern it."""
    tester = trainer
    if trainer.world_size > 1:
        if torch.distributed.is_initialized():  # rank 0 of ranks with processes of their own: the others are done
            torch.distributed.destroy_process_group()
        tester = L.Trainer(
            accelerator=trainer.accelerator,
            devices=1,
            precision=trainer.precision,
            logger=trainer.loggers or False,
            plugins=[AtomicCheckpointIO()],
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=trainer.default_root_dir,
        )
    with warnings.catch_warnings():
        if tester is not trainer:
            warnings.filterwarnings("ignore", ".*callbacks used to create the checkpoint need to be provided.*")
            warnings.filterwarnings("ignore", ".*sync_dist=True.*")  # one device: nothing to accumulate
        results = tester.test(module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False)
    return {name: float(value) for scores in results for name, value in scores.items()}
