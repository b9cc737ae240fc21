"""Lightning's `trainer.sync_batchnorm=true`, converting BN layers to toolkit's any-backend SyncBatchNorm."""

from __future__ import annotations

from lightning.pytorch.plugins import LayerSync
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..cnn.sync_bn import SyncBatchNorm, convert_sync_batchnorm


class _BatchNormXd(_BatchNorm):
    """A BatchNorm for any input rank, what a reverted SyncBatchNorm becomes."""

    def _check_input_dim(self, input: object) -> None:
        return


class ToolkitSyncBatchNorm(LayerSync):
    """Converts every BatchNorm to `toolkit.cnn.SyncBatchNorm` (which also runs on the CPU with gloo)."""

    def apply(self, model: nn.Module) -> nn.Module:
        return convert_sync_batchnorm(model)

    def revert(self, model: nn.Module) -> nn.Module:
        if isinstance(model, SyncBatchNorm):
            plain = _BatchNormXd(model.num_features, model.eps, model.momentum, model.affine, model.track_running_stats)
            plain.load_state_dict(model.state_dict())
            return plain
        for name, child in model.named_children():
            model._modules[name] = self.revert(child)
        return model
