"""The bridge from a composed config to objects: builder cfgs, the init cfg, and the model.

>>> from omegaconf import OmegaConf
>>> to_builder_cfg(OmegaConf.create({'type': 'GN', 'num_groups': 8, 'eps': None}))
{'type': 'GN', 'num_groups': 8}
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from ..errors import ConfigError
from .root import TrainConfig
from .targets import accepted_names, check_arguments, check_kind, locate, note_call, target_arguments

if TYPE_CHECKING:  # torch loads with the first model built, not with the config
    from torch import nn

    from ..init import InitRow

__all__ = [
    "ConfigError",
    "build_model",
    "init_cfg_of",
    "initialize_model",
    "layer_cfg",
    "optimizer_factories",
    "to_builder_cfg",
]

NO_LAYER = "none"
# Keys of optim= and sched= that toolkit reads itself; the rest are the optimizer's or schedule's arguments.
OWN_KEYS = ("paramwise_cfg", "warmup_epochs", "warmup_start_factor")
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
    cfg.pop("head", None), cfg.pop("head_name", None)  # the head's init: `head_init_cfg`, once the model exists
    init_cfg = [cfg]
    if norm_val is not None and norm_cfg is not None:
        from ..cnn import NORM_LAYERS

        norm_class = NORM_LAYERS[norm_cfg["type"]].__name__
        init_cfg.append(dict(type="Constant", layer=[norm_class], val=norm_val, bias=norm_bias))
    return init_cfg


def optimizer_factories(cfg: TrainConfig) -> tuple[Any, Any]:
    """The optimizer of `cfg.optim`, awaiting the model (its parameters grouped by `optim.paramwise_cfg`),
    and the LR scheduler of `cfg.sched` (or None), awaiting the optimizer."""
    from hydra.utils import instantiate

    from ..optim import OptimizerFactory, ScheduleFactory

    sched = OmegaConf.to_container(cfg.sched, resolve=True)
    warmup = sched.pop("warmup_epochs", 0), sched.pop("warmup_start_factor", 0.1)
    main = instantiate(sched) if sched.get("_target_") else None
    scheduler = ScheduleFactory(main, *warmup) if main is not None or warmup[0] else None
    optim = OmegaConf.to_container(cfg.optim, resolve=True)
    paramwise = paramwise_cfg_of(optim.pop("paramwise_cfg", None) or {})
    return OptimizerFactory(instantiate(optim), optim.get("lr"), optim.get("weight_decay"), paramwise), scheduler


def paramwise_cfg_of(node: dict[str, Any]) -> dict[str, Any]:
    """The `paramwise_cfg` that MMCV's constructor gets: only the rules that are set.

    >>> paramwise_cfg_of({'norm_decay_mult': 0.0, 'bias_lr_mult': None, 'custom_keys': {}, 'bypass_duplicate': False})
    {'norm_decay_mult': 0.0}
    """
    return {key: value for key, value in node.items() if value is not None and value is not False and value != {}}


def short_name(node: Any) -> str:
    """The last part of a node's `_target_`, for messages: `SimpleCNN` for toolkit.models.SimpleCNN."""
    return str(node.get("_target_")).rsplit(".", 1)[-1]


