"""What MMCV's plain backbones (`ResNet`, `VGG`, `AlexNet`) share: `init_weights(pretrained)` and
the BN and frozen-stage modes their `train()` keeps."""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from .._compat.torch import BatchNormBase
from ..init import constant_init, kaiming_init, normal_init


def load_pretrained(model: nn.Module, pretrained: str) -> None:
    """Load the checkpoint `pretrained` (a path or URL) into `model`, non-strict, as MMCV's backbones do."""
    if not isinstance(pretrained, str):
        raise TypeError(f"pretrained must be a str or None, got {type(pretrained).__name__}")
    from ..checkpoint import load_checkpoint

    load_checkpoint(model, pretrained, strict=False)


def init_backbone(model: nn.Module, pretrained: str | None, linear_std: float | None = None) -> None:
    """Load `pretrained` (a checkpoint path or URL) into `model`, or initialize it as MMCV does:
    Kaiming convs, 1/0 BNs and, with `linear_std`, linear weights from N(0, linear_std**2)."""
    if pretrained is not None:
        load_pretrained(model, pretrained)
        return
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            kaiming_init(module)
        elif isinstance(module, nn.BatchNorm2d):
            constant_init(module, 1)
        elif isinstance(module, nn.Linear) and linear_std is not None:
            normal_init(module, std=linear_std)


def keep_bn_modes(model: nn.Module, bn_eval: bool, bn_frozen: bool) -> None:
    """With `bn_eval`, every BatchNorm (SyncBN too) stays in eval mode; with `bn_frozen` too, without gradients."""
    if not bn_eval:
        return
    for module in model.modules():
        if isinstance(module, BatchNormBase):
            module.eval()
            if bn_frozen:
                for param in module.parameters():
                    param.requires_grad = False


def freeze(modules: Iterable[nn.Module]) -> None:
    """Eval mode and no gradients for each of `modules`."""
    for module in modules:
        module.eval()
        for param in module.parameters():
            param.requires_grad = False
