"""The model registry, and naming the layer whose build failed."""

from __future__ import annotations

from ..errors import building
from ..registry import Registry

MODELS = Registry("model")

__all__ = ["MODELS", "building"]
