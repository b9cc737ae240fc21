"""Building the `logger` group of a config, and what every logger is told about the run.

Each entry of `logger` is a `_target_` node (Lightning's CSVLogger, TensorBoardLogger,
MLFlowLogger, WandbLogger, or your own); `logger=[csv,mlflow]` selects several at once. Every
logger receives the run's resolved config, flattened, as its hyperparameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger, MLFlowLogger

from .._compat.lightning import ContinuingCSVLogger, mlflow_tracking_uri  # noqa: F401 (conf/logger/csv.yaml)
from ..config.targets import build_target
from ..errors import ConfigError


def logger_entries(node: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The entries of a `logger` node that are set, by name."""
    return {name: entry for name, entry in (node or {}).items() if entry}


def destination(entry: Mapping[str, Any]) -> str:
    """Where a logger entry writes: its tracking URI or its folder."""
    return str(entry.get("tracking_uri") or entry.get("save_dir") or entry.get("root_dir") or "its folder")


def build_loggers(node: Mapping[str, Any] | None) -> list[Logger]:
    """The loggers of a `logger` node, in order; a local SQLite store gets its folder first."""
    entries = logger_entries(node)
    for name, entry in entries.items():
        uri = destination(entry)
        if uri.startswith("sqlite:///"):
            try:
                Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                problem = f"{error.strerror}: {error.filename}" if error.strerror else str(error)
                raise ConfigError(f"logger.{name} cannot write to {uri}: {problem}") from None
    return [build_target(f"logger.{name}", entry, Logger) for name, entry in entries.items()]


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level of dotted keys.

    >>> flatten({'model': {'_target_': 'Net', 'widths': [8, 16]}, 'seed': 0})
    {'model._target_': 'Net', 'model.widths': [8, 16], 'seed': 0}
    """
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def log_hyperparameters(loggers: Iterable[Logger], config: Mapping[str, Any]) -> None:
    """Give every logger the run's resolved config, flattened, as its hyperparameters: each logger's
    first write, before training, so one that cannot write (an unwritable folder, a read-only file
    system, a tracking server out of reach) stops the run with one line naming it and where it writes."""
    hyperparameters = flatten(config)
    for (name, entry), logger in zip(logger_entries(config.get("logger")).items(), loggers, strict=True):
        try:
            _ = logger.experiment  # opens its folder, event file or tracking run
            logger.log_hyperparams(hyperparameters)
        except Exception as error:  # whatever the backend raises: OSError, MlflowException, ...
            cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ConfigError(f"logger.{name} cannot write to {destination(entry)}: {cause}") from error


def absolute_uri(uri: str) -> str:
    """A tracking URI whose local path (SQLite or file) is absolute, so it works from any folder.

    >>> absolute_uri('sqlite:////srv/mlflow.db'), absolute_uri('https://mlflow.example.org')
    ('sqlite:////srv/mlflow.db', 'https://mlflow.example.org')
    """
    for scheme in ("sqlite:///", "file:"):
        if uri.startswith(scheme) and not uri.startswith(scheme + "/"):
            return scheme + str(Path(uri.removeprefix(scheme)).resolve())
    return uri


def tracking_facts(loggers: Iterable[Logger]) -> dict[str, str]:
    """Where MLflow logged the run, for metrics.json: `mlflow_tracking_uri` and `mlflow_run_id`."""
    for logger in loggers:
        if isinstance(logger, MLFlowLogger) and logger.run_id:
            return {"mlflow_tracking_uri": absolute_uri(mlflow_tracking_uri(logger)), "mlflow_run_id": logger.run_id}
    return {}
