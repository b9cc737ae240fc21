"""Structured configs for Hydra and the bridge from a composed config to a model.

Importing this package registers the schemas in Hydra's ConfigStore; it imports no torch.
"""

from .store import SCHEMAS, register_configs

register_configs()

__all__ = ["SCHEMAS", "register_configs"]
