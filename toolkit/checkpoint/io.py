"""Reading a checkpoint file into a dict: torch files (safe by default) and safetensors.

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
from typing import Any

import torch

MapLocation = str | torch.device | dict[str, str] | Any


class CheckpointError(RuntimeError):
    """A checkpoint could not be read, fetched or loaded; the message says which and why."""


def _safetensors_device(map_location: MapLocation) -> str:
    if isinstance(map_location, (str, torch.device)):
        return str(map_location)
    return "cpu"


def read_checkpoint(path: str | os.PathLike[str], map_location: MapLocation = None, weights_only: bool = True) -> Any:
    """Read a `.safetensors` file or a torch file (memory-mapped where its format allows).

    Torch files are read with `weights_only=True` unless the caller passes `weights_only=False`
    for a file it trusts: a pickle that would run code is refused with a CheckpointError.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file {path!r} does not exist")
    if path.endswith(".safetensors"):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(path, device=_safetensors_device(map_location))
        except (SafetensorError, OSError, ValueError) as error:
            raise CheckpointError(f"cannot read safetensors file {path!r}: {error}") from error
    try:
        return torch.load(path, map_location=map_location, weights_only=weights_only, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as error:
        unsafe = [line.strip() for line in str(error).splitlines() if "global" in line.lower()]
        if weights_only and unsafe:
            raise CheckpointError(
                f"refused to load {path!r}: it holds Python objects whose unpickling could run code "
                f"({unsafe[0]}). If you trust this file, pass weights_only=False"
            ) from error
        raise CheckpointError(f"checkpoint file {path!r} is truncated or corrupt: {error}") from error
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"checkpoint file {path!r} is truncated or corrupt: {error}") from error
