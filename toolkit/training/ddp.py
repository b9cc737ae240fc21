"""The DDP strategies of `trainer.strategy=ddp` and `ddp_spawn`: Lightning's, with toolkit's
`SyncBatchNorm` allowed on the CPU (torch refuses any SyncBatchNorm on CPU modules; toolkit's
all-reduces through gloo there; the override lives in `toolkit._compat.lightning`)."""

from __future__ import annotations

import warnings
from typing import Any

from .._compat import lightning as compat

STRATEGIES = {"ddp": "popen", "ddp_spawn": "spawn"}


def mute_lightning_internals() -> None:
    """Mute the warnings that concern only Lightning's own code, or point a toolkit user the wrong way,
    in this process (and in each rank's process: the strategy calls it there)."""
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    # A run folder is new, or an earlier run continued on purpose (resume=true), so its checkpoints are expected.
    warnings.filterwarnings("ignore", "Checkpoint directory .* exists and is not empty")
    # On a SLURM login node: the toolkit's way onto SLURM is -m hydra/launcher=slurm, not `srun python train.py`.
    warnings.filterwarnings("ignore", "The `srun` command is available on your system but is not used")


class AnyDeviceDDPStrategy(compat.AnyDeviceDDPStrategy):
    """Lightning's DDP strategy with toolkit's SyncBatchNorm allowed on the CPU (see `toolkit._compat`),
    muting Lightning's internal warnings in each rank's process."""

    on_setup = staticmethod(mute_lightning_internals)


def strategy_for(name: Any) -> Any:
    """Lightning's `ddp` and `ddp_spawn` as `AnyDeviceDDPStrategy`; any other value as given."""
    return AnyDeviceDDPStrategy(start_method=STRATEGIES[name]) if name in STRATEGIES else name
