"""`SignalAtEpochStart`: a user's own callback, added from the command line, that sends the
training process a signal as an epoch starts:

    PYTHONPATH=tests/cli python train.py +callbacks.stop._target_=stop_after_epoch.SignalAtEpochStart \
        +callbacks.stop.epoch=2 +callbacks.stop.signal_number=9

With `epoch=K`, K epochs have finished (and written their checkpoints) when the signal comes: with
SIGKILL the process dies with no chance to clean up (a power cut, the out-of-memory killer); with
SIGINT it is Ctrl-C, which Lightning turns into a graceful stop.
"""

import multiprocessing
import os

import lightning as L


class SignalAtEpochStart(L.Callback):
    """`workers=true`: the data loaders' worker processes get the signal too, as every process of a job
    does when SLURM or a terminal's Ctrl-C signals it; `rank=N`: only that rank of a DDP run signals
    itself (by default every rank does, as SLURM signals every task)."""

    def __init__(self, epoch: int, signal_number: int, workers: bool = False, rank: int | None = None) -> None:
        self.epoch, self.signal_number, self.workers, self.rank = epoch, signal_number, workers, rank

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch and self.rank in (None, trainer.global_rank):
            if self.workers:
                for worker in multiprocessing.active_children():
                    os.kill(worker.pid, self.signal_number)
            os.kill(os.getpid(), self.signal_number)


class FillDiskAtEpochStart(L.Callback):
    """Fills the disk of the run folder as epoch index `epoch` starts (`epoch` epochs have written their
    checkpoints), so the next checkpoint finds no room: a disk that other jobs fill during a run."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            fill_disk(trainer.default_root_dir)


def fill_disk(folder: str) -> None:
    """Write zeros into `folder/filler` until its disk has no room left."""
    with open(os.path.join(folder, "filler"), "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass


class SignalOnce(SignalAtEpochStart):
    """`SignalAtEpochStart` in the first run that gets there only: it leaves the file `marker` (each DDP rank
    but the first its own, `marker.rankN`), so a resumed run (or sweep) with the same command line goes
    through."""

    def __init__(
        self, epoch: int, signal_number: int, marker: str, workers: bool = False, rank: int | None = None
    ) -> None:
        super().__init__(epoch, signal_number, workers, rank)
        self.marker = marker

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        marker = self.marker if trainer.global_rank == 0 else f"{self.marker}.rank{trainer.global_rank}"
        if trainer.current_epoch == self.epoch and not os.path.exists(marker):
            open(marker, "w").close()
            super().on_train_epoch_start(trainer, module)


class FailOnce(L.Callback):
    """Raises in the first run that starts training while the file `marker` does not exist (and leaves it):
    a transient failure, such as a node that lost its file system for a moment."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise RuntimeError("a transient failure")
