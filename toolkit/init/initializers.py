"""Initializer classes in the `INITIALIZERS` registry, and `initialize(module, init_cfg)`.

An init cfg names an initializer (`type`), its arguments, the layers it applies to (`layer`: a
class name, matched against the class and all its ancestors) and `override`s for named children.

>>> from torch import nn
>>> model = nn.Sequential(nn.Conv2d(3, 3, 1), nn.Linear(2, 2))
>>> initialize(model, dict(type='Constant', layer='_ConvNd', val=1, bias=2))
>>> model[0].weight.unique().tolist(), model[1].bias.unique().tolist() != [2.0]
([1.0], True)
"""

from __future__ import annotations

import copy
import difflib
import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from ..errors import ChildNotFoundError
from ..registry import Registry, build_from_cfg, to_plain_dict
from .functions import (
    bias_init_with_prob,
    caffe2_xavier_init,
    check_distribution,
    constant_init,
    kaiming_init,
    normal_init,
    trunc_normal_init,
    uniform_init,
    xavier_init,
)
from .report import describe_cfg, tracking

INITIALIZERS = Registry("initializer")


@functools.cache
def class_names(cls: type) -> frozenset[str]:
    """The names of a class and of all its ancestors.

    >>> sorted(class_names(nn.Conv2d))[:3]
    ['Conv2d', 'Module', '_ConvNd']
    """
    return frozenset(klass.__name__ for klass in cls.__mro__)


