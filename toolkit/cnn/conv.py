"""The conv registry, a weight-standardized conv, and `build_conv_layer`.

>>> build_conv_layer(dict(type='Conv1d'), 3, 8, 3)
Conv1d(3, 8, kernel_size=(3,), stride=(1,))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..registry import Registry, merge_args, resolve_type
from .arguments import construct_layer

CONV_LAYERS = Registry("conv layer")
CONV_LAYERS.register_module("Conv1d", module=nn.Conv1d)
CONV_LAYERS.register_module(["Conv2d", "Conv"], module=nn.Conv2d)
CONV_LAYERS.register_module("Conv3d", module=nn.Conv3d)
CONV_LAYERS.register_module("deconv", module=nn.ConvTranspose2d)  # as MMCV registers them
CONV_LAYERS.register_module("deconv3d", module=nn.ConvTranspose3d)


@CONV_LAYERS.register_module(["ConvWS", "ConvWS2d"])
class ConvWS2d(nn.Conv2d):
    """A Conv2d whose weight is standardized per output channel (zero mean, unit std) in forward.

    Args:
        *args: `nn.Conv2d`'s arguments.
        eps: Added to the standard deviation.
        **kwargs: `nn.Conv2d`'s keyword arguments.

    Example:
        >>> conv = ConvWS2d(3, 8, 3)
        >>> conv(torch.randn(1, 3, 5, 5)).shape
        torch.Size([1, 8, 3, 3])
    """

    def __init__(self, *args: Any, eps: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.eps = eps

    def standardized_weight(self) -> torch.Tensor:
        flat = self.weight.flatten(1)
        mean = flat.mean(dim=1).view(-1, 1, 1, 1)
        std = flat.std(dim=1).view(-1, 1, 1, 1)
        return (self.weight - mean) / (std + self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.standardized_weight(), self.bias)


def _standardize(weight: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each output channel's weight at zero mean and unit std, and that mean and std (MMCV's AWS)."""
    flat = weight.flatten(1)
    mean = flat.mean(dim=1).view(-1, 1, 1, 1)
    std = torch.sqrt(flat.var(dim=1) + eps).view(-1, 1, 1, 1)
    return (weight - mean) / std, mean, std


@CONV_LAYERS.register_module(["ConvAWS", "ConvAWS2d"])
class ConvAWS2d(nn.Conv2d):
    """A weight-standardized Conv2d with a learnt affine per output channel (`weight_gamma`,
    `weight_beta` buffers), as in DetectoRS (MMCV's ConvAWS2d).

    Loading a plain conv's state dict (no gamma/beta) sets gamma and beta to its weight's std and
    mean, so the standardized conv computes what the plain one did.

    Args:
        *args: `nn.Conv2d`'s arguments.
        **kwargs: `nn.Conv2d`'s keyword arguments.

    Example:
        >>> conv = ConvAWS2d(3, 8, 3)
        >>> conv(torch.randn(1, 3, 5, 5)).shape
        torch.Size([1, 8, 3, 3])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("weight_gamma", torch.ones(self.out_channels, 1, 1, 1))
        self.register_buffer("weight_beta", torch.zeros(self.out_channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight_gamma * _standardize(self.weight)[0] + self.weight_beta
        return self._conv_forward(x, weight, self.bias)

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        local_missing: list[str] = []
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, local_missing, unexpected_keys, error_msgs
        )
        affine = (f"{prefix}weight_gamma", f"{prefix}weight_beta")
        if not any(key in local_missing for key in affine):
            missing_keys.extend(local_missing)
            return
        with torch.no_grad():
            _, mean, std = _standardize(self.weight)
            self.weight_beta.copy_(mean)
            self.weight_gamma.copy_(std)
        missing_keys.extend(key for key in local_missing if key not in affine)


@CONV_LAYERS.register_module()
class Conv2dAdaptivePadding(nn.Conv2d):
    """A Conv2d padded like TensorFlow's "SAME": the output is `ceil(input / stride)` whatever the
    input size, the padding computed in forward (EfficientNet ports use it).

    Args:
        *args: `nn.Conv2d`'s arguments.
        **kwargs: `nn.Conv2d`'s keyword arguments (its `padding` is replaced by the padding that keeps `ceil(size /
            stride)`).

    Example:
        >>> Conv2dAdaptivePadding(1, 1, 3, stride=2)(torch.randn(1, 1, 7, 7)).shape
        torch.Size([1, 1, 4, 4])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["padding"] = 0
        super().__init__(*args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride, dilation in zip(
            x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1], self.dilation[::-1], strict=True
        ):
            out = -(-size // stride)
            pad = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
            pads += [pad // 2, pad - pad // 2]
        if any(pads):
            x = nn.functional.pad(x, pads)
        return self._conv_forward(x, self.weight, self.bias)


def build_conv_layer(cfg: Mapping[str, Any] | None, *args: Any, **kwargs: Any) -> nn.Module:
    """Build a conv layer from `cfg` (None means Conv2d) and the conv's own arguments.

    Args:
        cfg: `type` (a name in `CONV_LAYERS`: Conv1d/2d/3d, ConvWS, ConvAWS, Conv2dAdaptivePadding,
            deconv, ...) and arguments of the layer; None is `dict(type='Conv2d')`.
        *args: The conv's positional arguments (in_channels, out_channels, kernel_size, ...).
        **kwargs: Its keyword arguments; a key that `cfg` also sets is a TypeError.

    Returns:
        The conv layer.

    Raises:
        TypeError: When `cfg` is not a dict.
        KeyError: When its `type` is missing or not registered (the message lists the registered types
            and the closest one).

    Example:
        >>> build_conv_layer(None, 3, 8, kernel_size=3).__class__.__name__
        'Conv2d'
        >>> build_conv_layer(dict(type='ConvWS'), 3, 8, 3).__class__.__name__
        'ConvWS2d'
    """
    label, conv_layer, cfg_ = resolve_type({"type": "Conv2d"} if cfg is None else cfg, CONV_LAYERS)
    return construct_layer(conv_layer, merge_args(kwargs, cfg_, label), label, *args)
