"""Lightning's private names that toolkit uses (written against lightning 2.6), and the subclasses
that must override a private method.

- `ContinuingCSVLogger`: Lightning's CSVLogger whose writer continues the metrics.csv it finds
  (a resumed run's) instead of deleting it, and keeps that file's columns;
- `AnyDeviceDDPStrategy`: Lightning's DDP strategy wrapping the model in `AnyDeviceDDP`, torch's
  DistributedDataParallel that lets toolkit's `SyncBatchNorm` run on CPU modules;
- `mlflow_tracking_uri`: the URI an MLFlowLogger logs to (it keeps it only privately).
"""

from __future__ import annotations

import csv
from contextlib import nullcontext

import torch
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.strategies import DDPStrategy
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..cnn.sync_bn import SyncBatchNorm

__all__ = ["AnyDeviceDDP", "AnyDeviceDDPStrategy", "ContinuingCSVLogger", "ContinuingWriter", "mlflow_tracking_uri"]


class ContinuingWriter(ExperimentWriter):
    """Lightning's CSV writer, which continues the metrics.csv it finds instead of deleting it (a run
    folder is new, or an earlier run continued with resume=true), and keeps its columns: at its
    first save in a process, it reads the columns the file has (once, not at every save)."""

    def __init__(self, log_dir: str) -> None:
        super().__init__(log_dir)
        self.columns_read = False

    def _check_log_dir_exists(self) -> None:
        pass  # Lightning's deletes an existing metrics.csv

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


class AnyDeviceDDP(DistributedDataParallel):
    """`DistributedDataParallel` that accepts toolkit's SyncBatchNorm on every device (torch refuses
    any `nn.SyncBatchNorm` on CPU modules, its kernel being CUDA-only; toolkit's all-reduces through
    gloo there). The refusal is kept for torch's own layer."""

    def _passing_sync_batchnorm_handle(self, module: nn.Module) -> None:
        torch_only = any(
            isinstance(layer, nn.SyncBatchNorm) and not isinstance(layer, SyncBatchNorm) for layer in module.modules()
        )
        if torch_only or self.device_type != "cpu":
            super()._passing_sync_batchnorm_handle(module)


class AnyDeviceDDPStrategy(DDPStrategy):
    """Lightning's DDP strategy, wrapping the model in `AnyDeviceDDP`; `on_setup` runs first in each
    rank's process (toolkit mutes Lightning's internal warnings there)."""

    on_setup = staticmethod(lambda: None)

    def setup_environment(self) -> None:
        self.on_setup()
        super().setup_environment()

    def _setup_model(self, model: nn.Module) -> DistributedDataParallel:
        device_ids = self.determine_ddp_device_ids()
        stream = torch.cuda.stream(torch.cuda.Stream()) if device_ids is not None else nullcontext()
        with stream:
            return AnyDeviceDDP(module=model, device_ids=device_ids, **self._ddp_kwargs)


def mlflow_tracking_uri(logger: MLFlowLogger) -> str:
    """The tracking URI `logger` logs to: the one it was given, or its default when given none."""
    return logger._tracking_uri
