"""`ConvModule`: a conv, a norm and an activation in any order, with padding modes and spectral norm.

>>> block = ConvModule(3, 8, 3, padding=1, norm_cfg=dict(type='BN'))
>>> [(name, type(layer).__name__) for name, layer in block.named_children()]
[('conv', 'Conv2d'), ('bn', 'BatchNorm2d'), ('activate', 'ReLU')]
>>> block(torch.randn(2, 3, 16, 16)).shape
torch.Size([2, 8, 16, 16])
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .._compat.torch import BatchNormBase, InstanceNormBase, children_of
from ..errors import ArgumentTypeError, ArgumentValueError
from ..init import constant_init, kaiming_init
from ..init.report import tracking
from ..modules import BaseModule, InitCfg
from .activation import build_activation_layer
from .conv import build_conv_layer
from .norm import build_norm_layer
from .padding import PADDING_LAYERS, build_padding_layer, padding_type
from .plugin import PLUGIN_LAYERS

ORDER_NAMES = frozenset(("conv", "norm", "act"))


def _check_cfg(cfg: Any, what: str) -> None:
    if cfg is not None and not isinstance(cfg, Mapping):
        raise ArgumentTypeError(f"{what} must be a dict or None, got {type(cfg).__name__}: {cfg!r}")


@PLUGIN_LAYERS.register_module()  # as MMCV registers it: a plugin of its own
class ConvModule(BaseModule):
    """A conv + norm + activation block, built from configs, with MMCV's names and semantics.

    Its submodules are `conv`, the norm under its abbreviation (`bn`, `gn`, ...), `activate` and,
    for an explicit padding, `padding_layer`, so MMCV's state-dict keys hold. Its default init
    (Kaiming conv, norm 1/0) yields to an explicit `init_cfg` of its own or of a parent.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        kernel_size: The conv's kernel size.
        stride: The conv's stride.
        padding: The conv's padding.
        dilation: The conv's dilation.
        groups: The conv's groups.
        bias: True, False, or 'auto' (a bias only without a norm).
        conv_cfg: The conv's cfg for `build_conv_layer` (None: Conv2d).
        norm_cfg: The norm's cfg for `build_norm_layer` (None: no norm).
        act_cfg: The activation's cfg for `build_activation_layer` (None: no activation).
        inplace: Whether the activation works in place (never when it comes first).
        with_spectral_norm: Wrap the conv in `nn.utils.spectral_norm`.
        padding_mode: 'zeros' (the conv's own) or a type in `PADDING_LAYERS` ('reflect', 'replicate',
            'circular', or one you register), applied by a padding layer before the conv.
        order: Any arrangement of 'conv', 'norm' and 'act'.
        init_cfg: Its own init_cfg (see `BaseModule`).

    Raises:
        ArgumentValueError: For an `order` that is not the three names, or a bad argument of a layer.
        ArgumentTypeError: For a cfg that is not a dict or None, or a `padding_mode` that is not a str.

    Example:
        >>> block = ConvModule(3, 8, 3, padding=1, norm_cfg=dict(type='GN', num_groups=2))
        >>> [name for name, _ in block.named_children()], block.conv.bias is None
        (['conv', 'gn', 'activate'], True)
        >>> block(torch.randn(1, 3, 8, 8)).shape
        torch.Size([1, 8, 8, 8])
    """

    _abbr_ = "conv_block"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool | str = "auto",
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = dict(type="ReLU"),
        inplace: bool = True,
        with_spectral_norm: bool = False,
        padding_mode: str = "zeros",
        order: tuple[str, str, str] = ("conv", "norm", "act"),
        init_cfg: InitCfg = None,
    ) -> None:
        super().__init__(init_cfg)
        for cfg, what in ((conv_cfg, "conv_cfg"), (norm_cfg, "norm_cfg"), (act_cfg, "act_cfg")):
            _check_cfg(cfg, what)
        if not isinstance(order, (tuple, list)) or len(order) != 3 or set(order) != ORDER_NAMES:
            raise ArgumentValueError(f"order must be a tuple of 'conv', 'norm' and 'act' in any order, got {order!r}")
        if not isinstance(padding_mode, str):
            raise ArgumentTypeError(f"padding_mode must be a str, got {type(padding_mode).__name__}: {padding_mode!r}")
        if bias != "auto" and not isinstance(bias, bool):
            raise ValueError(f"bias must be 'auto' or a bool, got {bias!r}")
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.inplace = inplace
        self.with_spectral_norm = with_spectral_norm
        self.order = tuple(order)
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        self.with_bias = (not self.with_norm) if bias == "auto" else bias
        self.with_explicit_padding = padding_mode != "zeros"

        conv = build_conv_layer(
            conv_cfg,
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=0 if self.with_explicit_padding else padding,
            dilation=dilation,
            groups=groups,
            bias=self.with_bias,
        )
        if self.with_explicit_padding:
            spatial_dims = len(getattr(conv, "kernel_size", (0, 0)))
            # reflect, replicate, circular follow the conv's dimensions; another registered padding is used as named
            mode = padding_type(padding_mode, spatial_dims)
            mode = mode if mode in PADDING_LAYERS else padding_mode
            self.padding_layer = build_padding_layer(dict(type=mode), padding)
        self.conv = nn.utils.spectral_norm(conv) if with_spectral_norm else conv
        self.in_channels = conv.in_channels
        self.out_channels = conv.out_channels
        self.kernel_size = conv.kernel_size
        self.stride = conv.stride
        self.padding = padding
        self.dilation = conv.dilation
        self.transposed = conv.transposed
        self.output_padding = conv.output_padding
        self.groups = conv.groups

        self.norm_name: str | None = None
        if self.with_norm:
            norm_after_conv = self.order.index("norm") > self.order.index("conv")
            self.norm_name, norm = build_norm_layer(norm_cfg, out_channels if norm_after_conv else in_channels)
            self.add_module(self.norm_name, norm)
            if self.with_bias and isinstance(norm, (BatchNormBase, InstanceNormBase)):
                warnings.warn("Unnecessary conv bias before batch/instance norm", stacklevel=2)
        if self.with_activation:
            # An activation that comes first must not overwrite the caller's input tensor.
            self.activate = build_activation_layer(act_cfg, inplace=inplace and self.order[0] != "act")
        self._forward_names = self._layer_names()
        self.init_defaults()

    @property
    def norm(self) -> nn.Module | None:
        return getattr(self, self.norm_name) if self.norm_name else None

    def init_defaults(self, covered: set[nn.Module] | frozenset[nn.Module] = frozenset()) -> None:
        """Kaiming for the conv, 1/0 for the norm, for each of them that is not in `covered`."""
        if not hasattr(self.conv, "init_weights") and self.conv not in covered:
            if self.with_activation and self.act_cfg["type"] == "LeakyReLU":
                nonlinearity, a = "leaky_relu", self.act_cfg.get("negative_slope", 0.01)
            else:
                nonlinearity, a = "relu", 0
            with tracking(self.conv, f"ConvModule default: kaiming_init(a={a}, nonlinearity={nonlinearity!r})"):
                kaiming_init(self.conv, a=a, nonlinearity=nonlinearity)
        norm = self.norm
        if norm is not None and norm not in covered:
            with tracking(norm, "ConvModule default: constant_init(val=1, bias=0)"):
                constant_init(norm, 1, bias=0)

    def _layer_names(self) -> tuple[str, ...]:
        """The submodules that forward calls, in `order`."""
        names = {
            "conv": ("padding_layer", "conv") if self.with_explicit_padding else ("conv",),
            "norm": (self.norm_name,) if self.norm_name else (),
            "act": ("activate",) if self.with_activation else (),
        }
        return tuple(name for layer in self.order for name in names[layer])

    def forward(self, x: torch.Tensor, activate: bool = True, norm: bool = True) -> torch.Tensor:
        layers = children_of(self)
        skipped = (() if activate else ("activate",)) + (() if norm else (self.norm_name,))
        for name in self._forward_names:
            if name not in skipped:
                x = layers[name](x)
        return x
