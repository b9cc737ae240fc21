"""Registers every choice's schema in Hydra's ConfigStore, as `schema/<group>/<option>`.

Each YAML option file starts with `defaults: [/schema/<group>/<option>@_here_, _self_]`, so Hydra
checks its keys and types, and every command-line override of them, against the dataclass.
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from . import data, init, layers, models, training

SCHEMAS: dict[str, dict[str, type]] = {
    "conv": {
        "conv2d": layers.ConvConfig,
        "conv_ws": layers.ConvWSConfig,
        "conv2d_reflect": layers.ConvConfig,
        "conv2d_replicate": layers.ConvConfig,
        "conv2d_circular": layers.ConvConfig,
    },
    "norm": {
        "bn": layers.BatchNormConfig,
        "syncbn": layers.BatchNormConfig,
        "gn": layers.GroupNormConfig,
        "ln": layers.LayerNormConfig,
        "in": layers.InstanceNormConfig,
        "none": layers.NoLayerConfig,
    },
    "act": {
        "relu": layers.ActivationConfig,
        "leakyrelu": layers.LeakyReLUConfig,
        "prelu": layers.PReLUConfig,
        "rrelu": layers.RReLUConfig,
        "relu6": layers.ActivationConfig,
        "elu": layers.ELUConfig,
        "sigmoid": layers.ActivationConfig,
        "tanh": layers.ActivationConfig,
        "gelu": layers.GELUConfig,
        "silu": layers.ActivationConfig,
        "hswish": layers.ActivationConfig,
        "mish": layers.ActivationConfig,
        "none": layers.NoLayerConfig,
    },
    "init": {
        "kaiming": init.KaimingConfig,
        "xavier": init.XavierConfig,
        "normal": init.NormalConfig,
        "trunc_normal": init.TruncNormalConfig,
        "uniform": init.UniformConfig,
        "caffe2_xavier": init.Caffe2XavierConfig,
        "constant": init.ConstantConfig,
        "pretrained": init.PretrainedConfig,
        "default": init.DefaultInitConfig,
    },
    "model": {"simple_cnn": models.SimpleCNNConfig, "resnet": models.ResNetConfig},
    "data": {"digits": data.DigitsConfig, "synthetic": data.SyntheticConfig, "folder": data.FolderConfig},
    "trainer": {"default": training.TrainerConfig, "ddp": training.TrainerConfig, "ddp_cpu": training.TrainerConfig},
    "optim": {"sgd": training.SGDConfig, "adamw": training.AdamWConfig},
    "sched": {"cosine": training.CosineConfig, "step": training.StepConfig, "none": training.NoSchedulerConfig},
}


def register_configs() -> None:
    """Store every schema in Hydra's ConfigStore (storing twice is harmless)."""
    store = ConfigStore.instance()
    for group, options in SCHEMAS.items():
        for option, schema in options.items():
            store.store(group=f"schema/{group}", name=option, node=schema)
