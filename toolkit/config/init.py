"""Schemas of the init choices (`init=`): the initializer for convs and linears, and for norms.

`norm_val`/`norm_bias` set the weight and bias of every norm layer (1 and 0 unless overridden);
`norm_val=null` leaves norms to their own default. The classifier head is initialized apart, by
`head` (Normal with std 0.01 and bias 0, as MMCV's classification heads are; `init.head=null` gives
it the chosen init): the head is the model's `head` or `fc` linear, else its last `nn.Linear`, or the
child that `head_name` names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import II, MISSING

WEIGHT_LAYERS = ["_ConvNd", "Linear"]


@dataclass
class InitConfig:
    """Fields shared by every init choice."""

    type: str = MISSING
    layer: list[str] = field(default_factory=lambda: list(WEIGHT_LAYERS))
    bias: float = 0.0
    norm_val: float | None = 1.0
    norm_bias: float = 0.0
    head: dict[str, Any] | None = field(default_factory=lambda: {"type": "Normal", "std": 0.01, "bias": 0.0})
    head_name: str | None = None


@dataclass
class KaimingConfig(InitConfig):
    type: str = "Kaiming"
    a: float = 0.0
    mode: str = "fan_out"
    nonlinearity: str = "relu"
    distribution: str = "normal"


@dataclass
class XavierConfig(InitConfig):
    type: str = "Xavier"
    gain: float = 1.0
    distribution: str = "normal"


@dataclass
class NormalConfig(InitConfig):
    type: str = "Normal"
    mean: float = 0.0
    std: float = 0.01


@dataclass
class TruncNormalConfig(InitConfig):
    type: str = "TruncNormal"
    mean: float = 0.0
    std: float = 0.02
    a: float = -2.0
    b: float = 2.0


@dataclass
class UniformConfig(InitConfig):
    type: str = "Uniform"
    a: float = -0.05
    b: float = 0.05


@dataclass
class Caffe2XavierConfig(InitConfig):
    type: str = "Caffe2Xavier"


@dataclass
class ConstantConfig(InitConfig):
    """Every conv, linear and norm weight set to `val`, and every bias to `bias`."""

    type: str = "Constant"
    val: float = 1.0
    norm_val: float | None = II(".val")
    norm_bias: float = II(".bias")


@dataclass
class PretrainedConfig:
    """Load a checkpoint (a path, URL, `torchvision://` or `open-mmlab://` name) into the model."""

    type: str = "Pretrained"
    checkpoint: str = MISSING
    prefix: str | None = None
    map_location: str = "cpu"


@dataclass
class DefaultInitConfig:
    """Keep each module's own default init."""

    type: str = "default"
