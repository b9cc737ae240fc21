"""`BaseModule` and its containers: modules that carry an `init_cfg` and initialize as a tree.

`init_weights()` on the top-level module runs in two phases. First every module's built-in default
(`init_defaults()`, e.g. ConvModule's Kaiming conv and 1/0 norm) for the layers no explicit config
of the tree covers; then the explicit configs, outer to inner: each module's own init_cfg, then its
children's `init_weights()`, then its `Pretrained` init_cfg last, so loaded weights are never
overwritten. "Explicit beats default, inner beats outer" holds by construction. Unless inside
`no_init_report()`, the top-level module also records which initializer set each parameter
(`init_report()`); the report only observes.

>>> from torch import nn
>>> class Net(BaseModule):
...     def __init__(self, init_cfg=None):
...         super().__init__(init_cfg)
...         self.conv = nn.Conv2d(3, 4, 3)
>>> net = Net(init_cfg=dict(type='Constant', layer='Conv2d', val=1, bias=0))
>>> net.init_weights()
>>> for row in net.init_report():
...     print(row.name, row.initializer)
conv.weight Constant(layer='Conv2d', val=1, bias=0) [<root>]
conv.bias Constant(layer='Conv2d', val=1, bias=0) [<root>]
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import nullcontext
from contextvars import ContextVar
from typing import Any

from torch import nn

from .init import initialize
from .init.initializers import as_cfg_list, covered_modules
from .init.report import InitRecorder, InitRow, log_init_report, report_enabled, tracking

__all__ = ["BaseModule", "ModuleDict", "ModuleList", "Sequential"]

logger = logging.getLogger("toolkit.init")

InitCfg = Mapping[str, Any] | list[Mapping[str, Any]] | None
_IN_PASS: ContextVar[bool] = ContextVar("toolkit_init_pass", default=False)


def _plain_init_cfg(init_cfg: Any) -> dict[str, Any] | list[dict[str, Any]] | None:
    """A private copy of an init_cfg, in the shape it was given (one dict, or a list)."""
    if init_cfg is None:
        return None
    cfgs = copy.deepcopy(as_cfg_list(init_cfg))
    return cfgs[0] if isinstance(init_cfg, Mapping) else cfgs


def apply_defaults(root: nn.Module) -> None:
    """The first phase of `init_weights()`: each module's `init_defaults()`, skipping the layers that
    an explicit init_cfg of the tree will set anyway."""
    covered: set[nn.Module] = set()
    for module in root.modules():
        if isinstance(module, BaseModule) and module.init_cfg:
            covered |= covered_modules(module, module.init_cfg)
    for module in root.modules():
        if isinstance(module, BaseModule):
            module.init_defaults(covered)


def _init_targets(module: nn.Module) -> Iterator[nn.Module]:
    """The nearest descendants that have an `init_weights()`, looking through plain containers."""
    for child in module.children():
        if hasattr(child, "init_weights"):
            yield child
        else:
            yield from _init_targets(child)


class BaseModule(nn.Module):
    """An `nn.Module` with an `init_cfg` and a tree-wide `init_weights()`.

    Args:
        init_cfg: An init cfg or a list of them (see `initialize`), applied by `init_weights()`:
            after the built-in defaults of the tree, before the children's own configs (inner
            beats outer), and a `Pretrained` one after the children.

    Example:
        >>> from torch import nn
        >>> class Net(BaseModule):
        ...     def __init__(self, init_cfg=None):
        ...         super().__init__(init_cfg)
        ...         self.fc = nn.Linear(2, 2)
        >>> net = Net(init_cfg=dict(type='Constant', layer='Linear', val=0.5))
        >>> net.init_weights()
        >>> net.fc.weight.unique().item(), net.init_report()[0].name
        (0.5, 'fc.weight')
    """

    def __init__(self, init_cfg: InitCfg = None) -> None:
        super().__init__()
        self._is_init = False
        self.init_cfg = _plain_init_cfg(init_cfg)
        self._init_report: list[InitRow] | None = None

    @property
    def is_init(self) -> bool:
        return self._is_init

    def init_defaults(self, covered: set[nn.Module] | frozenset[nn.Module] = frozenset()) -> None:
        """This module's built-in default init of its own layers, except those in `covered`; none here."""

    def init_weights(self) -> None:
        """Initialize the tree: defaults, then own init_cfg, the children's `init_weights()`, Pretrained."""
        if self._is_init:
            warnings.warn(f"init_weights of {type(self).__name__} has been called more than once", stacklevel=2)
            return
        if _IN_PASS.get():  # called by a parent in its pass, after the defaults phase
            self._init_tree()
            return
        token = _IN_PASS.set(True)
        try:
            with InitRecorder(self) if report_enabled() else nullcontext() as recorder:
                apply_defaults(self)
                self._init_tree()
        finally:
            _IN_PASS.reset(token)
        if recorder is not None:
            self._init_report = recorder.rows()
            log_init_report(self._init_report, type(self).__name__, logger)

    def _init_tree(self) -> None:
        cfgs = as_cfg_list(self.init_cfg) if self.init_cfg else []
        pretrained = [cfg for cfg in cfgs if cfg.get("type") == "Pretrained"]
        others = [cfg for cfg in cfgs if cfg.get("type") != "Pretrained"]
        if others:
            initialize(self, others)
        for child in _init_targets(self):
            # BaseModule's own init_weights attributes its writes inside; user-written ones get a label here.
            user_written = type(child).init_weights is not BaseModule.init_weights
            with tracking(child, f"{type(child).__name__}.init_weights()") if user_written else nullcontext():
                child.init_weights()
        if pretrained:
            initialize(self, pretrained)
        self._is_init = True

    def __repr__(self) -> str:
        text = super().__repr__()
        return f"{text}\ninit_cfg={self.init_cfg}" if self.init_cfg else text

    def init_report(self) -> list[InitRow]:
        """A row per parameter: name, shape and the initializer that set it in `init_weights()`."""
        if self._init_report is None:
            raise RuntimeError(
                f"{type(self).__name__} has no init report: call init_weights() on it as the top-level module first"
            )
        return self._init_report


class Sequential(BaseModule, nn.Sequential):
    """`nn.Sequential` with an `init_cfg`.

    Args:
        *args: The modules, in order.
        init_cfg: Its own init_cfg (see `BaseModule`).

    Example:
        >>> Sequential(nn.Conv2d(3, 3, 1), init_cfg=dict(type='Kaiming', layer='Conv2d')).init_cfg['type']
        'Kaiming'
    """

    def __init__(self, *args: nn.Module, init_cfg: InitCfg = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.Sequential.__init__(self, *args)


class ModuleList(BaseModule, nn.ModuleList):
    """`nn.ModuleList` with an `init_cfg`.

    Args:
        modules: The modules.
        init_cfg: Its own init_cfg (see `BaseModule`).
    """

    def __init__(self, modules: Iterable[nn.Module] | None = None, init_cfg: InitCfg = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.ModuleList.__init__(self, modules)


class ModuleDict(BaseModule, nn.ModuleDict):
    """`nn.ModuleDict` with an `init_cfg`.

    Args:
        modules: The modules by name.
        init_cfg: Its own init_cfg (see `BaseModule`).
    """

    def __init__(self, modules: Mapping[str, nn.Module] | None = None, init_cfg: InitCfg = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.ModuleDict.__init__(self, modules)
