"""The ResNet backbone (`mmcv.cnn.ResNet`) built from the layer builders, and its residual blocks.

Its defaults build exactly MMCV's plain ResNet (Conv2d, BN, ReLU; depth 18 to 152) with torchvision's
parameter names and shapes, so `torchvision://resnet50` loads into it; `conv_cfg`, `norm_cfg` and
`act_cfg` swap the layers (a GN ResNet names its norms `gn1`, as `build_norm_layer` does). It returns
the feature maps of the stages in `out_indices`: a tensor for one stage, a tuple otherwise.
`toolkit.models.ResNetClassifier` (`model=resnet`) adds pooling and a linear `fc`.

>>> model = ResNet(18, out_indices=(3,))
>>> model(torch.randn(1, 3, 64, 64)).shape
torch.Size([1, 512, 2, 2])
>>> norm = ResNet(50, norm_cfg=dict(type='GN', num_groups=32)).layer1[0].gn3
>>> type(norm).__name__, norm.num_groups, norm.num_channels
('GroupNorm', 32, 256)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
import torch.utils.checkpoint as cp
from torch import nn

from ..errors import ArgumentKeyError, ArgumentValueError, building
from ..init import constant_init, kaiming_init
from ..init.report import tracking
from ..modules import BaseModule, InitCfg
from .activation import build_activation_layer
from .backbone import freeze, keep_bn_modes, load_pretrained
from .conv import build_conv_layer
from .norm import NORM_TYPES, build_norm_layer

STYLES = ("pytorch", "caffe")
LayerCfg = Mapping[str, Any] | None
BN: Mapping[str, Any] = {"type": "BN"}
RELU: Mapping[str, Any] = {"type": "ReLU"}


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ArgumentValueError(f"style must be one of {STYLES}, got {style!r}")


class Layers:
    """The conv, norm and activation configs of one ResNet, and the layers they build."""

    def __init__(self, conv_cfg: LayerCfg, norm_cfg: LayerCfg, act_cfg: LayerCfg, padding_mode: str) -> None:
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.padding_mode = padding_mode

    def conv(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, dilation: int = 1
    ) -> nn.Module:
        """A conv whose padding keeps the size; it has a bias only without a norm after it."""
        padding = dilation * (kernel_size // 2)
        explicit = {"padding_mode": self.padding_mode} if padding and self.padding_mode != "zeros" else {}
        return build_conv_layer(
            self.conv_cfg,
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=self.norm_cfg is None,
            **explicit,
        )

    def add_norm(self, module: nn.Module, channels: int, postfix: int) -> str | None:
        """Add the norm layer to `module` under MMCV's name for it (`bn1`); returns the name, None without a norm."""
        if self.norm_cfg is None:
            return None
        name, norm = build_norm_layer(self.norm_cfg, channels, postfix=postfix)
        module.add_module(name, norm)
        return name

    def shortcut(self, in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
        """The projection shortcut: a strided 1x1 conv and a norm (torchvision's `downsample.0`, `.1`)."""
        norm = [] if self.norm_cfg is None else [build_norm_layer(self.norm_cfg, out_channels)[1]]
        return nn.Sequential(self.conv(in_channels, out_channels, 1, stride), *norm)

    def act(self) -> nn.Module:
        return nn.Identity() if self.act_cfg is None else build_activation_layer(self.act_cfg, inplace=True)


def _norm(module: nn.Module, name: str | None, x: torch.Tensor) -> torch.Tensor:
    return x if name is None else getattr(module, name)(x)


class _Residual(BaseModule):
    """A residual block with MMCV's arguments: the branch that `build` makes, a shortcut (`downsample`,
    set after the branch so the state dict follows torchvision's order), the sum, the activation, and
    optional gradient checkpointing (`with_cp`). `init_cfg` is its own (the ResNet's `zero_init_residual`
    gives each block one that sets its last norm to 0)."""

    expansion: ClassVar[int] = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        style: str = "pytorch",
        with_cp: bool = False,
        conv_cfg: LayerCfg = None,
        norm_cfg: LayerCfg = BN,
        act_cfg: LayerCfg = RELU,
        padding_mode: str = "zeros",
        init_cfg: InitCfg = None,
    ) -> None:
        _check_style(style)
        super().__init__(init_cfg)
        self.build(Layers(conv_cfg, norm_cfg, act_cfg, padding_mode), inplanes, planes, stride, dilation, style)
        self.stride, self.dilation, self.style, self.with_cp = stride, dilation, style, with_cp
        self.downsample = downsample

    def build(self, layers: Layers, inplanes: int, planes: int, stride: int, dilation: int, style: str) -> None:
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
    """Two 3x3 convs (ResNet-18/34); torchvision's names: conv1, bn1, relu, conv2, bn2, downsample.

    >>> BasicBlock(64, 64)(torch.randn(1, 64, 8, 8)).shape
    torch.Size([1, 64, 8, 8])
    """

    def build(self, layers: Layers, inplanes: int, planes: int, stride: int, dilation: int, style: str) -> None:
        self.conv1 = layers.conv(inplanes, planes, 3, stride, dilation)
        first = layers.add_norm(self, planes, postfix=1)
        self.relu = layers.act()
        self.conv2 = layers.conv(planes, planes, 3)
        self.norm_names = (first, layers.add_norm(self, planes, postfix=2))

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(_norm(self, self.norm_names[0], self.conv1(x)))
        return _norm(self, self.norm_names[1], self.conv2(out))


