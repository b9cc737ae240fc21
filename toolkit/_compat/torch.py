"""torch's private names that toolkit uses (written against torch 2.14; also run on 2.11).

The base classes of torch's norm, conv and pooling layers are private in name but what every
library of the field checks against (MMCV's `layer='_BatchNorm'`); they are re-exported here under
public names.

>>> from torch import nn
>>> isinstance(nn.SyncBatchNorm(4), BatchNormBase), issubclass(nn.Conv2d, ConvBase)
(True, True)
>>> storage_dtype('HalfStorage')
torch.float16
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm as BatchNormBase
from torch.nn.modules.conv import _ConvNd as ConvBase
from torch.nn.modules.conv import _ConvTransposeNd as ConvTransposeBase
from torch.nn.modules.instancenorm import _InstanceNorm as InstanceNormBase
from torch.nn.modules.pooling import _AdaptiveAvgPoolNd, _AdaptiveMaxPoolNd, _AvgPoolNd, _MaxPoolNd

__all__ = [
    "POOL_BASES",
    "BatchNormBase",
    "ConvBase",
    "ConvTransposeBase",
    "InstanceNormBase",
    "batch_norm_forward",
    "check_input_dim",
    "children_of",
    "differentiable_all_reduce",
    "has_forward_pre_hooks",
    "state_dict_through",
    "storage_dtype",
    "with_metadata_of",
    "write_count",
]

POOL_BASES = (_MaxPoolNd, _AvgPoolNd, _AdaptiveMaxPoolNd, _AdaptiveAvgPoolNd)


def write_count(tensor: torch.Tensor) -> int:
    """The tensor's in-place write counter (`Tensor._version`), bumped by every in-place write."""
    return tensor._version


def children_of(module: nn.Module) -> dict[str, nn.Module]:
    """The module's own dict of its children by name (`_modules`), for a forward that looks them up on
    every call (`getattr` costs more)."""
    return module._modules


def has_forward_pre_hooks(module: nn.Module) -> bool:
    """Whether `module` has forward pre-hooks (torch has no public way to ask)."""
    return bool(module._forward_pre_hooks)


def storage_dtype(storage_type: str) -> torch.dtype:
    """The dtype of a legacy typed storage's class name in a checkpoint's pickle (`FloatStorage`)."""
    return torch.storage._get_dtype_from_pickle_storage_type(storage_type)


def differentiable_all_reduce(tensor: torch.Tensor, group: object) -> torch.Tensor:
    """The sum of `tensor` over the ranks of `group`, with a backward (itself an all-reduce)."""
    from torch.distributed._functional_collectives import all_reduce

    return all_reduce(tensor, "sum", group)


def check_input_dim(norm: nn.Module, x: torch.Tensor) -> None:
    """A BatchNorm's own check of the input's dimensions (BatchNorm1d/2d/3d each have theirs)."""
    norm._check_input_dim(x)


def batch_norm_forward(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The forward of torch's plain BatchNorm on `norm` (a SyncBatchNorm not synchronizing)."""
    return BatchNormBase.forward(norm, x)


def with_metadata_of(source: Mapping[str, torch.Tensor], target: OrderedDict) -> OrderedDict:
    """`target` carrying the `_metadata` (each module's state-dict version) of the state dict `source`."""
    target._metadata = getattr(source, "_metadata", OrderedDict())  # type: ignore[attr-defined]
    return target


def state_dict_through(
    module: nn.Module,
    unwrap: Callable[[nn.Module], nn.Module],
    destination: OrderedDict | None = None,
    prefix: str = "",
    keep_vars: bool = False,
) -> OrderedDict:
    """`module.state_dict()` built level by level as torch builds it (each module's `_version`
    metadata, `_save_to_state_dict`, its state-dict hooks), with `unwrap` applied to every module
    first (to look through DataParallel wrappers)."""
    module = unwrap(module)
    if destination is None:
        destination = with_metadata_of({}, OrderedDict())
    local_metadata = dict(version=module._version)
    destination._metadata[prefix[:-1]] = local_metadata  # type: ignore[attr-defined]
    module._save_to_state_dict(destination, prefix, keep_vars)
    for name, child in module.named_children():
        state_dict_through(child, unwrap, destination, f"{prefix}{name}.", keep_vars)
    for hook in module._state_dict_hooks.values():
        result = hook(module, destination, prefix, local_metadata)
        if result is not None:
            destination = result
    return destination
