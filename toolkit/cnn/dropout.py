"""The dropout registry (`Dropout`, `DropPath`) and `build_dropout`, as `mmcv.cnn` has them.

>>> build_dropout(dict(type='DropPath', drop_prob=0.2))
DropPath(drop_prob=0.2)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..registry import Registry, build_from_cfg

DROPOUT_LAYERS = Registry("dropout layer")


def drop_path(x: torch.Tensor, drop_prob: float = 0.0, training: bool = False) -> torch.Tensor:
    """Drop whole samples of a residual branch with probability `drop_prob` (stochastic depth),
    scaling the kept ones by `1 / (1 - drop_prob)`; the identity outside training.

    >>> drop_path(torch.ones(2, 3), 0.5, training=False).sum().item()
    6.0
    """
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    mask = (keep_prob + torch.rand(shape, dtype=x.dtype, device=x.device)).floor_()
    return x.div(keep_prob) * mask


@DROPOUT_LAYERS.register_module()
class DropPath(nn.Module):
    """Stochastic depth: drops each sample's residual branch with probability `drop_prob`.

    Args:
        drop_prob: The probability that a sample's branch is dropped (the kept ones are scaled by `1 / (1 -
            drop_prob)`).
    """

    def __init__(self, drop_prob: float = 0.1) -> None:
        super().__init__()
        if not 0 <= drop_prob < 1:
            raise ValueError(f"drop_prob must lie in [0, 1), got {drop_prob!r}")
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


@DROPOUT_LAYERS.register_module()
class Dropout(nn.Dropout):
    """`nn.Dropout` with MMCV's argument name, `drop_prob`.

    Args:
        drop_prob: The probability of an element being zeroed.
        inplace: Zero in place.

    Example:
        >>> Dropout(drop_prob=0.3).p
        0.3
    """

    def __init__(self, drop_prob: float = 0.5, inplace: bool = False) -> None:
        super().__init__(p=drop_prob, inplace=inplace)


def build_dropout(cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> nn.Module:
    """Build a dropout layer from `cfg` (`type` is `Dropout`, `DropPath` or one you register).

    Args:
        cfg: `type` (`Dropout`, `DropPath`, or one you register in `DROPOUT_LAYERS`) and the layer's arguments
            (`drop_prob`).
        default_args: Arguments used where `cfg` does not set them.

    Returns:
        The dropout layer.
    """
    return build_from_cfg(cfg, DROPOUT_LAYERS, default_args)
