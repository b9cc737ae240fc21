"""The conv registry, a weight-standardized conv, and `build_conv_layer`.

>>> build_conv_layer(dict(type='Conv1d'), 3, 8, 3)
Conv1d(3, 8, kernel_size=(3,), stride=(1,))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..registry import Registry, construct, merge_args, resolve_type

CONV_LAYERS = Registry("conv layer")
CONV_LAYERS.register_module("Conv1d", module=nn.Conv1d)
CONV_LAYERS.register_module(["Conv2d", "Conv"], module=nn.Conv2d)
CONV_LAYERS.register_module("Conv3d", module=nn.Conv3d)
CONV_LAYERS.register_module("deconv", module=nn.ConvTranspose2d)  # as MMCV registers them
CONV_LAYERS.register_module("deconv3d", module=nn.ConvTranspose3d)


@CONV_LAYERS.register_module(["ConvWS", "ConvWS2d"])
class ConvWS2d(nn.Conv2d):
    """A Conv2d whose weight is standardized per output channel (zero mean, unit std) in forward.

    >>> conv = ConvWS2d(3, 8, 3)
    >>> conv(torch.randn(1, 3, 5, 5)).shape
    torch.Size([1, 8, 3, 3])
    """

    def __init__(self, *args: Any, eps: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.eps = eps

    def standardized_weight(self) -> torch.Tensor:
        flat = self.weight.flatten(1)
        mean = flat.mean(dim=1).view(-1, 1, 1, 1)
        std = flat.std(dim=1).view(-1, 1, 1, 1)
        return (self.weight - mean) / (std + self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.standardized_weight(), self.bias)


def build_conv_layer(cfg: Mapping[str, Any] | None, *args: Any, **kwargs: Any) -> nn.Module:
    """Build a conv layer from `cfg` (None means Conv2d) and the conv's own arguments.

    >>> build_conv_layer(None, 3, 8, kernel_size=3).__class__.__name__
    'Conv2d'
    """
    label, conv_layer, cfg_ = resolve_type({"type": "Conv2d"} if cfg is None else cfg, CONV_LAYERS)
    return construct(conv_layer, merge_args(kwargs, cfg_, label), label, *args)
