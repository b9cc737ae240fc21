"""Putting a state dict into a module, with a report of missing, unexpected and mismatched keys.

>>> from torch import nn
>>> result = load_state_dict(nn.Linear(2, 2), {'weight': torch.zeros(2, 2), 'extra': torch.zeros(1)}, logger='silent')
>>> result.missing_keys, result.unexpected_keys
(['bias'], ['extra'])
"""

from __future__ import annotations

import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import torch
from torch import nn

from .._compat.torch import with_metadata_of
from ..registry import Registry
from .errors import CheckpointError, CheckpointMismatchError

NETWORK_PREFIX_KEY = "network_prefix"


class LoadResult(NamedTuple):
    """What a load left out: keys the module lacks, keys it did not get, keys of the wrong shape."""

    missing_keys: list[str]
    unexpected_keys: list[str]
    mismatched_keys: list[str]

    def message(self) -> str:
        parts = []
        if self.unexpected_keys:
            parts.append(f"unexpected keys in the source state_dict: {_listed(self.unexpected_keys)}")
        if self.missing_keys:
            parts.append(f"missing keys in the source state_dict: {_listed(self.missing_keys)}")
        if self.mismatched_keys:
            parts.append(f"size mismatch: {_listed(self.mismatched_keys)}")
        return "\n".join(parts)


def _listed(keys: list[str], shown: int = 12) -> str:
    """The first `shown` keys, and how many more there are."""
    more = f" (+{len(keys) - shown} more)" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


MODULE_WRAPPERS = Registry("module wrapper")
MODULE_WRAPPERS.register_module(module=nn.DataParallel)
MODULE_WRAPPERS.register_module(module=nn.parallel.DistributedDataParallel)


def is_module_wrapper(module: Any) -> bool:
    """Whether `module` is an instance of a class in `MODULE_WRAPPERS` (or a child registry of it), as
    MMCV's `mmcv.parallel.is_module_wrapper`: DataParallel, DistributedDataParallel and any wrapper
    registered there, whose network is its `.module`.

    Args:
        module: The object to ask about.

    Returns:
        True for a registered wrapper.

    Example:
        >>> @MODULE_WRAPPERS.register_module()
        ... class Wrapper:
        ...     def __init__(self, module):
        ...         self.module = module
        >>> is_module_wrapper(Wrapper(nn.Linear(1, 1))), is_module_wrapper(nn.Linear(1, 1))
        (True, False)
    """

    def registered(registry: Registry) -> bool:
        wrappers = tuple(registry.module_dict.values())
        return isinstance(module, wrappers) or any(registered(child) for child in registry.children.values())

    return registered(MODULE_WRAPPERS)


def unwrap_parallel(module: nn.Module) -> nn.Module:
    """The module inside a module wrapper (`is_module_wrapper`), else `module` itself."""
    return module.module if is_module_wrapper(module) else module


def _get_logger(logger: logging.Logger | str | None) -> logging.Logger | None:
    if logger == "silent":
        return None
    if isinstance(logger, logging.Logger):
        return logger
    return logging.getLogger("toolkit.checkpoint")


def load_state_dict(
    module: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    strict: bool = False,
    logger: logging.Logger | str | None = None,
) -> LoadResult:
    """Copy the tensors of `state_dict` into `module`; shape mismatches are skipped and reported.

    Missing, unexpected and mismatched keys are logged as a warning (`logger='silent'` mutes it);
    with `strict=True` any of them raises a CheckpointError that lists them.

    Args:
        module: Where the tensors go (a DataParallel wrapper is looked through).
        state_dict: The tensors by key.
        strict: Raise on any missing, unexpected or mismatched key.
        logger: Where the report goes (a logger, its name, or 'silent').

    Returns:
        The missing, unexpected and mismatched keys.

    Raises:
        CheckpointMismatchError: With `strict`, when any key does not match.
    """
    module = unwrap_parallel(module)
    check_keys(state_dict)
    own = module.state_dict()
    mismatched = {
        key: f"{key} (checkpoint {tuple(value.shape)}, model {tuple(own[key].shape)})"
        for key, value in state_dict.items()
        if key in own and isinstance(value, torch.Tensor) and value.shape != own[key].shape
    }
    mismatched.update(
        {
            key: f"{key} (checkpoint holds a {type(value).__name__}, not a tensor)"
            for key, value in state_dict.items()
            if key in own and isinstance(own[key], torch.Tensor) and not isinstance(value, torch.Tensor)
        }
    )
    fitting = with_metadata_of(
        state_dict, OrderedDict((key, value) for key, value in state_dict.items() if key not in mismatched)
    )  # each module's saved version reaches its _load_from_state_dict, as in torch and MMCV
    incompatible = module.load_state_dict(fitting, strict=False)
    result = LoadResult(
        [key for key in incompatible.missing_keys if key not in mismatched and "num_batches_tracked" not in key],
        list(incompatible.unexpected_keys),
        list(mismatched.values()),
    )
    if any(result):
        if strict:
            raise CheckpointMismatchError(f"the checkpoint does not fit {type(module).__name__}:\n{result.message()}")
        log = _get_logger(logger)
        if log is not None:
            log.warning("loading into %s:\n%s", type(module).__name__, result.message())
    return result


