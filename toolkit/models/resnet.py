"""`resnet`: the ResNet backbone with a classification head (global average pooling and `fc`).

With BN (the default), its state dict has torchvision's keys and shapes, so
`init=pretrained init.checkpoint=torchvision://resnet18` loads into it, at every depth from 18 to 152.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..cnn.resnet import BN, RELU, LayerCfg, ResNet
from ..modules import InitCfg
from .registry import MODELS


@MODELS.register_module("resnet")
class ResNetClassifier(ResNet):
    """A ResNet-18 to 152 classifier: the backbone's last stage, pooled, into a linear `fc`.

    Unlike the backbone, its norms train (`bn_eval=False`) and, without an init_cfg, its layers keep
    PyTorch's init (what `init=default` promises); the other `ResNet` arguments pass through.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: Channels of the input images.
        num_classes: Outputs of `fc`.
        base_width: Width of the stem and the first stage.
        conv_cfg: Config of the convs; None is Conv2d.
        norm_cfg: Config of the norms; None builds none.
        act_cfg: Config of the activations; None is the identity.
        padding_mode: Padding of the padded convs: zeros, reflect, replicate or circular.
        init_cfg: An init_cfg for `init_weights()`.
        **backbone: More `ResNet` arguments (`strides`, `style`, `zero_init_residual`, `with_cp`, ...).

    Example:
        >>> ResNetClassifier(depth=18, in_channels=3, num_classes=5, base_width=8)(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self,
        depth: int = 18,
        in_channels: int = 3,
        num_classes: int = 1000,
        base_width: int = 64,
        conv_cfg: LayerCfg = None,
        norm_cfg: LayerCfg = BN,
        act_cfg: LayerCfg = RELU,
        padding_mode: str = "zeros",
        init_cfg: InitCfg = None,
        **backbone: Any,
    ) -> None:
        backbone.setdefault("bn_eval", False)
        backbone.setdefault("out_indices", (backbone.get("num_stages", 4) - 1,))
        super().__init__(
            depth,
            in_channels,
            base_width,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            padding_mode=padding_mode,
            init_cfg=init_cfg,
            **backbone,
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.feat_dim, num_classes)

    def init_defaults(self, covered: set[nn.Module] | frozenset[nn.Module] = frozenset()) -> None:
        """None: the classifier's layers keep PyTorch's init unless an init_cfg sets them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.features(x)[-1]), 1))
