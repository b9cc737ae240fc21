"""`SyncBatchNorm` that works on any backend: torch's CUDA kernel, an all-reduce elsewhere, plain BN alone.

`torch.nn.SyncBatchNorm` refuses CPU tensors once a process group exists. This subclass keeps
torch's kernel on CUDA; on other devices it all-reduces each channel's sum, sum of squares and
count (so every rank's batch weighs by its size) through `torch.distributed`, e.g. gloo; in one
process it is plain BatchNorm.

>>> layer = SyncBatchNorm(4)
>>> layer(torch.randn(8, 4, 3, 3)).shape
torch.Size([8, 4, 3, 3])
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from .._compat.torch import BatchNormBase, batch_norm_forward, check_input_dim, differentiable_all_reduce


class SyncBatchNorm(nn.SyncBatchNorm):
    """BatchNorm whose training statistics span every process of the group."""

    def _synchronizing(self) -> bool:
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return False
        return dist.get_world_size(self.process_group or dist.group.WORLD) > 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._synchronizing():
            return batch_norm_forward(self, x)
        if x.is_cuda:
            return super().forward(x)
        return self._all_reduce_forward(x)

    def _all_reduce_forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_dim(self, x)
        channels = x.shape[1]
        dims = [0, *range(2, x.dim())]
        wide = x.double()
        count = torch.tensor([x.numel() / channels], dtype=torch.float64, device=x.device)
        local = torch.cat([wide.sum(dims), (wide * wide).sum(dims), count])
        total = differentiable_all_reduce(local, self.process_group or dist.group.WORLD)
        samples = total[-1]
        mean = total[:channels] / samples
        var = total[channels:-1] / samples - mean * mean
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach() * samples / (samples - 1))
        shape = [1, channels] + [1] * (x.dim() - 2)
        out = (wide - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        self.num_batches_tracked += 1
        momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
        self.running_var.lerp_(unbiased_var.to(self.running_var.dtype), momentum)


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm in `module` by `SyncBatchNorm`, keeping its parameters and statistics."""
    if isinstance(module, BatchNormBase) and not isinstance(module, SyncBatchNorm):
        synced = SyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        synced.load_state_dict(module.state_dict())
        synced.train(module.training)
        for param, source in zip(synced.parameters(), module.parameters(), strict=True):
            param.requires_grad = source.requires_grad
        return synced
    for name, child in module.named_children():
        setattr(module, name, convert_sync_batchnorm(child))
    return module


class _BatchNormXd(BatchNormBase):
    """A BatchNorm for inputs of any rank: what `revert_sync_batchnorm` turns a SyncBatchNorm into."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        return


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every `nn.SyncBatchNorm` (toolkit's too) with a plain BatchNorm that keeps its
    parameters, statistics and mode, e.g. to run a model trained with SyncBN in one process.

    Args:
        module: The model; its SyncBatchNorm layers are replaced in place.

    Returns:
        `module` (or its replacement, when it is itself a SyncBatchNorm).

    Example:
        >>> model = revert_sync_batchnorm(nn.Sequential(SyncBatchNorm(4)))
        >>> type(model[0]).__name__
        '_BatchNormXd'
    """
    if isinstance(module, nn.SyncBatchNorm):
        plain = _BatchNormXd(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        if module.affine:
            plain.weight, plain.bias = module.weight, module.bias
        plain.running_mean, plain.running_var = module.running_mean, module.running_var
        plain.num_batches_tracked = module.num_batches_tracked
        plain.train(module.training)
        if hasattr(module, "qconfig"):
            plain.qconfig = module.qconfig
        module = plain
    for name, child in module.named_children():
        setattr(module, name, revert_sync_batchnorm(child))
    return module
