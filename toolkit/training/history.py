"""`EpochHistory`: the metrics of every finished epoch in the run folder's `history.json`, whatever
loggers were chosen; `curves.png` is drawn from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from ..files import atomic_file
from ..metrics import NAMES


def read_history(path: Path) -> dict[int, dict[str, float]]:
    """Per epoch (from 1), its metrics, as `EpochHistory` wrote them; empty when there is no file."""
    if not path.is_file():
        return {}
    return {int(epoch): metrics for epoch, metrics in json.loads(path.read_text()).items()}


class EpochHistory(Callback):
    """Writes, on rank 0, each finished epoch's metrics (`train_loss`, `train_acc`, `val_loss`, `val_acc`)
    to `path`, a JSON object by epoch rewritten atomically. An epoch's row is written when the next
    epoch starts and when training ends, once the metrics logged at the epoch's end are there; a
    resumed run continues the file.

    Args:
        path: The JSON file (`history.json` in the run folder).

    Example:
        >>> import tempfile
        >>> history = EpochHistory(Path(tempfile.mkdtemp()) / 'history.json')
        >>> history.rows
        {}
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = read_history(path)
        self.validated: int | None = None  # the last epoch (from 1) that validation ran in

    def record(self, trainer: L.Trainer) -> None:
        """The row of the last finished epoch (`trainer.current_epoch` of them), if its metrics are there;
        the val metrics only when validation ran in that epoch (`check_val_every_n_epoch`)."""
        epoch = trainer.current_epoch
        metrics = {
            name: float(value)
            for name, value in trainer.callback_metrics.items()
            if name in NAMES and (not name.startswith("val_") or self.validated == epoch)
        }
        if not trainer.is_global_zero or epoch < 1 or not metrics:
            return
        self.rows[epoch] = metrics
        with atomic_file(self.path, "w") as file:
            json.dump({str(key): row for key, row in sorted(self.rows.items())}, file, indent=1)

    def on_validation_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self.validated = trainer.current_epoch + 1

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self.record(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self.record(trainer)
