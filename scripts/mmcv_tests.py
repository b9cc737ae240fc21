"""Run MMCV 1.x's own unit tests against toolkit, with only their imports changed.

Each test file of MMCV's that covers a feature toolkit has is copied into a scratch folder with its
`mmcv` imports pointed at toolkit (`mmcv.cnn.bricks.norm` -> `toolkit.cnn.norm`, `mmcv.runner` ->
`toolkit`, ...); nothing else in it changes. A name toolkit does not have (MMCV's file backends,
`mmcv.parallel`, its private helpers) becomes a stand-in: a test that calls it is skipped and
counted as out of scope, and used as a decorator it leaves the class as it is. The tests then run
under pytest, and every failure is either one of toolkit's declared differences from MMCV
(`DECLARED`, as docs/mmcv.md lists them) or a defect; the script exits with 1 on a defect.

Usage (an MMCV checkout at the release to compare with; its tests are not in its wheel):

    git clone --depth 1 --branch v1.7.2 https://github.com/open-mmlab/mmcv /tmp/mmcv
    python scripts/mmcv_tests.py /tmp/mmcv [--keep /tmp/mmcv-on-toolkit]
"""

from __future__ import annotations

import argparse
import ast
import importlib
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

# MMCV's test files of the features toolkit has (those present in the checkout are run).
FILES = [
    "tests/test_cnn/test_build_layers.py",
    "tests/test_cnn/test_context_block.py",
    "tests/test_cnn/test_conv2d_adaptive_padding.py",
    "tests/test_cnn/test_conv_module.py",
    "tests/test_cnn/test_depthwise_seperable_conv_module.py",
    "tests/test_cnn/test_flops_counter.py",
    "tests/test_cnn/test_fuse_conv_bn.py",
    "tests/test_cnn/test_generalized_attention.py",
    "tests/test_cnn/test_hsigmoid.py",
    "tests/test_cnn/test_hswish.py",
    "tests/test_cnn/test_non_local.py",
    "tests/test_cnn/test_revert_syncbn.py",
    "tests/test_cnn/test_scale.py",
    "tests/test_cnn/test_swish.py",
    "tests/test_cnn/test_weight_init.py",
    "tests/test_runner/test_basemodule.py",
    "tests/test_runner/test_checkpoint.py",
    "tests/test_runner/test_optimizer.py",
    "tests/test_utils/test_registry.py",
    "tests/test_load_model_zoo.py",
]

# Where toolkit keeps what an MMCV module holds: the modules searched, in order, for each imported name.
HOMES = {
    "mmcv": ["toolkit"],
    "mmcv.cnn": ["toolkit.cnn", "toolkit"],
    "mmcv.cnn.bricks": ["toolkit.cnn"],
    "mmcv.cnn.bricks.activation": ["toolkit.cnn.activation"],
    "mmcv.cnn.bricks.context_block": ["toolkit.cnn.context_block"],
    "mmcv.cnn.bricks.conv": ["toolkit.cnn.conv"],
    "mmcv.cnn.bricks.conv2d_adaptive_padding": ["toolkit.cnn.conv"],
    "mmcv.cnn.bricks.conv_module": ["toolkit.cnn.conv_module"],
    "mmcv.cnn.bricks.conv_ws": ["toolkit.cnn.conv"],
    "mmcv.cnn.bricks.depthwise_separable_conv_module": ["toolkit.cnn.depthwise"],
    "mmcv.cnn.bricks.drop": ["toolkit.cnn.dropout"],
    "mmcv.cnn.bricks.generalized_attention": ["toolkit.cnn.generalized_attention"],
    "mmcv.cnn.bricks.hsigmoid": ["toolkit.cnn.activation"],
    "mmcv.cnn.bricks.hswish": ["toolkit.cnn.activation"],
    "mmcv.cnn.bricks.non_local": ["toolkit.cnn.non_local"],
    "mmcv.cnn.bricks.norm": ["toolkit.cnn.norm"],
    "mmcv.cnn.bricks.padding": ["toolkit.cnn.padding"],
    "mmcv.cnn.bricks.plugin": ["toolkit.cnn.plugin"],
    "mmcv.cnn.bricks.registry": ["toolkit.cnn"],
    "mmcv.cnn.bricks.scale": ["toolkit.cnn.scale"],
    "mmcv.cnn.bricks.swish": ["toolkit.cnn.activation"],
    "mmcv.cnn.bricks.upsample": ["toolkit.cnn.upsample"],
    "mmcv.cnn.utils": ["toolkit.cnn", "toolkit.init"],
    "mmcv.cnn.utils.flops_counter": ["toolkit.cnn.complexity"],
    "mmcv.cnn.utils.fuse_conv_bn": ["toolkit.cnn.fuse"],
    "mmcv.cnn.utils.sync_bn": ["toolkit.cnn.sync_bn"],
    "mmcv.cnn.utils.weight_init": ["toolkit.init", "toolkit.init.initializers", "toolkit.init.functions"],
    "mmcv.runner": ["toolkit", "toolkit.checkpoint", "toolkit.optim"],
    "mmcv.runner.base_module": ["toolkit.modules"],
    "mmcv.runner.checkpoint": ["toolkit.checkpoint", "toolkit.checkpoint.sources"],
    "mmcv.runner.optimizer": ["toolkit.optim"],
    "mmcv.runner.optimizer.builder": ["toolkit.optim"],
    "mmcv.runner.optimizer.default_constructor": ["toolkit.optim"],
    "mmcv.parallel": ["toolkit.checkpoint"],
    "mmcv.parallel.registry": ["toolkit.checkpoint"],
    "mmcv.parallel.utils": ["toolkit.checkpoint"],
    "mmcv.utils": ["toolkit.registry", "toolkit", "_toolkit_stand_ins"],
    "mmcv.utils.registry": ["toolkit.registry"],
    "mmcv.utils.ext_loader": ["_toolkit_stand_ins"],
    "mmcv.utils.parrots_wrapper": ["torch.nn.modules.batchnorm", "torch.nn.modules.instancenorm"],
}

