"""`fuse_conv_bn`: fold each BatchNorm that directly follows a conv into the conv, for inference.

>>> model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
>>> fuse_conv_bn(model)
Sequential(
  (0): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1))
  (1): Identity()
)
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_weights

from .conv_module import ConvModule

FUSABLE_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def can_fuse(conv: nn.Module, norm: nn.Module) -> bool:
    """Whether `norm` can be folded into `conv`: a plain conv, no weight hooks, a BN with running stats.

    >>> can_fuse(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)), can_fuse(nn.Conv2d(3, 4, 1), nn.GroupNorm(2, 4))
    (True, False)
    """
    return (
        type(conv) in FUSABLE_CONVS
        and not conv._forward_pre_hooks
        and isinstance(norm, _BatchNorm)
        and norm.running_mean is not None
        and norm.running_var is not None
    )


def fuse_conv_and_bn(conv: nn.Conv2d, norm: _BatchNorm) -> nn.Conv2d:
    """A copy of `conv` whose output equals `norm(conv(x))` with the norm in eval mode."""
    fused = copy.deepcopy(conv)
    with torch.no_grad():
        fused.weight, fused.bias = fuse_conv_bn_weights(
            conv.weight, conv.bias, norm.running_mean, norm.running_var, norm.eps, norm.weight, norm.bias
        )
    return fused


def fuse_conv_bn(module: nn.Module) -> nn.Module:
    """Fold, in place, every BN that directly follows a conv in a `ConvModule` or an `nn.Sequential`.

    The BN is replaced by `nn.Identity`; returns `module`. Eval-mode outputs are unchanged.
    """
    if isinstance(module, ConvModule):
        _fuse_conv_module(module)
    elif isinstance(module, nn.Sequential):
        _fuse_sequential(module)
    for child in module.children():
        fuse_conv_bn(child)
    return module


def _fuse_conv_module(module: ConvModule) -> None:
    order = module.order
    if module.norm_name and order.index("norm") == order.index("conv") + 1 and can_fuse(module.conv, module.norm):
        module.conv = fuse_conv_and_bn(module.conv, module.norm)
        module._modules[module.norm_name] = nn.Identity()


def _fuse_sequential(module: nn.Sequential) -> None:
    names = list(module._modules)
    for conv_name, norm_name in itertools.pairwise(names):
        conv, norm = module._modules[conv_name], module._modules[norm_name]
        if can_fuse(conv, norm):
            module._modules[conv_name] = fuse_conv_and_bn(conv, norm)
            module._modules[norm_name] = nn.Identity()
