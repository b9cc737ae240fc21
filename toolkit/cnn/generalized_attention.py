"""`GeneralizedAttention` (Zhu et al., "An Empirical Study of Spatial Attention Mechanisms in Deep
Networks", 2019), with MMCV's arguments and parameter names.

The attention energy between a query position and a key position sums the terms that
`attention_type` switches on, one bit each: '1000' query content x key content, '0100' query
content x relative position, '0010' a learnt bias x key content, '0001' a learnt bias x relative
position. The output is `gamma * attention(x) + x`, with `gamma` starting at zero.

>>> block = GeneralizedAttention(16, num_heads=4)
>>> x = torch.randn(2, 16, 6, 6)
>>> torch.equal(block(x), x)
True
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ArgumentValueError
from ..init import kaiming_init
from .plugin import PLUGIN_LAYERS


@PLUGIN_LAYERS.register_module()
class GeneralizedAttention(nn.Module):
    """Multi-head spatial attention over a (strided) key/value map, with relative-position terms.

    Args:
        in_channels: Channels of the input.
        spatial_range: Attend only within this many positions (-1: everywhere).
        num_heads: Attention heads.
        position_embedding_dim: Width of the relative-position embedding (-1: `in_channels`).
        position_magnitude: Scale of the positions in the embedding.
        kv_stride: Stride of the key/value map.
        q_stride: Stride of the query map.
        attention_type: Four binary digits: which of the four terms (query-key, query-position, key, position) are used.

    Raises:
        ArgumentValueError: For an `attention_type` that is not four binary digits with at least one 1.
    """

    _abbr_ = "gen_attention_block"

    def __init__(
        self,
        in_channels: int,
        spatial_range: int = -1,
        num_heads: int = 9,
        position_embedding_dim: int = -1,
        position_magnitude: int = 1,
        kv_stride: int = 2,
        q_stride: int = 1,
        attention_type: str = "1111",
    ) -> None:
        super().__init__()
        if len(attention_type) != 4 or set(attention_type) - {"0", "1"} or "1" not in attention_type:
            raise ArgumentValueError(f"attention_type must be 4 binary digits, not all 0, got {attention_type!r}")
        self.in_channels, self.num_heads, self.spatial_range = in_channels, num_heads, spatial_range
        self.position_embedding_dim = position_embedding_dim if position_embedding_dim > 0 else in_channels
        self.position_magnitude, self.kv_stride, self.q_stride = position_magnitude, kv_stride, q_stride
        self.attention_type = [digit == "1" for digit in attention_type]
        content, query_position, key_bias, position_bias = self.attention_type
        self.qk_embed_dim = self.v_dim = in_channels // num_heads
        width = self.qk_embed_dim * num_heads
        if content or query_position:
            self.query_conv = nn.Conv2d(in_channels, width, 1, bias=False)
        if content or key_bias:
            self.key_conv = nn.Conv2d(in_channels, width, 1, bias=False)
        self.value_conv = nn.Conv2d(in_channels, self.v_dim * num_heads, 1, bias=False)
        if query_position or position_bias:
            self.appr_geom_fc_x = nn.Linear(self.position_embedding_dim // 2, width, bias=False)
            self.appr_geom_fc_y = nn.Linear(self.position_embedding_dim // 2, width, bias=False)
        bound = 1.0 / math.sqrt(self.qk_embed_dim * 2)
        if key_bias:
            self.appr_bias = nn.Parameter(torch.empty(width).uniform_(-bound, bound))
        if position_bias:
            self.geom_bias = nn.Parameter(torch.empty(width).uniform_(-bound, bound))
        self.proj_conv = nn.Conv2d(self.v_dim * num_heads, in_channels, 1, bias=True)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.q_downsample = nn.AvgPool2d(kernel_size=1, stride=q_stride) if q_stride > 1 else None
        self.kv_downsample = nn.AvgPool2d(kernel_size=1, stride=kv_stride) if kv_stride > 1 else None
        self.init_weights()

    def init_weights(self) -> None:
        """Kaiming-uniform (a=1, fan_in) projections; `gamma` stays at zero, so a new block is the identity."""
        for name in ("query_conv", "key_conv", "value_conv", "appr_geom_fc_x", "appr_geom_fc_y", "proj_conv"):
            if hasattr(self, name):
                kaiming_init(getattr(self, name), a=1, mode="fan_in", nonlinearity="leaky_relu", distribution="uniform")

    def position_embedding(
        self, queries: int, keys: int, like: torch.Tensor, wave_length: float = 1000
    ) -> torch.Tensor:
        """Sinusoidal embeddings of the scaled offsets between query and key coordinates along one axis."""
        offsets = (
            torch.arange(queries, dtype=like.dtype, device=like.device)[:, None] * self.q_stride
            - torch.arange(keys, dtype=like.dtype, device=like.device)[None, :] * self.kv_stride
        ) * self.position_magnitude
        frequencies = wave_length ** (
            (4.0 / self.position_embedding_dim)
            * torch.arange(self.position_embedding_dim // 4, dtype=like.dtype, device=like.device)
        )
        angles = offsets[..., None] / frequencies
        return torch.cat([angles.sin(), angles.cos()], dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        content, query_position, key_bias, position_bias = self.attention_type
        heads, dim = self.num_heads, self.qk_embed_dim
        x_q = self.q_downsample(x) if self.q_downsample is not None else x
        x_kv = self.kv_downsample(x) if self.kv_downsample is not None else x
        n, _, h, w = x_q.shape
        h_kv, w_kv = x_kv.shape[2:]
        energy = x.new_zeros(n, heads, h, w, h_kv, w_kv)
        query = (
            self.query_conv(x_q).view(n, heads, dim, h, w).permute(0, 1, 3, 4, 2) if content or query_position else 0
        )
        if content or key_bias:
            key = self.key_conv(x_kv).view(n, heads, dim, h_kv * w_kv)
            reader = (query if content else 0) + (self.appr_bias.view(1, heads, 1, 1, dim) if key_bias else 0)
            energy = energy + torch.einsum("nhyxd,nhdk->nhyxk", reader.expand(n, heads, h, w, dim), key).view_as(energy)
        if query_position or position_bias:
            pos_x = self.appr_geom_fc_x(self.position_embedding(w, w_kv, x)).view(w, w_kv, heads, dim) / math.sqrt(2)
            pos_y = self.appr_geom_fc_y(self.position_embedding(h, h_kv, x)).view(h, h_kv, heads, dim) / math.sqrt(2)
            reader = (query if query_position else 0) + (
                self.geom_bias.view(1, heads, 1, 1, dim) if position_bias else 0
            )
            reader = reader.expand(n, heads, h, w, dim)
            energy_x = torch.einsum("nhyxd,xkhd->nhyxk", reader, pos_x)[:, :, :, :, None, :]
            energy_y = torch.einsum("nhyxd,ykhd->nhyxk", reader, pos_y)[:, :, :, :, :, None]
            energy = energy + energy_x + energy_y
        if self.spatial_range >= 0:
            energy = energy.masked_fill(self.outside_range(h, w, h_kv, w_kv, x.device), float("-inf"))
        attention = energy.view(n, heads, h * w, h_kv * w_kv).softmax(dim=-1)
        value = self.value_conv(x_kv).view(n, heads, self.v_dim, h_kv * w_kv).transpose(2, 3)
        out = torch.matmul(attention, value).transpose(2, 3).reshape(n, heads * self.v_dim, h, w)
        out = self.proj_conv(out)
        if self.q_downsample is not None:
            out = F.interpolate(out, size=x.shape[2:], mode="bilinear", align_corners=False)
        return self.gamma * out + x

    def outside_range(self, h: int, w: int, h_kv: int, w_kv: int, device: torch.device) -> torch.Tensor:
        """True where a key lies outside `spatial_range` of the query (in key-map cells), as MMCV bounds it."""

        def allowed(queries: int, keys: int) -> torch.Tensor:
            index = torch.arange(queries, device=device)[:, None]
            low = ((index - self.spatial_range) // self.kv_stride).clamp(min=0)
            high = (index + self.spatial_range + 1) // self.kv_stride + 1
            keys_index = torch.arange(keys, device=device)[None, :]
            return (keys_index >= low) & (keys_index < high)

        inside = allowed(h, h_kv)[:, None, :, None] & allowed(w, w_kv)[None, :, None, :]
        return ~inside