# Toolkit's deliberate differences from MMCV 1.x (docs/mmcv.md): the MMCV test that checks the
# opposite, what its failure says, and the difference.
DECLARED = {
    "test_build_layers.py::test_build_norm_layer": ("KeyError: 'LN2d'", "LN2d exists beside LN"),
    "test_conv_module.py::test_order": ("DID NOT RAISE", "order may be a list, where MMCV asserts a tuple"),
}
# MMCV tests that fail on what toolkit leaves out by design: the test, what its failure says, and why.
OUT_OF_SCOPE = {
    "test_checkpoint.py::test_save_checkpoint": (
        "local files only",
        "saves to MMCV's petrel file backend; toolkit writes local files and says so",
    ),
}

STAND_IN = '''"""Stand-ins for the names of MMCV's that toolkit does not have; `mmcv` itself is toolkit (for the
tests that name it in a string, as `patch('mmcv.__path__', ...)`)."""
import inspect
import sys

import pytest

import torch
from packaging.version import Version

import toolkit

sys.modules.setdefault("mmcv", toolkit)

# MMCV's helpers that its tests use to look at the torch they run on (not features of toolkit's).
TORCH_VERSION = torch.__version__


def digit_version(version):
    return Version(version).release


def check_ops_exist():  # MMCV's compiled ops (DCN, ...): toolkit has none
    return False


class Missing:
    def __init__(self, name):
        self.name = name

    def __getattr__(self, attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return Missing(f"{self.name}.{attribute}")

    def __call__(self, *arguments, **keywords):
        if not arguments and not keywords:  # a decorator factory, such as register_module()
            return self
        if len(arguments) == 1 and not keywords and (inspect.isclass(arguments[0]) or inspect.isfunction(arguments[0])):
            return arguments[0]  # used as a decorator
        pytest.skip(f"out of scope: uses {self.name}, which toolkit does not have")
'''


STAND_IN_HELPERS = ("TORCH_VERSION", "digit_version", "check_ops_exist")


def home_of(module: str, name: str) -> str | None:
    """The toolkit module that has `name` of MMCV's `module` (None: toolkit does not have it)."""
    for candidate in HOMES.get(module, []):
        if candidate == "_toolkit_stand_ins":
            if name in STAND_IN_HELPERS:
                return candidate
        elif hasattr(importlib.import_module(candidate), name):
            return candidate
    return None


def rewritten_import(node: ast.Import | ast.ImportFrom, missing: set[str]) -> str | None:
    """The statement(s) that replace an import of MMCV's (None: the import is not MMCV's); the names bound
    to stand-ins are added to `missing`."""
    if isinstance(node, ast.Import):
        names = [alias for alias in node.names if alias.name.split(".")[0] == "mmcv"]
        if not names:
            return None
        # `import mmcv` and `import mmcv.cnn` bind `mmcv`; `import mmcv.cnn as cnn` binds the submodule
        return "; ".join(
            f"import {alias.name.replace('mmcv', 'toolkit', 1)} as {alias.asname}"
            if alias.asname
            else "import toolkit as mmcv"
            for alias in names
        )
    if not node.module or node.module.split(".")[0] != "mmcv" or node.level:
        return None
    statements = []
    for alias in node.names:
        bound = alias.asname or alias.name
        home = home_of(node.module, alias.name)
        if home is None:
            statements.append(f"{bound} = Missing('{node.module}.{alias.name}')")
            missing.add(bound)
        else:
            statements.append(f"from {home} import {alias.name} as {bound}")
    return "; ".join(statements)


