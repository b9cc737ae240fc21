"""The bridge from a composed config to objects: builder cfgs, the init cfg, and the model.

>>> from omegaconf import OmegaConf
>>> to_builder_cfg(OmegaConf.create({'type': 'GN', 'num_groups': 8, 'eps': None}))
{'type': 'GN', 'num_groups': 8}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from ..errors import ConfigError
from .root import TrainConfig

if TYPE_CHECKING:
    from ..modules import BaseModule

__all__ = ["ConfigError", "build_model", "init_cfg_of", "layer_cfg", "optimizer_factories", "to_builder_cfg"]

NO_LAYER = "none"
NO_INIT = "default"


def to_builder_cfg(node: Any) -> dict[str, Any]:
    """A plain dict of a config node: `type` plus only the arguments that are set (not None)."""
    container = (
        OmegaConf.to_container(node, resolve=True, throw_on_missing=True) if isinstance(node, DictConfig) else node
    )
    return {key: value for key, value in dict(container).items() if value is not None}


def layer_cfg(node: Any) -> dict[str, Any] | None:
    """The builder cfg of a layer choice, or None for `none` (no such layer)."""
    cfg = to_builder_cfg(node)
    return None if cfg.get("type") == NO_LAYER else cfg


def init_cfg_of(node: Any, norm_cfg: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The model's init_cfg for an init choice: the initializer, then norms set to `norm_val`/`norm_bias`.

    >>> init_cfg_of({'type': 'Xavier', 'layer': ['_ConvNd'], 'norm_val': 1.0, 'norm_bias': 0.0}, {'type': 'GN'})
    [{'type': 'Xavier', 'layer': ['_ConvNd']}, {'type': 'Constant', 'layer': ['GroupNorm'], 'val': 1.0, 'bias': 0.0}]
    """
    if isinstance(node, DictConfig) and node.get("type") == "Pretrained" and OmegaConf.is_missing(node, "checkpoint"):
        raise ConfigError(
            "init=pretrained needs init.checkpoint: a path, an http(s) URL, torchvision://NAME or open-mmlab://NAME"
        )
    cfg = to_builder_cfg(node)
    if cfg["type"] == NO_INIT:
        return None
    norm_val = cfg.pop("norm_val", None)
    norm_bias = cfg.pop("norm_bias", 0.0)
    init_cfg = [cfg]
    if norm_val is not None and norm_cfg is not None:
        from ..cnn import NORM_LAYERS

        norm_class = NORM_LAYERS[norm_cfg["type"]].__name__
        init_cfg.append(dict(type="Constant", layer=[norm_class], val=norm_val, bias=norm_bias))
    return init_cfg


def optimizer_factories(cfg: TrainConfig) -> tuple[Any, Any]:
    """The optimizer and the LR scheduler (or None) of `cfg.optim` and `cfg.sched`, awaiting their arguments."""
    from hydra.utils import instantiate

    scheduler = instantiate(cfg.sched) if cfg.sched.get("_target_") else None
    return instantiate(cfg.optim), scheduler


def build_model(cfg: TrainConfig, init: bool = True) -> BaseModule:
    """Build `cfg.model` with the chosen conv, norm and act, and (with `init`) apply the chosen init.

    Returns the `BaseModule`; `model.init_report()` tells which initializer set each parameter.
    """
    from ..models import MODELS
    from ..registry import resolve_type

    conv_cfg = to_builder_cfg(cfg.conv)
    norm_cfg, act_cfg = layer_cfg(cfg.norm), layer_cfg(cfg.act)
    init_cfg = init_cfg_of(cfg.init, norm_cfg)
    chosen = {"conv": conv_cfg, "norm": norm_cfg or NO_LAYER, "act": act_cfg or NO_LAYER}
    padding_mode = conv_cfg.pop("padding_mode", "zeros")
    try:
        _, model_class, model_args = resolve_type(to_builder_cfg(cfg.model), MODELS)
        model = model_class(
            **model_args,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            padding_mode=padding_mode,
            init_cfg=init_cfg,
        )
    except (ValueError, KeyError, TypeError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        choices = " ".join(f"{key}={value}" for key, value in chosen.items())
        raise ConfigError(f"cannot build model={cfg.model.type} with {choices}: {message}") from error
    if init:
        initialize_model(model, cfg.init)
    return model


def initialize_model(model: BaseModule, node: Any) -> None:
    """`model.init_weights()`; a bad init value or an unreadable `init.checkpoint` becomes a ConfigError."""
    from ..checkpoint import CheckpointError

    try:
        model.init_weights()
    except CheckpointError as error:
        raise ConfigError(f"init.checkpoint={node.get('checkpoint')}: {error}") from error
    except (ValueError, KeyError, TypeError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise ConfigError(f"init={node.get('type')}: {message}") from error
