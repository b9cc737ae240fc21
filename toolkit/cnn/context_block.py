"""`ContextBlock`, the global context block of GCNet (Cao et al., 2019), with MMCV's names.

>>> block = ContextBlock(16, ratio=0.25, fusion_types=('channel_add', 'channel_mul'))
>>> block(torch.randn(2, 16, 5, 5)).shape
torch.Size([2, 16, 5, 5])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ArgumentValueError
from ..init import constant_init, kaiming_init
from .plugin import PLUGIN_LAYERS

POOLING_TYPES = ("att", "avg")
FUSION_TYPES = ("channel_add", "channel_mul")


def _transform(channels: int, planes: int) -> nn.Sequential:
    """The bottleneck that turns the pooled context into a per-channel term; its last conv starts at zero."""
    transform = nn.Sequential(
        nn.Conv2d(channels, planes, 1),
        nn.LayerNorm([planes, 1, 1]),
        nn.ReLU(inplace=True),
        nn.Conv2d(planes, channels, 1),
    )
    constant_init(transform[-1], 0)
    return transform


@PLUGIN_LAYERS.register_module()
class ContextBlock(nn.Module):
    """Pool the feature map into one context vector (attention or average pooling), transform it,

    Args:
        in_channels: Channels of the input.
        ratio: The bottleneck's width as a share of `in_channels`.
        pooling_type: 'att' (attention pooling) or 'avg'.
        fusion_types: Any of 'channel_add' and 'channel_mul'.

    Raises:
        ArgumentValueError: For another pooling or fusion type.
    and add it to (or multiply it into) every position."""

    _abbr_ = "context_block"

    def __init__(
        self,
        in_channels: int,
        ratio: float,
        pooling_type: str = "att",
        fusion_types: Sequence[str] = ("channel_add",),
    ) -> None:
        super().__init__()
        if pooling_type not in POOLING_TYPES:
            raise ArgumentValueError(f"pooling_type must be one of {POOLING_TYPES}, got {pooling_type!r}")
        if (
            not isinstance(fusion_types, (list, tuple))
            or not fusion_types
            or not set(fusion_types) <= set(FUSION_TYPES)
        ):
            raise ArgumentValueError(f"fusion_types must be a non-empty list of {FUSION_TYPES}, got {fusion_types!r}")
        self.in_channels, self.ratio, self.planes = in_channels, ratio, int(in_channels * ratio)
        self.pooling_type, self.fusion_types = pooling_type, tuple(fusion_types)
        if pooling_type == "att":
            self.conv_mask = nn.Conv2d(in_channels, 1, kernel_size=1)
            self.softmax = nn.Softmax(dim=2)
            kaiming_init(self.conv_mask, mode="fan_in")
        else:
            self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.channel_add_conv = _transform(in_channels, self.planes) if "channel_add" in fusion_types else None
        self.channel_mul_conv = _transform(in_channels, self.planes) if "channel_mul" in fusion_types else None

    def spatial_pool(self, x: torch.Tensor) -> torch.Tensor:
        """The context vector of each sample, N x C x 1 x 1."""
        if self.pooling_type == "avg":
            return self.avg_pool(x)
        batch, channels = x.shape[:2]
        weights = self.softmax(self.conv_mask(x).view(batch, 1, -1))  # N x 1 x HW
        return torch.bmm(x.view(batch, channels, -1), weights.transpose(1, 2)).view(batch, channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = self.spatial_pool(x)
        out = x
        if self.channel_mul_conv is not None:
            out = out * torch.sigmoid(self.channel_mul_conv(context))
        if self.channel_add_conv is not None:
            out = out + self.channel_add_conv(context)
        return out
