"""`run(cfg)`: train or evaluate the configured network, and write the run's outputs."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import time
from collections.abc import Iterator, Sequence, Sized
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import OmegaConf
from torch.utils.data import IterableDataset, default_collate

from ..checkpoint import CheckpointError, CheckpointMismatchError, load_checkpoint
from ..config.bridge import build_model, initialize_model, optimizer_factories, short_name
from ..config.root import Mode, TrainConfig, check_optimized_metric
from ..config.targets import build_target, check_target, check_targets
from ..errors import ConfigError, OutputError, StoppedBySignal
from ..files import atomic_file, existing_parent
from .data import available_cores
from .environment import environment
from .loggers import log_hyperparameters, tracking_facts
from .lr_find import check_lr_find, find_lr
from .module import Classifier, NonFiniteLossError, check_labels
from .outputs import plot_confusion, plot_curves, summary_line, write_init_report, write_metrics
from .resume import CONFIG_KEY, changed_settings, check_resume, check_training_state, finished_run, last_checkpoint
from .trainer import make_trainer, score_test_split, tidy_logging

log = logging.getLogger("toolkit.training")
SAID_ELSEWHERE = {"init.checkpoint"}  # missing values with a message of their own (`init_cfg_of`)


def check_choices(cfg: TrainConfig) -> None:
    """Stop before any work on values that the schemas cannot check."""
    if cfg.mode == Mode.eval and not cfg.ckpt_path:
        raise ConfigError("mode=eval needs ckpt_path=<a checkpoint of this model>")
    if cfg.ckpt_path and Path(cfg.ckpt_path).is_dir():
        raise ConfigError(f"ckpt_path={cfg.ckpt_path} is a directory; give a checkpoint file in it")
    if cfg.ckpt_path and not Path(cfg.ckpt_path).is_file():
        raise ConfigError(f"ckpt_path={cfg.ckpt_path}: no such file")
    if not 0 <= cfg.seed < 2**32:  # TrainConfig makes seed and threads integers
        raise ConfigError(f"seed={cfg.seed}: must be an integer from 0 to 2**32 - 1")
    if cfg.threads is not None and not 1 <= cfg.threads <= available_cores():
        raise ConfigError(
            f"threads={cfg.threads}: must be a positive integer up to the {available_cores()} cores this process "
            "may use (or null for torch's default)"
        )
    if cfg.mode == Mode.train and cfg.trainer.get("max_epochs") == 0:
        raise ConfigError(
            "trainer.max_epochs=0 trains nothing, and the test split would score untrained weights: train at least "
            "one epoch, or score a checkpoint with mode=eval ckpt_path=..."
        )
    if cfg.mode == Mode.lr_find:
        check_lr_find(cfg.lr_find)
    if cfg.export:
        check_export_path(Path(cfg.export))
    check_optimized_metric(cfg.optimized_metric)
    check_target("model", cfg.model)
    check_target("data", cfg.data)
    check_targets("callbacks", cfg.callbacks)
    check_targets("logger", cfg.logger)
    check_missing_values(cfg)


def check_missing_values(cfg: TrainConfig) -> None:
    """Stop on a mandatory value (`???` in the config) that is not given, naming it (OmegaConf would raise
    a MissingMandatoryValue traceback when it is first read). `init.checkpoint` has its own message."""
    missing = sorted(set(OmegaConf.missing_keys(cfg)) - SAID_ELSEWHERE)
    if missing:
        given = " ".join(f"{key}=..." for key in missing)
        raise ConfigError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: give {given}")


def check_export_path(path: Path) -> None:
    """Stop before training unless `export=` names a .safetensors file that can be written."""
    if path.suffix != ".safetensors":
        raise ConfigError(f"export={path}: the file name must end in .safetensors")
    if path.is_dir():
        raise ConfigError(f"export={path} is a directory")
    existing = existing_parent(path.parent.absolute())
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ConfigError(f"export={path}: cannot write there ({existing}: {error.strerror or error})") from None


def load_weights(net: torch.nn.Module, ckpt_path: str) -> Any:
    """Load a checkpoint's weights strictly and return it; one of another model, or with weights that
    are NaN or infinite, stops the run naming the file."""
    try:
        checkpoint = load_checkpoint(net, ckpt_path, strict=True, logger="silent")
    except CheckpointMismatchError as error:
        raise ConfigError(f"ckpt_path={ckpt_path} does not belong to this model: {error}") from error
    except CheckpointError as error:
        raise ConfigError(f"ckpt_path={ckpt_path}: {error}") from error
    for name, tensor in net.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ConfigError(f"ckpt_path={ckpt_path} holds weights that are not finite (NaN or infinite) in {name}")
    return checkpoint


def described(node: Any, group: str) -> str:
    """`group=ClassName(key=value, ...)` for a `_target_` node, for messages.

    >>> described({'_target_': 'torch.optim.SGD', '_partial_': True, 'lr': -1}, 'optim')
    'optim=SGD(lr=-1)'
    """
    arguments = ", ".join(f"{key}={value}" for key, value in node.items() if not key.startswith("_"))
    return f"{group}={short_name(node)}({arguments})"


def check_optimization(optimizer: Any, scheduler: Any, cfg: TrainConfig) -> None:
    """Build the optimizer and the LR schedule on a stand-in parameter and step the schedule through the
    run's epochs, so that a bad `optim.*` or `sched.*` value stops the run before training, naming it."""
    stand_in = torch.nn.Parameter(torch.zeros(1))
    try:
        trial = optimizer([stand_in])
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{described(cfg.optim, 'optim')}: {error}") from error
    if scheduler is None:
        return
    epochs = cfg.trainer.get("max_epochs")
    try:
        schedule = scheduler(trial)
        for _ in range(min(epochs if isinstance(epochs, int) and epochs >= 0 else 1, 10_000)):  # as in the run
            trial.step()
            schedule.step()
    except (ValueError, TypeError, ZeroDivisionError) as error:
        raise ConfigError(f"{described(cfg.sched, 'sched')}: {type(error).__name__}: {error}") from error