def check_keys(state_dict: Mapping[Any, Any]) -> None:
    """Raise a CheckpointError unless every key of `state_dict` is a string.

    >>> check_keys({0: torch.zeros(1)})
    Traceback (most recent call last):
    toolkit.checkpoint.errors.CheckpointError: a state dict's keys must be strings, got 0 (int)
    """
    for key in state_dict:
        if not isinstance(key, str):
            raise CheckpointError(f"a state dict's keys must be strings, got {key!r} ({type(key).__name__})")


def extract_state_dict(checkpoint: Any) -> dict[str, torch.Tensor]:
    """The state dict of a checkpoint: a bare one, or under 'state_dict' or 'model'.

    A checkpoint that names its network's prefix (`network_prefix`, e.g. `net.` in the training
    checkpoints of `toolkit.training`) gives the network's keys with the prefix stripped, so the bare
    network loads.

    Args:
        checkpoint: What `read_checkpoint` returned.

    Returns:
        The state dict, keys as the bare network names them.

    Raises:
        CheckpointError: When the checkpoint is not a dict.

    Example:
        >>> extract_state_dict({'state_dict': {'net.w': 1, 'loss.w': 2}, 'network_prefix': 'net.'})
        {'w': 1}
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"a checkpoint must hold a dict, got {type(checkpoint).__name__}")
    state_dict = checkpoint
    for key in ("state_dict", "model"):
        if isinstance(checkpoint.get(key), Mapping):
            state_dict = checkpoint[key]
            break
    state_dict = dict(state_dict)
    prefix = checkpoint.get(NETWORK_PREFIX_KEY)
    if isinstance(prefix, str) and prefix:
        state_dict = select_prefix(state_dict, prefix) or state_dict
    return state_dict


def metadata_of(checkpoint: Any) -> OrderedDict:
    """The `_metadata` (each module's state-dict version) of a checkpoint's state dict, keyed as the bare
    network names its modules (a `network_prefix` stripped); empty when it has none.

    >>> from collections import OrderedDict
    >>> state = OrderedDict(w=1)
    >>> state._metadata = OrderedDict([('', {'version': 1}), ('net', {'version': 2}), ('net.conv', {'version': 1})])
    >>> dict(metadata_of({'state_dict': state, 'network_prefix': 'net.'}))
    {'': {'version': 2}, 'conv': {'version': 1}}
    """
    state_dict = checkpoint
    for key in ("state_dict", "model"):
        if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get(key), Mapping):
            state_dict = checkpoint[key]
            break
    metadata = getattr(state_dict, "_metadata", None) or OrderedDict()
    prefix = checkpoint.get(NETWORK_PREFIX_KEY) if isinstance(checkpoint, Mapping) else None
    if not (isinstance(prefix, str) and prefix):
        return OrderedDict(metadata)
    name = prefix.rstrip(".")
    return OrderedDict(
        ("" if key == name else key[len(prefix) :], value)
        for key, value in metadata.items()
        if key == name or key.startswith(prefix)
    )


def select_prefix(state_dict: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The entries under `prefix`, with the prefix stripped.

    >>> select_prefix({'backbone.conv.weight': 1, 'head.fc.weight': 2}, 'backbone.')
    {'conv.weight': 1}
    """
    return {key[len(prefix) :]: value for key, value in state_dict.items() if key.startswith(prefix)}


def revise_keys(
    state_dict: Mapping[str, Any], rules: Iterable[tuple[str, str]], strict: bool = False
) -> dict[str, Any]:
    """Rename keys by regex substitution rules, applied in turn.

    Two keys renamed to one name are an error with `strict`, otherwise a warning (the later wins).

    >>> revise_keys({'module.conv.weight': 1}, [(r'^module\\.', '')])
    {'conv.weight': 1}
    """
    check_keys(state_dict)
    revised = dict(state_dict)
    for rule in rules:
        compiled, replacement = _compile_rule(rule)
        renamed: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for key, value in revised.items():
            new_key = compiled.sub(replacement, key)
            if new_key in renamed:
                message = f"revise_keys rule {rule!r} maps both {sources[new_key]!r} and {key!r} to {new_key!r}"
                if strict:
                    raise CheckpointError(message)
                warnings.warn(f"{message}; {key!r} is kept", stacklevel=2)
            renamed[new_key], sources[new_key] = value, key
        revised = renamed
    return revised


def _compile_rule(rule: Any) -> tuple[re.Pattern[str], str]:
    if not (isinstance(rule, (tuple, list)) and len(rule) == 2 and all(isinstance(part, str) for part in rule)):
        raise TypeError(f"each revise_keys rule must be a (pattern, replacement) pair of strings, got {rule!r}")
    try:
        return re.compile(rule[0]), rule[1]
    except re.error as error:
        raise CheckpointError(f"revise_keys pattern {rule[0]!r} is not a valid regular expression: {error}") from None
