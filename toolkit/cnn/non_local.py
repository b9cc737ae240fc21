"""Non-local blocks (Wang et al., 2018) for 1d, 2d and 3d inputs, with MMCV's names and modes.

>>> block = NonLocal2d(16, reduction=4)
>>> x = torch.randn(2, 16, 4, 4)
>>> torch.equal(block(x), x)  # the output conv starts at zero: a new block is the identity
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..errors import ArgumentValueError
from ..init import constant_init, normal_init
from .conv_module import ConvModule
from .plugin import PLUGIN_LAYERS

MODES = ("gaussian", "embedded_gaussian", "dot_product", "concatenation")


class _NonLocalNd(nn.Module):
    """`x + conv_out(attention(theta(x), phi(x)) @ g(x))`, the attention given by `mode`."""

    conv_type: str  # the conv of the input's dimensions, unless conv_cfg says otherwise
    pool: type[nn.Module]
    pool_size: tuple[int, ...]

    def __init__(
        self,
        in_channels: int,
        sub_sample: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        reduction: int = 2,
        use_scale: bool = True,
        norm_cfg: Mapping[str, Any] | None = None,
        mode: str = "embedded_gaussian",
        **init_args: Any,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ArgumentValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.in_channels, self.reduction, self.use_scale, self.mode = in_channels, reduction, use_scale, mode
        self.inter_channels = in_channels // reduction
        self.sub_sample = sub_sample
        conv_cfg = conv_cfg if conv_cfg is not None else dict(type=self.conv_type)

        def project(inputs: int, outputs: int, **kwargs: Any) -> ConvModule:
            return ConvModule(inputs, outputs, kernel_size=1, conv_cfg=conv_cfg, act_cfg=None, **kwargs)

        self.g = project(in_channels, self.inter_channels)
        self.conv_out = project(self.inter_channels, in_channels, norm_cfg=norm_cfg)
        if mode != "gaussian":
            self.theta = project(in_channels, self.inter_channels)
            self.phi = project(in_channels, self.inter_channels)
        if mode == "concatenation":
            self.concat_project = ConvModule(self.inter_channels * 2, 1, 1, bias=False, act_cfg=dict(type="ReLU"))
        self.init_weights(**init_args)
        if sub_sample:  # pool the keys and values, not the queries
            pool = self.pool(kernel_size=self.pool_size)
            self.g = nn.Sequential(self.g, pool)
            self.phi = nn.Sequential(self.phi, pool) if mode != "gaussian" else pool

    def init_weights(self, std: float = 0.01, zeros_init: bool = True) -> None:
        """N(0, std) projections; `conv_out` (its norm, if any) at zero, so a new block adds nothing."""
        for projection in [self.g] + ([self.theta, self.phi] if self.mode != "gaussian" else []):
            projection = projection[0] if isinstance(projection, nn.Sequential) else projection  # sub-sampled
            normal_init(projection.conv, std=std)
        last = self.conv_out.conv if self.conv_out.norm_cfg is None else self.conv_out.norm
        if zeros_init:
            constant_init(last, 0)
        else:
            normal_init(last, std=std)

    def attention(self, theta_x: torch.Tensor, phi_x: torch.Tensor) -> torch.Tensor:
        """The pairwise weights, N x positions x key positions."""
        if self.mode == "concatenation":
            queries, keys = theta_x.shape[2], phi_x.shape[3]
            pairs = torch.cat([theta_x.expand(-1, -1, -1, keys), phi_x.expand(-1, -1, queries, -1)], dim=1)
            weights = self.concat_project(pairs).squeeze(1)
            return weights / weights.shape[-1]
        weights = torch.matmul(theta_x, phi_x)
        if self.mode == "dot_product":
            return weights / weights.shape[-1]
        if self.mode == "embedded_gaussian" and self.use_scale:
            weights = weights / theta_x.shape[-1] ** 0.5
        return weights.softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        g_x = self.g(x).view(n, self.inter_channels, -1).transpose(1, 2)
        if self.mode == "gaussian":
            theta_x = x.view(n, self.in_channels, -1).transpose(1, 2)
            phi_x = (self.phi(x) if self.sub_sample else x).view(n, self.in_channels, -1)
        elif self.mode == "concatenation":
            theta_x = self.theta(x).view(n, self.inter_channels, -1, 1)
            phi_x = self.phi(x).view(n, self.inter_channels, 1, -1)
        else:
            theta_x = self.theta(x).view(n, self.inter_channels, -1).transpose(1, 2)
            phi_x = self.phi(x).view(n, self.inter_channels, -1)
        y = torch.matmul(self.attention(theta_x, phi_x), g_x)
        y = y.transpose(1, 2).reshape(n, self.inter_channels, *x.shape[2:])
        return x + self.conv_out(y)


class NonLocal1d(_NonLocalNd):
    """Non-local block for N x C x L inputs."""

    conv_type, pool, pool_size = "Conv1d", nn.MaxPool1d, (2,)


@PLUGIN_LAYERS.register_module()
class NonLocal2d(_NonLocalNd):
    """Non-local block for N x C x H x W inputs.

    Args:
        in_channels: Channels of the input.
        sub_sample: Max-pool the key and value maps by 2.
        conv_cfg: Config of the 1x1 convs.
        reduction: The inner width is `in_channels // reduction`.
        use_scale: Divide the dot products by the square root of the inner width.
        norm_cfg: A norm after the output conv.
        mode: 'gaussian', 'embedded_gaussian', 'dot_product' or 'concatenation'.
        **init_args: `zeros_init` (start the output conv at 0, so the block starts as the identity).
    """

    _abbr_ = "nonlocal_block"
    conv_type, pool, pool_size = "Conv2d", nn.MaxPool2d, (2, 2)


class NonLocal3d(_NonLocalNd):
    """Non-local block for N x C x T x H x W inputs (sub-sampling pools space, not time)."""

    conv_type, pool, pool_size = "Conv3d", nn.MaxPool3d, (1, 2, 2)
