"""Optimizers from configs, as `mmcv.runner` 1.x builds them: `build_optimizer(model, cfg)`, the
`OPTIMIZERS` and `OPTIMIZER_BUILDERS` registries, and `DefaultOptimizerConstructor` with its
`paramwise_cfg` (per-parameter learning-rate and weight-decay multipliers).

`python train.py optim.paramwise_cfg.norm_decay_mult=0 optim.paramwise_cfg.bias_decay_mult=0` uses the
same constructor (`param_groups`), so the command line and ported MMCV code group parameters alike.

Example:
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    >>> cfg = dict(type='SGD', lr=0.1, weight_decay=1e-4, paramwise_cfg=dict(norm_decay_mult=0.0))
    >>> optimizer = build_optimizer(model, cfg)
    >>> [group['weight_decay'] for group in optimizer.param_groups]
    [0.0001, 0.0001, 0.0, 0.0]
"""

from __future__ import annotations

import copy
import difflib
import inspect
import warnings
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from .cnn.norm import NORM_TYPES
from .errors import ConfigError
from .registry import Registry, build_from_cfg

__all__ = [
    "OPTIMIZERS",
    "OPTIMIZER_BUILDERS",
    "PARAMWISE_KEYS",
    "TORCH_OPTIMIZERS",
    "DefaultOptimizerConstructor",
    "build_optimizer",
    "build_optimizer_constructor",
]

OPTIMIZERS = Registry("optimizer")
OPTIMIZER_BUILDERS = Registry("optimizer builder")
# As MMCV registers them: every class of torch.optim that is an Optimizer (the base class too).
TORCH_OPTIMIZERS = [
    OPTIMIZERS.register_module(module=optimizer).__name__
    for _, optimizer in inspect.getmembers(torch.optim, inspect.isclass)
    if issubclass(optimizer, torch.optim.Optimizer)
]

# MMCV 1.x's paramwise_cfg keys, each a multiplier of the base lr or weight decay unless said otherwise.
PARAMWISE_KEYS = (
    "bias_lr_mult",
    "bias_decay_mult",
    "norm_decay_mult",
    "dwconv_decay_mult",
    "dcn_offset_lr_mult",  # deformable convs' offset layers: toolkit has none, so it changes nothing
    "custom_keys",  # {substring of a parameter's name: {lr_mult, decay_mult}}; the longest match wins
    "bypass_duplicate",  # skip a parameter met twice (shared modules) with a warning, instead of failing
)
DECAY_KEYS = ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult")


