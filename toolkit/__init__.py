"""toolkit: build, initialize and load convolutional networks from configs.

>>> from toolkit import ConvModule
>>> ConvModule(3, 8, 3, norm_cfg=dict(type='GN', num_groups=2)).norm_name
'gn'
"""

from .checkpoint import CheckpointError, get_model_zoo_urls, load_checkpoint, load_state_dict
from .cnn import *  # noqa: F403
from .cnn import __all__ as _cnn_names
from .modules import BaseModule, ModuleDict, ModuleList, Sequential
from .registry import Registry, build_from_cfg

__version__ = "0.1.0"

__all__ = [
    "BaseModule",
    "CheckpointError",
    "ModuleDict",
    "ModuleList",
    "Registry",
    "Sequential",
    "build_from_cfg",
    "get_model_zoo_urls",
    "load_checkpoint",
    "load_state_dict",
    *_cnn_names,
]
