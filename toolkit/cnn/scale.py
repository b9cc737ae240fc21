"""`Scale`, a learnable scalar factor, and `is_norm`, as `mmcv.cnn` has them.

>>> Scale(2.0)(torch.ones(2)).tolist()
[2.0, 2.0]
"""

from __future__ import annotations

import torch
from torch import nn

from .._compat.torch import BatchNormBase  # noqa: F401 (used by the doctest)
from ..errors import ArgumentTypeError
from .norm import NORM_TYPES


class Scale(nn.Module):
    """Multiply the input by a learnable scalar, initialized to `scale`.

    Args:
        scale: The factor's initial value.
    """

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale, dtype=torch.float))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def is_norm(layer: nn.Module, exclude: type | tuple[type, ...] | None = None) -> bool:
    """Whether `layer` is a BatchNorm, InstanceNorm, GroupNorm or LayerNorm, and none of `exclude`.

    Args:
        layer: The module to check.
        exclude: Norm types (a class or a tuple of them) that do not count.

    Returns:
        Whether it is a norm layer not in `exclude`.

    Raises:
        TypeError: When `exclude` is not a class or a tuple of classes.

    Example:
        >>> is_norm(nn.BatchNorm2d(4)), is_norm(nn.BatchNorm2d(4), exclude=BatchNormBase), is_norm(nn.Conv2d(1, 1, 1))
        (True, False, False)
    """
    if exclude is not None:
        excluded = exclude if isinstance(exclude, tuple) else (exclude,)
        if not all(isinstance(kind, type) for kind in excluded):
            raise ArgumentTypeError(f"exclude must be a class or a tuple of classes, got {exclude!r}")
        if isinstance(layer, excluded):
            return False
    return isinstance(layer, NORM_TYPES)
