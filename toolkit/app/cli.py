"""The command line: Hydra composes `pkg://toolkit.conf` with the overrides, then `task` runs it.

Only Hydra and the config schemas are imported up front; torch and Lightning load when a run
starts, so `--help` and `--cfg job` answer at once.

Bad input (a config that cannot be built, a checkpoint that cannot be read, a loss that becomes
NaN, a disk too full for a checkpoint) ends a single run with its message alone on stderr and exit
status 1; SIGTERM and Ctrl-C end it with one line that gives the way to resume, and exit status 143
and 130. A run stopped before training leaves behind nothing that it created, and never anything
that was there before it (`toolkit.app.folders`). Inside a `-m` sweep the error is recorded as the
job's failure instead (`interrupted` for a signal). Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from ..config import register_configs
from ..errors import ConfigError, OutputError, StoppedBySignal, one_message
from .folders import another_rank_of_the_run, discard_run_folder  # registers the resolver of job folders
from .help import CONFIG_NAME  # importing help registers the resolver that lists the choices in --help
from .job import check_strategy, output_dir, overrides, saved_overrides, sweeping, thread_count
from .plugins import register_plugins

log = logging.getLogger("toolkit.app")
CONFIG_PACKAGE = "pkg://toolkit.conf"


def task(cfg: DictConfig) -> float | None:
    """Train or evaluate as the config says; returns `optimized_metric` (val_acc by default), which a
    sweeper such as Optuna's optimizes."""
    from ..checkpoint import CheckpointError
    from ..training import run
    from ..training.module import NonFiniteLossError

    if restarted_by_slurm():  # requeued (scontrol requeue, preemption, submitit's timeout): go on from last.ckpt
        cfg.resume = True
    try:
        check_strategy(cfg)
        metrics = run(cfg, output_dir(), overrides(), thread_count(cfg))
    except (ConfigError, CheckpointError, NonFiniteLossError, OutputError, StoppedBySignal) as error:
        if sweeping():
            raise
        if isinstance(error, StoppedBySignal) and another_rank_of_the_run():
            sys.exit(0)  # the run's first rank reports the stop (a failing rank would make Lightning kill it)
        if isinstance(error, ConfigError | CheckpointError):
            discard_run_folder(output_dir(), HydraConfig.get().job.name)
        print(
            one_message(error) if isinstance(error, StoppedBySignal) else f"Error: {one_message(error)}",
            file=sys.stderr,
        )
        sys.exit(getattr(error, "exit_status", 1))
    return optimized_value(metrics, cfg.optimized_metric)


def restarted_by_slurm() -> bool:
    """Whether SLURM runs this job again after requeueing it (`SLURM_RESTART_COUNT` is 1 or more): its
    output folder is the one it was given at submission, so it continues the run there.

    >>> import os; os.environ.pop('SLURM_RESTART_COUNT', None) and None; restarted_by_slurm()
    False
    """
    return int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0) > 0


def optimized_value(metrics: dict[str, Any], name: str) -> float | None:
    """`metrics[name]`, what a sweeper such as Optuna's optimizes; None for a run that reported none, as
    when no validation ran (`trainer.limit_val_batches=0`), or a value that is not a number (Optuna
    records such a trial as failed), with a warning in a sweep.

    >>> optimized_value({'val_loss': float('nan')}, 'val_loss') is None
    True
    """
    value = metrics.get(name)
    if value is not None and math.isnan(value):
        if sweeping():
            log.warning("optimized_metric=%s: this run's is NaN; the sweeper gets none", name)
        return None
    if value is None and sweeping():
        log.warning("optimized_metric=%s: this run reported none (did validation run?)", name)
    return value


def config_dirs(arguments: list[str]) -> list[str]:
    """The folders that `--config-dir` / `-cd` name in `arguments`.

    >>> config_dirs(['--config-dir', 'my_conf', 'norm=gn', '-cd=other'])
    ['my_conf', 'other']
    """
    folders = []
    for index, argument in enumerate(arguments):
        for flag in ("--config-dir", "-cd"):
            if argument == flag and index + 1 < len(arguments):
                folders.append(arguments[index + 1])
            elif argument.startswith(f"{flag}="):
                folders.append(argument.split("=", 1)[1])
    return folders


def override_key(override: str) -> str:
    """The key an override sets: `norm` for `norm=gn`, `+model.width=3` and `~tags`."""
    return override.lstrip("+~").split("=", 1)[0]


def given_value(arguments: list[str], key: str) -> str | None:
    """The value that `arguments` give `key` (`key=value`), or None."""
    return next((a.split("=", 1)[1] for a in arguments if not a.startswith("-") and override_key(a) == key), None)


def saved_sweep_overrides(folder: Path) -> list[str]:
    """The overrides the sweep in `folder` was started with (its `multirun.yaml`; none without it)."""
    import yaml

    path = folder / "multirun.yaml"
    saved = yaml.safe_load(path.read_text())["hydra"]["overrides"]["task"] if path.is_file() else []
    return [str(override) for override in saved or []]


def with_saved_overrides(arguments: list[str]) -> list[str]:
    """With `resume=true`, `arguments` and the overrides the run or sweep being continued was started with,
    except those whose key `arguments` set again (an override given now applies on top), so a resume
    repeats nothing.

    >>> with_saved_overrides(['norm=gn', 'seed=1'])
    ['norm=gn', 'seed=1']
    """
    if str(given_value(arguments, "resume")).lower() != "true":
        return arguments
    multirun = "-m" in arguments or "--multirun" in arguments
    folder = given_value(arguments, "hydra.sweep.dir" if multirun else "hydra.run.dir")
    if folder is None:
        return arguments  # FolderGuard says that resume=true needs the folder
    given = {override_key(a) for a in arguments if not a.startswith("-") and "=" in a}
    saved = saved_sweep_overrides(Path(folder)) if multirun else saved_overrides(Path(folder))
    return [*arguments, *(override for override in saved if override_key(override) not in given)]


def check_paramwise_overrides(arguments: list[str]) -> None:
    """Stop on an override of an `optim.paramwise_cfg` key that MMCV's rules do not have, listing the keys
    (Hydra would only say that the key is not in ParamwiseConfig).

    >>> check_paramwise_overrides(['optim.paramwise_cfg.norm_decay=0'])
    Traceback (most recent call last):
    toolkit.errors.ConfigError: optim.paramwise_cfg.norm_decay: no such key (did you mean 'norm_decay_mult'?); ...
    """
    from ..config.training import ParamwiseConfig

    known = [field.name for field in dataclasses.fields(ParamwiseConfig)]
    for argument in arguments:
        key = override_key(argument)
        if key.startswith(PARAMWISE_PREFIX) and key.split(".")[2] not in known:
            name = key.split(".")[2]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{PARAMWISE_PREFIX}{name}: no such key{hint}; the keys are {', '.join(known)}")


PARAMWISE_PREFIX = "optim.paramwise_cfg."


def main() -> None:
    """Run `task` under Hydra with the config tree shipped in the package."""
    sys.argv[1:] = with_saved_overrides(sys.argv[1:])
    try:
        check_paramwise_overrides(sys.argv[1:])
    except ConfigError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)
    for folder in config_dirs(sys.argv[1:]):
        if not Path(folder).expanduser().is_dir():
            print(
                f"Error: --config-dir {folder}: no such folder (it holds your own configs, e.g. model/mynet.yaml)",
                file=sys.stderr,
            )
            sys.exit(1)
    register_configs()
    register_plugins()
    hydra.main(version_base=None, config_path=CONFIG_PACKAGE, config_name=CONFIG_NAME)(task)()