def number(name: str, value: Any, positive: bool = False) -> float:
    """`value` once it is a real, finite number (and above 0 with `positive`); else a clear error.

    >>> number('std', -1, positive=True)
    Traceback (most recent call last):
    ValueError: std must be above 0, got -1
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be above 0, got {value!r}")
    return value


def ordered(lower: tuple[str, Any], upper: tuple[str, Any]) -> None:
    """Raise ValueError unless the bound `lower` lies below `upper` (both numbers)."""
    (low_name, low), (high_name, high) = lower, upper
    if number(low_name, low) > number(high_name, high):
        raise ValueError(f"{low_name} must not exceed {high_name}, got {low_name}={low!r}, {high_name}={high!r}")


def layer_names(layer: Any) -> list[str]:
    """The class names an initializer applies to: a str or a list of non-empty str."""
    names = [layer] if isinstance(layer, str) else layer if isinstance(layer, (list, tuple)) else None
    if names is None or not all(isinstance(name, str) and name for name in names):
        raise TypeError(f"layer must be a class name or a list of class names, got {type(layer).__name__}: {layer!r}")
    return list(names)


class BaseInit:
    """An initializer of the layers named in `layer` (or of every submodule with `wholemodule`).

    Args:
        bias: The value biases are filled with.
        bias_prob: A prior probability; the bias is then `bias_init_with_prob(bias_prob)`.
        layer: Class names of the layers to initialize (an ancestor class's name matches too); None: the initializer is
            used through `override` or `wholemodule`.

    Raises:
        TypeError: For a `bias_prob` that is not a number.
    """

    def __init__(self, *, bias: float = 0, bias_prob: float | None = None, layer: str | Sequence[str] | None = None):
        number("bias", bias)
        if bias_prob is not None and not isinstance(bias_prob, float):
            raise TypeError(f"bias_prob must be a float, got {type(bias_prob).__name__}: {bias_prob!r}")
        self.bias = bias_init_with_prob(bias_prob) if bias_prob is not None else bias
        self.layer = [] if layer is None else layer_names(layer)
        self.wholemodule = False
        self._warned: set[str] = set()

    def init_layer(self, module: nn.Module) -> None:
        """Initialize one layer."""
        raise NotImplementedError

    def __call__(self, module: nn.Module) -> None:
        if self.wholemodule:
            for submodule in module.modules():
                self.init_layer(submodule)
            return
        wanted = set(self.layer)
        matched: set[str] = set()
        for submodule in module.modules():
            hits = wanted & class_names(type(submodule))
            if hits:
                matched |= hits
                self.init_layer(submodule)
        for name in sorted(wanted - matched - self._warned):  # once per initializer, also under model.apply(init)
            self._warned.add(name)
            warnings.warn(
                f"{type(self).__name__}: layer {name!r} matches no submodule of {type(module).__name__}, "
                "so it initialized nothing",
                stacklevel=2,
            )


@INITIALIZERS.register_module("Constant")
class ConstantInit(BaseInit):
    """Fill weights with `val` and biases with `bias`.

    Args:
        val: The value weights are filled with.
        **kwargs: `bias`, `bias_prob`, `layer` (see `BaseInit`).
    """

    def __init__(self, val: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.val = number("val", val)

    def init_layer(self, module: nn.Module) -> None:
        constant_init(module, self.val, self.bias)


@INITIALIZERS.register_module("Xavier")
class XavierInit(BaseInit):
    """Xavier (Glorot) init, normal or uniform.

    Args:
        gain: The scaling factor.
        distribution: 'normal' or 'uniform'.
        **kwargs: `bias`, `bias_prob`, `layer` (see `BaseInit`).
    """

    def __init__(self, gain: float = 1, distribution: str = "normal", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gain = number("gain", gain, positive=True)
        self.distribution = distribution
        check_distribution(distribution)

    def init_layer(self, module: nn.Module) -> None:
        xavier_init(module, self.gain, self.bias, self.distribution)


@INITIALIZERS.register_module("Normal")
class NormalInit(BaseInit):
    """Weights from N(mean, std**2).

    Args:
        mean: The mean.
        std: The standard deviation.
        **kwargs: `bias`, `bias_prob`, `layer` (see `BaseInit`).
    """

    def __init__(self, mean: float = 0, std: float = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean = number("mean", mean)
        self.std = number("std", std, positive=True)

    def init_layer(self, module: nn.Module) -> None:
        normal_init(module, self.mean, self.std, self.bias)


@INITIALIZERS.register_module("TruncNormal")
class TruncNormalInit(BaseInit):
    """Weights from N(mean, std**2) truncated to [a, b].

    Args:
        mean: The mean.
        std: The standard deviation.
        a: The lower cut-off.
        b: The upper cut-off.
        **kwargs: `bias`, `bias_prob`, `layer` (see `BaseInit`).
    """

    def __init__(self, mean: float = 0, std: float = 1, a: float = -2, b: float = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        number("mean", mean)
        number("std", std, positive=True)
        ordered(("a", a), ("b", b))
        self.mean, self.std, self.a, self.b = mean, std, a, b

    def init_layer(self, module: nn.Module) -> None:
        trunc_normal_init(module, self.mean, self.std, self.a, self.b, self.bias)


@INITIALIZERS.register_module("Uniform")
class UniformInit(BaseInit):
    """Weights from U(a, b).

    Args:
        a: The lower bound.
        b: The upper bound.
        **kwargs: `bias`, `bias_prob`, `layer` (see `BaseInit`).
    """

    def __init__(self, a: float = 0, b: float = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        ordered(("a", a), ("b", b))
        self.a, self.b = a, b

    def init_layer(self, module: nn.Module) -> None:
        uniform_init(module, self.a, self.b, self.bias)


@INITIALIZERS.register_module("Kaiming")
class KaimingInit(BaseInit):
    """Kaiming (He) init, normal or uniform.

    Args:
        a: The negative slope of the rectifier after the layer.
        mode: 'fan_in' or 'fan_out'.
        nonlinearity: The nonlinearity after the layer.
        distribution: 'normal' or 'uniform'.
        **kwargs: `bias`, `bias_prob`, `layer` (see `BaseInit`).
    """

    def __init__(
        self,
        a: float = 0,
        mode: str = "fan_out",
        nonlinearity: str = "relu",
        distribution: str = "normal",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        number("a", a)
        if mode not in ("fan_in", "fan_out"):
            raise ValueError(f"mode must be one of ('fan_in', 'fan_out'), got {mode!r}")
        self.a, self.mode, self.nonlinearity, self.distribution = a, mode, nonlinearity, distribution
        check_distribution(distribution)
        nn.init.calculate_gain(nonlinearity, a if nonlinearity == "leaky_relu" else None)

    def init_layer(self, module: nn.Module) -> None:
        kaiming_init(module, self.a, self.mode, self.nonlinearity, self.bias, self.distribution)


@INITIALIZERS.register_module("Caffe2Xavier")
class Caffe2XavierInit(BaseInit):
    """Caffe2's xavier: PyTorch's kaiming_uniform_ with a=1 over fan_in."""

    def init_layer(self, module: nn.Module) -> None:
        caffe2_xavier_init(module, self.bias)


@INITIALIZERS.register_module("Pretrained")
class PretrainedInit:
    """Load a checkpoint into the module; with `prefix`, only the keys under it, stripped of it.

    Args:
        checkpoint: A path, URL or zoo name (`torchvision://resnet18`).
        prefix: Load only the keys under it, stripped of it.
        map_location: Where the tensors go.
    """

    def __init__(self, checkpoint: str, prefix: str | None = None, map_location: Any = None) -> None:
        if not isinstance(checkpoint, str) or not checkpoint:
            raise TypeError(f"checkpoint must be a file name or URL, got {type(checkpoint).__name__}: {checkpoint!r}")
        if prefix is not None and not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}: {prefix!r}")
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location
        self.wholemodule = False

    def __call__(self, module: nn.Module) -> None:
        from ..checkpoint import load_checkpoint

        load_checkpoint(module, self.checkpoint, map_location=self.map_location, strict=False, prefix=self.prefix)


def as_cfg_list(init_cfg: Any) -> list[dict[str, Any]]:
    """One init cfg or a list of them (dicts or DictConfigs) as a list of fresh plain dicts.

    >>> as_cfg_list({'type': 'Kaiming'})
    [{'type': 'Kaiming'}]
    """
    if isinstance(init_cfg, Sequence) and not isinstance(init_cfg, str):
        return [to_plain_dict(cfg, "each init_cfg") for cfg in init_cfg]
    return [to_plain_dict(init_cfg, "init_cfg")]


def override_list(override: Any) -> list[Mapping[str, Any]]:
    """An init cfg's `override`, a dict or a list of dicts, as a list.

    >>> override_list(5)
    Traceback (most recent call last):
    TypeError: override must be a dict or a list of dicts, got int: 5
    """
    items = [override] if isinstance(override, Mapping) else override
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, Mapping) for item in items):
        raise TypeError(f"override must be a dict or a list of dicts, got {type(override).__name__}: {override!r}")
    return list(items)


def _resolve_override(
    module: nn.Module, override: Mapping[str, Any], outer: dict[str, Any]
) -> tuple[str, nn.Module, dict[str, Any]]:
    cfg = copy.deepcopy(to_plain_dict(override, "override"))
    name = cfg.pop("name", None)
    if name is None:
        raise ValueError(f"an override needs a 'name' key (the child to initialize), got {dict(override)!r}")
    if not isinstance(name, str) or not name:
        raise TypeError(f"an override's 'name' must be a child's name (a non-empty str), got {name!r}")
    if not cfg:
        cfg = dict(outer)
    elif "type" not in cfg:
        raise ValueError(
            f"an override with arguments needs a 'type' key, got {dict(override)!r}; "
            "give only 'name' to reuse the outer init_cfg, or add 'type'"
        )
    try:
        child = module.get_submodule(name)
    except AttributeError:
        children = [child for child, _ in module.named_children()]
        close = difflib.get_close_matches(name, children, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ChildNotFoundError(
            f"override name {name!r} is not a submodule of {type(module).__name__}; its children: {children}{hint}"
        ) from None
    return name, child, cfg


def covered_modules(module: nn.Module, init_cfg: Any) -> set[nn.Module]:
    """The submodules of `module` that `init_cfg`'s initializers (not Pretrained) will write: those
    whose class matches a `layer`, and every module under an `override`'s child.

    >>> model = nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1))
    >>> [type(m).__name__ for m in covered_modules(model, dict(type='Kaiming', layer='Conv2d'))]
    ['Conv2d']
    """
    covered: set[nn.Module] = set()
    for cfg in as_cfg_list(init_cfg):
        if cfg.get("type") == "Pretrained":
            continue
        wanted = set(layer_names(cfg["layer"])) if cfg.get("layer") is not None else set()
        covered.update(sub for sub in module.modules() if wanted & class_names(type(sub)))
        outer = {key: value for key, value in cfg.items() if key not in ("layer", "override")}
        for item in override_list(cfg["override"]) if cfg.get("override") is not None else []:
            covered.update(_resolve_override(module, item, outer)[1].modules())
    return covered


def initialize(module: nn.Module, init_cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
    """Initialize `module` from one init cfg or a list of them.

    Each cfg initializes the submodules whose class (or an ancestor class) is named in `layer`,
    then each `override` initializes the whole named child with its own settings. Every cfg is
    checked before any weight is written.

    Args:
        module: The module to initialize, in place.
        init_cfg: A cfg, or a list of cfgs applied in turn: `type` (a name in `INITIALIZERS`:
            Constant, Xavier, Normal, TruncNormal, Uniform, Kaiming, Caffe2Xavier, Pretrained), the
            initializer's arguments, `layer` (class names) and `override` (dicts with a child's `name`).

    Raises:
        TypeError: When a cfg is not a dict, or its arguments do not fit the initializer.
        KeyError: When its `type` is not registered.
        ChildNotFoundError: When an override names no child of `module` (a ValueError and a RuntimeError).

    Example:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1))
        >>> override = dict(type='Constant', name='1', val=2)
        >>> initialize(model, dict(type='Constant', layer='Conv2d', val=1, override=override))
        >>> model[0].weight.unique().item(), model[1].weight.unique().item()
        (1.0, 2.0)
    """
    steps: list[tuple[nn.Module, Any, str]] = []
    for cfg in as_cfg_list(init_cfg):
        override = cfg.pop("override", None)
        steps.append((module, build_from_cfg(cfg, INITIALIZERS), describe_cfg(cfg)))
        if override is None:
            continue
        outer = {key: value for key, value in cfg.items() if key != "layer"}
        for item in override_list(override):
            name, child, child_cfg = _resolve_override(module, item, outer)
            initializer = build_from_cfg(child_cfg, INITIALIZERS)
            initializer.wholemodule = True
            steps.append((child, initializer, f"{describe_cfg(child_cfg)} override {name!r}"))
    for target, initializer, label in steps:
        with tracking(target, label):
            initializer(target)
