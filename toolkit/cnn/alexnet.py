"""MMCV's plain `AlexNet` (`mmcv.cnn.AlexNet`)."""

from __future__ import annotations

import torch
from torch import nn

from .backbone import init_backbone


class AlexNet(nn.Module):
    """MMCV's AlexNet: torchvision's `features` (no adaptive pool) and, when `num_classes > 0`, its
    classifier for a 224x224 input.

    >>> AlexNet()(torch.randn(1, 3, 224, 224)).shape
    torch.Size([1, 256, 6, 6])
    """

    def __init__(self, num_classes: int = -1) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
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