class Bottleneck(_Residual):
    """1x1, 3x3, 1x1 convs (ResNet-50/101/152); the stride sits on the 3x3 ('pytorch') or the first 1x1 ('caffe').

    >>> Bottleneck(64, 16, stride=2, downsample=nn.Conv2d(64, 64, 1, stride=2))(torch.randn(1, 64, 8, 8)).shape
    torch.Size([1, 64, 4, 4])
    """

    expansion: ClassVar[int] = 4

    def build(self, layers: Layers, inplanes: int, planes: int, stride: int, dilation: int, style: str) -> None:
        conv1_stride, conv2_stride = (1, stride) if style == "pytorch" else (stride, 1)
        self.conv1 = layers.conv(inplanes, planes, 1, conv1_stride)
        self.conv2 = layers.conv(planes, planes, 3, conv2_stride, dilation)
        names = [layers.add_norm(self, planes, postfix=1), layers.add_norm(self, planes, postfix=2)]
        self.conv3 = layers.conv(planes, planes * self.expansion, 1)
        self.norm_names = (*names, layers.add_norm(self, planes * self.expansion, postfix=3))
        self.relu = layers.act()

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        first, second, third = self.norm_names
        out = self.relu(_norm(self, first, self.conv1(x)))
        out = self.relu(_norm(self, second, self.conv2(out)))
        return _norm(self, third, self.conv3(out))


def zeroed_last_norm(residual: _Residual) -> dict[str, Any] | None:
    """The init_cfg that starts a block's last norm at 0 (so the block starts as its shortcut); None
    for a block without norms."""
    name = residual.norm_names[-1]
    return None if name is None else {"type": "Constant", "val": 0, "bias": 0, "override": {"name": name}}


def make_res_layer(
    block: type[BasicBlock | Bottleneck],
    inplanes: int,
    planes: int,
    blocks: int,
    stride: int = 1,
    dilation: int = 1,
    style: str = "pytorch",
    with_cp: bool = False,
    **layer_cfgs: Any,
) -> nn.Sequential:
    """A stage of `blocks` blocks; the first one strides and projects the shortcut when needed.

    Args:
        block: `BasicBlock` or `Bottleneck`.
        inplanes: Channels into the stage.
        planes: Width of the blocks (their output has `planes * block.expansion` channels).
        blocks: Number of blocks.
        stride: Stride of the first block.
        dilation: Dilation of the 3x3 convs.
        style: 'pytorch' or 'caffe' (where a Bottleneck strides).
        with_cp: Gradient checkpointing in every block.
        **layer_cfgs: `conv_cfg`, `norm_cfg`, `act_cfg`, `padding_mode` of the blocks.

    Returns:
        The stage as an `nn.Sequential` indexed from 0, as in torchvision.

    Example:
        >>> len(make_res_layer(BasicBlock, 64, 128, 2, stride=2))
        2
    """
    layers = Layers(
        layer_cfgs.get("conv_cfg"),
        layer_cfgs.get("norm_cfg", BN),
        layer_cfgs.get("act_cfg", RELU),
        layer_cfgs.get("padding_mode", "zeros"),
    )
    first = block(inplanes, planes, stride, dilation, None, style, with_cp, **layer_cfgs)
    if stride != 1 or inplanes != planes * block.expansion:  # built after the branch, as torchvision does
        first.downsample = layers.shortcut(inplanes, planes * block.expansion, stride)
    rest = [
        block(planes * block.expansion, planes, 1, dilation, None, style, with_cp, **layer_cfgs)
        for _ in range(1, blocks)
    ]
    return nn.Sequential(first, *rest)


