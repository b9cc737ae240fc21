"""`_target_` nodes: find the callable, check the arguments against its signature, then call it.

A model, a data module, a callback and a logger are each a config node with `_target_` (the
dotted path of a class or a factory) and its arguments, as Hydra's `instantiate` reads it. Here
every way that fails (a path that does not import, something that cannot be called, an argument
it does not take, a package it needs) is a `ConfigError` naming the config key, the target and
the argument, raised before any training.

>>> build_target('model', {'_target_': 'torch.nn.Linear', 'in_features': 2, 'out_feature': 3})
Traceback (most recent call last):
toolkit.errors.ConfigError: model: torch.nn.Linear takes no argument 'out_feature' (did you mean 'out_features'?); \
it takes: in_features, out_features, bias, device, dtype
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..errors import ConfigError, add_note
from ..registry import constructors

__all__ = [
    "accepted_names",
    "build_target",
    "check_arguments",
    "check_target",
    "check_targets",
    "locate",
    "target_arguments",
]

# The extra that installs a package a shipped option may need.
EXTRAS = {
    "tensorboard": "loggers",
    "tensorboardX": "loggers",
    "mlflow": "loggers",
    "wandb": "loggers",
    "onnx": "export",
}
# How messages name what a target must return.
KIND_NAMES = {
    "Module": "an nn.Module",
    "LightningDataModule": "a LightningDataModule",
    "Callback": "a Lightning Callback",
    "Logger": "a Lightning Logger",
}
# Classes that import without their package and fail when called: any one of the packages will do.
NEEDS = {
    "TensorBoardLogger": ("tensorboard", "tensorboardX"),
    "MLFlowLogger": ("mlflow",),
    "WandbLogger": ("wandb",),
}


def install_hint(package: str) -> str:
    """The command that installs `package`: toolkit's extra where one has it."""
    extra = EXTRAS.get(package)
    return f"pip install 'toolkit[{extra}]' (or pip install {package})" if extra else f"pip install {package}"


def locate(key: str, node: Mapping[str, Any]) -> Callable[..., Any]:
    """The callable named by `node._target_`; a ConfigError naming `key` when it is not one."""
    from hydra.utils import get_object

    if isinstance(node, DictConfig) and OmegaConf.is_missing(node, "_target_"):
        example = f"{key}._target_=mypkg.Net"
        raise ConfigError(f"{key}._target_ is not set: give the dotted path of your class, e.g. {example}")
    path = node.get("_target_")
    if not isinstance(path, str) or not path:
        raise ConfigError(f"{key}._target_={path!r}: give the dotted path of a class or a function (mypkg.Net)")
    try:
        target = get_object(path)
    except (ImportError, ValueError) as error:
        cause = error.__cause__ or error
        if isinstance(cause, ModuleNotFoundError) and cause.name and not path.startswith(cause.name):
            hint = install_hint(cause.name)
            raise ConfigError(f"{key}._target_={path} needs the package {cause.name}: {hint}") from None
        raise ConfigError(f"{key}._target_={path} does not import: {cause}") from None
    if not callable(target):
        raise ConfigError(f"{key}._target_={path} is a {type(target).__name__}, not a class or a function")
    return target


def check_packages(key: str, target: Callable[..., Any]) -> None:
    """A ConfigError with the install command when `target` needs a package that is not installed."""
    packages = NEEDS.get(getattr(target, "__name__", ""), ())
    if packages and not any(importlib.util.find_spec(package) for package in packages):
        raise ConfigError(
            f"{key}: {target.__name__} needs the {packages[0]} package, which is not installed: "
            f"{install_hint(packages[0])}"
        )


def accepted_names(target: Callable[..., Any]) -> list[str] | None:
    """The keyword arguments `target` takes, following `**kwargs` up a class's bases; None: any."""
    names: list[str] = []
    for function in constructors(target):
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            return None
        names += [
            p.name
            for p in parameters
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self" and p.name not in names
        ]
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            return names
    return None


def check_arguments(key: str, path: str, target: Callable[..., Any], names: Iterable[str]) -> None:
    """A ConfigError naming the first of `names` that `target` (found at `path`) does not take."""
    allowed = accepted_names(target)
    if allowed is None:
        return
    for name in names:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{key}: {path} takes no argument {name!r}{hint}; it takes: {', '.join(allowed)}")


def argument_names(node: Mapping[str, Any]) -> list[str]:
    """The argument keys of a `_target_` node (those without a leading underscore)."""
    return [str(key) for key in node if not str(key).startswith("_")]


def target_arguments(node: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of a `_target_` node as plain values, nested `_target_` nodes instantiated."""
    from hydra.utils import instantiate

    if isinstance(node, DictConfig):
        node = OmegaConf.to_container(node, resolve=True)
    arguments = {key: node[key] for key in argument_names(node)}
    return dict(instantiate(arguments, _convert_="all")) if arguments else {}


def check_target(key: str, node: Mapping[str, Any], names: Iterable[str] | None = None) -> Callable[..., Any]:
    """The callable of `node._target_`, once it imports, has its packages, and takes every argument in
    `names` (default: the node's); otherwise a ConfigError naming `key`, before any work."""
    target = locate(key, node)
    check_packages(key, target)
    check_arguments(key, node["_target_"], target, argument_names(node) if names is None else names)
    return target


def check_targets(key: str, node: Mapping[str, Any] | None) -> None:
    """`check_target` for each entry of a group that holds several (`callbacks`, `logger`)."""
    for name, entry in (node or {}).items():
        if entry:
            check_target(f"{key}.{name}", entry)


def described_call(path: str, arguments: Mapping[str, Any]) -> str:
    """`path(key=value, ...)`, for messages.

    >>> described_call('mypkg.Net', {'width': 8})
    'mypkg.Net(width=8)'
    """
    return f"{path}({', '.join(f'{name}={value!r}' for name, value in arguments.items())})"


def note_call(error: BaseException, key: str, path: str, arguments: Mapping[str, Any]) -> None:
    """Note on `error`, which calling `path` for `key` raised, which key and call it was (its traceback stays)."""
    add_note(error, f"{key}: {described_call(path, arguments)} raised {type(error).__name__}: {error}")


def build_target(key: str, node: Mapping[str, Any], kind: type | None = None, **extra: Any) -> Any:
    """Call `node._target_` with the node's arguments and `extra`, and check that it returned a `kind`.

    A value the target refuses (a TypeError or ValueError) is a ConfigError naming `key`; any other
    error is a bug of the target's and keeps its traceback, with a note naming `key` and the call.
    """
    target = check_target(key, node, [*argument_names(node), *extra])
    arguments = target_arguments(node)
    try:
        built = target(**arguments, **extra)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{key}: {node['_target_']}: {error}") from error
    except Exception as error:
        note_call(error, key, node["_target_"], arguments)
        raise
    check_kind(key, node["_target_"], built, kind)
    return built


def check_kind(key: str, path: str, built: Any, kind: type | None) -> None:
    """A ConfigError when the object `path` returned for `key` is not a `kind`.

    >>> check_kind('model', 'mypkg.make', {}, __import__('torch').nn.Module)
    Traceback (most recent call last):
    toolkit.errors.ConfigError: model._target_=mypkg.make returned a dict, not an nn.Module
    """
    if kind is not None and not isinstance(built, kind):
        expected = KIND_NAMES.get(kind.__name__, f"a {kind.__name__}")
        raise ConfigError(f"{key}._target_={path} returned a {type(built).__name__}, not {expected}")
