"""Structured configs for Hydra and the bridge from a composed config to a model.

Importing this package registers the schemas in Hydra's ConfigStore; it imports no torch.
"""

from . import resolvers  # noqa: F401 (registers the config tree's resolvers)
from .root import Mode, TrainConfig
from .store import SCHEMAS, register_configs

register_configs()

__all__ = ["SCHEMAS", "Mode", "TrainConfig", "register_configs"]
