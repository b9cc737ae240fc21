"""`run(cfg)`: train or evaluate the configured network, and write the run's outputs."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import OmegaConf

from ..checkpoint import CheckpointError, CheckpointMismatchError, load_checkpoint
from ..config.bridge import build_model, optimizer_factories
from ..config.root import Mode, TrainConfig
from ..errors import ConfigError
from ..files import atomic_file
from .data import build_datamodule
from .module import Classifier, NonFiniteLossError
from .outputs import plot_curves, summary_line, write_init_report, write_metrics
from .trainer import check_logger, make_trainer, tidy_logging

log = logging.getLogger("toolkit.training")


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
    if cfg.threads is not None and cfg.threads < 1:
        raise ConfigError(f"threads={cfg.threads}: must be a positive integer (or null for torch's default)")
    if cfg.export:
        check_export_path(Path(cfg.export))
    check_logger(cfg.logger)


def check_export_path(path: Path) -> None:
    """Stop before training unless `export=` names a .safetensors file that can be written."""
    if path.suffix != ".safetensors":
        raise ConfigError(f"export={path}: the file name must end in .safetensors")
    if path.is_dir():
        raise ConfigError(f"export={path} is a directory")
    existing = next(parent for parent in [path.parent.absolute(), *path.parent.absolute().parents] if parent.exists())
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ConfigError(f"export={path}: cannot write there ({existing}: {error.strerror or error})") from None


def load_weights(net: torch.nn.Module, ckpt_path: str) -> Any:
    """Load a checkpoint's weights strictly and return it; one of another model stops the run naming the file."""
    try:
        return load_checkpoint(net, ckpt_path, strict=True, logger="silent")
    except CheckpointMismatchError as error:
        raise ConfigError(f"ckpt_path={ckpt_path} does not belong to this model: {error}") from error
    except CheckpointError as error:
        raise ConfigError(f"ckpt_path={ckpt_path}: {error}") from error


def completed_epochs(checkpoint: Any) -> int:
    """How many epochs a Lightning checkpoint had finished when it was saved."""
    try:
        return int(checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])
    except (KeyError, TypeError):
        return int(checkpoint.get("epoch", -1)) + 1


def check_resume(cfg: TrainConfig, checkpoint: Any) -> None:
    """Stop when a resumed run has nothing left to train."""
    max_epochs = cfg.trainer.get("max_epochs")
    done = completed_epochs(checkpoint)
    if isinstance(max_epochs, int) and max_epochs >= 0 and done >= max_epochs:
        raise ConfigError(
            f"ckpt_path={cfg.ckpt_path} has already trained {done} epochs and trainer.max_epochs={max_epochs}: "
            f"nothing is left to train; raise trainer.max_epochs (e.g. trainer.max_epochs={done + max(1, max_epochs)})"
        )


def described(node: Any, group: str) -> str:
    """`group=ClassName(key=value, ...)` for a `_target_` node, for messages.

    >>> described({'_target_': 'torch.optim.SGD', '_partial_': True, 'lr': -1}, 'optim')
    'optim=SGD(lr=-1)'
    """
    arguments = ", ".join(f"{key}={value}" for key, value in node.items() if not key.startswith("_"))
    return f"{group}={str(node['_target_']).rsplit('.', 1)[-1]}({arguments})"


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
        for _ in range(min(epochs if isinstance(epochs, int) and epochs > 0 else 1, 10_000)):
            trial.step()
            schedule.step()
    except (ValueError, TypeError, ZeroDivisionError) as error:
        raise ConfigError(f"{described(cfg.sched, 'sched')}: {type(error).__name__}: {error}") from error


def check_forward(net: torch.nn.Module, datamodule: Any, cfg: TrainConfig) -> None:
    """Run the network on two training samples (eval mode, no gradients), so that a model and data
    that do not fit stop the run before training, naming both."""
    images = torch.stack([datamodule.train_set[i][0] for i in range(min(2, len(datamodule.train_set)))])
    net.eval()
    try:
        with torch.no_grad():
            logits = net(images)
    except (RuntimeError, ValueError, IndexError) as error:
        raise ConfigError(
            f"model={cfg.model.type} cannot take the images of data={cfg.data.type} "
            f"(shape {tuple(images.shape[1:])}): {error}"
        ) from error
    finally:
        net.train()
    if logits.shape[-1] != datamodule.num_classes:
        raise ConfigError(
            f"model={cfg.model.type} gives {logits.shape[-1]} outputs, data={cfg.data.type} has "
            f"{datamodule.num_classes} classes"
        )


def final_metrics(trainer: L.Trainer) -> dict[str, Any]:
    metrics: dict[str, Any] = {name: float(value) for name, value in trainer.callback_metrics.items()}
    if "epochs" in metrics:
        metrics["epochs"] = int(metrics["epochs"])
    return metrics


def run(
    cfg: TrainConfig, folder: Path | None = None, overrides: Sequence[str] = (), threads: int | None = None
) -> float:
    """Train (`mode=train`, resuming from `ckpt_path` if given) or evaluate (`mode=eval`).

    Writes metrics.json, init_report.txt, curves.png and checkpoints in `folder` (default: the
    working folder), prints a one-line summary, and returns the final val_acc. `overrides` are
    recorded in metrics.json; `threads` (default `cfg.threads`) sets torch's thread count.
    """
    start = time.perf_counter()
    check_choices(cfg)
    folder = Path.cwd() if folder is None else Path(folder)
    tidy_logging()
    threads = cfg.threads if threads is None else threads
    if threads:
        torch.set_num_threads(threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg.data)
    if cfg.data.num_classes is None:
        cfg.data.num_classes = datamodule.num_classes
    net = build_model(cfg)
    note = f"weights then restored from ckpt_path={cfg.ckpt_path}" if cfg.ckpt_path else ""
    write_init_report(folder / "init_report.txt", net.init_report(), note)
    check_forward(net, datamodule, cfg)
    if cfg.ckpt_path:
        checkpoint = load_weights(net, cfg.ckpt_path)
        if cfg.mode == Mode.train:
            check_resume(cfg, checkpoint)
    optimizer, scheduler = optimizer_factories(cfg)
    check_optimization(optimizer, scheduler, cfg)
    module = Classifier(net, datamodule.num_classes, optimizer, scheduler)
    trainer = make_trainer(cfg, folder)
    if cfg.mode == Mode.eval:
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
        mode=Mode(cfg.mode).value,
        wall_time_s=time.perf_counter() - start,
        parameters=sum(p.numel() for p in net.parameters()),
        torch_threads=torch.get_num_threads(),
        overrides=list(overrides),
        config=OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
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
    from safetensors.torch import save

    with atomic_file(path) as file:
        file.write(save({name: tensor.contiguous() for name, tensor in net.state_dict().items()}))
    log.info("exported the network's weights to %s", path)
