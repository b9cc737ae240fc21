"""Schemas of the layer choices (`conv=`, `norm=`, `act=`): one small dataclass per choice.

A field left at None is not passed to the layer, which then keeps its own default.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ConvConfig:
    """A plain conv; `padding_mode` is ConvModule's (zeros, reflect, replicate, circular)."""

    type: str = "Conv2d"
    padding_mode: str = "zeros"


@dataclass
class ConvWSConfig(ConvConfig):
    """A weight-standardized conv."""

    type: str = "ConvWS"
    eps: float | None = None


@dataclass
class BatchNormConfig:
    """BatchNorm (`BN`) or its cross-process form (`SyncBN`)."""

    type: str = "BN"
    eps: float | None = None
    momentum: float | None = None
    affine: bool | None = None
    track_running_stats: bool | None = None
    requires_grad: bool | None = None


@dataclass
class GroupNormConfig:
    """GroupNorm; `num_groups` must divide the channels of every normalized layer."""

    type: str = "GN"
    num_groups: int = 8
    eps: float | None = None
    affine: bool | None = None
    requires_grad: bool | None = None


@dataclass
class LayerNormConfig:
    """LayerNorm over the channels of an N,C,H,W tensor (`LN2d`)."""

    type: str = "LN2d"
    eps: float | None = None
    elementwise_affine: bool | None = None
    requires_grad: bool | None = None


@dataclass
class InstanceNormConfig:
    """InstanceNorm."""

    type: str = "IN"
    eps: float | None = None
    momentum: float | None = None
    affine: bool | None = None
    track_running_stats: bool | None = None


@dataclass
class NoLayerConfig:
    """No layer at all (`norm=none`, `act=none`)."""

    type: str = "none"


@dataclass
class ActivationConfig:
    """An activation without arguments (ReLU, ReLU6, Sigmoid, Tanh, SiLU, HSwish, Mish)."""

    type: str = "ReLU"


@dataclass
class LeakyReLUConfig:
    type: str = "LeakyReLU"
    negative_slope: float | None = None


@dataclass
class PReLUConfig:
    type: str = "PReLU"
    num_parameters: int | None = None
    init: float | None = None


@dataclass
class RReLUConfig:
    type: str = "RReLU"
    lower: float | None = None
    upper: float | None = None


@dataclass
class ELUConfig:
    type: str = "ELU"
    alpha: float | None = None


@dataclass
class GELUConfig:
    type: str = "GELU"
    approximate: str | None = None
