"""The padding registry and `build_padding_layer`.

The seed's names (`zero`, `reflect`, `replicate`) and `circular` build 2d layers; a `1d` or `3d`
suffix (`reflect1d`, `zero3d`) picks the layer for other conv dimensions.

>>> build_padding_layer(dict(type='reflect'), 1)
ReflectionPad2d((1, 1, 1, 1))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from ..registry import Registry, merge_args, resolve_type
from .arguments import construct_layer

PADDING_LAYERS = Registry("padding layer")
_PADDINGS = {
    "zero": (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d),
    "reflect": (nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d),
    "replicate": (nn.ReplicationPad1d, nn.ReplicationPad2d, nn.ReplicationPad3d),
    "circular": (nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d),
}
for _mode, (_pad1d, _pad2d, _pad3d) in _PADDINGS.items():
    PADDING_LAYERS.register_module([_mode, f"{_mode}2d"], module=_pad2d)
    PADDING_LAYERS.register_module(f"{_mode}1d", module=_pad1d)
    PADDING_LAYERS.register_module(f"{_mode}3d", module=_pad3d)


def padding_type(mode: str, spatial_dims: int) -> str:
    """The registered padding type for a padding mode and a conv's number of spatial dimensions.

    >>> padding_type('reflect', 2), padding_type('circular', 3)
    ('reflect', 'circular3d')
    """
    return mode if spatial_dims == 2 else f"{mode}{spatial_dims}d"


def build_padding_layer(cfg: Mapping[str, Any], *args: Any, **kwargs: Any) -> nn.Module:
    """Build a padding layer from `cfg` and the padding size.

    Args:
        cfg: `type` (a name in `PADDING_LAYERS`: zero, reflect, replicate, circular, each also with a
            `1d` or `3d` suffix) and the layer's arguments.
        *args: The padding size, and any other positional argument of the layer.
        **kwargs: Its keyword arguments.

    Returns:
        The padding layer.

    Raises:
        TypeError: When `cfg` is not a dict.
        KeyError: When its `type` is missing or not registered (the message lists the registered types
            and the closest one).

    Example:
        >>> build_padding_layer(dict(type='replicate3d'), 2)
        ReplicationPad3d((2, 2, 2, 2, 2, 2))
    """
    label, layer, cfg_ = resolve_type(cfg, PADDING_LAYERS)
    return construct_layer(layer, merge_args(kwargs, cfg_, label), label, *args)
