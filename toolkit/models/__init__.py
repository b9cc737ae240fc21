"""Networks built from layer configs (`model=simple_cnn` and `model=resnet` name them by `_target_`),
each a `BaseModule`, also registered in `MODELS` for MMCV-style `MODELS.build(cfg)`.

>>> model = MODELS['simple_cnn'](in_channels=1, num_classes=10)
>>> model(torch.randn(2, 1, 8, 8)).shape
torch.Size([2, 10])
"""

import torch  # noqa: F401 (used by the doctest)

from .registry import MODELS
from .resnet import ResNetClassifier
from .simple_cnn import SimpleCNN

__all__ = ["MODELS", "ResNetClassifier", "SimpleCNN"]
