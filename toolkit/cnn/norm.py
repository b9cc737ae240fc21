"""The norm registry, a channel LayerNorm for N,C,... tensors, and `build_norm_layer`.

>>> name, layer = build_norm_layer(dict(type='GN', num_groups=2), 8)
>>> name, layer.num_groups, layer.num_channels
('gn', 2, 8)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._compat.torch import BatchNormBase, InstanceNormBase
from ..errors import ArgumentKeyError, ArgumentTypeError
from ..registry import Registry, resolve_type
from .arguments import construct_layer
from .sync_bn import SyncBatchNorm

# The norm types and the abbreviations that name their layers (`bn1`); an InstanceNorm is checked first.
NORM_ABBRS: tuple[tuple[type[nn.Module], str], ...] = (
    (InstanceNormBase, "in"),
    (BatchNormBase, "bn"),
    (nn.GroupNorm, "gn"),
    (nn.LayerNorm, "ln"),
)
NORM_TYPES = tuple(base for base, _ in NORM_ABBRS)

NORM_LAYERS = Registry("norm layer")
NORM_LAYERS.register_module("BN1d", module=nn.BatchNorm1d)
NORM_LAYERS.register_module(["BN2d", "BN"], module=nn.BatchNorm2d)
NORM_LAYERS.register_module("BN3d", module=nn.BatchNorm3d)
NORM_LAYERS.register_module("SyncBN", module=SyncBatchNorm)
NORM_LAYERS.register_module("GN", module=nn.GroupNorm)
NORM_LAYERS.register_module("LN", module=nn.LayerNorm)
NORM_LAYERS.register_module("IN1d", module=nn.InstanceNorm1d)
NORM_LAYERS.register_module(["IN2d", "IN"], module=nn.InstanceNorm2d)
NORM_LAYERS.register_module("IN3d", module=nn.InstanceNorm3d)


@NORM_LAYERS.register_module("LN2d")
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel dimension of an N,C,... tensor, usable right after a conv.

    >>> LayerNorm2d(8)(torch.randn(2, 8, 4, 4)).shape
    torch.Size([2, 8, 4, 4])
    """

    _abbr_ = "ln"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.movedim(1, -1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.movedim(-1, 1)


def infer_abbr(class_type: type) -> str:
    """The short name a norm layer gets inside a module: `_abbr_`, or bn/in/gn/ln from its class.

    >>> infer_abbr(nn.BatchNorm2d), infer_abbr(nn.GroupNorm)
    ('bn', 'gn')
    """
    if not isinstance(class_type, type):
        raise TypeError(f"a norm layer type must be a class, got {class_type!r}")
    if hasattr(class_type, "_abbr_"):
        return class_type._abbr_
    for base, abbr in NORM_ABBRS:
        if issubclass(class_type, base):
            return abbr
    name = class_type.__name__.lower()
    for word, abbr in (("batch", "bn"), ("group", "gn"), ("layer", "ln"), ("instance", "in")):
        if word in name:
            return abbr
    return "norm_layer"


def check_norm_args(label: str, cfg: Mapping[str, Any]) -> None:
    """Raise ValueError, naming the key, for an `eps` that is not above 0 or a `momentum` outside [0, 1].

    >>> check_norm_args('BN', {'eps': -1})
    Traceback (most recent call last):
    ValueError: BN: eps must be a number above 0, got -1
    """
    eps, momentum = cfg.get("eps"), cfg.get("momentum")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"{label}: eps must be a number above 0, got {eps!r}")
    if momentum is not None and (
        isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1
    ):
        raise ValueError(f"{label}: momentum must be a number in [0, 1] (or None), got {momentum!r}")


def build_norm_layer(cfg: Mapping[str, Any], num_features: int, postfix: int | str = "") -> tuple[str, nn.Module]:
    """Build a norm layer over `num_features` channels.

    Args:
        cfg: `type` (a name in `NORM_LAYERS`: BN, SyncBN, GN, LN, LN2d, IN, ...) and the layer's
            arguments; `requires_grad=False` freezes its parameters; GN needs `num_groups`, a divisor
            of `num_features`.
        num_features: The channels it normalizes.
        postfix: Appended to the layer's abbreviation to make its name (`bn` + `1`).

    Returns:
        `(name, layer)`: the abbreviation (`bn`, `gn`, `ln`, `in`, or the class's `_abbr_`) with
        `postfix`, and the layer.

    Raises:
        TypeError: When `cfg` is not a dict.
        KeyError: When its `type` is missing or not registered (the message lists the registered types
            and the closest one).
        ValueError: When GN's `num_groups` does not divide the channels, or `eps` is not positive.

    Example:
        >>> name, layer = build_norm_layer(dict(type='BN', requires_grad=False), 16, postfix=1)
        >>> name, layer.weight.requires_grad
        ('bn1', False)
    """
    if not isinstance(postfix, (int, str)) or isinstance(postfix, bool):
        raise ArgumentTypeError(f"postfix must be an int or a str, got {type(postfix).__name__}: {postfix!r}")
    label, norm_layer, cfg_ = resolve_type(cfg, NORM_LAYERS)
    abbr = infer_abbr(norm_layer)
    requires_grad = cfg_.pop("requires_grad", True)
    cfg_.setdefault("eps", 1e-5)
    check_norm_args(label, cfg_)
    if issubclass(norm_layer, nn.GroupNorm):
        if "num_groups" not in cfg_:
            raise ArgumentKeyError(
                f"{label} needs 'num_groups' in its cfg (a divisor of the {num_features} channels), got {dict(cfg)!r}"
            )
        groups = cfg_["num_groups"]
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{label}: num_groups must be a positive int dividing the channels, got {groups!r}")
        if num_features % groups:
            raise ValueError(f"{label}: num_groups={groups} does not divide the {num_features} channels")
        layer = construct_layer(norm_layer, {"num_channels": num_features, **cfg_}, label)
    else:
        layer = construct_layer(norm_layer, cfg_, label, num_features)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return abbr + str(postfix), layer
