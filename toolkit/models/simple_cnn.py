"""`simple_cnn`: stages of ConvModules, max pooling between them, global pooling, a linear head."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..cnn import ConvModule
from ..errors import building
from ..modules import BaseModule, InitCfg, Sequential
from .registry import MODELS

LayerCfg = Mapping[str, Any] | None


@MODELS.register_module("simple_cnn")
class SimpleCNN(BaseModule):
    """A small classifier sized for 8x8 to 32x32 images.

    >>> SimpleCNN(1, 10, widths=(8, 16), norm_cfg=dict(type='GN', num_groups=4))(torch.randn(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        widths: Sequence[int] = (32, 64),
        blocks_per_stage: int = 2,
        conv_cfg: LayerCfg = None,
        norm_cfg: LayerCfg = dict(type="BN"),  # noqa: B006 (never mutated)
        act_cfg: LayerCfg = dict(type="ReLU"),  # noqa: B006 (never mutated)
        padding_mode: str = "zeros",
        init_cfg: InitCfg = None,
    ) -> None:
        super().__init__(init_cfg)
        stages, channels = [], in_channels
        for stage_index, width in enumerate(widths):
            blocks = []
            for block_index in range(blocks_per_stage):
                with building(f"stages.{stage_index}.{block_index}"):
                    blocks.append(
                        ConvModule(
                            channels,
                            width,
                            3,
                            padding=1,
                            conv_cfg=conv_cfg,
                            norm_cfg=norm_cfg,
                            act_cfg=act_cfg,
                            padding_mode=padding_mode,
                        )
                    )
                channels = width
            stages.append(Sequential(*blocks))
        self.stages = Sequential(*stages)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index, stage in enumerate(self.stages):
            x = stage(x if index == 0 else self.pool(x))
        return self.head(x.mean(dim=(2, 3)))
