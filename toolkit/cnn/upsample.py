"""The upsample registry, a conv + pixel-shuffle upsampler, and `build_upsample_layer`.

>>> build_upsample_layer(dict(type='bilinear', scale_factor=2))
Upsample(scale_factor=2.0, mode='bilinear')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..init import xavier_init
from ..registry import Registry, merge_args, resolve_type
from .arguments import construct_layer

UPSAMPLE_LAYERS = Registry("upsample layer")
UPSAMPLE_LAYERS.register_module(["nearest", "bilinear"], module=nn.Upsample)
UPSAMPLE_LAYERS.register_module("deconv", module=nn.ConvTranspose2d)
UPSAMPLE_LAYERS.register_module("deconv3d", module=nn.ConvTranspose3d)


@UPSAMPLE_LAYERS.register_module("pixel_shuffle")
class PixelShufflePack(nn.Module):
    """Upsample by a conv to `out_channels * scale_factor**2` channels, then `nn.PixelShuffle`.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        scale_factor: The upsampling factor.
        upsample_kernel: Kernel size of the conv.

    Example:
        >>> up = PixelShufflePack(4, 8, scale_factor=2, upsample_kernel=3)
        >>> up(torch.randn(1, 4, 5, 5)).shape
        torch.Size([1, 8, 10, 10])
    """

    def __init__(self, in_channels: int, out_channels: int, scale_factor: int, upsample_kernel: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.scale_factor = scale_factor
        self.upsample_kernel = upsample_kernel
        self.upsample_conv = nn.Conv2d(
            in_channels, out_channels * scale_factor * scale_factor, upsample_kernel, padding=(upsample_kernel - 1) // 2
        )
        self.pixel_shuffle = nn.PixelShuffle(scale_factor)
        self.init_weights()

    def init_weights(self) -> None:
        xavier_init(self.upsample_conv, distribution="uniform")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pixel_shuffle(self.upsample_conv(x))


def build_upsample_layer(cfg: Mapping[str, Any], *args: Any, **kwargs: Any) -> nn.Module:
    """Build an upsample layer.

    Args:
        cfg: `type` (a name in `UPSAMPLE_LAYERS`: nearest, bilinear, deconv, deconv3d, pixel_shuffle)
            and the layer's arguments; `nearest` and `bilinear` become `nn.Upsample` in that mode.
        *args: The layer's positional arguments.
        **kwargs: Its keyword arguments; a key that `cfg` also sets is a TypeError.

    Returns:
        The upsample layer.

    Raises:
        TypeError: When `cfg` is not a dict.
        KeyError: When its `type` is missing or not registered (the message lists the registered types
            and the closest one).

    Example:
        >>> build_upsample_layer(dict(type='deconv'), 4, 4, kernel_size=2, stride=2).__class__.__name__
        'ConvTranspose2d'
    """
    label, layer, cfg_ = resolve_type(cfg, UPSAMPLE_LAYERS)
    if layer is nn.Upsample:
        cfg_["mode"] = label
    return construct_layer(layer, merge_args(kwargs, cfg_, label), label, *args)
