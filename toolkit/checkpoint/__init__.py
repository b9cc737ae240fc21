"""Checkpoints: reading them safely, loading them into modules, and where they come from."""

from .io import CheckpointError, read_checkpoint
from .load import load_checkpoint
from .state_dict import LoadResult, extract_state_dict, load_state_dict

__all__ = [
    "CheckpointError",
    "LoadResult",
    "extract_state_dict",
    "load_checkpoint",
    "load_state_dict",
    "read_checkpoint",
]
