"""`run(cfg)`: train or evaluate the configured network, and write the run's outputs."""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger
from omegaconf import OmegaConf

from ..checkpoint import CheckpointError, load_checkpoint
from ..config.bridge import ConfigError, build_model, to_builder_cfg
from .checkpoint_io import AtomicCheckpointIO
from .data import build_datamodule
from .ddp import strategy_for
from .module import Classifier, NonFiniteLossError
from .outputs import plot_curves, summary_line, write_init_report, write_metrics
from .sync_bn import ToolkitSyncBatchNorm

log = logging.getLogger("toolkit.training")
MODES = ("train", "eval")
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


def output_dir() -> Path:
    """The Hydra run folder (the working folder outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else Path.cwd()


def set_threads(cfg: Any) -> None:
    """`threads=N` sets torch's threads; under a parallel launcher (joblib's n_jobs), jobs share the cores."""
    from hydra.core.hydra_config import HydraConfig

    threads = cfg.threads
    if threads is None and HydraConfig.initialized():
        jobs = HydraConfig.get().launcher.get("n_jobs")
        cores = os.cpu_count() or 1
        threads = max(1, cores // (cores if jobs == -1 else jobs)) if jobs else None
    if threads:
        torch.set_num_threads(threads)


def overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def check_choices(cfg: Any) -> None:
    """Stop before any work on values that the schemas cannot check."""
    if cfg.mode not in MODES:
        raise ConfigError(f"mode={cfg.mode} is not one of {MODES}")
    if cfg.logger not in LOGGERS:
        raise ConfigError(f"logger={cfg.logger} is not one of {LOGGERS}")
    if cfg.mode == "eval" and not cfg.ckpt_path:
        raise ConfigError("mode=eval needs ckpt_path=<a checkpoint of this model>")
    if cfg.ckpt_path and not Path(cfg.ckpt_path).is_file():
        raise ConfigError(f"ckpt_path={cfg.ckpt_path}: no such file")


def load_weights(net: torch.nn.Module, ckpt_path: str) -> None:
    """Load a checkpoint's weights strictly; one of another model stops the run naming the file."""
    try:
        load_checkpoint(net, ckpt_path, strict=True, logger="silent")
    except CheckpointError as error:
        raise ConfigError(f"ckpt_path={ckpt_path} does not belong to this model: {error}") from error


def make_loggers(cfg: Any, folder: Path) -> list[Any]:
    loggers: list[Any] = [CSVLogger(folder, name="logs", version="")]
    if cfg.logger == "tensorboard":
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(folder, name="tensorboard", version=""))
    return loggers


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
    callbacks: list[Any] = [checkpoints]
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


def final_metrics(trainer: L.Trainer) -> dict[str, Any]:
    metrics: dict[str, Any] = {name: float(value) for name, value in trainer.callback_metrics.items()}
    if "epochs" in metrics:
        metrics["epochs"] = int(metrics["epochs"])
    return metrics


def run(cfg: Any) -> float:
    """Train (`mode=train`, resuming from `ckpt_path` if given) or evaluate (`mode=eval`).

    Writes metrics.json, init_report.txt, curves.png and checkpoints in the output folder, prints
    a one-line summary, and returns the final val_acc.
    """
    start = time.perf_counter()
    check_choices(cfg)
    folder = output_dir()
    tidy_logging()
    set_threads(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg.data)
    if cfg.data.num_classes is None:
        cfg.data.num_classes = datamodule.num_classes
    net = build_model(cfg)
    note = f"weights then restored from ckpt_path={cfg.ckpt_path}" if cfg.ckpt_path else ""
    write_init_report(folder / "init_report.txt", net.init_report(), note)
    if cfg.ckpt_path:
        load_weights(net, cfg.ckpt_path)
    optimizer = instantiate(cfg.optim)
    scheduler = instantiate(cfg.sched) if cfg.sched.get("_target_") else None
    module = Classifier(net, datamodule.num_classes, optimizer, scheduler)
    trainer = make_trainer(cfg, folder)
    if cfg.mode == "eval":
        trainer.validate(module, datamodule=datamodule, verbose=False)
    else:
        try:
            trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
        except NonFiniteLossError as error:
            last = folder / "checkpoints" / "last.ckpt"
            kept = f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint was written yet"
            raise NonFiniteLossError(f"training stopped: {error}; {kept}") from error
    metrics = final_metrics(trainer)
    metrics.update(
        mode=cfg.mode,
        wall_time_s=time.perf_counter() - start,
        parameters=sum(p.numel() for p in net.parameters()),
        torch_threads=torch.get_num_threads(),
        overrides=overrides(),
        config=OmegaConf.to_container(cfg, resolve=True),
    )
    write_metrics(folder / "metrics.json", metrics)
    if (folder / "logs" / "metrics.csv").is_file():
        plot_curves(folder / "logs" / "metrics.csv", folder / "curves.png")
    if cfg.export:
        export_weights(net, Path(cfg.export))
    print(summary_line(metrics, folder))
    return metrics.get("val_acc", float("nan"))


def export_weights(net: torch.nn.Module, path: Path) -> None:
    """Save the bare network's weights as .safetensors (loadable with `load_checkpoint`)."""
    from safetensors.torch import save_file

    if path.suffix != ".safetensors":
        raise ConfigError(f"export={path}: the file name must end in .safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({name: tensor.contiguous() for name, tensor in net.state_dict().items()}, str(path))
    log.info("exported the network's weights to %s", path)
