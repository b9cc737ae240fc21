"""Registers each config type's schema in Hydra's ConfigStore, as `schema/<group>/<dataclass name>`.

One dataclass per type of choice (a plain activation, LeakyReLU, GN, ...), not per option: an
option file starts with `defaults: [/schema/<group>/<dataclass>@_here_, _self_]`, so Hydra checks
its keys and types, and every command-line override of them, against the dataclass. A new option of
an existing type is one YAML file, e.g. `conf/layers/act/leakyrelu02.yaml`:

    defaults:
      - /schema/act/LeakyReLUConfig@_here_
      - _self_

    negative_slope: 0.2
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from . import init, layers, training
from .root import TrainConfig

SCHEMAS: dict[str, tuple[type, ...]] = {
    "conv": (layers.ConvConfig, layers.ConvWSConfig),
    "norm": (
        layers.BatchNormConfig,
        layers.GroupNormConfig,
        layers.LayerNormConfig,
        layers.InstanceNormConfig,
        layers.NoLayerConfig,
    ),
    "act": (
        layers.ActivationConfig,
        layers.LeakyReLUConfig,
        layers.PReLUConfig,
        layers.RReLUConfig,
        layers.ELUConfig,
        layers.GELUConfig,
        layers.NoLayerConfig,
    ),
    "init": (
        init.KaimingConfig,
        init.XavierConfig,
        init.NormalConfig,
        init.TruncNormalConfig,
        init.UniformConfig,
        init.Caffe2XavierConfig,
        init.ConstantConfig,
        init.PretrainedConfig,
        init.DefaultInitConfig,
    ),
    "trainer": (training.TrainerConfig,),
    "optim": (training.SGDConfig, training.AdamWConfig),
    "sched": (training.CosineConfig, training.StepConfig, training.NoSchedulerConfig),
    "augment": (training.AugmentConfig,),
    "augment/crop": (training.CropConfig,),
}


def register_configs() -> None:
    """Store every schema in Hydra's ConfigStore, and the root schema as `train_schema` (storing twice
    is harmless)."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    for group, schemas in SCHEMAS.items():
        for schema in schemas:
            store.store(group=f"schema/{group}", name=schema.__name__, node=schema)
