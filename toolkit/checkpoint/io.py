"""Reading a checkpoint file into a dict: torch files (safe by default) and safetensors.

The format is told from the file's first bytes, not its name; anything else is refused with a
CheckpointError that says what the file holds.

>>> import tempfile, torch, os
>>> path = os.path.join(tempfile.mkdtemp(), 'w.pth')
>>> torch.save({'weight': torch.ones(2)}, path)
>>> read_checkpoint(path)['weight']
tensor([1., 1.])
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import torch

from .errors import CheckpointError, CheckpointNotFoundError
from .formats import SAFETENSORS, ZIP, check_storage_records, not_a_checkpoint, sniff_format

MapLocation = str | torch.device | dict[str, str] | Callable[..., Any] | None

__all__ = ["CheckpointError", "MapLocation", "check_map_location", "checkpoint_path", "read_checkpoint"]


def checkpoint_path(path: Any) -> str:
    """`path` as a string, once it names a non-empty regular file; otherwise the error says why.

    >>> checkpoint_path(None)
    Traceback (most recent call last):
    TypeError: a checkpoint file name must be a str or os.PathLike, got NoneType: None
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a checkpoint file name must be a str or os.PathLike, got {type(path).__name__}: {path!r}")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"checkpoint file {path!r} is a directory, not a file")
    if not os.path.exists(path):
        raise CheckpointNotFoundError(f"checkpoint file {path!r} does not exist")
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file {path!r} is not a regular file")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"checkpoint file {path!r} is empty (0 bytes)")
    return path


def check_map_location(map_location: MapLocation) -> None:
    """Raise unless `map_location` is None, a device, a device name, a dict of names, or a callable.

    >>> check_map_location('gpu0')
    Traceback (most recent call last):
    toolkit.checkpoint.errors.CheckpointError: map_location='gpu0' is not a device: ...
    """
    if map_location is None or callable(map_location) or isinstance(map_location, torch.device):
        return
    if isinstance(map_location, Mapping):
        names = list(map_location.keys()) + list(map_location.values())
    elif isinstance(map_location, str):
        names = [map_location]
    else:
        raise TypeError(
            "map_location must be None, a torch.device, a device name, a dict or a callable, "
            f"got {type(map_location).__name__}: {map_location!r}"
        )
    for name in names:
        try:
            torch.device(name)
        except (RuntimeError, TypeError) as error:
            raise CheckpointError(f"map_location={map_location!r} is not a device: {error}") from None


def _safetensors_device(map_location: MapLocation) -> str:
    if isinstance(map_location, (str, torch.device)):
        return str(map_location)
    return "cpu"


def read_checkpoint(path: str | os.PathLike[str], map_location: MapLocation = None, weights_only: bool = True) -> Any:
    """Read a `.safetensors` file or a torch file (a safe zip file memory-mapped).

    Torch files are read with `weights_only=True` unless the caller passes `weights_only=False`
    for a file it trusts: a pickle that would run code is refused with a CheckpointError. Every
    record of a torch zip file is checked against its CRC first, so a bit flipped on the disk is an
    error rather than a wrong weight.

    Args:
        path: The file.
        map_location: Where the tensors go, as `torch.load` takes it.
        weights_only: Safe loading (False only for a file you trust).

    Returns:
        The checkpoint: a dict of tensors for `.safetensors`, what was saved for a torch file.

    Raises:
        CheckpointError: When the file is truncated, corrupt, or unsafe to load.
    """
    path = checkpoint_path(path)
    check_map_location(map_location)
    with open(path, "rb") as file:
        kind = sniff_format(file)
        if kind is None:
            raise not_a_checkpoint(f"checkpoint file {path!r}", file)
    if kind == SAFETENSORS:
        return _read_safetensors(path, map_location)
    if kind == ZIP:
        _check_crcs(path)
    mmap = kind == ZIP and weights_only and _records_hold_their_tensors(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=weights_only, mmap=mmap)
    except pickle.UnpicklingError as error:
        unsafe = [line.strip() for line in str(error).splitlines() if "global" in line.lower()]
        if weights_only and unsafe:
            raise CheckpointError(
                f"refused to load {path!r}: it holds Python objects whose unpickling could run code "
                f"({unsafe[0]}). If you trust this file, pass weights_only=False"
            ) from error
        raise CheckpointError(f"checkpoint file {path!r} is corrupt: {error}") from error
    except (EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(
            f"checkpoint file {path!r} is truncated or corrupt: {error or type(error).__name__}"
        ) from error
    except Exception as error:
        raise CheckpointError(f"cannot read the checkpoint file {path!r}: {type(error).__name__}: {error}") from error


def _file_identity(path: str) -> tuple[int, int, int, int]:
    """What tells a file apart from any other, or from itself after a change: device, inode, size, mtime."""
    status = os.stat(path)
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


_crcs_checked: set[tuple[int, int, int, int]] = set()  # the files this process checked, as they were


def _check_crcs(path: str) -> None:
    """Raise a CheckpointError when a record of a torch zip file fails its CRC check: bytes that changed
    on the disk or on the way (torch itself does not check them). It costs one read of the file (about
    0.4 s per GB on 2 cores), once per file and process: a file loaded again unchanged is not read twice."""
    identity = _file_identity(path)
    if identity in _crcs_checked:
        return
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise CheckpointError(f"checkpoint file {path!r} is truncated or corrupt: {error}") from error
    if broken is not None:
        raise CheckpointError(
            f"checkpoint file {path!r} is corrupt: its record {broken} fails its CRC check (its bytes changed "
            "after it was written)"
        )
    _crcs_checked.add(identity)


def _records_hold_their_tensors(path: str) -> bool:
    """Whether a zip file can be memory-mapped safely: its storage records are checked (a short one is
    a CheckpointError); a pickle the check cannot follow is read without mmap, which torch checks."""
    try:
        check_storage_records(path)
    except CheckpointError as error:
        raise CheckpointError(f"checkpoint file {path!r} is corrupt: {error}") from error
    except (EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"checkpoint file {path!r} is truncated or corrupt: {error}") from error
    except Exception:
        return False
    return True


def _read_safetensors(path: str, map_location: MapLocation) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path, device=_safetensors_device(map_location))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"cannot read safetensors file {path!r}: {error}") from error
