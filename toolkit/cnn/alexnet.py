"""MMCV's plain `AlexNet` (`mmcv.cnn.AlexNet`)."""

from __future__ import annotations

import torch
from torch import nn

from .activation import build_activation_layer
from .backbone import init_backbone
from .conv import build_conv_layer
from .resnet import RELU, LayerCfg


class AlexNet(nn.Module):
    """MMCV's AlexNet: torchvision's `features` (no adaptive pool) and, when `num_classes > 0`, its
    classifier for a 224x224 input; `conv_cfg` and `act_cfg` swap its convs and activations.

    Args:
        num_classes: Outputs of the classifier; -1 (MMCV's default) builds none and returns the features.
        conv_cfg: Config of the convs (`build_conv_layer`); None is Conv2d.
        act_cfg: Config of the activations; None builds none.

    Example:
        >>> AlexNet()(torch.randn(1, 3, 224, 224)).shape
        torch.Size([1, 256, 6, 6])
    """

    def __init__(self, num_classes: int = -1, conv_cfg: LayerCfg = None, act_cfg: LayerCfg = RELU) -> None:
        super().__init__()
        self.num_classes = num_classes

        def conv(in_channels: int, out_channels: int, kernel_size: int, **kwargs: int) -> list[nn.Module]:
            act = [] if act_cfg is None else [build_activation_layer(act_cfg, inplace=True)]
            return [build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size, **kwargs), *act]

        self.features = nn.Sequential(
            *conv(3, 64, 11, stride=4, padding=2),
            nn.MaxPool2d(kernel_size=3, stride=2),
            *conv(64, 192, 5, padding=2),
            nn.MaxPool2d(kernel_size=3, stride=2),
            *conv(192, 384, 3, padding=1),
            *conv(384, 256, 3, padding=1),
            *conv(256, 256, 3, padding=1),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        if num_classes > 0:
            self.classifier = nn.Sequential(
                nn.Dropout(),
                nn.Linear(256 * 6 * 6, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(),
                nn.Linear(4096, 4096),
                nn.ReLU(inplace=True),
                nn.Linear(4096, num_classes),
            )

    def init_weights(self, pretrained: str | None = None) -> None:
        """Load `pretrained` (a checkpoint path or URL); with None, keep PyTorch's default init (as MMCV)."""
        if pretrained is not None:
            init_backbone(self, pretrained)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return self.classifier(x.flatten(1)) if self.num_classes > 0 else x
