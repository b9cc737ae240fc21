"""MMCV's plain `VGG` (`mmcv.cnn.VGG`): torchvision's `features.N` / `classifier.N` names, the
outputs of chosen stages, frozen stages and BN modes as MMCV's arguments say.

>>> model = VGG(11, out_indices=(4,))
>>> model(torch.randn(1, 3, 64, 64)).shape
torch.Size([1, 512, 2, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from ..errors import ArgumentValueError
from .activation import build_activation_layer
from .backbone import freeze, init_backbone, keep_bn_modes
from .conv import build_conv_layer
from .norm import build_norm_layer
from .resnet import BN, RELU, LayerCfg


def make_vgg_layer(
    inplanes: int,
    planes: int,
    num_blocks: int,
    dilation: int = 1,
    with_bn: bool = False,
    ceil_mode: bool = False,
    conv_cfg: LayerCfg = None,
    norm_cfg: LayerCfg = None,
    act_cfg: LayerCfg = RELU,
) -> list[nn.Module]:
    """A stage: `num_blocks` times 3x3 conv (+ norm) + activation, then a 2x2 max pool; `with_bn` is
    MMCV's way to ask for `norm_cfg=dict(type='BN')`."""
    norm_cfg = BN if with_bn and norm_cfg is None else norm_cfg
    layers: list[nn.Module] = []
    for _ in range(num_blocks):
        layers.append(build_conv_layer(conv_cfg, inplanes, planes, 3, padding=dilation, dilation=dilation))
        if norm_cfg is not None:
            layers.append(build_norm_layer(norm_cfg, planes)[1])
        if act_cfg is not None:
            layers.append(build_activation_layer(act_cfg, inplace=True))
        inplanes = planes
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=ceil_mode))
    return layers


class VGG(nn.Module):
    """VGG-11/13/16/19, and a classifier for a 224x224 input when `num_classes > 0`.

    Its defaults build MMCV's plain VGG (torchvision's `features.N` names); `conv_cfg`, `norm_cfg`
    and `act_cfg` swap its layers as in `ResNet` (`with_bn=True` is `norm_cfg=dict(type='BN')`).

    Args:
        depth: 11, 13, 16 or 19.
        with_bn: A BN after every conv (MMCV's way to say `norm_cfg=dict(type='BN')`).
        num_classes: Outputs of the classifier; -1 builds none.
        num_stages: How many of the five stages to build.
        dilations: Dilation of each stage's convs.
        out_indices: The stages whose outputs `forward` returns (`num_stages` is the classifier's).
        frozen_stages: This many stages stay in eval mode without gradients (-1: none).
        bn_eval: Keep the BN layers in eval mode in `train()`.
        bn_frozen: With `bn_eval`, no gradients for the BN parameters either.
        ceil_mode: The max pools' `ceil_mode`.
        with_last_pool: Keep the last stage's max pool.
        conv_cfg: Config of the convs; None is Conv2d.
        norm_cfg: Config of the norms; None (and no `with_bn`) builds none.
        act_cfg: Config of the activations; None builds none.

    Raises:
        KeyError: For another depth.
        ArgumentValueError: For stages, dilations or out_indices that do not fit together.
    """

    arch_settings: ClassVar[dict[int, tuple[int, ...]]] = {
        11: (1, 1, 2, 2, 2),
        13: (2, 2, 2, 2, 2),
        16: (2, 2, 3, 3, 3),
        19: (2, 2, 4, 4, 4),
    }

    def __init__(
        self,
        depth: int,
        with_bn: bool = False,
        num_classes: int = -1,
        num_stages: int = 5,
        dilations: Sequence[int] = (1, 1, 1, 1, 1),
        out_indices: Sequence[int] = (0, 1, 2, 3, 4),
        frozen_stages: int = -1,
        bn_eval: bool = True,
        bn_frozen: bool = False,
        ceil_mode: bool = False,
        with_last_pool: bool = True,
        conv_cfg: LayerCfg = None,
        norm_cfg: LayerCfg = None,
        act_cfg: LayerCfg = RELU,
    ) -> None:
        super().__init__()
        if depth not in self.arch_settings:
            raise KeyError(f"invalid depth {depth} for vgg; allowed: {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 5:
            raise ArgumentValueError(f"num_stages must be 1 to 5, got {num_stages}")
        if len(dilations) != num_stages:
            raise ArgumentValueError(f"dilations need {num_stages} entries, got {dilations}")
        if not out_indices or max(out_indices) > num_stages:
            raise ArgumentValueError(f"out_indices must name stages up to {num_stages}, got {out_indices}")
        self.stage_blocks = self.arch_settings[depth][:num_stages]
        self.num_classes, self.out_indices = num_classes, tuple(out_indices)
        self.frozen_stages, self.bn_eval, self.bn_frozen = frozen_stages, bn_eval, bn_frozen
        layers: list[nn.Module] = []
        self.range_sub_modules: list[list[int]] = []
        inplanes = 3
        for index, blocks in enumerate(self.stage_blocks):
            planes = 64 * 2**index if index < 4 else 512
            stage = make_vgg_layer(
                inplanes, planes, blocks, dilations[index], with_bn, ceil_mode, conv_cfg, norm_cfg, act_cfg
            )
            self.range_sub_modules.append([len(layers), len(layers) + len(stage)])
            layers += stage
            inplanes = planes
        if not with_last_pool:
            layers.pop()
            self.range_sub_modules[-1][1] -= 1
        self.module_name = "features"
        self.features = nn.Sequential(*layers)
        if num_classes > 0:
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096),
                nn.ReLU(True),
                nn.Dropout(),
                nn.Linear(4096, 4096),
                nn.ReLU(True),
                nn.Dropout(),
                nn.Linear(4096, num_classes),
            )

    def init_weights(self, pretrained: str | None = None) -> None:
        """Kaiming convs, 1/0 BNs and N(0, 0.01) linears, or the weights of `pretrained`."""
        init_backbone(self, pretrained, linear_std=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        outs = []
        for index, (start, end) in enumerate(self.range_sub_modules):
            for position in range(start, end):
                x = self.features[position](x)
            if index in self.out_indices:
                outs.append(x)
        if self.num_classes > 0:
            outs.append(self.classifier(x.flatten(1)))
        return outs[0] if len(outs) == 1 else tuple(outs)

    def train(self, mode: bool = True) -> VGG:
        """Set the mode; BNs and the first `frozen_stages` stages stay as `bn_eval`, `bn_frozen` and
        `frozen_stages` say."""
        super().train(mode)
        keep_bn_modes(self, self.bn_eval, self.bn_frozen)
        if mode and self.frozen_stages >= 0:
            freeze(
                self.features[position]
                for start, end in self.range_sub_modules[: self.frozen_stages]
                for position in range(start, end)
            )
        return self
