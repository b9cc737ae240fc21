"""Writing checkpoints as `mmcv.runner` does: `save_checkpoint`, `get_state_dict`, `weights_to_cpu`.

The file holds `meta`, `state_dict` and, given an optimizer, `optimizer`; it is written atomically
and loads back with `weights_only=True` (no Python objects beyond dicts, lists, numbers, strings
and tensors).

>>> import os, tempfile
>>> from torch import nn
>>> path = os.path.join(tempfile.mkdtemp(), 'epoch_1.pth')
>>> save_checkpoint(nn.Linear(2, 2), path, meta=dict(epoch=1))
>>> sorted(torch.load(path, weights_only=True))
['meta', 'state_dict']
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .._compat.torch import state_dict_through, with_metadata_of
from ..files import atomic_file
from ..version import __version__
from .errors import CheckpointError
from .state_dict import unwrap_parallel


def weights_to_cpu(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """A copy of `state_dict` with every tensor on the CPU (its `_metadata` kept).

    Args:
        state_dict: The tensors by key.

    Returns:
        A new ordered dict, the same keys, every tensor on the CPU.

    Example:
        >>> weights_to_cpu({'w': torch.ones(1)})['w'].device.type
        'cpu'
    """
    return with_metadata_of(state_dict, OrderedDict((key, value.cpu()) for key, value in state_dict.items()))


def get_state_dict(
    module: nn.Module, destination: OrderedDict | None = None, prefix: str = "", keep_vars: bool = False
) -> OrderedDict[str, torch.Tensor]:
    """`module.state_dict()` with module wrappers (DataParallel, DistributedDataParallel and any class
    registered in `MODULE_WRAPPERS`) looked through, at the top and in any child, so the keys have no
    `module.` in them.

    Args:
        module: The module, wrapped or not.
        destination: The dict to add the tensors to (a new one by default).
        prefix: Put before every key.
        keep_vars: Keep the parameters themselves rather than their detached tensors.

    Returns:
        The state dict, with its `_metadata`.

    Example:
        >>> list(get_state_dict(nn.DataParallel(nn.Linear(1, 1))))
        ['weight', 'bias']
    """
    return state_dict_through(module, unwrap_parallel, destination, prefix, keep_vars)


def save_checkpoint(
    model: nn.Module,
    filename: str | os.PathLike[str],
    optimizer: torch.optim.Optimizer | Mapping[str, torch.optim.Optimizer] | None = None,
    meta: Mapping[str, Any] | None = None,
    file_client_args: Mapping[str, Any] | None = None,
) -> None:
    """Save the model's weights (on the CPU), the optimizer's state and `meta`, atomically.

    Args:
        model: The module to save (a module wrapper, such as DataParallel, is looked through).
        filename: Where to write; a reader never sees half a file.
        optimizer: An optimizer, or a dict of them (saved as a dict of states).
        meta: Saved under `meta`, with `toolkit_version`, `time` and the model's `CLASSES` (its class
            names, as MMCV stores them) when it has them.
        file_client_args: MMCV's: toolkit writes local files, so only None or the `disk` backend.

    Raises:
        ValueError: For another file backend, or a URL (`s3://...`) as `filename`.
        OutputError: When the disk is full (the previous file, if any, is kept).

    >>> save_checkpoint(nn.Linear(1, 1), 'x.pth', file_client_args=dict(backend='petrel'))
    Traceback (most recent call last):
    ValueError: file_client_args={'backend': 'petrel'}: toolkit saves checkpoints to local files only \
(backend 'disk')
    """
    if meta is not None and not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a dict or None, got {type(meta).__name__}")
    if file_client_args is not None and dict(file_client_args).get("backend", "disk") != "disk":
        raise ValueError(
            f"file_client_args={dict(file_client_args)}: toolkit saves checkpoints to local files only (backend 'disk')"
        )
    if "://" in os.fspath(filename):  # MMCV would pick a file backend by the prefix (s3://, http://, ...)
        raise ValueError(f"{os.fspath(filename)!r}: toolkit saves checkpoints to local files only, not to URLs")
    meta = dict(meta or {}, toolkit_version=__version__, time=time.asctime())
    classes = getattr(unwrap_parallel(model), "CLASSES", None)
    if classes is not None:
        meta["CLASSES"] = classes
    checkpoint: dict[str, Any] = {"meta": meta, "state_dict": weights_to_cpu(get_state_dict(model))}
    if isinstance(optimizer, torch.optim.Optimizer):
        checkpoint["optimizer"] = optimizer.state_dict()
    elif isinstance(optimizer, Mapping):
        checkpoint["optimizer"] = {name: each.state_dict() for name, each in optimizer.items()}
    elif optimizer is not None:
        raise TypeError(f"optimizer must be an Optimizer, a dict of them or None, got {type(optimizer).__name__}")
    try:
        with atomic_file(filename) as file:
            torch.save(checkpoint, file)
    except OSError as error:
        raise CheckpointError(f"cannot write the checkpoint {os.fspath(filename)!r}: {error}") from error
