"""The plugin registry (blocks inserted into backbones: `ContextBlock`, `NonLocal2d`, ...) and
`build_plugin_layer`, as `mmcv.cnn` has them.

>>> name, layer = build_plugin_layer(dict(type='ContextBlock', ratio=0.25), in_channels=16, postfix=1)
>>> name, type(layer).__name__
('context_block1', 'ContextBlock')
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

from torch import nn

from ..errors import ArgumentTypeError
from ..registry import Registry, construct, resolve_type

PLUGIN_LAYERS = Registry("plugin layer")


def infer_plugin_abbr(class_type: type) -> str:
    """A plugin's name inside a module: its `_abbr_`, else its class name in snake case.

    Args:
        class_type: The plugin's class.

    Returns:
        Its name inside a module.

    Raises:
        TypeError: When `class_type` is not a class.

    Example:
        >>> infer_plugin_abbr(type('FancyBlock', (), {})), infer_plugin_abbr(type('GCBlock', (), {}))
        ('fancy_block', 'gc_block')
    """
    if not inspect.isclass(class_type):
        raise TypeError(f"class_type must be a type, but got {type(class_type)}")
    if hasattr(class_type, "_abbr_"):
        return class_type._abbr_
    word = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", class_type.__name__)
    word = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", word)
    return word.replace("-", "_").lower()


infer_abbr = infer_plugin_abbr  # MMCV's name for it in mmcv.cnn.bricks.plugin


def build_plugin_layer(cfg: Mapping[str, Any], postfix: int | str = "", **kwargs: Any) -> tuple[str, nn.Module]:
    """Build a plugin from `cfg` and `kwargs`; returns `(abbreviation + postfix, layer)`.

    Args:
        cfg: `type` (a name in `PLUGIN_LAYERS`: ContextBlock, GeneralizedAttention, NonLocal2d, ConvModule, ...) and the
            plugin's arguments.
        postfix: Appended to the plugin's abbreviation to make its name.
        **kwargs: More arguments of the plugin.

    Returns:
        `(name, layer)`: the abbreviation (`infer_plugin_abbr`) with `postfix`, and the layer.
    """
    if not isinstance(cfg, Mapping):
        raise TypeError(f"cfg must be a dict, got {type(cfg).__name__}: {cfg!r}")
    if not isinstance(postfix, (int, str)) or isinstance(postfix, bool):
        raise ArgumentTypeError(f"postfix must be an int or a str, got {type(postfix).__name__}: {postfix!r}")
    label, plugin, args = resolve_type(cfg, PLUGIN_LAYERS)
    return infer_plugin_abbr(plugin) + str(postfix), construct(plugin, {**kwargs, **args}, label)
