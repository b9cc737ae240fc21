"""`StepSeeds`: each training step starts from a random state drawn from the run's seed, the epoch
and the batch's index alone, so a resumed run draws what an uninterrupted one draws (dropout masks,
DropPath, any randomness of a model's own), whatever the process drew before (a loader's iterator
takes a seed from the global state when it is made, and a resumed run makes its first one earlier).

Lightning's checkpoints do not hold the random state, so without this a resumed run would continue
from whatever state its new process is in. The data order, each sample's augmentation and batch
mixing have seeds of their own (see `toolkit.training.data` and `toolkit.training.augment`).
"""

from __future__ import annotations

import random

import lightning as L
import numpy as np
import torch


def step_seed(seed: int, epoch: int, batch: int) -> int:
    """The seed of batch `batch` of epoch `epoch` (both counted from 0) of a run seeded with `seed`.

    >>> len({step_seed(0, 1, 0), step_seed(0, 0, 1), step_seed(1, 0, 0), step_seed(0, 0, 0)})
    4
    """
    return int(np.random.SeedSequence([seed % 2**32, epoch, batch]).generate_state(1)[0])


class StepSeeds(L.Callback):
    """Seeds torch (every device), Python's `random` and NumPy before each training step from (seed,
    epoch, batch index): a batch of a gradient accumulation draws anew too.

    Args:
        seed: The run's seed.

    Example:
        >>> StepSeeds(0).seed
        0
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: object, index: int) -> None:
        seed = step_seed(self.seed, trainer.current_epoch, index)
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
