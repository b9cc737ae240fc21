"""`run(cfg)`: train or evaluate the configured network, and write the run's outputs.

It reads as the steps it takes: check the config, build the data and the network, check them
together (`checks`), fit, score the test split, write the outputs (`outputs`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import OmegaConf

from ..config.bridge import build_model, initialize_model, optimizer_factories, short_name
from ..config.root import Mode, TrainConfig
from ..config.targets import build_target
from ..errors import OutputError, StoppedBySignal, with_context
from .augment import apply_recipe, batch_mixer
from .checks import check_before_training, check_config, probe
from .environment import environment
from .export import export_paths
from .loggers import log_hyperparameters, tracking_facts
from .lr_find import find_lr
from .module import Classifier, NonFiniteLossError
from .outputs import summary_line, write_init_report, write_lr_find, write_metrics, write_outputs
from .predict import data_facts, predict
from .resume import finished_run, last_checkpoint
from .trainer import make_trainer, score_test_split, tidy_logging


def run(
    cfg: TrainConfig, folder: Path | None = None, overrides: Sequence[str] = (), threads: int | None = None
) -> dict[str, Any]:
    """Train (`mode=train`, resuming from `ckpt_path` if given) or evaluate (`mode=eval`), then score
    the test split (with the best checkpoint, if one was kept); or find a learning rate (`mode=lr_find`).

    Writes metrics.json, init_report.txt, history.json, curves.png, confusion.png and checkpoints in
    `folder` (default: the working folder; it becomes `paths.output_dir`, where callbacks and loggers
    write), prints a one-line summary, and returns the metrics.

    Args:
        cfg: The composed config.
        folder: The run folder.
        overrides: The command line's overrides, recorded in metrics.json.
        threads: torch's thread count during the run (default `cfg.threads`).

    Returns:
        The final metrics (those of metrics.json).

    Raises:
        ConfigError: For bad input, before training.
        StoppedBySignal: When SIGTERM stopped training.
    """
    start = time.perf_counter()
    folder = Path.cwd() if folder is None else Path(folder)
    cfg.paths.output_dir = str(folder)
    if cfg.resume:
        finished = finished_run(folder, overrides)
        if finished is not None:
            print(f"already finished: {summary_line(finished, folder)}")
            return finished
        cfg.ckpt_path = cfg.ckpt_path or last_checkpoint(folder)
        if cfg.ckpt_path is None:  # an attempt that failed or died before its first checkpoint starts over
            for log_file in (folder / "logs" / "metrics.csv", folder / "history.json"):
                log_file.unlink(missing_ok=True)
    check_config(cfg)
    tidy_logging()
    with torch_threads(cfg.threads if threads is None else threads), checkpoint_cache_at(cfg.paths.toolkit_home):
        if cfg.mode == Mode.predict:
            return write_predictions(cfg, folder, overrides)
        return train_and_test(cfg, folder, overrides, start)


def train_and_test(cfg: TrainConfig, folder: Path, overrides: Sequence[str], start: float) -> dict[str, Any]:
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    data_name = f"data={short_name(cfg.data)}"
    datamodule = build_target("data", cfg.data, L.LightningDataModule)
    apply_recipe(cfg.augment, datamodule, data_name)
    config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    datamodule.prepare_data()
    datamodule.setup("fit")
    probed, data_classes = probe(datamodule, cfg), getattr(datamodule, "num_classes", None)
    net = build_model(cfg, data_classes, int(probed.images.shape[1]))
    note = f"weights then restored from ckpt_path={cfg.ckpt_path}" if cfg.ckpt_path else ""
    write_init_report(folder / "init_report.txt", initialize_model(net, cfg), note)
    optimizer, scheduler = optimizer_factories(cfg)
    num_classes = check_before_training(cfg, net, probed, data_classes, optimizer, scheduler, config)
    speed_up(net, cfg)
    module = Classifier(
        net,
        num_classes,
        optimizer,
        scheduler,
        channels_last=cfg.channels_last,
        config=config,
        data_name=data_name,
        mixing=batch_mixer(cfg.augment.mixup_alpha, cfg.augment.cutmix_alpha, num_classes, cfg.seed),
        label_smoothing=cfg.augment.label_smoothing,
        data_facts=data_facts(datamodule, num_classes, int(probed.images.shape[1])),
    )
    trainer = make_trainer(cfg, folder)
    facts = environment(trainer.world_size)
    log_hyperparameters(trainer.loggers, {**config, "environment": facts})
    if cfg.mode == Mode.lr_find:
        found = find_lr(trainer, module, datamodule, cfg.lr_find, folder)
        return write_lr_find(folder, found, {"overrides": list(overrides), "config": config, "environment": facts})
    tested_with = fit(cfg, trainer, module, datamodule, folder)
    metrics = final_metrics(trainer)
    if trainer.global_rank > 0:  # a rank with a process of its own (trainer.strategy=ddp, several nodes):
        return metrics  # rank 0 scores the test split and writes the outputs
    metrics.update(score_test_split(trainer, module, datamodule, tested_with), **module.test_report)
    metrics.update(
        mode=Mode(cfg.mode).value,
        tested_with=tested_with or "the final weights",
        num_classes=num_classes,
        wall_time_s=time.perf_counter() - start,
        parameters=sum(p.numel() for p in net.parameters()),
        torch_threads=torch.get_num_threads(),
        overrides=list(overrides),
        tags=list(cfg.tags),
        config=config,
        environment=facts,
        **tracking_facts(trainer.loggers),
    )
    write_outputs(folder, metrics, net, module.test_report, export_paths(cfg.export), probed.images)
    return metrics


def write_predictions(cfg: TrainConfig, folder: Path, overrides: Sequence[str]) -> dict[str, Any]:
    """`mode=predict`: predictions.csv, and metrics.json saying what was predicted with what."""
    result = {**predict(cfg, folder), "overrides": list(overrides)}
    write_metrics(folder / "metrics.json", result)
    return result


def fit(
    cfg: TrainConfig, trainer: L.Trainer, module: Classifier, datamodule: L.LightningDataModule, folder: Path
) -> str | None:
    """Train (or, with `mode=eval`, validate); returns the checkpoint to test with (None: the weights as
    they are). A NaN loss, a full disk or SIGTERM stop it naming the last good checkpoint."""
    if cfg.mode == Mode.eval:
        trainer.validate(module, datamodule=datamodule, verbose=False)
        return None
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    except (NonFiniteLossError, OutputError) as error:  # a NaN loss, or a checkpoint that a full disk refused
        with_context(error, "training stopped: ", f"; {kept_checkpoint(folder)}")
        raise
    except SIGTERMException as error:  # Lightning ends fit quietly (exit status 0) on SIGTERM
        raise stopped_by(signal.SIGTERM, trainer, folder) from error
    except SystemExit as error:  # Lightning's answer to Ctrl-C: a graceful stop, then sys.exit(1)
        if not isinstance(error.__context__, KeyboardInterrupt):  # another exit: submitit's after a requeue
            raise
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Lightning ignores any further Ctrl-C
        raise stopped_by(signal.SIGINT, trainer, folder) from error
    report_early_stop(trainer)
    return best_checkpoint(trainer)


def stopped_by(number: signal.Signals, trainer: L.Trainer, folder: Path) -> StoppedBySignal:
    """The one line a run stopped by SIGTERM (a preemption, scancel, kill) or SIGINT (Ctrl-C) ends with: the
    epochs its last.ckpt holds and the command that continues it; exit status 128 + the signal's number."""
    done = trainer.current_epoch  # the epoch in progress, counted from 0: as many have finished
    kept = f"after epoch {done}" if (folder / "checkpoints" / "last.ckpt").is_file() else "before its first checkpoint"
    return StoppedBySignal(
        f"stopped by {number.name} {kept}; resume with: python train.py hydra.run.dir={folder} resume=true",
        128 + number,
    )


