"""toolkit: build, initialize and load convolutional networks from configs.

Names are imported on first use, so `import toolkit.config` (for Hydra) does not pay for torch.

>>> from toolkit import ConvModule
>>> ConvModule(3, 8, 3, norm_cfg=dict(type='GN', num_groups=2)).norm_name
'gn'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_HOMES = {
    "toolkit.registry": ["Registry", "build_from_cfg"],
    "toolkit.modules": ["BaseModule", "Sequential", "ModuleList", "ModuleDict"],
    "toolkit.checkpoint": ["CheckpointError", "get_model_zoo_urls", "load_checkpoint", "load_state_dict"],
    "toolkit.init": [
        "INITIALIZERS",
        "Caffe2XavierInit",
        "ConstantInit",
        "KaimingInit",
        "NormalInit",
        "PretrainedInit",
        "TruncNormalInit",
        "UniformInit",
        "XavierInit",
        "bias_init_with_prob",
        "caffe2_xavier_init",
        "constant_init",
        "initialize",
        "kaiming_init",
        "normal_init",
        "trunc_normal_init",
        "uniform_init",
        "xavier_init",
    ],
    "toolkit.cnn": [
        "ACTIVATION_LAYERS",
        "CONV_LAYERS",
        "NORM_LAYERS",
        "PADDING_LAYERS",
        "UPSAMPLE_LAYERS",
        "ConvModule",
        "build_activation_layer",
        "build_conv_layer",
        "build_norm_layer",
        "build_padding_layer",
        "build_upsample_layer",
        "fuse_conv_bn",
    ],
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = sorted(_HOME_OF)


def __getattr__(name: str) -> Any:
    if name not in _HOME_OF:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