def build_datamodule(cfg: TrainConfig) -> L.LightningDataModule:
    """The data module of `cfg.data`, set up for fitting."""
    datamodule = build_target("data", cfg.data, L.LightningDataModule)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def first_samples(datamodule: L.LightningDataModule, cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Two training images and their labels: they tell the model's input channels and test its output,
    and the labels are checked. Read from the loader's data set when it can be indexed (no worker
    processes are started for them), else from the first batch; under a forked random state, so the
    model's initial weights depend on the seed alone."""
    loader = datamodule.train_dataloader()
    dataset = getattr(loader, "dataset", None)
    with torch.random.fork_rng():
        if isinstance(dataset, Sized) and not isinstance(dataset, IterableDataset):
            samples = [dataset[index] for index in range(min(2, len(dataset)))]
            batch = default_collate(samples) if samples else None
        else:
            batch = next(iter(loader), None)
    if batch is None:
        raise ConfigError(f"data={short_name(cfg.data)} has no training batch")
    images, labels = batch[0], batch[1]
    return images[:2], torch.as_tensor(labels)[:2]


def check_forward(net: torch.nn.Module, images: torch.Tensor, num_classes: int | None, cfg: TrainConfig) -> int:
    """Run the network on two training images (eval mode, no gradients), so that a model and data
    that do not fit stop the run before training, naming both. Returns the number of outputs."""
    model, data = short_name(cfg.model), short_name(cfg.data)
    net.eval()
    try:
        with torch.no_grad():
            logits = net(images)
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        raise ConfigError(
            f"model={model} cannot take the images of data={data} (shape {tuple(images.shape[1:])}): {error}"
        ) from error
    finally:
        net.train()
    if logits.ndim != 2 or (num_classes is not None and logits.shape[-1] != num_classes):
        raise ConfigError(
            f"model={model} gives outputs of shape {tuple(logits.shape[1:])}, data={data} has {num_classes} classes"
        )
    return int(logits.shape[-1])


def warn_of_other_data(ckpt_path: str, checkpoint: Any, config: dict[str, Any]) -> None:
    """Warn when `mode=eval` scores a checkpoint on data other than the data it was trained on."""
    recorded = checkpoint.get(CONFIG_KEY) if isinstance(checkpoint, dict) else None
    if isinstance(recorded, dict):
        changed = [key for key in changed_settings(recorded, config) if key.startswith("data")]
        if changed:
            log.warning("mode=eval: ckpt_path=%s was trained on other data (now %s)", ckpt_path, ", ".join(changed))


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
def toolkit_home(path: str) -> Iterator[None]:
    """`$TOOLKIT_HOME` set to `path` (`paths.toolkit_home`) inside the block."""
    before = os.environ.get("TOOLKIT_HOME")
    os.environ["TOOLKIT_HOME"] = str(Path(path).expanduser())
    try:
        yield
    finally:
        if before is None:
            del os.environ["TOOLKIT_HOME"]
        else:
            os.environ["TOOLKIT_HOME"] = before


