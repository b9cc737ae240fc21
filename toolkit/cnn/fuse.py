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
import warnings

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from .._compat.torch import BatchNormBase, has_forward_pre_hooks
from .conv_module import ConvModule

FUSABLE_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def can_fuse(conv: nn.Module, norm: nn.Module) -> bool:
    """Whether `norm` can be folded into `conv`: a plain conv, no weight hooks, a BN with running stats.

    >>> can_fuse(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)), can_fuse(nn.Conv2d(3, 4, 1), nn.GroupNorm(2, 4))
    (True, False)
    """
    return (
        type(conv) in FUSABLE_CONVS
        and not has_forward_pre_hooks(conv)
        and isinstance(norm, BatchNormBase)
        and norm.running_mean is not None
        and norm.running_var is not None
    )


def fuse_conv_and_bn(conv: nn.Conv2d, norm: BatchNormBase) -> nn.Conv2d:
    """A copy of `conv` whose output equals `norm(conv(x))` with the norm in eval mode."""
    fused = copy.deepcopy(conv)
    with torch.no_grad():
        fused.weight, fused.bias = fuse_conv_bn_weights(
            conv.weight, conv.bias, norm.running_mean, norm.running_var, norm.eps, norm.weight, norm.bias
        )
    return fused


def fuse_conv_bn(module: nn.Module) -> nn.Module:
    """Fold, in place, every BN that directly follows a conv in a `ConvModule` or an `nn.Sequential`.

    The BN is replaced by `nn.Identity`; returns `module`. Eval-mode outputs are unchanged. Fusing
    always folds the BN's running statistics, i.e. its eval-mode behaviour: on a module in training
    mode it still fuses (as MMCV does, and as ported scripts that call `model.eval()` later expect),
    but warns that training-mode outputs change.

    Args:
        module: The model; changed in place.

    Returns:
        `module`, fused.
    """
    in_training = _fuse_tree(module, "")
    if in_training:
        shown = ", ".join(in_training[:3]) + (" ..." if len(in_training) > 3 else "")
        warnings.warn(
            f"fuse_conv_bn folded BN layers in training mode ({shown}); the fused convs compute the BN's "
            "eval-mode output (running statistics): call model.eval() before fusing to silence this",
            stacklevel=2,
        )
    return module


def _fuse_tree(module: nn.Module, prefix: str) -> list[str]:
    """Fuse `module` and its descendants; returns the names of the training-mode BNs folded."""
    pairs = []
    if isinstance(module, ConvModule):
        order = module.order
        if module.norm_name and order.index("norm") == order.index("conv") + 1:
            pairs.append(("conv", module.norm_name))
    elif isinstance(module, nn.Sequential):
        pairs.extend(itertools.pairwise(name for name, _ in module.named_children()))
    in_training = []
    for conv_name, norm_name in pairs:
        conv, norm = getattr(module, conv_name), getattr(module, norm_name)
        if can_fuse(conv, norm):
            if norm.training:
                in_training.append(prefix + norm_name)
            setattr(module, conv_name, fuse_conv_and_bn(conv, norm))
            setattr(module, norm_name, nn.Identity())
    for name, child in module.named_children():
        in_training += _fuse_tree(child, f"{prefix}{name}.")
    return in_training
