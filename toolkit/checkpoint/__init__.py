"""Checkpoints: reading them safely, loading them into modules, writing them, and where they come from."""

from .errors import CheckpointError, CheckpointMismatchError, CheckpointNotFoundError
from .io import read_checkpoint
from .load import load_checkpoint
from .model_zoo import get_model_zoo_urls
from .paths import toolkit_home
from .save import get_state_dict, save_checkpoint, weights_to_cpu
from .sources import CHECKPOINT_LOADERS, CheckpointLoader, load_from_http, load_from_local, load_from_source
from .state_dict import MODULE_WRAPPERS, LoadResult, extract_state_dict, is_module_wrapper, load_state_dict

__all__ = [
    "CHECKPOINT_LOADERS",
    "CheckpointError",
    "CheckpointLoader",
    "CheckpointMismatchError",
    "CheckpointNotFoundError",
    "LoadResult",
    "MODULE_WRAPPERS",
    "extract_state_dict",
    "get_model_zoo_urls",
    "get_state_dict",
    "is_module_wrapper",
    "load_checkpoint",
    "load_from_http",
    "load_from_local",
    "load_from_source",
    "load_state_dict",
    "read_checkpoint",
    "save_checkpoint",
    "toolkit_home",
    "weights_to_cpu",
]
