"""toolkit: build, initialize, load and train convolutional networks from configs.

Names are imported on first use, so `import toolkit.config` (for Hydra) does not pay for torch.

>>> from toolkit import ConvModule
>>> ConvModule(3, 8, 3, norm_cfg=dict(type='GN', num_groups=2)).norm_name
'gn'
"""

from __future__ import annotations

import importlib
from typing import Any

from .version import __version__ as __version__

HOMES = ("toolkit.registry", "toolkit.modules", "toolkit.checkpoint", "toolkit.init", "toolkit.cnn", "toolkit.optim")


def _public_names() -> list[str]:
    return sorted({name for home in HOMES for name in importlib.import_module(home).__all__})


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return _public_names()
    for home in HOMES:
        module = importlib.import_module(home)
        if name in module.__all__:
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_public_names()))
