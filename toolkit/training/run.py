"""`run(cfg)`: train or evaluate the configured network, and write the run's outputs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import OmegaConf

from ..checkpoint import CheckpointError, load_checkpoint
from ..config.bridge import ConfigError, build_model, optimizer_factories
from ..config.job import output_dir, overrides, thread_count
from .data import build_datamodule
from .module import Classifier, NonFiniteLossError
from .outputs import plot_curves, summary_line, write_init_report, write_metrics
from .trainer import LOGGERS, make_trainer, tidy_logging

log = logging.getLogger("toolkit.training")
MODES = ("train", "eval")


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
    threads = thread_count(cfg)
    if threads:
        torch.set_num_threads(threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg.data)
    if cfg.data.num_classes is None:
        cfg.data.num_classes = datamodule.num_classes
    net = build_model(cfg)
    note = f"weights then restored from ckpt_path={cfg.ckpt_path}" if cfg.ckpt_path else ""
    write_init_report(folder / "init_report.txt", net.init_report(), note)
    if cfg.ckpt_path:
        load_weights(net, cfg.ckpt_path)
    optimizer, scheduler = optimizer_factories(cfg)
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
