"""A registry maps type names to classes, so layers can be built from config dicts.

>>> LAYERS = Registry('layer')
>>> @LAYERS.register_module()
... class Identity:
...     def __init__(self, scale=1):
...         self.scale = scale
>>> build_from_cfg(dict(type='Identity', scale=2), LAYERS).scale
2
"""

from __future__ import annotations

import difflib
import inspect
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import with_context

__all__ = ["Registry", "build_from_cfg"]


class Registry:
    """A named table of classes (or factory functions) that configs refer to by name.

    Args:
        name: How messages name it ('norm layer').
        build_func: Builds an object from a cfg (default `build_from_cfg`); a child registry inherits its parent's.
        parent: The registry this one is a child of: lookups fall back to it, and it finds this one's names
            as `'scope.Name'`.
        scope: The registry's scope (default: the calling package's name).

    Example:
        >>> ACTS = Registry('activation')
        >>> _ = ACTS.register_module(name=['Swish', 'SiLU'], module=object)
        >>> 'Swish' in ACTS, len(ACTS)
        (True, 2)
    """

    def __init__(
        self,
        name: str,
        build_func: Callable[..., Any] | None = None,
        parent: Registry | None = None,
        scope: str | None = None,
    ) -> None:
        """`build_func` builds for `build()` (the parent's, else `build_from_cfg`); a child registry
        (`parent=`) falls back to its parent in lookups, and `'scope.Name'` finds a name in the
        registry of that scope (by default the top-level package of the code that made it, as MMCV).
        """
        if parent is not None and not isinstance(parent, Registry):
            raise TypeError(f"parent must be a Registry, got {type(parent).__name__}")
        self._name = name
        self._module_dict: dict[str, Callable[..., Any]] = {}
        self._children: dict[str, Registry] = {}
        self._scope = _caller_package() if scope is None else scope
        self.parent = parent
        self.build_func = build_func or (parent.build_func if parent is not None else build_from_cfg)
        if parent is not None:
            if self._scope in parent._children:
                raise KeyError(f"scope {self._scope!r} already has a child registry of {parent.name}")
            parent._children[self._scope] = self

    @property
    def name(self) -> str:
        return self._name

    @property
    def scope(self) -> str:
        return self._scope

    @property
    def children(self) -> dict[str, Registry]:
        return self._children

    def build(self, *args: Any, **kwargs: Any) -> Any:
        """Build with this registry's `build_func` (`build_from_cfg` unless given).

        >>> REG = Registry('demo')
        >>> _ = REG.register_module(module=dict)
        >>> REG.build(dict(type='dict', a=1))
        {'a': 1}
        """
        return self.build_func(*args, **kwargs, registry=self)

    @property
    def module_dict(self) -> dict[str, Callable[..., Any]]:
        return self._module_dict

    def __len__(self) -> int:
        return len(self._module_dict)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name}, items={self._module_dict})"

    def get(self, key: str) -> Callable[..., Any] | None:
        """The class registered under `key` (or `'scope.key'`), else the parent's, else None."""
        if key in self._module_dict:
            return self._module_dict[key]
        scope, dot, real_key = key.partition(".")
        if not dot:
            return self.parent.get(key) if self.parent is not None else None
        if scope == self._scope:
            return self._module_dict.get(real_key)
        if scope in self._children:
            return self._children[scope].get(real_key)
        root = self
        while root.parent is not None:
            root = root.parent
        return root.get(key) if root is not self else None

    def __getitem__(self, key: str) -> Callable[..., Any]:
        """The class registered under `key`; a KeyError lists what is allowed otherwise."""
        found = self.get(key) if isinstance(key, str) else None
        if found is None:
            raise KeyError(self._unknown_message(key))
        return found

    def _unknown_message(self, key: object) -> str:
        allowed = sorted(self._module_dict)
        message = f"{key!r} is not in the {self._name} registry; allowed types: {', '.join(allowed)}"
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
        if not close:
            lowered = {name.lower(): name for name in allowed}
            close = [lowered[k] for k in difflib.get_close_matches(str(key).lower(), list(lowered), n=1)]
        return message + (f" (did you mean {close[0]!r}?)" if close else "")

    def register_module(
        self,
        name: str | Iterable[str] | None = None,
        force: bool = False,
        module: Callable[..., Any] | None = None,
    ) -> Callable[..., Any]:
        """Register `module` under `name` (default: its `__name__`), as a call or a decorator.

        `name` may be a list of aliases. A name already taken raises KeyError unless `force`. The old
        form, `register_module(Cls)` or a bare `@register_module`, still works with a DeprecationWarning.
        """
        if inspect.isclass(name):
            return self.deprecated_register_module(name, force=force)
        if not isinstance(force, bool):
            raise TypeError(f"force must be a bool, got {type(force).__name__}")
        if name is not None and not isinstance(name, str):
            name = list(name)
            if not all(isinstance(n, str) for n in name):
                raise TypeError(f"name must be a str or a list of str, got {name!r}")
        if module is not None:
            self._register(module, name, force)
            return module

        def decorator(cls: Callable[..., Any]) -> Callable[..., Any]:
            self._register(cls, name, force)
            return cls

        return decorator

    def deprecated_register_module(self, cls: type | None = None, force: bool = False) -> Any:
        """MMCV's old form, `register_module(Cls)` or `@deprecated_register_module`: registers `cls` under its
        name with a DeprecationWarning (as MMCV's does).

        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter('always')
        ...     _ = Registry('old').deprecated_register_module(Registry)
        >>> caught[0].category.__name__
        'DeprecationWarning'
        """
        warnings.warn(
            "register_module(Cls) is deprecated: use register_module(module=Cls) or @register_module()",
            DeprecationWarning,
            stacklevel=3,
        )
        if cls is None:
            return lambda later: self.deprecated_register_module(later, force=force)
        self._register(cls, None, force)
        return cls

    def _register(self, module: Callable[..., Any], name: str | list[str] | None, force: bool) -> None:
        if not (inspect.isclass(module) or inspect.isfunction(module)):
            raise TypeError(f"module must be a class or a function, got {type(module).__name__}: {module!r}")
        names = [module.__name__] if name is None else [name] if isinstance(name, str) else name
        for key in names:
            if not force and key in self._module_dict:
                raise KeyError(
                    f"{key!r} is already registered in the {self._name} registry "
                    f"(as {self._module_dict[key]!r}); pass force=True to replace it"
                )
        for key in names:
            self._module_dict[key] = module


