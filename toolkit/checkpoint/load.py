"""`load_checkpoint`: read a checkpoint and load its state dict into a model.

>>> import os, tempfile, torch
>>> from torch import nn
>>> path = os.path.join(tempfile.mkdtemp(), 'linear.pth')
>>> torch.save({'state_dict': {'module.weight': torch.ones(1, 1), 'module.bias': torch.zeros(1)}}, path)
>>> model = nn.Linear(1, 1)
>>> _ = load_checkpoint(model, path)
>>> model.weight.item()
1.0
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from torch import nn

from .errors import CheckpointError
from .io import MapLocation
from .sources import load_from_source
from .state_dict import extract_state_dict, load_state_dict, metadata_of, select_prefix
from .state_dict import revise_keys as apply_key_rules

DEFAULT_REVISE_KEYS = ((r"^module\.", ""),)


def load_checkpoint(
    model: nn.Module,
    filename: str,
    map_location: MapLocation = None,
    strict: bool = False,
    logger: logging.Logger | str | None = None,
    revise_keys: Sequence[tuple[str, str]] = DEFAULT_REVISE_KEYS,
    *,
    prefix: str | None = None,
    weights_only: bool = True,
) -> Any:
    """Load a checkpoint into `model`; returns the checkpoint as read.

    Args:
        model: The module to load into (a module wrapper, such as DataParallel, is looked through).
        filename: A local path (`.pth`, `.ckpt`, `.safetensors`), an http(s) URL (downloaded once into
            `$TOOLKIT_HOME`, its hash checked when its name carries one), `torchvision://NAME`,
            `open-mmlab://NAME`, or any scheme registered with `CheckpointLoader`.
        map_location: Where the tensors go, as `torch.load` takes it.
        strict: Whether every key must match both ways.
        logger: Where the missing and unexpected keys are reported (a logger, its name, or 'silent').
        revise_keys: Regex substitutions on the keys (by default, DataParallel's `module.` is dropped).
        prefix: Keep only the keys under it, stripped (`'backbone'` means `'backbone.'`).
        weights_only: Safe loading (no Python objects); False opts out for a file you trust.

    Returns:
        The checkpoint as read (a dict with `state_dict`, or the state dict itself).

    Raises:
        CheckpointNotFoundError: When the file is not there (also a FileNotFoundError).
        CheckpointMismatchError: With `strict`, when keys or shapes do not match.
        CheckpointError: When the file cannot be read or is unsafe to load.
    """
    checkpoint = load_from_source(filename, map_location=map_location, weights_only=weights_only)
    state_dict = apply_key_rules(extract_state_dict(checkpoint), revise_keys, strict=strict)
    metadata = metadata_of(checkpoint)  # kept through revise_keys, as MMCV keeps it
    if prefix:
        prefix = prefix if prefix.endswith(".") else f"{prefix}."
        state_dict = select_prefix(state_dict, prefix)
        if not state_dict:
            raise CheckpointError(f"no key of {filename!r} starts with the prefix {prefix!r}")
        metadata = OrderedDict()  # the versions of the whole model's modules, not of the part loaded
    state_dict = OrderedDict(state_dict)
    state_dict._metadata = metadata  # type: ignore[attr-defined]
    load_state_dict(model, state_dict, strict=strict, logger=logger)
    return checkpoint
