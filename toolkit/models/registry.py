"""The model registry, and naming the layer whose build failed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..registry import Registry

MODELS = Registry("model")


@contextlib.contextmanager
def building(path: str) -> Iterator[None]:
    """Re-raise a layer's build error with the layer's path in the model, keeping its type.

    >>> with building('stages.0.1'):
    ...     raise ValueError('GN: num_groups=3 does not divide the 32 channels')
    Traceback (most recent call last):
    ...
    ValueError: layer stages.0.1: GN: num_groups=3 does not divide the 32 channels
    """
    try:
        yield
    except (ValueError, KeyError, TypeError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        raise type(error)(f"layer {path}: {message}") from error
