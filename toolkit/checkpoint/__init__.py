"""Checkpoints: reading them safely, loading them into modules, and where they come from."""

from .errors import CheckpointError, CheckpointMismatchError, CheckpointNotFoundError
from .io import read_checkpoint
from .load import load_checkpoint
from .model_zoo import get_model_zoo_urls
from .paths import toolkit_home
from .sources import CHECKPOINT_LOADERS, load_from_source
from .state_dict import LoadResult, extract_state_dict, load_state_dict

__all__ = [
    "CHECKPOINT_LOADERS",
    "CheckpointError",
    "CheckpointMismatchError",
    "CheckpointNotFoundError",
    "LoadResult",
    "extract_state_dict",
    "get_model_zoo_urls",
    "load_from_source",
    "load_checkpoint",
    "load_state_dict",
    "read_checkpoint",
    "toolkit_home",
]
