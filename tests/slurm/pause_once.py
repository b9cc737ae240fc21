"""`PauseOnce`: a user's callback that holds the first attempt of a job at the start of epoch index
`epoch` (after `epoch` checkpoints) for `seconds`, leaving the file `marker`; a requeued attempt goes
straight through. It gives a test time to requeue the job mid-run."""

import os
import time

import lightning as L


class PauseOnce(L.Callback):
    def __init__(self, epoch: int, seconds: float, marker: str) -> None:
        self.epoch, self.seconds, self.marker = epoch, seconds, marker

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            time.sleep(self.seconds)
