"""`DepthwiseSeparableConvModule`: a depthwise ConvModule then a pointwise one (MobileNet, Xception).

>>> module = DepthwiseSeparableConvModule(8, 16, 3, padding=1, norm_cfg=dict(type='BN'))
>>> module(torch.randn(2, 8, 5, 5)).shape, module.depthwise_conv.conv.groups
(torch.Size([2, 16, 5, 5]), 8)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..modules import BaseModule
from .conv_module import ConvModule

DEFAULT = "default"


class DepthwiseSeparableConvModule(BaseModule):
    """A `groups=in_channels` ConvModule then a 1x1 ConvModule, with MMCV's arguments.

    `dw_norm_cfg`, `dw_act_cfg`, `pw_norm_cfg` and `pw_act_cfg` default to `norm_cfg` and `act_cfg`;
    other keyword arguments go to both ConvModules.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        kernel_size: The depthwise conv's kernel size.
        stride: The depthwise conv's stride.
        padding: The depthwise conv's padding.
        dilation: The depthwise conv's dilation.
        norm_cfg: The norm of both convs, unless `dw_norm_cfg` or `pw_norm_cfg` say otherwise.
        act_cfg: The activation of both, unless `dw_act_cfg` or `pw_act_cfg` say otherwise.
        dw_norm_cfg: The depthwise conv's norm.
        dw_act_cfg: The depthwise conv's activation.
        pw_norm_cfg: The pointwise conv's norm.
        pw_act_cfg: The pointwise conv's activation.
        **kwargs: More `ConvModule` arguments, for both.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = dict(type="ReLU"),
        dw_norm_cfg: Mapping[str, Any] | str | None = DEFAULT,
        dw_act_cfg: Mapping[str, Any] | str | None = DEFAULT,
        pw_norm_cfg: Mapping[str, Any] | str | None = DEFAULT,
        pw_act_cfg: Mapping[str, Any] | str | None = DEFAULT,
        **kwargs: Any,
    ) -> None:
        super().__init__(kwargs.pop("init_cfg", None))
        if "groups" in kwargs:
            raise TypeError("DepthwiseSeparableConvModule sets groups itself (in_channels for the depthwise conv)")

        def chosen(specific: Any, general: Any) -> Any:
            return general if specific == DEFAULT else specific

        self.depthwise_conv = ConvModule(
            in_channels,
            in_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=in_channels,
            norm_cfg=chosen(dw_norm_cfg, norm_cfg),
            act_cfg=chosen(dw_act_cfg, act_cfg),
            **kwargs,
        )
        self.pointwise_conv = ConvModule(
            in_channels,
            out_channels,
            1,
            norm_cfg=chosen(pw_norm_cfg, norm_cfg),
            act_cfg=chosen(pw_act_cfg, act_cfg),
            **kwargs,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))
