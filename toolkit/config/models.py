"""Schemas of the model choices (`model=`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING


@dataclass
class SimpleCNNConfig:
    """Stages of ConvModules with max pooling between them, global pooling and a linear head."""

    type: str = "simple_cnn"
    in_channels: int = MISSING
    num_classes: int = MISSING
    widths: list[int] = field(default_factory=lambda: [32, 64])
    blocks_per_stage: int = 2


@dataclass
class ResNetConfig:
    """A ResNet-18/34 of BasicBlocks, named and shaped as torchvision's."""

    type: str = "resnet"
    depth: int = 18
    base_width: int = 64
    in_channels: int = MISSING
    num_classes: int = MISSING
