"""The model registry: `MODELS.build(cfg)` as in MMCV."""

from __future__ import annotations

from ..registry import Registry

MODELS = Registry("model")
