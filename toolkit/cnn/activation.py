"""The activation registry and `build_activation_layer`.

>>> build_activation_layer(dict(type='LeakyReLU', negative_slope=0.2))
LeakyReLU(negative_slope=0.2)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..errors import ArgumentValueError
from ..registry import Registry, resolve_type
from .arguments import construct_layer

ACTIVATION_LAYERS = Registry("activation layer")
for _module in (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ReLU6, nn.ELU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.Mish):
    ACTIVATION_LAYERS.register_module(module=_module)
ACTIVATION_LAYERS.register_module("SiLU", module=nn.SiLU)


@ACTIVATION_LAYERS.register_module()
class Swish(nn.Module):
    """`x * sigmoid(x)`, MMCV's Swish (the same function as `nn.SiLU`).

    >>> Swish()(torch.tensor([0.0, 1.0]))
    tensor([0.0000, 0.7311])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class HSwish(nn.Module):
    """Hard swish `x * relu6(x + 3) / 6` (MobileNetV3), with MMCV's `inplace` argument. As MMCV does on
    torch 1.7 and later, `build_activation_layer(dict(type='HSwish'))` builds torch's `nn.Hardswish`
    (the same function, one fused op); this class stays for code that names it.

    Args:
        inplace: Compute in place.

    Example:
        >>> HSwish()(torch.tensor([-3.0, 0.0, 3.0]))
        tensor([-0., 0., 3.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.act = nn.ReLU6(inplace)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.act(x + 3) / 6


ACTIVATION_LAYERS.register_module("HSwish", module=nn.Hardswish)


@ACTIVATION_LAYERS.register_module(name=["Clamp", "Clip"])
class Clamp(nn.Module):
    """Clamp the input to `[min, max]`, as MMCV's Clamp activation (registered as `Clip` too, as MMCV does).

    Args:
        min: The lower bound.
        max: The upper bound.

    Example:
        >>> Clamp(min=-1.0, max=1.0)(torch.tensor([-2.0, 0.5, 2.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """

    def __init__(self, min: float = -1.0, max: float = 1.0) -> None:
        super().__init__()
        self.min, self.max = min, max

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, min=self.min, max=self.max)


@ACTIVATION_LAYERS.register_module()
class HSigmoid(nn.Module):
    """Hard sigmoid `clamp((x + bias) / divisor, min_value, max_value)`, with MMCV's arguments.

    Args:
        bias: Added to the input.
        divisor: The sum is divided by it (not 0).
        min_value: The lower bound of the result.
        max_value: The upper bound of the result.

    Example:
        >>> HSigmoid()(torch.tensor([-3.0, 0.0, 3.0]))
        tensor([0.0000, 0.5000, 1.0000])
    """

    def __init__(self, bias: float = 3.0, divisor: float = 6.0, min_value: float = 0.0, max_value: float = 1.0) -> None:
        super().__init__()
        if divisor == 0:
            raise ArgumentValueError("HSigmoid: divisor must not be 0")  # an AssertionError too, as MMCV asserts
        self.bias, self.divisor = bias, divisor
        self.min_value, self.max_value = min_value, max_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + self.bias) / self.divisor).clamp(self.min_value, self.max_value)


@functools.cache
def accepts_inplace(layer: type) -> bool:
    """Whether a layer class takes an `inplace` argument (ReLU does, GELU does not).

    >>> accepts_inplace(nn.ReLU), accepts_inplace(nn.GELU)
    (True, False)
    """
    try:
        return "inplace" in inspect.signature(layer).parameters
    except (TypeError, ValueError):
        return False


def build_activation_layer(cfg: Mapping[str, Any], inplace: bool | None = None) -> nn.Module:
    """Build an activation layer.

    Args:
        cfg: `type` (a name in `ACTIVATION_LAYERS`: ReLU, LeakyReLU, GELU, SiLU, HSwish, Clamp, ...)
            and the layer's arguments.
        inplace: When given, passed to layers that take an `inplace` argument (and only to them).

    Returns:
        The activation layer.

    Raises:
        TypeError: When `cfg` is not a dict.
        KeyError: When its `type` is missing or not registered (the message lists the registered types
            and the closest one).

    Example:
        >>> build_activation_layer(dict(type='GELU'), inplace=True)
        GELU(approximate='none')
    """
    label, layer, cfg_ = resolve_type(cfg, ACTIVATION_LAYERS)
    if inplace is not None and accepts_inplace(layer):
        cfg_.setdefault("inplace", inplace)
    return construct_layer(layer, cfg_, label)
