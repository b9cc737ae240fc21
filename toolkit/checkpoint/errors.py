"""The errors of checkpoint reading, fetching and loading."""

from __future__ import annotations


class CheckpointError(RuntimeError):
    """A checkpoint could not be read, fetched or loaded; the message says which and why."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint was read, but its state dict does not fit the model (strict loading)."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint file or model-zoo name that does not exist (MMCV raises FileNotFoundError)."""
