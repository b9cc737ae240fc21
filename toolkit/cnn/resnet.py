"""MMCV's plain `ResNet` backbone (`mmcv.cnn.ResNet`): torchvision's layout and names, no classifier,
feature maps of the chosen stages, frozen stages and BN modes as MMCV's arguments say.

>>> model = ResNet(18, out_indices=(3,))
>>> model(torch.randn(1, 3, 64, 64)).shape
torch.Size([1, 512, 2, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.utils.checkpoint as cp
from torch import nn

from ..errors import ArgumentValueError
from .backbone import freeze, init_backbone, keep_bn_modes

STYLES = ("pytorch", "caffe")


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    """A 3x3 conv without bias whose padding keeps the size (with `dilation`)."""
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ArgumentValueError(f"style must be one of {STYLES}, got {style!r}")


class _Residual(nn.Module):
    """A residual block with MMCV's arguments: the branch that `build` makes, a shortcut
    (`downsample`, set after the branch so the state dict follows torchvision's order), the sum, a
    ReLU, and optional gradient checkpointing."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        style: str = "pytorch",
        with_cp: bool = False,
    ) -> None:
        _check_style(style)
        super().__init__()
        self.build(inplanes, planes, stride, dilation, style)
        self.relu = nn.ReLU(inplace=True)
        self.stride, self.dilation, self.style, self.with_cp = stride, dilation, style, with_cp
        self.downsample = downsample

    def build(self, inplanes: int, planes: int, stride: int, dilation: int, style: str) -> None:
        raise NotImplementedError

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def inner(x: torch.Tensor) -> torch.Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            return self.branch(x) + identity

        out = cp.checkpoint(inner, x, use_reentrant=False) if self.with_cp and x.requires_grad else inner(x)
        return self.relu(out)


class BasicBlock(_Residual):
    """Two 3x3 convs (ResNet-18/34)."""

    def build(self, inplanes: int, planes: int, stride: int, dilation: int, style: str) -> None:
        self.conv1 = conv3x3(inplanes, planes, stride, dilation)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))


class Bottleneck(_Residual):
    """1x1, 3x3, 1x1 convs (ResNet-50/101/152); the stride sits on the 3x3 ('pytorch') or the first 1x1 ('caffe')."""

    expansion = 4

    def build(self, inplanes: int, planes: int, stride: int, dilation: int, style: str) -> None:
        conv1_stride, conv2_stride = (1, stride) if style == "pytorch" else (stride, 1)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=conv1_stride, bias=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=conv2_stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


def make_res_layer(
    block: type[BasicBlock | Bottleneck],
    inplanes: int,
    planes: int,
    blocks: int,
    stride: int = 1,
    dilation: int = 1,
    style: str = "pytorch",
    with_cp: bool = False,
) -> nn.Sequential:
    """A stage of `blocks` blocks; the first one strides and projects the shortcut when needed."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes * block.expansion, 1, stride=stride, bias=False),
            nn.BatchNorm2d(planes * block.expansion),
        )
    layers = [block(inplanes, planes, stride, dilation, downsample, style=style, with_cp=with_cp)]
    layers += [
        block(planes * block.expansion, planes, 1, dilation, style=style, with_cp=with_cp) for _ in range(1, blocks)
    ]
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    """ResNet-18/34/50/101/152 backbone with MMCV's arguments; returns the outputs of `out_indices`
    (a tensor for one stage, a tuple otherwise)."""

    arch_settings: ClassVar[dict[int, tuple[type[BasicBlock | Bottleneck], tuple[int, ...]]]] = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        depth: int,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        style: str = "pytorch",
        frozen_stages: int = -1,
        bn_eval: bool = True,
        bn_frozen: bool = False,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        if depth not in self.arch_settings:
            raise KeyError(f"invalid depth {depth} for resnet; allowed: {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 4:
            raise ArgumentValueError(f"num_stages must be 1 to 4, got {num_stages}")
        if not len(strides) == len(dilations) == num_stages:
            raise ArgumentValueError(f"strides and dilations need {num_stages} entries, got {strides}, {dilations}")
        if not out_indices or max(out_indices) >= num_stages:
            raise ArgumentValueError(f"out_indices must name stages below {num_stages}, got {out_indices}")
        _check_style(style)
        block, stage_blocks = self.arch_settings[depth]
        self.depth, self.num_stages, self.out_indices, self.style = depth, num_stages, tuple(out_indices), style
        self.frozen_stages, self.bn_eval, self.bn_frozen, self.with_cp = frozen_stages, bn_eval, bn_frozen, with_cp
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.res_layers: list[str] = []
        inplanes = 64
        for index, blocks in enumerate(stage_blocks[:num_stages]):
            planes = 64 * 2**index
            layer = make_res_layer(block, inplanes, planes, blocks, strides[index], dilations[index], style, with_cp)
            inplanes = planes * block.expansion
            self.add_module(f"layer{index + 1}", layer)
            self.res_layers.append(f"layer{index + 1}")
        self.feat_dim = block.expansion * 64 * 2 ** (num_stages - 1)

    def init_weights(self, pretrained: str | None = None) -> None:
        """Kaiming convs and 1/0 BNs, or the weights of `pretrained` (a checkpoint path or URL)."""
        init_backbone(self, pretrained)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for index, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if index in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def train(self, mode: bool = True) -> ResNet:
        """Set the mode; with `bn_eval` the BNs stay in eval mode (frozen too with `bn_frozen`), and the
        stem and the first `frozen_stages` stages stay in eval mode without gradients."""
        super().train(mode)
        keep_bn_modes(self, self.bn_eval, self.bn_frozen)
        if mode and self.frozen_stages >= 0:
            freeze([self.conv1, self.bn1] + [getattr(self, f"layer{i}") for i in range(1, self.frozen_stages + 1)])
        return self
