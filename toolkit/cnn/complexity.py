"""`get_model_complexity_info`: FLOPs and parameters of a model, in total and per layer, as MMCV counts.

A multiply-add is one FLOP. Convs count `kernel size x in/groups x out` per output position (plus
the bias), linear layers `inputs x outputs` (plus the bias), activations, pools and upsampling one
per element, norms one per input element (two with an affine). Other modules count nothing
themselves; their children do.

>>> from torch import nn
>>> flops, params = get_model_complexity_info(nn.Conv2d(3, 8, 3), (3, 10, 10), print_per_layer_stat=False,
...                                            as_strings=False)
>>> flops, params  # 8x8 positions x (27 x 8) multiply-adds, + 8 x 64 bias additions
(14336.0, 224)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import IO, Any

import torch
from torch import nn

from .._compat.torch import POOL_BASES, ConvBase, ConvTransposeBase
from .norm import NORM_TYPES

ACTIVATIONS = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6)


def _conv_flops(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> int:
    per_position = math.prod(module.kernel_size) * module.in_channels * (module.out_channels // module.groups)
    if isinstance(module, ConvTransposeBase):  # each input position spreads over the kernel
        positions = inputs[0].shape[0] * math.prod(inputs[0].shape[2:])
    else:
        positions = output.shape[0] * math.prod(output.shape[2:])
    bias = module.out_channels * output.shape[0] * math.prod(output.shape[2:]) if module.bias is not None else 0
    return per_position * positions + bias


def _linear_flops(module: nn.Linear, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> int:
    return inputs[0].numel() * output.shape[-1] + (output.shape[-1] if module.bias is not None else 0)


def _norm_flops(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> int:
    affine = getattr(module, "affine", False) or getattr(module, "elementwise_affine", False)
    return inputs[0].numel() * (2 if affine else 1)


COUNTERS: list[tuple[tuple[type, ...], Callable[..., int]]] = [
    ((ConvBase,), _conv_flops),
    ((nn.Linear,), _linear_flops),
    (NORM_TYPES, _norm_flops),
    (ACTIVATIONS, lambda module, inputs, output: output.numel()),
    (POOL_BASES, lambda module, inputs, output: inputs[0].numel()),
    ((nn.Upsample,), lambda module, inputs, output: output.numel()),
]


def _counter(module: nn.Module) -> Callable[..., int] | None:
    return next((count for kinds, count in COUNTERS if isinstance(module, kinds)), None)


def flops_to_string(flops: float, units: str | None = "GFLOPs", precision: int = 2) -> str:
    """`4.11 GFLOPs`; `units=None` picks G, M or K by size.

    >>> flops_to_string(4.1e9), flops_to_string(2.5e6, units=None)
    ('4.1 GFLOPs', '2.5 MFLOPs')
    """
    scales = {"GFLOPs": 1e9, "MFLOPs": 1e6, "KFLOPs": 1e3}
    if units is None:
        units = next((unit for unit, scale in scales.items() if flops // scale > 0), "FLOPs")
    if units not in scales:
        return f"{flops} FLOPs"
    return f"{round(flops / scales[units], precision)} {units}"


def params_to_string(params: float, units: str | None = None, precision: int = 2) -> str:
    """`25.56 M`; `units=None` picks M or k by size, `units='M'` or `'K'` forces one.

    >>> params_to_string(25_557_032), params_to_string(4_500), params_to_string(12)
    ('25.56 M', '4.5 k', '12')
    """
    if units is None:
        if params // 1e6 > 0:
            return f"{round(params / 1e6, precision)} M"
        if params // 1e3 > 0:
            return f"{round(params / 1e3, precision)} k"
        return str(params)
    scale = {"M": 1e6, "K": 1e3}.get(units, 1)
    return f"{round(params / scale, precision)} {units}"


def get_model_complexity_info(
    model: nn.Module,
    input_shape: tuple[int, ...],
    print_per_layer_stat: bool = True,
    as_strings: bool = True,
    input_constructor: Callable[[tuple[int, ...]], Any] | None = None,
    flush: bool = False,
    ost: IO[str] = sys.stdout,
) -> tuple[Any, Any]:
    """Run `model` once on a batch of one `input_shape` tensor (or `input_constructor(input_shape)`,
    a dict of keyword arguments) in eval mode, and return its FLOPs and trainable parameters, as
    strings (`'4.11 GFLOPs'`, `'25.56 M'`) or numbers. With `print_per_layer_stat`, the model is
    printed with each module's parameters, FLOPs and their shares of the total.

    Args:
        model: The network.
        input_shape: The shape of one input without the batch dimension, e.g. `(3, 224, 224)`.
        print_per_layer_stat: Print the model with each module's parameters, FLOPs and their shares.
        as_strings: Return `'4.11 GFLOPs'` and `'25.56 M'` rather than numbers.
        input_constructor: Makes the model's keyword arguments from `input_shape`, instead of a random tensor.
        flush: Flush `ost` after printing.
        ost: Where the per-layer table is printed.

    Returns:
        `(flops, params)`: a multiply-add counts as one FLOP; only trainable parameters are counted.
    """
    if not (isinstance(input_shape, tuple) and input_shape and all(isinstance(d, int) for d in input_shape)):
        raise TypeError(f"input_shape must be a non-empty tuple of ints, got {input_shape!r}")
    flops: dict[nn.Module, int] = {}
    counters = {module: counter for module in model.modules() if (counter := _counter(module)) is not None}

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        flops[module] = flops.get(module, 0) + int(counters[module](module, inputs, output))

    handles = [module.register_forward_hook(count) for module in counters]
    training = model.training
    model.eval()
    try:
        parameter = next(model.parameters(), None)
        with torch.no_grad():
            if input_constructor is not None:
                model(**input_constructor(input_shape))
            else:
                kwargs = {"dtype": parameter.dtype, "device": parameter.device} if parameter is not None else {}
                model(torch.ones((1, *input_shape), **kwargs))
    finally:
        for handle in handles:
            handle.remove()
        model.train(training)
    total_flops = float(sum(flops.values()))
    total_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if print_per_layer_stat:
        print_model_with_flops(model, flops, total_flops, total_params, ost=ost, flush=flush)
    if as_strings:
        return flops_to_string(total_flops), params_to_string(total_params)
    return total_flops, total_params


def print_model_with_flops(
    model: nn.Module,
    flops: dict[nn.Module, int],
    total_flops: float,
    total_params: int,
    units: str = "GFLOPs",
    precision: int = 3,
    ost: IO[str] = sys.stdout,
    flush: bool = False,
) -> None:
    """Print the model with, before each module's own description, its parameters (M), their share,
    its FLOPs and their share, each counted over the module and its children, as MMCV prints it."""

    def stats(module: nn.Module) -> str:
        params = sum(p.numel() for p in module.parameters() if p.requires_grad)
        module_flops = sum(flops.get(sub, 0) for sub in module.modules())
        parts = [
            params_to_string(params, units="M", precision=precision),
            f"{params / total_params if total_params else 0:.3%} Params",
            flops_to_string(module_flops, units=units, precision=precision),
            f"{module_flops / total_flops if total_flops else 0:.3%} FLOPs",
        ]
        own = type(module).extra_repr(module)
        return ", ".join(parts + ([own] if own else []))

    modules = list(model.modules())
    for module in modules:
        module.extra_repr = (lambda m: lambda: stats(m))(module)
    try:
        print(model, file=ost, flush=flush)
    finally:
        for module in modules:
            del module.extra_repr
