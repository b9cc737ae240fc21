"""DDP that lets toolkit's `SyncBatchNorm` run on the CPU.

torch's `DistributedDataParallel` refuses any `nn.SyncBatchNorm` on CPU modules, because torch's
kernel is CUDA-only; toolkit's subclass all-reduces through gloo there, so the refusal is lifted
for it (and kept for torch's own layer).
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from typing import Any

import torch
from lightning.pytorch.strategies import DDPStrategy
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..cnn.sync_bn import SyncBatchNorm

STRATEGIES = {"ddp": "popen", "ddp_spawn": "spawn"}


class AnyDeviceDDP(DistributedDataParallel):
    """`DistributedDataParallel` that accepts toolkit's SyncBatchNorm on every device."""

    def _passing_sync_batchnorm_handle(self, module: nn.Module) -> None:
        torch_only = any(
            isinstance(layer, nn.SyncBatchNorm) and not isinstance(layer, SyncBatchNorm) for layer in module.modules()
        )
        if torch_only or self.device_type != "cpu":
            super()._passing_sync_batchnorm_handle(module)


def mute_lightning_internals() -> None:
    """Mute the warnings that concern only Lightning's own code, in this process (and in each rank's
    process: the strategy calls it there)."""
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    # A run folder is new, or an earlier run continued on purpose (resume=true), so its checkpoints are expected.
    warnings.filterwarnings("ignore", "Checkpoint directory .* exists and is not empty")


class AnyDeviceDDPStrategy(DDPStrategy):
    """Lightning's DDP strategy, wrapping the model in `AnyDeviceDDP`."""

    def setup_environment(self) -> None:
        mute_lightning_internals()
        super().setup_environment()

    def _setup_model(self, model: nn.Module) -> DistributedDataParallel:
        device_ids = self.determine_ddp_device_ids()
        stream = torch.cuda.stream(torch.cuda.Stream()) if device_ids is not None else nullcontext()
        with stream:
            return AnyDeviceDDP(module=model, device_ids=device_ids, **self._ddp_kwargs)


def strategy_for(name: Any) -> Any:
    """Lightning's `ddp` and `ddp_spawn` as `AnyDeviceDDPStrategy`; any other value as given."""
    return AnyDeviceDDPStrategy(start_method=STRATEGIES[name]) if name in STRATEGIES else name