def final_metrics(trainer: L.Trainer) -> dict[str, Any]:
    metrics: dict[str, Any] = {name: float(value) for name, value in trainer.callback_metrics.items()}
    if "epochs" in metrics:
        metrics["epochs"] = int(metrics["epochs"])
    return metrics


def best_checkpoint(trainer: L.Trainer) -> str | None:
    """The best checkpoint of the first monitored ModelCheckpoint, or None (then: the final weights)."""
    for callback in trainer.checkpoint_callbacks:
        if callback.monitor and callback.best_model_path:
            return callback.best_model_path
    return None


def report_early_stop(trainer: L.Trainer) -> None:
    """Say so when an early-stopping callback ended training before `trainer.max_epochs`."""
    for callback in trainer.early_stopping_callbacks:
        if callback.stopped_epoch:
            print(
                f"early stopping: {callback.monitor} did not improve for {callback.patience} "
                f"epoch{'s' if callback.patience != 1 else ''}; "
                f"training stopped after epoch {callback.stopped_epoch + 1} of {trainer.max_epochs}"
            )


def kept_checkpoint(folder: Path) -> str:
    """What a run stopped during training keeps: its last good checkpoint, if it wrote one."""
    last = folder / "checkpoints" / "last.ckpt"
    return f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint was written yet"


def speed_up(net: torch.nn.Module, cfg: TrainConfig) -> None:
    """`channels_last=true`: the network's weights in channels-last format; `compile=true`: compile
    its forward in place (its parameter names, and so checkpoints, stay the same), as one graph
    (`fullgraph`) for toolkit's own models, whose bricks compile without graph breaks."""
    if cfg.channels_last:
        net.to(memory_format=torch.channels_last)
    if cfg.compile:
        net.compile(backend=cfg.compile_backend, fullgraph=type(net).__module__.startswith("toolkit."))


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's thread count set to `threads` (None: left as it is) inside the block, then restored."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def checkpoint_cache_at(path: str) -> Iterator[None]:
    """The checkpoint cache (`$TOOLKIT_HOME`) set to `path` (`paths.toolkit_home`) inside the block."""
    before = os.environ.get("TOOLKIT_HOME")
    os.environ["TOOLKIT_HOME"] = str(Path(path).expanduser())
    try:
        yield
    finally:
        if before is None:
            del os.environ["TOOLKIT_HOME"]
        else:
            os.environ["TOOLKIT_HOME"] = before