def check_paramwise_keys(paramwise_cfg: dict[str, Any]) -> None:
    """A KeyError naming a key of `paramwise_cfg` that MMCV does not know, with the known ones.

    >>> check_paramwise_keys({'norm_decay_mul': 0})
    Traceback (most recent call last):
    KeyError: "paramwise_cfg: unknown key 'norm_decay_mul' (did you mean 'norm_decay_mult'?); the keys are \
bias_lr_mult, bias_decay_mult, norm_decay_mult, dwconv_decay_mult, dcn_offset_lr_mult, custom_keys, bypass_duplicate"
    """
    for key in paramwise_cfg:
        if key not in PARAMWISE_KEYS:
            close = difflib.get_close_matches(str(key), PARAMWISE_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise KeyError(f"paramwise_cfg: unknown key {key!r}{hint}; the keys are {', '.join(PARAMWISE_KEYS)}")


@OPTIMIZER_BUILDERS.register_module()
class DefaultOptimizerConstructor:
    """Builds an optimizer for a model, with per-parameter settings from `paramwise_cfg` (MMCV 1.x's).

    Without `paramwise_cfg` every parameter shares the optimizer's settings. With it, each parameter
    is its own group: a name containing a `custom_keys` key (the longest, then the first in
    alphabetical order) takes that key's `lr_mult` and `decay_mult`, and no other rule; otherwise
    biases (but not of norm layers) get `bias_lr_mult`, and the weight decay is multiplied by
    `norm_decay_mult` for every parameter of a BN, GN, LN or IN layer, `dwconv_decay_mult` for a
    depthwise conv's, and `bias_decay_mult` for other biases. Parameters that do not require
    gradients are kept in groups of their own, untouched.

    Args:
        optimizer_cfg: `type` (a name in `OPTIMIZERS`, or a class) and the optimizer's arguments.
        paramwise_cfg: The per-parameter rules (keys: `PARAMWISE_KEYS`); None or {} for none.

    Raises:
        TypeError: When a cfg is not a dict.
        KeyError: For a `paramwise_cfg` key MMCV does not know (a subclass, which may define keys of its
            own as MMCV's custom constructors do, is not checked).
        ValueError: When a decay multiplier is given and the optimizer has no `weight_decay`.

    Example:
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
        >>> constructor = DefaultOptimizerConstructor(
        ...     dict(type='SGD', lr=0.1, weight_decay=1e-4), dict(bias_lr_mult=2.0, norm_decay_mult=0.0))
        >>> [(group.get('lr'), group.get('weight_decay')) for group in constructor.param_groups(model)]
        [(None, None), (0.2, 0.0001), (None, 0.0), (None, 0.0)]
    """

    def __init__(self, optimizer_cfg: dict[str, Any], paramwise_cfg: dict[str, Any] | None = None) -> None:
        if not isinstance(optimizer_cfg, dict):
            raise TypeError("optimizer_cfg should be a dict", f"but got {type(optimizer_cfg)}")
        self.optimizer_cfg = optimizer_cfg
        self.paramwise_cfg = {} if paramwise_cfg is None else paramwise_cfg
        self.base_lr = optimizer_cfg.get("lr")
        self.base_wd = optimizer_cfg.get("weight_decay")
        self._validate_cfg()

    def _validate_cfg(self) -> None:
        if not isinstance(self.paramwise_cfg, dict):
            raise TypeError(f"paramwise_cfg should be None or a dict, but got {type(self.paramwise_cfg)}")
        if type(self) is DefaultOptimizerConstructor:  # a constructor of your own may read keys of its own
            check_paramwise_keys(self.paramwise_cfg)
        custom_keys = self.paramwise_cfg.get("custom_keys", {})
        if not isinstance(custom_keys, dict):
            raise TypeError(f"If specified, custom_keys must be a dict, but got {type(custom_keys)}")
        decay_mults = any("decay_mult" in options for options in custom_keys.values())
        if self.base_wd is None and (decay_mults or any(key in self.paramwise_cfg for key in DECAY_KEYS)):
            raise ValueError("base_wd should not be None")

    def _is_in(self, param_group: dict[str, Any], param_group_list: list[dict[str, Any]]) -> bool:
        """Whether a parameter of `param_group` is in a group of `param_group_list` already."""
        seen = {id(param) for group in param_group_list for param in group["params"]}
        return any(id(param) in seen for param in param_group["params"])

    def add_params(
        self, params: list[dict[str, Any]], module: nn.Module, prefix: str = "", is_dcn_module: bool | None = None
    ) -> None:
        """Append a group to `params` for each parameter of `module` and its children, with its settings.

        Args:
            params: The groups so far, appended to.
            module: The module whose parameters are added.
            prefix: The module's name in the model (its parameters are `prefix.name`).
            is_dcn_module: Whether `module` is inside a deformable conv (MMCV's ops; never in toolkit).
        """
        options = self.paramwise_cfg
        custom_keys = options.get("custom_keys", {})
        sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
        is_norm = isinstance(module, NORM_TYPES)
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups
        for name, param in module.named_parameters(recurse=False):
            group: dict[str, Any] = {"params": [param]}
            if not param.requires_grad:
                params.append(group)
                continue
            if options.get("bypass_duplicate", False) and self._is_in(group, params):
                warnings.warn(f"{prefix} is duplicate. It is skipped since bypass_duplicate=True", stacklevel=2)
                continue
            key = next((key for key in sorted_keys if key in f"{prefix}.{name}"), None)
            if key is not None:
                group["lr"] = self.base_lr * custom_keys[key].get("lr_mult", 1.0)
                if self.base_wd is not None:
                    group["weight_decay"] = self.base_wd * custom_keys[key].get("decay_mult", 1.0)
            else:
                if name == "bias" and not (is_norm or is_dcn_module):
                    group["lr"] = self.base_lr * options.get("bias_lr_mult", 1.0)
                if "conv_offset" in prefix and is_dcn_module and isinstance(module, nn.Conv2d):
                    group["lr"] = self.base_lr * options.get("dcn_offset_lr_mult", 1.0)
                if self.base_wd is not None:
                    if is_norm:
                        group["weight_decay"] = self.base_wd * options.get("norm_decay_mult", 1.0)
                    elif is_dwconv:
                        group["weight_decay"] = self.base_wd * options.get("dwconv_decay_mult", 1.0)
                    elif name == "bias" and not is_dcn_module:
                        group["weight_decay"] = self.base_wd * options.get("bias_decay_mult", 1.0)
            params.append(group)
        for child_name, child in module.named_children():
            child_prefix = f"{prefix}.{child_name}" if prefix else child_name
            self.add_params(params, child, prefix=child_prefix, is_dcn_module=False)

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]] | Iterable[nn.Parameter]:
        """What the optimizer is given: the model's parameters without `paramwise_cfg`, else a group per
        parameter (`add_params`). A wrapped model (DataParallel, DDP: a `module` attribute) is unwrapped.

        Args:
            model: The model to optimize.

        Returns:
            The parameters, or the parameter groups with their settings.
        """
        if hasattr(model, "module"):
            model = model.module
        if not self.paramwise_cfg:
            return model.parameters()
        params: list[dict[str, Any]] = []
        self.add_params(params, model)
        return params

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        optimizer_cfg = self.optimizer_cfg.copy()
        optimizer_cfg["params"] = self.param_groups(model)
        return build_from_cfg(optimizer_cfg, OPTIMIZERS)


