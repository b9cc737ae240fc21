"""Where checkpoints come from: a registry of loaders keyed by the prefix of the file name.

Add a scheme with one decorated function that returns the checkpoint:

>>> @CHECKPOINT_LOADERS.register_module('memory://')
... def load_from_memory(filename, map_location=None, weights_only=True):
...     return {'weight': torch.zeros(1)}
>>> load_from_source('memory://anything')
{'weight': tensor([0.])}
>>> _ = CHECKPOINT_LOADERS.module_dict.pop('memory://')
"""

from __future__ import annotations

import os
from typing import Any

import torch  # noqa: F401 (used by the doctest)

from ..registry import Registry
from .download import cached_download
from .errors import CheckpointError
from .io import MapLocation, read_checkpoint
from .model_zoo import resolve_open_mmlab, torchvision_url

CHECKPOINT_LOADERS = Registry("checkpoint loader")


@CHECKPOINT_LOADERS.register_module(["http://", "https://"])
def load_from_http(filename: str, map_location: MapLocation = None, weights_only: bool = True) -> Any:
    """Download once into `$TOOLKIT_HOME/checkpoints`, then read from there."""
    path = cached_download(filename)
    try:
        return read_checkpoint(path, map_location, weights_only)
    except CheckpointError as error:
        raise CheckpointError(f"{filename} (cached as {str(path)!r}): {error}") from error


@CHECKPOINT_LOADERS.register_module("torchvision://")
def load_from_torchvision(filename: str, map_location: MapLocation = None, weights_only: bool = True) -> Any:
    """torchvision's ImageNet weights for the named model."""
    url = torchvision_url(filename[len("torchvision://") :])
    return load_from_http(url, map_location, weights_only)


@CHECKPOINT_LOADERS.register_module(["open-mmlab://", "openmmlab://"])
def load_from_open_mmlab(filename: str, map_location: MapLocation = None, weights_only: bool = True) -> Any:
    """A model-zoo name, looked up in the merged JSON tables."""
    scheme = "open-mmlab://" if filename.startswith("open-mmlab://") else "openmmlab://"
    return load_from_source(resolve_open_mmlab(filename[len(scheme) :], scheme), map_location, weights_only)


def load_from_source(filename: str, map_location: MapLocation = None, weights_only: bool = True) -> Any:
    """Read a checkpoint with the loader of the longest matching prefix, or from a local path."""
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(
            f"a checkpoint file name must be a str or os.PathLike, got {type(filename).__name__}: {filename!r}"
        )
    filename = os.fspath(filename)
    matching = [prefix for prefix in CHECKPOINT_LOADERS.module_dict if filename.startswith(prefix)]
    if not matching:
        if "://" in filename:
            schemes = ", ".join(sorted(CHECKPOINT_LOADERS.module_dict))
            raise CheckpointError(f"no loader knows the scheme of {filename!r}; known schemes: {schemes}")
        return read_checkpoint(filename, map_location, weights_only)
    loader = CHECKPOINT_LOADERS.module_dict[max(matching, key=len)]
    return loader(filename, map_location=map_location, weights_only=weights_only)