def run(
    cfg: TrainConfig, folder: Path | None = None, overrides: Sequence[str] = (), threads: int | None = None
) -> dict[str, Any]:
    """Train (`mode=train`, resuming from `ckpt_path` if given) or evaluate (`mode=eval`), then score
    the test split (with the best checkpoint, if one was kept).

    Writes metrics.json, init_report.txt, curves.png and checkpoints in `folder` (default: the
    working folder; it becomes `paths.output_dir`, where callbacks and loggers write), prints a
    one-line summary, and returns the metrics. `overrides` are recorded in metrics.json; `threads`
    (default `cfg.threads`) is torch's thread count during the run.
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
            (folder / "logs" / "metrics.csv").unlink(missing_ok=True)
    check_choices(cfg)
    tidy_logging()
    threads = cfg.threads if threads is None else threads
    with torch_threads(threads), toolkit_home(cfg.paths.toolkit_home):
        return train_and_test(cfg, folder, overrides, start)


def train_and_test(cfg: TrainConfig, folder: Path, overrides: Sequence[str], start: float) -> dict[str, Any]:
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    datamodule = build_datamodule(cfg)
    images, labels = first_samples(datamodule, cfg)
    num_classes = getattr(datamodule, "num_classes", None)
    net = build_model(cfg, num_classes, int(images.shape[1]))
    note = f"weights then restored from ckpt_path={cfg.ckpt_path}" if cfg.ckpt_path else ""
    write_init_report(folder / "init_report.txt", initialize_model(net, cfg), note)
    num_classes = check_forward(net, images, num_classes, cfg)
    data_name = f"data={short_name(cfg.data)}"
    check_labels(labels, num_classes, data_name, "its first training samples")
    optimizer, scheduler = optimizer_factories(cfg)
    check_optimization(optimizer, scheduler, cfg)
    if cfg.ckpt_path:
        checkpoint = load_weights(net, cfg.ckpt_path)
        if cfg.mode == Mode.train:
            check_resume(cfg.ckpt_path, checkpoint, config)
            check_training_state(cfg.ckpt_path, checkpoint, net, optimizer, scheduler is not None)
        else:
            warn_of_other_data(cfg.ckpt_path, checkpoint, config)
    speed_up(net, cfg)
    module = Classifier(
        net, num_classes, optimizer, scheduler, channels_last=cfg.channels_last, config=config, data_name=data_name
    )
    trainer = make_trainer(cfg, folder)
    facts = environment(trainer.world_size)
    log_hyperparameters(trainer.loggers, {**config, "environment": facts})
    if cfg.mode == Mode.lr_find:
        found = find_lr(trainer, module, datamodule, cfg.lr_find, folder)
        recorded = {"mode": "lr_find", "overrides": list(overrides), "config": config, "environment": facts}
        write_metrics(folder / "metrics.json", {**found, **recorded})
        shown = f"optim.lr={found['suggested_lr']:.3g}" if found["suggested_lr"] else "none (the loss did not fall)"
        print(f"suggested learning rate: {shown} -> {folder / 'lr_find.png'}")
        return found
    if cfg.mode == Mode.eval:
        trainer.validate(module, datamodule=datamodule, verbose=False)
        tested_with = None
    else:
        try:
            trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
        except (NonFiniteLossError, OutputError) as error:  # a NaN loss, or a checkpoint that a full disk refused
            raise type(error)(f"training stopped: {error}; {kept_checkpoint(folder)}") from error
        except SIGTERMException as error:  # Lightning ends fit quietly (exit status 0) on SIGTERM
            raise StoppedBySignal(
                f"training stopped by SIGTERM (a preemption, scancel or kill) in epoch {trainer.current_epoch + 1}; "
                f"{kept_checkpoint(folder)}: continue it with resume=true hydra.run.dir={folder}",
                128 + signal.SIGTERM,
            ) from error
        tested_with = best_checkpoint(trainer)
        report_early_stop(trainer)
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
    write_metrics(folder / "metrics.json", metrics)
    if (folder / "logs" / "metrics.csv").is_file():
        plot_curves(folder / "logs" / "metrics.csv", folder / "curves.png")
    if module.test_report:
        plot_confusion(module.test_report["test_confusion"], folder / "confusion.png")
    if cfg.export:
        export_weights(net, Path(cfg.export))
    print(summary_line(metrics, folder))
    return metrics


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


def export_weights(net: torch.nn.Module, path: Path) -> None:
    """Save the bare network's weights as .safetensors (loadable with `load_checkpoint`)."""
    from safetensors.torch import save

    with atomic_file(path) as file:
        file.write(save({name: tensor.contiguous() for name, tensor in net.state_dict().items()}))
    log.info("exported the network's weights to %s", path)
