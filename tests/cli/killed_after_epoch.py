"""`python killed_after_epoch.py K overrides...`: train.py, killed with SIGKILL as epoch K+1 starts.

K epochs have finished (and written their checkpoints) when the process dies, with no chance to
clean up: what a power cut or the out-of-memory killer leaves.
"""

import os
import signal
import sys

import lightning as L

from toolkit.cli import main
from toolkit.training import trainer


class KillAtEpochStart(L.Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    finished, overrides = int(sys.argv[1]), sys.argv[2:]
    checkpoints = trainer.checkpoint_callbacks
    trainer.checkpoint_callbacks = lambda folder: [*checkpoints(folder), KillAtEpochStart(finished)]
    sys.argv = [sys.argv[0], *overrides]
    main()