def rewrite(source: str, missing: set[str]) -> str:
    """`source` with its MMCV imports pointed at toolkit (each on its first line, so line numbers stay);
    the names bound to stand-ins are added to `missing`."""
    lines = source.splitlines()
    for node in sorted(ast.walk(ast.parse(source)), key=lambda node: -getattr(node, "lineno", 0)):
        if isinstance(node, ast.Import | ast.ImportFrom) and (replacement := rewritten_import(node, missing)):
            first, last = node.lineno - 1, node.end_lineno - 1
            lines[first : last + 1] = [" " * node.col_offset + replacement] + [""] * (last - first)
    return "from _toolkit_stand_ins import Missing\n" + "\n".join(lines) + "\n"


def out_of_scope(source: str, missing: set[str]) -> dict[str, list[str]]:
    """The test functions of `source` that use names toolkit does not have, with those names."""
    uses = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            names = sorted({name.id for name in ast.walk(node) if isinstance(name, ast.Name)} & missing)
            if names:
                uses[node.name] = names
    return uses


def prepare(mmcv: Path, folder: Path) -> tuple[list[Path], dict[str, list[str]]]:
    """MMCV's test files, rewritten, in `folder`; returns the files found, and the node ids of the
    tests that use names toolkit does not have, with those names."""
    found = [mmcv / name for name in FILES if (mmcv / name).is_file()]
    unsupported = {}
    for path in found:
        source, missing = path.read_text(), set()
        (folder / path.name).write_text(rewrite(source, missing))
        for test, names in out_of_scope(source, missing).items():
            unsupported[f"{path.name}::{test}"] = names
    (folder / "_toolkit_stand_ins.py").write_text(STAND_IN)
    (folder / "pytest.ini").write_text("[pytest]\n")
    return found, unsupported


def outcomes(report: Path) -> dict[str, tuple[str, str]]:
    """Each test case of a JUnit report: its node id, and (outcome, first line of its message)."""
    results = {}
    for case in ElementTree.parse(report).iter("testcase"):
        node = f"{case.get('classname', '').rsplit('.', 1)[-1]}.py::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = "skipped" if child.tag == "skipped" else "failed"
                message = (child.get("message") or child.text or "").strip().splitlines()[0][:160]
        results[node] = (outcome, message)
    return results


KINDS = ("passed", "declared difference", "out of scope", "DEFECT")


def verdict(node: str, outcome: str, message: str, unsupported: dict[str, list[str]]) -> tuple[str, str, str]:
    """What a test's outcome means for toolkit: (node id, one of `KINDS`, why)."""
    if outcome == "passed":
        return node, "passed", ""
    if outcome == "skipped":
        return node, "out of scope", message.removeprefix("Skipped: ").removeprefix("out of scope: ")
    test = node.split("[")[0]
    if node in DECLARED and DECLARED[node][0] in message:
        return node, "declared difference", DECLARED[node][1]
    if node in OUT_OF_SCOPE and OUT_OF_SCOPE[node][0] in message:
        return node, "out of scope", OUT_OF_SCOPE[node][1]
    if test in unsupported:
        return node, "out of scope", f"uses {', '.join(unsupported[test])}, which toolkit does not have"
    if "module 'toolkit' has no attribute" in message:
        return node, "out of scope", f"names MMCV's own modules ({message})"
    return node, "DEFECT", message


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mmcv", type=Path, help="an MMCV 1.x checkout (its tests/ folder)")
    parser.add_argument("--keep", type=Path, help="write the rewritten tests here and keep them")
    arguments = parser.parse_args()
    folder = arguments.keep or Path(tempfile.mkdtemp(prefix="mmcv-on-toolkit-"))
    folder.mkdir(parents=True, exist_ok=True)
    found, unsupported = prepare(arguments.mmcv, folder)
    if not found:
        print(f"no MMCV test file under {arguments.mmcv}/tests: give the folder of an MMCV 1.x checkout")
        return 2
    report = folder / "report.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly"]
    subprocess.run([*command, f"--junitxml={report}", "-c", str(folder / "pytest.ini"), str(folder)], cwd=folder)
    verdicts = [verdict(node, outcome, message, unsupported) for node, (outcome, message) in outcomes(report).items()]
    counts = Counter(kind for _, kind, _ in verdicts)
    print(f"\nMMCV's tests on toolkit: {len(found)} files, {len(verdicts)} tests")
    print(", ".join(f"{kind} {counts[kind]}" for kind in KINDS))
    for node, kind, why in verdicts:
        if kind != "passed":
            print(f"  {kind}: {node}: {why}")
    if not arguments.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if counts["DEFECT"] else 0


if __name__ == "__main__":
    sys.exit(main())
