"""Continuing a run from a checkpoint: what a resume can honour, and what it cannot.

A training checkpoint records the resolved config of the run that wrote it (`toolkit_config`). A
resume restores the weights, the optimizer's state (its learning rate among it), the LR schedule
and the loops, so the settings that shaped them cannot change on the way: the model and its
layers, the init, the optimizer, the schedule, the seed (which fixes the data split) and the data
set. Changing one of them is an error that names it; the rest (`trainer.max_epochs`, the loggers,
the callbacks, the loader's workers, ...) applies to the resumed run, and a cosine schedule that
follows `trainer.max_epochs` is stretched to a raised one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ..config.root import same_run
from ..errors import ConfigError

log = logging.getLogger("toolkit.training")

CONFIG_KEY = "toolkit_config"  # where a checkpoint records its run's config
DATA_KEY = "toolkit_data"  # and its data's class names, channels and statistics (what mode=predict needs)
# The settings a resume restores, and so cannot change.
RESTORED = ("model", "conv", "norm", "act", "init", "optim", "sched", "seed", "data")
# Settings of `data` that only change how the same data is loaded.
LOADING = ("num_workers", "pin_memory", "persistent_workers", "prefetch_factor", "root", "skip_unreadable")
# Optimizer settings that schedules add to a param group.
SCHEDULE_SET = ("initial_lr",)


def completed_epochs(checkpoint: Mapping[str, Any]) -> int:
    """How many epochs a Lightning checkpoint had finished when it was saved."""
    try:
        return int(checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])
    except (KeyError, TypeError):
        return int(checkpoint.get("epoch", -1)) + 1


def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as {dotted key: value}.

    >>> flat({'optim': {'lr': 0.1, 'betas': [0.9, 0.99]}, 'seed': 0})
    {'optim.lr': 0.1, 'optim.betas': [0.9, 0.99], 'seed': 0}
    """
    if not isinstance(tree, Mapping) or not tree:
        return {prefix.rstrip("."): tree}
    return {key: value for name, node in tree.items() for key, value in flat(node, f"{prefix}{name}.").items()}


