"""Checking a layer's arguments before it is built, so that a value torch would take and fail on later
(a kernel of 0, a norm over 0 channels, a negative scale, `inplace="yes"`) stops the builder naming it.

`construct_layer` binds the arguments to the layer's signature and checks those it knows by name;
every builder (`build_conv_layer`, `build_norm_layer`, ...) builds through it.

>>> from torch import nn
>>> construct_layer(nn.Conv2d, {}, 'Conv2d', 3, 8, 0)
Traceback (most recent call last):
toolkit.errors.ArgumentValueError: Conv2d: kernel_size must be a positive int (or a tuple of them), got 0
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ..errors import ArgumentTypeError, ArgumentValueError
from ..registry import construct, constructors

# Argument names and what they must be.
POSITIVE_INTS = ("in_channels", "out_channels", "num_features", "num_channels", "groups", "upsample_kernel")
POSITIVE_SIZES = ("kernel_size", "stride", "dilation")  # an int or a tuple of ints
PADDING = ("padding",)  # a non-negative int or tuple of them (or a conv's 'same' / 'valid')
POSITIVE_SCALES = ("scale_factor", "upscale_factor")
FLAGS = ("inplace",)


@functools.cache
def parameters_of(factory: Callable[..., Any]) -> inspect.Signature | None:
    """The signature that names `factory`'s arguments: a class's first `__init__` up its bases that does not
    pass `*args` on (a wrapper such as `Conv2dAdaptivePadding(*args, **kwargs)` takes nn.Conv2d's)."""
    for function in constructors(factory):
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            return None
        if not any(p.kind == p.VAR_POSITIONAL for p in signature.parameters.values()):
            return signature
    return None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def each(value: Any) -> list[Any]:
    return list(value) if isinstance(value, tuple | list) else [value]


def problem(name: str, value: Any) -> tuple[type[Exception], str] | None:
    """What is wrong with the argument `name=value`, as (error type, what it must be); None when nothing is."""
    if name in POSITIVE_INTS and not (is_int(value) and value > 0):
        return (ArgumentValueError if is_int(value) else ArgumentTypeError), "a positive int"
    if name in POSITIVE_SIZES and not all(is_int(v) and v > 0 for v in each(value)):
        return ArgumentValueError, "a positive int (or a tuple of them)"
    if name in PADDING and not isinstance(value, str) and not all(is_int(v) and v >= 0 for v in each(value)):
        return ArgumentValueError, "a non-negative int (or a tuple of them)"
    if name in POSITIVE_SCALES and value is not None:
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in each(value))
        if not (numbers and all(v > 0 for v in each(value))):
            return ArgumentValueError, "a positive number (or a tuple of them)"
    if name in FLAGS and not isinstance(value, bool):
        return ArgumentTypeError, "True or False"
    return None


def check_layer_arguments(factory: Callable[..., Any], kwargs: dict[str, Any], label: str, *args: Any) -> None:
    """Raise ArgumentValueError/ArgumentTypeError naming `label` and the first argument of `factory` that is
    out of bounds; arguments it does not bind (a user's layer with other names) are left to it."""
    signature = parameters_of(factory)
    if signature is None:
        return
    try:
        bound = signature.bind_partial(*([None] if "self" in signature.parameters else []), *args, **kwargs)
    except TypeError:
        return  # the layer itself says what does not fit
    for name, value in bound.arguments.items():
        found = problem(name, value)
        if found is not None:
            error, expected = found
            raise error(f"{label}: {name} must be {expected}, got {value!r}")


def construct_layer(factory: Callable[..., Any], kwargs: dict[str, Any], label: str, *args: Any) -> Any:
    """`construct(factory, kwargs, label, *args)` once the layer's arguments are checked."""
    check_layer_arguments(factory, kwargs, label, *args)
    return construct(factory, kwargs, label, *args)
