"""The private names of torch, Lightning, Hydra and submitit that toolkit uses: each is still there (a
failure names the one an upgrade removed), and none is used outside `toolkit._compat`."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
import torch

from toolkit._compat import PRIVATE_ATTRIBUTES, PRIVATE_NAMES

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "toolkit"
UPSTREAM = ("torch", "lightning", "pytorch_lightning", "hydra", "omegaconf", "submitit")
EXTRAS = ("submitit",)  # installed with an extra (sweep): without it, their names are not checked
MODULE_INTERNALS = ("_modules", "_parameters", "_buffers")  # nn.Module's dicts: named_children() and kin say it


@pytest.mark.parametrize(("module", "path", "version"), PRIVATE_NAMES, ids=[f"{m}.{p}" for m, p, _ in PRIVATE_NAMES])
def test_each_private_name_is_still_there(module, path, version):
    found: object = pytest.importorskip(module) if module in EXTRAS else importlib.import_module(module)
    for part in path.split("."):
        assert hasattr(found, part), (
            f"{module}.{path} is gone from this version of {module.split('.')[0]} "
            f"(toolkit._compat was written against {version}): update toolkit._compat"
        )
        found = getattr(found, part)


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (lambda: torch.zeros(1), "_version"),
        (lambda: torch.nn.Linear(1, 1), "_forward_pre_hooks"),
        (lambda: torch.nn.Linear(1, 1), "_version"),
        (lambda: torch.nn.Linear(1, 1), "_state_dict_hooks"),
        (lambda: torch.nn.Linear(1, 1), "_save_to_state_dict"),
    ],
)
def test_each_private_instance_attribute_is_still_there(owner, name):
    assert hasattr(owner(), name), f"torch {torch.__version__} has no {name}: update toolkit._compat.torch"


def test_the_lightning_attributes_are_still_there(tmp_path):
    from lightning.pytorch.loggers import CSVLogger, MLFlowLogger
    from lightning.pytorch.strategies import DDPStrategy

    logger = CSVLogger(tmp_path)
    for owner, name in ((logger, "_fs"), (logger, "_experiment"), (DDPStrategy(), "_ddp_kwargs")):
        assert hasattr(owner, name), f"{type(owner).__name__}.{name} is gone: update toolkit._compat.lightning"
    assert "_tracking_uri" in MLFlowLogger.__init__.__code__.co_names, (
        "MLFlowLogger._tracking_uri is gone: update toolkit._compat.lightning.mlflow_tracking_uri"
    )


def private_uses(path: Path) -> list[str]:
    """The private upstream names a source file uses: imports of `_name`s or from `_module`s of the
    upstream libraries, and attributes named in `PRIVATE_ATTRIBUTES`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in UPSTREAM:
            private_module = any(part.startswith("_") for part in node.module.split("."))
            names = [alias.name for alias in node.names if alias.name.startswith("_")]
            if private_module or names:
                found.append(f"line {node.lineno}: from {node.module} import {', '.join(a.name for a in node.names)}")
        elif isinstance(node, ast.Attribute) and node.attr in (*PRIVATE_ATTRIBUTES, *MODULE_INTERNALS):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_no_private_upstream_name_outside_the_compat_package():
    offenders = {
        str(path.relative_to(ROOT)): uses
        for path in sorted([*PACKAGE.rglob("*.py"), *(ROOT / "hydra_plugins").rglob("*.py")])
        if "_compat" not in path.parts and (uses := private_uses(path))
    }
    assert offenders == {}


def test_the_scan_finds_what_it_looks_for(tmp_path):
    source = tmp_path / "bad.py"
    source.write_text(
        "from torch.nn.modules.batchnorm import _BatchNorm\n"
        "from torch.distributed._functional_collectives import all_reduce\n"
        "x = job._return_value\n"
    )
    assert len(private_uses(source)) == 3