def changed_settings(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The restored settings (`RESTORED`) in which `current` differs from `recorded`, as `key=value`; a
    group whose `_target_` or `type` changed as `group=NewName`. A key that only one side has (the schema
    of another toolkit version) is left out. A cosine schedule's `T_max` that follows `trainer.max_epochs`
    may change with it: the resumed schedule is stretched (`Classifier.on_train_start`).

    >>> changed_settings({'optim': {'lr': 0.1}, 'seed': 0, 'data': {'num_workers': 0}},
    ...                  {'optim': {'lr': 0.05}, 'seed': 0, 'data': {'num_workers': 4}})
    ['optim.lr=0.05']
    >>> changed_settings({'sched': {'_target_': 'torch.optim.lr_scheduler.CosineAnnealingLR', 'T_max': 3}},
    ...                  {'sched': {'_target_': 'torch.optim.lr_scheduler.StepLR', 'step_size': 2}})
    ['sched=StepLR']
    """
    changed = []
    for group in RESTORED:
        before, after = flat(recorded.get(group), f"{group}."), flat(current.get(group), f"{group}.")
        kind = next((f"{group}.{key}" for key in ("_target_", "type") if f"{group}.{key}" in before), None)
        if kind is not None and before.get(kind) != after.get(kind):
            changed.append(f"{group}={str(after.get(kind) or 'none').rsplit('.', 1)[-1]}")
            continue
        for key in sorted(before.keys() & after.keys()):  # a key on one side only: a schema of another version
            if (key.startswith("data.") and key.split(".")[1] in LOADING) or before.get(key) == after.get(key):
                continue
            value = after.get(key)
            if key == "data.seed" and value == current.get("seed"):
                continue  # it follows `seed`, reported on its own
            if (
                key == "sched.T_max"
                and follows_max_epochs(recorded, before.get(key))
                and follows_max_epochs(current, value)
            ):
                continue  # trainer.max_epochs raised: the resumed cosine schedule is stretched to it
            changed.append(f"{key}={value}")
    return changed


def follows_max_epochs(config: Mapping[str, Any], t_max: Any) -> bool:
    """Whether a cosine schedule's `T_max` is the run's `trainer.max_epochs` (as `sched=cosine` sets it)."""
    return t_max is not None and t_max == config.get("trainer", {}).get("max_epochs")


def check_resume(ckpt_path: str, checkpoint: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """Stop when a resume from `checkpoint` has nothing left to train, or would not honour a setting of
    `config` (the run's resolved config) that the checkpoint's state overrides."""
    recorded = checkpoint.get(CONFIG_KEY)
    if isinstance(recorded, Mapping):
        changed = changed_settings(recorded, config)
        if changed:
            raise ConfigError(
                f"ckpt_path={ckpt_path}: a resume restores the model, the optimizer and the schedule as they were, "
                f"so it cannot honour {', '.join(changed)} (the checkpoint was trained otherwise); resume with the "
                f"settings of the run, or start a new run from its weights: init=pretrained init.checkpoint={ckpt_path}"
            )
    max_epochs = config.get("trainer", {}).get("max_epochs")
    done = completed_epochs(checkpoint)
    if isinstance(max_epochs, int) and max_epochs >= 0 and done >= max_epochs:
        raise ConfigError(
            f"ckpt_path={ckpt_path} has already trained {done} epochs and trainer.max_epochs={max_epochs}: "
            f"nothing is left to train; raise trainer.max_epochs (e.g. trainer.max_epochs={done + max(1, max_epochs)})"
        )


def check_training_state(
    ckpt_path: str,
    checkpoint: Mapping[str, Any],
    net: torch.nn.Module,
    optimizer: Callable[[torch.nn.Module], torch.optim.Optimizer],
    has_schedule: bool,
) -> None:
    """Stop unless `checkpoint` holds a training state that fits this run: an optimizer state of the same
    optimizer, for parameters of the same shapes, and a schedule state exactly when the run has a schedule."""
    states = checkpoint.get("optimizer_states")
    if not states or "loops" not in checkpoint:
        raise ConfigError(
            f"ckpt_path={ckpt_path} holds weights only, no training state to resume: "
            f"start a new run from its weights with init=pretrained init.checkpoint={ckpt_path}"
        )
    if len(states) != 1:
        raise ConfigError(f"ckpt_path={ckpt_path} holds {len(states)} optimizer states; this run has one optimizer")
    trial = optimizer(net)
    shapes = [param.shape for group in trial.param_groups for param in group["params"]]
    mismatch = state_mismatch(states[0], trial.state_dict(), shapes)
    if mismatch:
        raise ConfigError(f"ckpt_path={ckpt_path}: its optimizer state does not fit this run: {mismatch}")
    schedules = len(checkpoint.get("lr_schedulers") or [])
    if schedules != int(has_schedule):
        ran = "an LR schedule" if schedules else "no LR schedule"
        raise ConfigError(
            f"ckpt_path={ckpt_path} was trained with {ran}, this run has {'one' if has_schedule else 'none'}: "
            "a resume cannot change the schedule (sched=)"
        )


def state_mismatch(saved: Mapping[str, Any], fresh: Mapping[str, Any], shapes: list[torch.Size]) -> str:
    """What does not fit between an optimizer's `saved` state dict and a `fresh` one of this run's
    optimizer over parameters of `shapes`; empty when it fits."""
    groups, fresh_groups = saved.get("param_groups") or [], fresh["param_groups"]
    if len(groups) != len(fresh_groups):
        return f"{len(groups)} parameter groups, this optimizer has {len(fresh_groups)}"
    for group, fresh_group in zip(groups, fresh_groups, strict=True):
        settings = set(group) - {"params", "param_names", *SCHEDULE_SET}
        expected = set(fresh_group) - {"params", "param_names"}
        if settings - expected and expected - settings:  # one side's extra keys alone: another torch version
            return f"it is another optimizer's (settings {', '.join(sorted(settings ^ expected))} differ)"
        if len(group["params"]) != len(fresh_group["params"]):
            return f"{len(group['params'])} parameters, this network has {len(fresh_group['params'])}"
    order = [index for group in groups for index in group["params"]]
    for position, index in enumerate(order):
        for name, value in (saved.get("state") or {}).get(index, {}).items():
            if isinstance(value, torch.Tensor) and value.ndim and value.shape != shapes[position]:
                shape, expected = tuple(value.shape), tuple(shapes[position])
                return f"{name} of parameter {position} has the shape {shape}, the parameter {expected}"
    return ""


def finished_run(folder: Path, overrides: Sequence[str]) -> dict[str, Any] | None:
    """The metrics of the run that already finished in `folder` with the same overrides, or None (a
    resumed sweep skips its finished jobs with them)."""
    metrics_file = folder / "metrics.json"
    if not metrics_file.is_file():
        return None
    metrics = json.loads(metrics_file.read_text())
    return metrics if same_run(metrics.get("overrides", []), overrides) else None


def last_checkpoint(folder: Path) -> str | None:
    """The checkpoint `resume=true` continues from: the run folder's `checkpoints/last.ckpt` (None: the
    run stopped before its first epoch ended, so it starts again, with a warning)."""
    last = folder / "checkpoints" / "last.ckpt"
    if last.is_file():
        return str(last)
    log.warning("resume=true: %s holds no checkpoints/last.ckpt yet, so the run starts from the beginning", folder)
    return None