class ResNet(BaseModule):
    """ResNet-18/34/50/101/152 backbone with MMCV's arguments, built from the layer builders.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: Channels of the input images.
        base_width: Width of the stem and the first stage (64 in the papers).
        num_stages: How many of the four stages to build.
        strides: Stride of each stage's first block.
        dilations: Dilation of each stage's 3x3 convs.
        out_indices: The stages whose outputs `forward` returns.
        style: 'pytorch' (a Bottleneck strides on its 3x3) or 'caffe' (on its first 1x1).
        frozen_stages: The stem and this many stages stay in eval mode without gradients (-1: none).
        bn_eval: Keep the BN layers in eval mode in `train()` (MMCV's default for a pretrained backbone).
        bn_frozen: With `bn_eval`, the BN parameters get no gradients either.
        norm_eval: mmdet's name for `bn_eval`; wins when given.
        with_cp: Gradient checkpointing in every block (less memory, more compute).
        zero_init_residual: Start the last norm of every block at 0, so each block starts as the identity.
        conv_cfg: Config of the convs (`build_conv_layer`); None is Conv2d.
        norm_cfg: Config of the norms (`build_norm_layer`); None builds no norms and gives the convs a bias.
        act_cfg: Config of the activations (`build_activation_layer`); None is the identity.
        padding_mode: ConvModule's padding mode of the padded convs: zeros, reflect, replicate or circular.
        init_cfg: An init_cfg for `init_weights()`; without one it initializes as MMCV does (Kaiming convs,
            norms 1/0).

    Raises:
        ArgumentKeyError: For a depth that is not one of the five (a KeyError, as in MMCV).
        ArgumentValueError: For stages, strides, out_indices or a style that do not fit together.

    Example:
        >>> backbone = ResNet(50, out_indices=(2, 3))
        >>> [out.shape[1] for out in backbone(torch.randn(1, 3, 64, 64))]
        [1024, 2048]
    """

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
        in_channels: int = 3,
        base_width: int = 64,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        style: str = "pytorch",
        frozen_stages: int = -1,
        bn_eval: bool = True,
        bn_frozen: bool = False,
        norm_eval: bool | None = None,
        with_cp: bool = False,
        zero_init_residual: bool = False,
        conv_cfg: LayerCfg = None,
        norm_cfg: LayerCfg = BN,
        act_cfg: LayerCfg = RELU,
        padding_mode: str = "zeros",
        init_cfg: InitCfg = None,
    ) -> None:
        super().__init__(init_cfg)
        if depth not in self.arch_settings:
            raise ArgumentKeyError(f"invalid depth {depth} for resnet; allowed: {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 4:
            raise ArgumentValueError(f"num_stages must be 1 to 4, got {num_stages}")
        if not len(strides) == len(dilations) == num_stages:
            raise ArgumentValueError(f"strides and dilations need {num_stages} entries, got {strides}, {dilations}")
        if not out_indices or max(out_indices) >= num_stages:
            raise ArgumentValueError(f"out_indices must name stages below {num_stages}, got {out_indices}")
        _check_style(style)
        block, stage_blocks = self.arch_settings[depth]
        self.depth, self.num_stages, self.out_indices, self.style = depth, num_stages, tuple(out_indices), style
        self.frozen_stages, self.with_cp, self.zero_init_residual = frozen_stages, with_cp, zero_init_residual
        self.bn_eval, self.bn_frozen = (bn_eval if norm_eval is None else norm_eval), bn_frozen
        layers = Layers(conv_cfg, norm_cfg, act_cfg, padding_mode)
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, padding_mode=padding_mode)
        with building("conv1"):
            self.conv1 = layers.conv(in_channels, base_width, 7, stride=2)
            self.norm1_name = layers.add_norm(self, base_width, postfix=1)
        self.relu = layers.act()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.res_layers: list[str] = []
        inplanes = base_width
        for index, blocks in enumerate(stage_blocks[:num_stages]):
            planes, name = base_width * 2**index, f"layer{index + 1}"
            with building(name):
                stage = make_res_layer(
                    block, inplanes, planes, blocks, strides[index], dilations[index], style, with_cp, **cfgs
                )
            inplanes = planes * block.expansion
            if zero_init_residual:
                for residual in stage:
                    residual.init_cfg = zeroed_last_norm(residual)
            self.add_module(name, stage)
            self.res_layers.append(name)
        self.feat_dim = inplanes

    @property
    def stem(self) -> list[nn.Module]:
        """The stem's conv and norm."""
        return [self.conv1] + ([] if self.norm1_name is None else [getattr(self, self.norm1_name)])

    def init_defaults(self, covered: set[nn.Module] | frozenset[nn.Module] = frozenset()) -> None:
        """MMCV's init of the layers no explicit init_cfg covers: Kaiming convs, norms 1/0."""
        for module in self.modules():
            if module in covered:
                continue
            if isinstance(module, nn.Conv2d):
                with tracking(module, "ResNet default: kaiming_init()"):
                    kaiming_init(module)
            elif isinstance(module, NORM_TYPES):
                with tracking(module, "ResNet default: constant_init(val=1, bias=0)"):
                    constant_init(module, 1)

    def init_weights(self, pretrained: str | None = None) -> None:
        """Load `pretrained` (a checkpoint path or URL, non-strict, as MMCV does), or initialize the tree:
        MMCV's default init (`init_defaults`), then the init_cfg."""
        if pretrained is None:
            super().init_weights()
        else:
            load_pretrained(self, pretrained)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The outputs of the stages in `out_indices`."""
        x = self.maxpool(self.relu(_norm(self, self.norm1_name, self.conv1(x))))
        outs = []
        for index, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if index in self.out_indices:
                outs.append(x)
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        outs = self.features(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def train(self, mode: bool = True) -> ResNet:
        """Set the mode; with `bn_eval` the BNs stay in eval mode (frozen too with `bn_frozen`), and the
        stem and the first `frozen_stages` stages stay in eval mode without gradients."""
        super().train(mode)
        keep_bn_modes(self, self.bn_eval, self.bn_frozen)
        if mode and self.frozen_stages >= 0:
            freeze(self.stem + [getattr(self, f"layer{i}") for i in range(1, self.frozen_stages + 1)])
        return self
