"""Lightning's `trainer.sync_batchnorm=true`, converting BN layers to toolkit's any-backend SyncBatchNorm."""

from __future__ import annotations

from lightning.pytorch.plugins import LayerSync
from torch import nn

from ..cnn.sync_bn import convert_sync_batchnorm, revert_sync_batchnorm


class ToolkitSyncBatchNorm(LayerSync):
    """Converts every BatchNorm to `toolkit.cnn.SyncBatchNorm` (which also runs on the CPU with gloo)."""

    def apply(self, model: nn.Module) -> nn.Module:
        return convert_sync_batchnorm(model)

    def revert(self, model: nn.Module) -> nn.Module:
        return revert_sync_batchnorm(model)
