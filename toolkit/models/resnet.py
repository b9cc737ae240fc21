"""`resnet`: ResNet-18/34 of BasicBlocks from the layer builders, named and shaped as torchvision's.

With BN (the default), its state dict has torchvision's keys and shapes, so
`init=pretrained init.checkpoint=torchvision://resnet18` loads into it. The norm layers are
named by `build_norm_layer` (`bn1`, or `gn1` under GN), as in MMCV's ResNet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..cnn import build_activation_layer, build_conv_layer, build_norm_layer
from ..modules import BaseModule, InitCfg
from .registry import MODELS, building

LayerCfg = Mapping[str, Any] | None
DEPTHS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


class LayerFactory:
    """Builds the convs, norms and activations of a ResNet from the chosen layer configs."""

    def __init__(self, conv_cfg: LayerCfg, norm_cfg: LayerCfg, act_cfg: LayerCfg, padding_mode: str) -> None:
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.padding = {} if padding_mode == "zeros" else {"padding_mode": padding_mode}

    def conv(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Module:
        padding = kernel_size // 2
        return build_conv_layer(
            self.conv_cfg,
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            bias=self.norm_cfg is None,
            **(self.padding if padding else {}),
        )

    def norm(self, channels: int, postfix: int | str = "") -> tuple[str, nn.Module] | None:
        """The norm layer and its MMCV name (`bn1`), or None without a norm."""
        return None if self.norm_cfg is None else build_norm_layer(self.norm_cfg, channels, postfix=postfix)

    def add_norm(self, module: nn.Module, channels: int, postfix: int) -> str | None:
        """Add the norm layer to `module` under its name; returns the name."""
        named = self.norm(channels, postfix)
        if named is None:
            return None
        module.add_module(*named)
        return named[0]

    def act(self) -> nn.Module:
        return nn.Identity() if self.act_cfg is None else build_activation_layer(self.act_cfg, inplace=True)


def apply_norm(module: nn.Module, name: str | None, x: torch.Tensor) -> torch.Tensor:
    """`x` through the module's norm layer called `name`, if it has one."""
    return x if name is None else module._modules[name](x)


class BasicBlock(BaseModule):
    """Two 3x3 convs with a shortcut (torchvision's names: conv1, bn1, relu, conv2, bn2, downsample)."""

    def __init__(self, in_channels: int, channels: int, stride: int, layers: LayerFactory) -> None:
        super().__init__()
        self.conv1 = layers.conv(in_channels, channels, 3, stride)
        self.norm1_name = layers.add_norm(self, channels, postfix=1)
        self.relu = layers.act()
        self.conv2 = layers.conv(channels, channels, 3)
        self.norm2_name = layers.add_norm(self, channels, postfix=2)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or in_channels != channels:
            norm = layers.norm(channels)
            shortcut = [layers.conv(in_channels, channels, 1, stride)] + ([norm[1]] if norm else [])
            self.downsample = nn.Sequential(*shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(apply_norm(self, self.norm1_name, self.conv1(x)))
        out = apply_norm(self, self.norm2_name, self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


@MODELS.register_module("resnet")
class ResNet(BaseModule):
    """A ResNet-18/34: a 7x7 stem, max pooling, four stages of BasicBlocks, pooling and `fc`.

    >>> ResNet(depth=18, in_channels=3, num_classes=5, base_width=8)(torch.randn(2, 3, 32, 32)).shape
    torch.Size([2, 5])
    """

    def __init__(
        self,
        depth: int = 18,
        in_channels: int = 3,
        num_classes: int = 1000,
        base_width: int = 64,
        conv_cfg: LayerCfg = None,
        norm_cfg: LayerCfg = dict(type="BN"),  # noqa: B006 (never mutated)
        act_cfg: LayerCfg = dict(type="ReLU"),  # noqa: B006 (never mutated)
        padding_mode: str = "zeros",
        init_cfg: InitCfg = None,
    ) -> None:
        super().__init__(init_cfg)
        if depth not in DEPTHS:
            raise ValueError(f"ResNet depth must be one of {sorted(DEPTHS)}, got {depth}")
        layers = LayerFactory(conv_cfg, norm_cfg, act_cfg, padding_mode)
        with building("conv1"):
            self.conv1 = layers.conv(in_channels, base_width, 7, stride=2)
            self.norm1_name = layers.add_norm(self, base_width, postfix=1)
        self.relu = layers.act()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = base_width
        for stage, blocks in enumerate(DEPTHS[depth]):
            width = base_width * 2**stage
            stage_blocks = []
            for index in range(blocks):
                with building(f"layer{stage + 1}.{index}"):
                    stage_blocks.append(BasicBlock(channels, width, 2 if stage and not index else 1, layers))
                channels = width
            self.add_module(f"layer{stage + 1}", nn.Sequential(*stage_blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(apply_norm(self, self.norm1_name, self.conv1(x))))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))
