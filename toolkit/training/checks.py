"""The checks a run makes before it trains, so that bad input stops it in one line naming the key.

`check_config` runs on the composed config before any work; `check_before_training` on the built
network, two probed training samples and the optimizer, before the Trainer starts. Each check is a
small function; the checks that belong to a part of their own (labels, resume, the LR finder,
`_target_` nodes) live beside it and are called from here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sized
from pathlib import Path
from typing import Any, NamedTuple

import lightning as L
import torch
from omegaconf import OmegaConf
from torch.utils.data import IterableDataset, default_collate

from ..checkpoint import CheckpointError, CheckpointMismatchError, load_checkpoint
from ..config.bridge import OWN_KEYS, short_name
from ..config.root import Mode, TrainConfig, check_optimized_metric
from ..config.targets import check_target, check_targets
from ..errors import ConfigError
from .augment import check_augment
from .data import available_cores
from .export import check_exports, export_paths
from .lr_find import check_lr_find
from .module import check_labels
from .resume import CONFIG_KEY, changed_settings, check_resume, check_training_state

log = logging.getLogger("toolkit.training")
SAID_ELSEWHERE = {"init.checkpoint"}  # missing values with a message of their own (`init_cfg_of`)


class Probe(NamedTuple):
    """Two training images and their labels, read before training: they tell the model's input
    channels, test its output and have their labels checked."""

    images: torch.Tensor
    labels: torch.Tensor


def check_config(cfg: TrainConfig) -> None:
    """Stop before any work on values that the schemas cannot check."""
    check_modes(cfg)
    if not 0 <= cfg.seed < 2**32:  # TrainConfig makes seed and threads integers
        raise ConfigError(f"seed={cfg.seed}: must be an integer from 0 to 2**32 - 1")
    check_threads(cfg.threads)
    if cfg.mode == Mode.lr_find:
        check_lr_find(cfg.lr_find)
    check_exports(export_paths(cfg.export))
    check_optimized_metric(cfg.optimized_metric)
    check_augment(cfg.augment)
    check_target("model", cfg.model)
    check_target("data", cfg.data)
    check_targets("callbacks", cfg.callbacks)
    check_ema(cfg.callbacks)
    check_targets("logger", cfg.logger)
    check_missing_values(cfg)


def check_ema(callbacks: Any) -> None:
    """`callbacks.ema.decay` must lie strictly between 0 and 1 (1 would keep the first weights for ever)."""
    ema = (callbacks or {}).get("ema")
    if ema is not None and not 0 < ema.get("decay", 0.999) < 1:
        raise ConfigError(f"callbacks.ema.decay={ema.decay}: must lie strictly between 0 and 1")


def check_modes(cfg: TrainConfig) -> None:
    """`mode=eval` needs a checkpoint, `ckpt_path` must be a file, and a training run must train."""
    if cfg.mode == Mode.eval and not cfg.ckpt_path:
        raise ConfigError("mode=eval needs ckpt_path=<a checkpoint of this model>")
    if cfg.mode == Mode.predict and not (cfg.ckpt_path and cfg.predict.root):
        raise ConfigError(
            "mode=predict needs ckpt_path=<a checkpoint of a training run> and predict.root=<a folder of images>"
        )
    if cfg.mode == Mode.predict and not (cfg.predict.top_k >= 1 and cfg.predict.batch_size >= 1):
        raise ConfigError(
            f"predict.top_k={cfg.predict.top_k}, predict.batch_size={cfg.predict.batch_size}: both must be positive"
        )
    if cfg.ckpt_path and Path(cfg.ckpt_path).is_dir():
        raise ConfigError(f"ckpt_path={cfg.ckpt_path} is a directory; give a checkpoint file in it")
    if cfg.ckpt_path and not Path(cfg.ckpt_path).is_file():
        raise ConfigError(f"ckpt_path={cfg.ckpt_path}: no such file")
    if cfg.mode == Mode.train and cfg.trainer.get("max_epochs") == 0:
        raise ConfigError(
            "trainer.max_epochs=0 trains nothing, and the test split would score untrained weights: train at least "
            "one epoch, or score a checkpoint with mode=eval ckpt_path=..."
        )


def check_threads(threads: int | None) -> None:
    """`threads` must be within the cores this process may use."""
    if threads is not None and not 1 <= threads <= available_cores():
        raise ConfigError(
            f"threads={threads}: must be a positive integer up to the {available_cores()} cores this process "
            "may use (or null for torch's default)"
        )


def check_missing_values(cfg: TrainConfig) -> None:
    """Stop on a mandatory value (`???` in the config) that is not given, naming it (OmegaConf would raise
    a MissingMandatoryValue traceback when it is first read). `init.checkpoint` has its own message."""
    missing = sorted(set(OmegaConf.missing_keys(cfg)) - SAID_ELSEWHERE)
    if missing:
        given = " ".join(f"{key}=..." for key in missing)
        raise ConfigError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: give {given}")


def probe(datamodule: L.LightningDataModule, cfg: TrainConfig) -> Probe:
    """Two training samples, read from the loader's data set when it can be indexed (no worker processes
    are started for them), else from the first batch; under a forked random state, so the model's
    initial weights depend on the seed alone."""
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
    return Probe(images[:2], torch.as_tensor(labels)[:2])


def check_before_training(
    cfg: TrainConfig,
    net: torch.nn.Module,
    probed: Probe,
    num_classes: int | None,
    optimizer: Callable[..., Any],
    scheduler: Callable[..., Any] | None,
    config: dict[str, Any],
) -> int:
    """Every check on the built network before the Trainer starts: it takes the probed images and gives
    one output per class, the labels are class indices, the optimizer and schedule build and step, and
    a `ckpt_path` fits the network (and, to resume, the run). Returns the number of classes."""
    num_classes = check_forward(net, probed.images, num_classes, cfg)
    check_labels(probed.labels, num_classes, f"data={short_name(cfg.data)}", "its first training samples")
    check_optimization(optimizer, scheduler, cfg)
    if cfg.ckpt_path:
        checkpoint = load_weights(net, cfg.ckpt_path)
        if cfg.mode == Mode.train:
            check_resume(cfg.ckpt_path, checkpoint, config)
            check_training_state(cfg.ckpt_path, checkpoint, net, optimizer, scheduler is not None)
        else:
            warn_of_other_data(cfg.ckpt_path, checkpoint, config)
    return num_classes


def check_forward(net: torch.nn.Module, images: torch.Tensor, num_classes: int | None, cfg: TrainConfig) -> int:
    """Run the network on the probed images (eval mode, no gradients), so that a model and data that
    do not fit stop the run before training, naming both. Returns the number of outputs."""
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


def described(node: Any, group: str) -> str:
    """`group=ClassName(key=value, ...)` for a `_target_` node, for messages.

    >>> described({'_target_': 'torch.optim.SGD', '_partial_': True, 'lr': -1}, 'optim')
    'optim=SGD(lr=-1)'
    """
    arguments = ", ".join(
        f"{key}={value}" for key, value in node.items() if not key.startswith("_") and key not in OWN_KEYS
    )
    return f"{group}={short_name(node)}({arguments})"


def check_optimization(optimizer: Callable[..., Any], scheduler: Callable[..., Any] | None, cfg: TrainConfig) -> None:
    """Build the optimizer and the LR schedule on a stand-in parameter and step the schedule through the
    run's epochs, so that a bad `optim.*` or `sched.*` value stops the run before training, naming it."""
    stand_in = torch.nn.Linear(1, 1)
    try:
        trial = optimizer(stand_in)
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


def warn_of_other_data(ckpt_path: str, checkpoint: Any, config: dict[str, Any]) -> None:
    """Warn when `mode=eval` scores a checkpoint on data other than the data it was trained on."""
    recorded = checkpoint.get(CONFIG_KEY) if isinstance(checkpoint, dict) else None
    if isinstance(recorded, dict):
        changed = [key for key in changed_settings(recorded, config) if key.startswith("data")]
        if changed:
            log.warning("mode=eval: ckpt_path=%s was trained on other data (now %s)", ckpt_path, ", ".join(changed))
