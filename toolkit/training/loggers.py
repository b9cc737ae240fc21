"""Building the `logger` group of a config, and what every logger is told about the run.

Each entry of `logger` is a `_target_` node (Lightning's CSVLogger, TensorBoardLogger,
MLFlowLogger, WandbLogger, or your own); `logger=[csv,mlflow]` selects several at once. Every
logger receives the run's resolved config, flattened, as its hyperparameters.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from ..config.targets import build_target
from ..errors import ConfigError


class ContinuingWriter(ExperimentWriter):
    """Lightning's CSV writer, which continues the metrics.csv it finds instead of deleting it (a run
    folder is new, or an earlier run continued with resume=true), and keeps its columns: at its
    first save in a process, it reads the columns the file has (once, not at every save)."""

    def _check_log_dir_exists(self) -> None:
        pass  # Lightning's deletes an existing metrics.csv

    def __init__(self, log_dir: str) -> None:
        super().__init__(log_dir)
        self.columns_read = False

    def _record_new_keys(self) -> set[str]:
        if not self.columns_read and self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                header = next(csv.reader(file), [])
            self.metrics_keys.extend(key for key in header if key not in self.metrics_keys)
        self.columns_read = True
        return super()._record_new_keys()


class ContinuingCSVLogger(CSVLogger):
    """Lightning's CSVLogger, able to add columns to the metrics.csv of an earlier stage.

    Under a spawning strategy (DDP) the fit runs in new processes and the test split is scored in
    this one, whose writer is still as it was before fitting; Lightning's writer, knowing no
    columns, rewrites the file with the test's columns only and fails on the earlier rows. This one
    reads the columns that are there first.
    """

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = ContinuingWriter(log_dir=self.log_dir)
        return self._experiment


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
            # The logger keeps the URI it was given (a default of its own when None) only here.
            return {"mlflow_tracking_uri": absolute_uri(logger._tracking_uri), "mlflow_run_id": logger.run_id}
    return {}
