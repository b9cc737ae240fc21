"""`python stop_after_epoch.py K SIGNAL overrides...`: train.py, sent SIGNAL as epoch K+1 starts.

K epochs have finished (and written their checkpoints) when the signal comes: with SIGKILL the
process dies with no chance to clean up (a power cut, the out-of-memory killer); with SIGINT it is
Ctrl-C, which Lightning turns into a graceful stop.
"""

import os
import sys

import lightning as L

from toolkit.app import main
from toolkit.training import trainer


class SignalAtEpochStart(L.Callback):
    def __init__(self, epoch: int, signal_number: int) -> None:
        self.epoch, self.signal_number = epoch, signal_number

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), self.signal_number)


if __name__ == "__main__":
    finished, signal_number, overrides = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    checkpoints = trainer.checkpoint_callbacks
    trainer.checkpoint_callbacks = lambda folder: [*checkpoints(folder), SignalAtEpochStart(finished, signal_number)]
    sys.argv = [sys.argv[0], *overrides]
    main()