def _caller_package() -> str:
    """The top-level package of the code that creates a registry (two frames up), as MMCV infers it."""
    frame = sys._getframe(2)
    module = frame.f_globals.get("__name__", "__main__")
    return module.split(".")[0]


def to_plain_dict(cfg: Any, what: str = "cfg") -> dict[str, Any]:
    """A fresh plain dict of a config mapping (a dict or an OmegaConf DictConfig).

    >>> to_plain_dict({'type': 'ReLU'})
    {'type': 'ReLU'}
    """
    if type(cfg).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        cfg = OmegaConf.to_container(cfg, resolve=True)
    if not isinstance(cfg, Mapping):
        raise TypeError(f"{what} must be a dict, got {type(cfg).__name__}: {cfg!r}")
    return dict(cfg)


def resolve_type(
    cfg: Mapping[str, Any],
    registry: Registry,
    default_args: Mapping[str, Any] | None = None,
) -> tuple[str, Callable[..., Any], dict[str, Any]]:
    """Split a cfg into its type's name, the class it names, and a fresh dict of the other keys.

    >>> REG = Registry('demo')
    >>> _ = REG.register_module(module=dict)
    >>> resolve_type({'type': 'dict', 'a': 1}, REG)
    ('dict', <class 'dict'>, {'a': 1})
    """
    args = to_plain_dict(cfg)
    if default_args is not None:
        for key, value in to_plain_dict(default_args, "default_args").items():
            args.setdefault(key, value)
    if "type" not in args:
        raise KeyError(
            f'`cfg` or `default_args` must contain the key "type", but got {args!r}; '
            f"allowed {registry.name} types: {', '.join(sorted(registry.module_dict))}"
        )
    obj_type = args.pop("type")
    if isinstance(obj_type, str):
        return obj_type, registry[obj_type], args
    if callable(obj_type):
        return getattr(obj_type, "__name__", repr(obj_type)), obj_type, args
    raise TypeError(f"type must be a registered name or a class, got {type(obj_type).__name__}: {obj_type!r}")


def build_from_cfg(
    cfg: Mapping[str, Any],
    registry: Registry,
    default_args: Mapping[str, Any] | None = None,
) -> Any:
    """Build an object from `cfg['type']` (a registered name or a class) and the other keys.

    The caller's `cfg` is never modified; `default_args` fill keys that `cfg` lacks.

    Args:
        cfg: `type` (a name registered in `registry`, or a class) and the arguments of the object.
        registry: Where `type` is looked up.
        default_args: Arguments used where `cfg` does not set them.

    Returns:
        The object built.

    Raises:
        TypeError: When `cfg` is not a dict, or its arguments do not fit (the error names the type and the arguments).
        KeyError: When `type` is missing or not registered (the message lists the registered types and the closest one).

    Example:
        >>> REG = Registry('demo')
        >>> _ = REG.register_module(module=dict)
        >>> build_from_cfg({'type': 'dict', 'a': 1}, REG, default_args={'b': 2})
        {'a': 1, 'b': 2}
    """
    label, obj_cls, args = resolve_type(cfg, registry, default_args)
    return construct(obj_cls, args, label)


def constructors(factory: Callable[..., Any]) -> list[Callable[..., Any]]:
    """What builds `factory`'s objects: a class's `__init__` methods from its own up its bases (each one
    that passes `*args` or `**kwargs` on hands them to the next), or the function itself.

    >>> [function.__qualname__ for function in constructors(Registry)][:1]
    ['Registry.__init__']
    """
    if not inspect.isclass(factory):
        return [factory]
    return [base.__dict__["__init__"] for base in factory.__mro__ if "__init__" in base.__dict__]


def construct(factory: Callable[..., Any], kwargs: dict[str, Any], label: str, *args: Any) -> Any:
    """Call `factory(*args, **kwargs)`; an error keeps its type and names `label` and the arguments."""
    try:
        return factory(*args, **kwargs)
    except Exception as error:
        shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        with_context(error, f"{label}({shown}) failed: ")
        raise


def merge_args(call_kwargs: Mapping[str, Any], cfg_args: Mapping[str, Any], label: str) -> dict[str, Any]:
    """The keyword arguments of a builder call and of its cfg together; a key given twice is a TypeError.

    >>> merge_args({'stride': 2}, {'bias': False}, 'Conv2d')
    {'stride': 2, 'bias': False}
    """
    twice = sorted(set(call_kwargs) & set(cfg_args))
    if twice:
        raise TypeError(f"{label}: {', '.join(twice)} given both in the cfg and as an argument")
    return {**call_kwargs, **cfg_args}