def build_optimizer_constructor(cfg: dict[str, Any]) -> Any:
    """An optimizer constructor from `cfg` (`type`: a name in `OPTIMIZER_BUILDERS`).

    Args:
        cfg: `type`, `optimizer_cfg` and `paramwise_cfg`.

    Returns:
        The constructor: call it with a model.
    """
    return build_from_cfg(cfg, OPTIMIZER_BUILDERS)


def build_optimizer(model: nn.Module, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """The optimizer of `cfg` for `model`, as `mmcv.runner.build_optimizer` builds it.

    Args:
        model: The model to optimize.
        cfg: `type` (a torch optimizer's name, or one registered in `OPTIMIZERS`), its arguments, and
            optionally `paramwise_cfg` and `constructor` (default `DefaultOptimizerConstructor`).

    Returns:
        The optimizer.

    Example:
        >>> optimizer = build_optimizer(nn.Linear(2, 2), dict(type='AdamW', lr=1e-3))
        >>> type(optimizer).__name__, optimizer.defaults['lr']
        ('AdamW', 0.001)
    """
    optimizer_cfg = copy.deepcopy(cfg)
    constructor_type = optimizer_cfg.pop("constructor", "DefaultOptimizerConstructor")
    paramwise_cfg = optimizer_cfg.pop("paramwise_cfg", None)
    constructor = build_optimizer_constructor(
        dict(type=constructor_type, optimizer_cfg=optimizer_cfg, paramwise_cfg=paramwise_cfg)
    )
    return constructor(model)


class OptimizerFactory:
    """An optimizer awaiting its model: `optimizer` (a torch optimizer awaiting its parameters, as
    `_partial_` instantiation gives it) called with the model's parameter groups under `paramwise_cfg`.
    The command line's `optim.paramwise_cfg` goes through it.

    Args:
        optimizer: Takes the parameters (or groups) and returns the optimizer.
        lr: The base learning rate (what `lr_mult`s multiply).
        weight_decay: The base weight decay (what `decay_mult`s multiply).
        paramwise_cfg: MMCV's per-parameter rules (None or {}: one group).

    Example:
        >>> import functools
        >>> factory = OptimizerFactory(functools.partial(torch.optim.SGD, lr=0.1, weight_decay=1e-4), 0.1, 1e-4,
        ...     dict(bias_decay_mult=0.0))
        >>> [group['weight_decay'] for group in factory(nn.Linear(2, 2)).param_groups]
        [0.0001, 0.0]
    """

    def __init__(
        self,
        optimizer: Any,
        lr: float | None,
        weight_decay: float | None,
        paramwise_cfg: dict[str, Any] | None = None,
    ) -> None:
        self.optimizer = optimizer
        self.constructor = DefaultOptimizerConstructor(dict(lr=lr, weight_decay=weight_decay), paramwise_cfg)

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        return self.optimizer(self.constructor.param_groups(model))


class ScheduleFactory:
    """A learning-rate schedule awaiting its optimizer, after a linear warm-up of `warmup_epochs` epochs
    from `warmup_start_factor` times the learning rate (torch's LinearLR, then SequentialLR). A cosine
    schedule then decays over the epochs left (`T_max` less the warm-up).

    Args:
        schedule: Takes the optimizer and returns the schedule (None: a constant learning rate).
        warmup_epochs: Epochs of warm-up (0: none).
        warmup_start_factor: The fraction of the learning rate the warm-up starts at, in (0, 1].

    Raises:
        ConfigError: For a negative warm-up or a start factor outside (0, 1].

    Example:
        >>> import functools
        >>> optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
        >>> schedule = ScheduleFactory(None, warmup_epochs=4, warmup_start_factor=0.2)(optimizer)
        >>> rates = []
        >>> for _ in range(6):
        ...     rates.append(round(optimizer.param_groups[0]['lr'], 3))
        ...     optimizer.step()
        ...     schedule.step()
        >>> rates
        [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]
    """

    def __init__(self, schedule: Any, warmup_epochs: int = 0, warmup_start_factor: float = 0.1) -> None:
        if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise ConfigError(f"sched.warmup_epochs={warmup_epochs}: must be 0 (none) or a positive integer")
        if not 0 < warmup_start_factor <= 1:
            raise ConfigError(f"sched.warmup_start_factor={warmup_start_factor}: must lie in (0, 1]")
        self.schedule, self.warmup_epochs, self.warmup_start_factor = schedule, warmup_epochs, warmup_start_factor

    def __call__(self, optimizer: torch.optim.Optimizer) -> Any:
        from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

        main = None if self.schedule is None else self.schedule(optimizer)
        if not self.warmup_epochs:
            return main
        warmup = LinearLR(optimizer, self.warmup_start_factor, total_iters=self.warmup_epochs)
        if main is None:
            return warmup
        if isinstance(main, CosineAnnealingLR):
            main.T_max = max(1, main.T_max - self.warmup_epochs)
        return SequentialLR(optimizer, [warmup, main], milestones=[self.warmup_epochs])
