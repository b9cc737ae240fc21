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

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any

import torch  # noqa: F401 (used by the doctest)

from ..registry import Registry
from .download import cached_download
from .errors import CheckpointError
from .io import MapLocation, read_checkpoint
from .model_zoo import resolve_open_mmlab, torchvision_url

CHECKPOINT_LOADERS = Registry("checkpoint loader")


def load_from_local(filename: str, map_location: MapLocation = None, weights_only: bool = True) -> Any:
    """Read a local file (`~` expanded); a missing one is a CheckpointNotFoundError (a FileNotFoundError).

    Args:
        filename: The path.
        map_location: Where the tensors go, as `torch.load` takes it.
        weights_only: Safe loading (False only for a file you trust).

    Returns:
        The checkpoint as read.

    Raises:
        CheckpointNotFoundError: When the file is not there.

    Example:
        >>> try:
        ...     load_from_local('~/no/such/weights.pth')
        ... except FileNotFoundError as error:
        ...     print(type(error).__name__)
        CheckpointNotFoundError
    """
    return read_checkpoint(os.path.expanduser(filename), map_location, weights_only)


@CHECKPOINT_LOADERS.register_module(["http://", "https://"])
def load_from_http(
    filename: str, map_location: MapLocation = None, model_dir: str | None = None, weights_only: bool = True
) -> Any:
    """Download once into `$TOOLKIT_HOME/checkpoints` (or `model_dir`), then read from there.

    Args:
        filename: The http(s) URL; a hash in its name (`name-1234abcd.pth`) is checked against the file's SHA-256.
        map_location: Where the tensors go, as `torch.load` takes it.
        model_dir: The download folder (default `$TOOLKIT_HOME/checkpoints`).
        weights_only: Safe loading (False only for a file you trust).

    Returns:
        The checkpoint as read.

    Raises:
        CheckpointError: When the download fails, is cut off or its hash does not match (nothing is kept under the final
            name).
    """
    path = cached_download(filename, model_dir)
    try:
        return read_checkpoint(path, map_location, weights_only)
    except CheckpointError as error:
        raise CheckpointError(f"{filename} (cached as {str(path)!r}): {error}") from error


@CHECKPOINT_LOADERS.register_module("torchvision://")
def load_from_torchvision(filename: str, map_location: MapLocation = None, weights_only: bool = True) -> Any:
    """torchvision's ImageNet weights for the named model."""
    url = torchvision_url(filename[len("torchvision://") :])
    return load_from_http(url, map_location, weights_only=weights_only)


@CHECKPOINT_LOADERS.register_module(["open-mmlab://", "openmmlab://"])
def load_from_openmmlab(filename: str, map_location: MapLocation = None, weights_only: bool = True) -> Any:
    """A model-zoo name, looked up in the merged JSON tables."""
    scheme = "open-mmlab://" if filename.startswith("open-mmlab://") else "openmmlab://"
    return load_from_source(resolve_open_mmlab(filename[len(scheme) :], scheme), map_location, weights_only)


def load_from_source(filename: str, map_location: MapLocation = None, weights_only: bool = True) -> Any:
    """Read a checkpoint with the loader of the longest matching prefix, or from a local path.

    Args:
        filename: A path, URL or scheme (`torchvision://`, `open-mmlab://`, or one you register).
        map_location: Where the tensors go, as `torch.load` takes it.
        weights_only: Safe loading (False only for a file you trust).

    Returns:
        The checkpoint as read.
    """
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(
            f"a checkpoint file name must be a str or os.PathLike, got {type(filename).__name__}: {filename!r}"
        )
    filename = os.fspath(filename)
    loader = scheme_loader(filename)
    if loader is None:
        if "://" in filename:
            schemes = ", ".join(sorted(CHECKPOINT_LOADERS.module_dict))
            raise CheckpointError(f"no loader knows the scheme of {filename!r}; known schemes: {schemes}")
        return load_from_local(filename, map_location, weights_only)
    return loader(filename, map_location=map_location, weights_only=weights_only)


def scheme_loader(filename: str) -> Callable[..., Any] | None:
    """The loader of the longest registered prefix of `filename`, or None (a local path, or an unknown scheme).

    >>> scheme_loader('torchvision://resnet50').__name__, scheme_loader('work/epoch_1.pth')
    ('load_from_torchvision', None)
    """
    matching = [prefix for prefix in CHECKPOINT_LOADERS.module_dict if filename.startswith(prefix)]
    return CHECKPOINT_LOADERS.module_dict[max(matching, key=len)] if matching else None


class CheckpointLoader:
    """`mmcv.runner.CheckpointLoader`: `register_scheme` and `load_checkpoint` over CHECKPOINT_LOADERS.

    A loader written for MMCV takes `(filename, map_location)`; it is wrapped to take toolkit's
    `weights_only` too (and ignore it: such a loader decides how it reads).

    >>> @CheckpointLoader.register_scheme(prefixes='demo://')
    ... def load_from_demo(filename, map_location):
    ...     return {'weight': torch.zeros(1)}
    >>> CheckpointLoader.load_checkpoint('demo://x')
    {'weight': tensor([0.])}
    >>> _ = CHECKPOINT_LOADERS.module_dict.pop('demo://')
    """

    @classmethod
    def register_scheme(
        cls, prefixes: str | list[str] | tuple[str, ...], loader: Callable[..., Any] | None = None, force: bool = False
    ) -> Callable[..., Any]:
        """Register `loader` for the prefixes (a call, or a decorator without `loader`)."""
        if loader is None:
            return functools.partial(cls.register_scheme, prefixes, force=force)
        names = [prefixes] if isinstance(prefixes, str) else list(prefixes)
        CHECKPOINT_LOADERS.register_module(names, force=force, module=_taking_weights_only(loader))
        return loader

    @classmethod
    def _get_checkpoint_loader(cls, path: str) -> Callable[..., Any]:
        """MMCV's lookup: the loader of the longest registered prefix of `path`, else `load_from_local`.

        >>> CheckpointLoader._get_checkpoint_loader('https://host/w.pth').__name__
        'load_from_http'
        """
        return scheme_loader(path) or load_from_local

    @classmethod
    def load_checkpoint(cls, filename: str, map_location: MapLocation = None, logger: Any = None) -> Any:
        """Read `filename` with the loader of its scheme (a local path otherwise), safely."""
        return load_from_source(filename, map_location)


def _taking_weights_only(loader: Callable[..., Any]) -> Callable[..., Any]:
    if "weights_only" in inspect.signature(loader).parameters:
        return loader

    @functools.wraps(loader)
    def load(filename: str, map_location: MapLocation = None, weights_only: bool = True) -> Any:
        return loader(filename, map_location)

    return load
