"""The init report: which initializer last wrote each parameter during one `init_weights()` pass.

Writes are detected from each tensor's version counter (bumped by every in-place write), read
before and after each initializer runs: exact, and free of device syncs and copies.

>>> from torch import nn
>>> model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
>>> with InitRecorder(model) as recorder:
...     with tracking(model[1], 'Constant(val=1)'):
...         _ = nn.init.ones_(model[1].weight)
>>> for row in recorder.rows():
...     print(row.name, row.initializer)
0.weight unchanged (PyTorch default init)
0.bias unchanged (PyTorch default init)
1.weight Constant(val=1) [1]
1.bias unchanged (PyTorch default init)
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, NamedTuple

from torch import nn

from .._compat.torch import write_count

UNCHANGED = "unchanged (PyTorch default init)"
_ACTIVE: ContextVar[InitRecorder | None] = ContextVar("toolkit_init_recorder", default=None)
_ENABLED: ContextVar[bool] = ContextVar("toolkit_init_report_enabled", default=True)


class InitRow(NamedTuple):
    """One parameter of the report: its name, its shape and the initializer that set it last."""

    name: str
    shape: tuple[int, ...]
    initializer: str


class _Write(NamedTuple):
    label: str
    version: int


class InitRecorder:
    """Collects the writes of one init pass over `root`; active inside its `with` block."""

    def __init__(self, root: nn.Module) -> None:
        self.root = root
        self.module_names = {module: name for name, module in root.named_modules()}
        self.writes: dict[nn.Parameter, _Write] = {}
        self._params: dict[nn.Module, list[nn.Parameter]] = {}
        self._token: Any = None

    def __enter__(self) -> InitRecorder:
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.reset(self._token)

    def where(self, module: nn.Module) -> str:
        """The module's path from the root (`<root>` for the root itself)."""
        return self.module_names.get(module) or "<root>"

    def params_of(self, module: nn.Module) -> list[nn.Parameter]:
        """The parameters of `module` and its descendants, walked once per pass."""
        params = self._params.get(module)
        if params is None:
            own = list(module.parameters(recurse=False))
            nested = [param for child in module.children() for param in self.params_of(child)]
            params = self._params[module] = list(dict.fromkeys(own + nested))
        return params

    def rows(self) -> list[InitRow]:
        """A row per parameter of the root, in `named_parameters()` order."""
        return [
            InitRow(name, tuple(param.shape), self.writes[param].label if param in self.writes else UNCHANGED)
            for name, param in self.root.named_parameters()
        ]


def report_enabled() -> bool:
    """Whether `init_weights()` records a report (it does unless inside `no_init_report()`)."""
    return _ENABLED.get()


@contextlib.contextmanager
def no_init_report() -> Iterator[None]:
    """Initialize without recording which initializer set each parameter; the weights are the same.

    >>> from toolkit import BaseModule
    >>> with no_init_report():
    ...     BaseModule().init_weights()
    """
    token = _ENABLED.set(False)
    try:
        yield
    finally:
        _ENABLED.reset(token)


@contextlib.contextmanager
def tracking(module: nn.Module, label: str) -> Iterator[None]:
    """Attribute to `label` the writes to `module`'s parameters inside the block.

    Writes already attributed by a nested `tracking` block keep their finer label. Outside an
    init pass this does nothing.
    """
    recorder = _ACTIVE.get()
    if recorder is None:
        yield
        return
    params = recorder.params_of(module)
    before = [write_count(param) for param in params]
    yield
    where = recorder.where(module)
    for param, version in zip(params, before, strict=True):
        now = write_count(param)
        if now == version:
            continue
        write = recorder.writes.get(param)
        if write is None or write.version != now:
            recorder.writes[param] = _Write(f"{label} [{where}]", now)


def describe_cfg(cfg: Mapping[str, Any]) -> str:
    """A short text of an init cfg: its type and arguments.

    >>> describe_cfg({'type': 'Kaiming', 'layer': 'Conv2d', 'mode': 'fan_in'})
    "Kaiming(layer='Conv2d', mode='fan_in')"
    """
    args = ", ".join(f"{key}={value!r}" for key, value in cfg.items() if key not in ("type", "override"))
    return f"{cfg.get('type', '?')}({args})"


def format_init_report(rows: Sequence[InitRow]) -> str:
    """The report as a fixed-width text table: parameter, shape, initializer.

    Args:
        rows: The report (`BaseModule.init_report()`).

    Returns:
        The table, a line per parameter.

    Example:
        >>> print(format_init_report([InitRow('conv.weight', (8, 3, 3, 3), 'Kaiming()')]))
        parameter    shape         initializer
        conv.weight  (8, 3, 3, 3)  Kaiming()
    """
    table = [("parameter", "shape", "initializer")] + [(r.name, str(r.shape), r.initializer) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(2)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in table)


def summarize_init_report(rows: Sequence[InitRow], max_modules: int = 3) -> list[str]:
    """One line per initializer: how many parameters and elements it set, and in which modules.

    >>> summarize_init_report([InitRow('a.weight', (2, 2), 'Kaiming()'), InitRow('a.bias', (2,), 'Kaiming()')])
    ['Kaiming(): 2 parameters, 6 values in a']
    """
    groups: dict[str, list[InitRow]] = defaultdict(list)
    for row in rows:
        groups[row.initializer].append(row)
    lines = []
    for initializer, members in groups.items():
        modules = list(dict.fromkeys(row.name.rpartition(".")[0] or "<root>" for row in members))
        hidden = len(modules) - max_modules
        shown = ", ".join(modules[:max_modules]) + (f" (+{hidden} more)" if hidden > 0 else "")
        values = sum(math.prod(row.shape) for row in members)
        lines.append(f"{initializer}: {len(members)} parameters, {values} values in {shown}")
    return lines


def log_init_report(rows: Sequence[InitRow], owner: str, logger: logging.Logger) -> None:
    """Log the summary at INFO and the full table at DEBUG."""
    logger.info("init_weights of %s:\n  %s", owner, "\n  ".join(summarize_init_report(rows)))
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("init report of %s:\n%s", owner, format_init_report(rows))