def build_model(cfg: TrainConfig, num_classes: int | None = None, in_channels: int | None = None) -> nn.Module:
    """Build `cfg.model` (a `_target_` node) with what its constructor takes of: `num_classes` and
    `in_channels` (or timm's `in_chans`) from the data, `conv_cfg`, `norm_cfg`, `act_cfg` from the
    chosen layers, and the chosen init as `init_cfg`. Call `initialize_model` next.

    A constructor that takes none of the layer cfgs is built all the same, with a warning that
    `conv=`, `norm=` and `act=` have no effect on it.
    """
    from ..init.initializers import as_cfg_list
    from ..modules import BaseModule

    target = locate("model", cfg.model)
    arguments = target_arguments(cfg.model)
    conv_cfg = to_builder_cfg(cfg.conv)
    norm_cfg, act_cfg = layer_cfg(cfg.norm), layer_cfg(cfg.act)
    accepted = set(accepted_names(target) or ())  # named keyword arguments only: a bare **kwargs takes none
    offered: dict[str, Any] = {"num_classes": num_classes, "in_channels": in_channels, "in_chans": in_channels}
    if "padding_mode" in accepted:
        offered["padding_mode"] = conv_cfg.pop("padding_mode", "zeros")
    layers = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
    offered |= layers | {"init_cfg": init_cfg_of(cfg.init, norm_cfg)}
    taken = {name: value for name, value in offered.items() if name in accepted and name not in arguments}
    if not set(layers) & set(taken):
        warnings.warn(
            f"model={cfg.model._target_} takes none of {', '.join(layers)}: conv=, norm= and act= have no effect on it",
            stacklevel=2,
        )
    arguments |= {name: value for name, value in taken.items() if value is not None or "cfg" in name}
    check_arguments("model", cfg.model._target_, target, arguments)
    try:
        model = target(**arguments)
    except (ValueError, KeyError, TypeError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        chosen = {"conv": conv_cfg, "norm": norm_cfg or NO_LAYER, "act": act_cfg or NO_LAYER}
        choices = " ".join(f"{key}={value}" for key, value in chosen.items())
        raise ConfigError(f"cannot build model={short_name(cfg.model)} with {choices}: {message}") from error
    except Exception as error:  # a bug of the model's own: its traceback stays, with the call that met it
        note_call(error, "model", cfg.model._target_, arguments)
        raise
    check_model(cfg.model._target_, model)
    if isinstance(model, BaseModule) and offered["init_cfg"]:
        head = [entry for entry in [head_init_cfg(model, cfg.init)] if entry]
        if "init_cfg" in taken:
            model.init_cfg = as_cfg_list(model.init_cfg or []) + head
        else:  # the chosen init is the outermost: the model's own init_cfg, applied after it, wins
            model.init_cfg = offered["init_cfg"] + head + as_cfg_list(model.init_cfg or [])
    return model


def head_name_of(model: nn.Module, name: str | None = None) -> str | None:
    """The classifier head of `model`: the child `name`, else a `head` or `fc` linear, else its last
    `nn.Linear` (None when it has none)."""
    from torch import nn

    modules = dict(model.named_modules())
    if name is not None:
        if name not in modules:
            raise ConfigError(f"init.head_name={name}: {type(model).__name__} has no such child")
        return name
    for candidate in ("head", "fc"):
        if isinstance(modules.get(candidate), nn.Linear):
            return candidate
    return next((key for key, module in reversed(modules.items()) if isinstance(module, nn.Linear)), None)


def head_init_cfg(model: nn.Module, node: Any) -> dict[str, Any] | None:
    """The init cfg that gives `model`'s classifier head `init.head` (None: no head init, as with
    `init.head=null`, `init=default` and `init=pretrained`).

    >>> from torch import nn
    >>> head_init_cfg(nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4, 10)),
    ...               {'type': 'Kaiming', 'head': {'type': 'Normal', 'std': 0.01, 'bias': 0.0}})
    {'type': 'Normal', 'layer': [], 'override': {'name': '2', 'type': 'Normal', 'std': 0.01, 'bias': 0.0}}
    """
    cfg = to_builder_cfg(node)
    head = cfg.get("head")
    name = head_name_of(model, cfg.get("head_name")) if head else None
    if not head or name is None or cfg["type"] in (NO_INIT, "Pretrained"):
        return None
    return {"type": head["type"], "layer": [], "override": {"name": name, **head}}


def check_model(path: str, model: Any) -> None:
    """A ConfigError when `model._target_` returned no nn.Module, or one with no parameters to train."""
    from torch import nn

    check_kind("model", path, model, nn.Module)
    if not any(parameter.requires_grad for parameter in model.parameters()):
        raise ConfigError(f"model._target_={path} returned a {type(model).__name__} with no parameters to train")


def initialize_model(model: nn.Module, cfg: TrainConfig) -> list[InitRow]:
    """Initialize a model of `build_model` and return the init report (empty under `no_init_report()`).

    A `BaseModule` runs its `init_weights()`; a plain `nn.Module` gets the chosen init through
    `initialize()`. A bad init value or an unreadable `init.checkpoint` becomes a ConfigError.
    """
    from ..checkpoint import CheckpointError
    from ..init import initialize
    from ..init.report import InitRecorder, report_enabled
    from ..modules import BaseModule

    try:
        if isinstance(model, BaseModule):
            model.init_weights()
            return model.init_report() if report_enabled() else []
        init_cfg = init_cfg_of(cfg.init, layer_cfg(cfg.norm))
        head = head_init_cfg(model, cfg.init) if init_cfg else None
        init_cfg = init_cfg and init_cfg + ([head] if head else [])
        with InitRecorder(model) if report_enabled() else nullcontext() as recorder:
            if init_cfg:
                initialize(model, init_cfg)
        return recorder.rows() if recorder is not None else []
    except CheckpointError as error:
        raise ConfigError(f"init.checkpoint={cfg.init.get('checkpoint')}: {error}") from error
    except (ValueError, KeyError, TypeError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise ConfigError(f"init={cfg.init.get('type')}: {message}") from error
