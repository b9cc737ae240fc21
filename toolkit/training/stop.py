"""`StopTogether`: SIGTERM (a preemption, a requeue, `scancel`, `kill`) ends training after the same
step on every rank, so a DDP run never hangs on a rank that stopped alone.

Lightning's own SIGTERM handler broadcasts from rank 0 inside the handler and forwards the signal to
the ranks it started, while each rank also stops on its own flag at the end of a step. When SLURM
signals every task of a job, as it does, the handlers' broadcasts pair with the wrong collectives
and the ranks wait on each other for ever. Here the handler only notes the signal; after each
training step every rank takes the maximum of the notes (one all-reduce, only when there are
several ranks), and all of them stop at that step together, leaving `last.ckpt` as the last
finished epoch wrote it.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException


class StopTogether(L.Callback):
    """Ends training on every rank after the step in which any of them received SIGTERM.

    Example:
        >>> stop = StopTogether()
        >>> stop.received
        False
    """

    def __init__(self) -> None:
        self.received = False

    def note(self, number: int, frame: FrameType | None) -> None:
        """The SIGTERM handler while training: it notes the signal and nothing else."""
        self.received = True

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        # Lightning has installed its handler by now, and restores the one before it when fit ends.
        self.received = self.received or trainer.received_sigterm
        signal.signal(signal.SIGTERM, self.note)

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *arguments: Any) -> None:
        if self.stop_now(trainer):
            raise SIGTERMException

    def stop_now(self, trainer: L.Trainer) -> bool:
        """Whether any rank received SIGTERM (the same answer on every rank)."""
        if trainer.world_size == 1:
            return self.received
        flag = torch.tensor([float(self.received)], device=trainer.strategy.root_device)
        return bool(trainer.strategy.reduce(flag, reduce_op="max").item())
