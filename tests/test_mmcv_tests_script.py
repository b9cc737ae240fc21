"""scripts/mmcv_tests.py: MMCV's imports pointed at toolkit, a name toolkit lacks skipping the test that
uses it, and every failure sorted into a declared difference, out of scope or a defect (exit status 1)."""

import subprocess
import sys
from pathlib import Path

from .test_benchkit import SCRIPTS, load

# A test file written the way MMCV's are (the imports as MMCV has them).
MMCV_STYLE = """import torch

from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.norm import infer_abbr as infer_norm_abbr
from mmcv.runner.checkpoint import load_from_pavi


def test_builds():
    assert ConvModule(3, 8, 3, norm_cfg=dict(type='BN')).norm_name == 'bn'
    assert infer_norm_abbr(torch.nn.GroupNorm) == 'gn'


def test_uses_what_toolkit_lacks():
    load_from_pavi('pavi://model.pth')


def test_order():
    with __import__('pytest').raises(AssertionError):
        ConvModule(3, 8, 2, order=['conv', 'norm', 'act'])


def test_fails():
    assert ConvModule(3, 8, 3).with_norm
"""


def test_imports_are_pointed_at_toolkit_and_a_missing_name_is_a_stand_in():
    script = load("mmcv_tests")
    missing: set[str] = set()
    rewritten = script.rewrite(MMCV_STYLE, missing)
    assert "from toolkit.cnn import ConvModule as ConvModule" in rewritten
    assert "from toolkit.cnn.norm import infer_abbr as infer_norm_abbr" in rewritten
    assert "load_from_pavi = Missing('mmcv.runner.checkpoint.load_from_pavi')" in rewritten
    assert len(rewritten.splitlines()) == len(MMCV_STYLE.splitlines()) + 1  # line numbers kept (one line first)
    assert missing == {"load_from_pavi"}
    assert script.rewrite("import mmcv.cnn as cnn\nimport mmcv\n", set()).splitlines()[1:] == [
        "import toolkit.cnn as cnn",
        "import toolkit as mmcv",
    ]
    assert script.out_of_scope(MMCV_STYLE, missing) == {"test_uses_what_toolkit_lacks": ["load_from_pavi"]}


def test_each_failure_is_a_declared_difference_out_of_scope_or_a_defect(tmp_path):
    tests = tmp_path / "mmcv" / "tests" / "test_cnn"
    tests.mkdir(parents=True)
    (tests / "test_conv_module.py").write_text(MMCV_STYLE)
    finished = subprocess.run(
        [sys.executable, str(SCRIPTS / "mmcv_tests.py"), str(tmp_path / "mmcv"), "--keep", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = finished.stdout[finished.stdout.index("MMCV's tests on toolkit") :].splitlines()
    assert report[:2] == [
        "MMCV's tests on toolkit: 1 files, 4 tests",
        "passed 1, declared difference 1, out of scope 1, DEFECT 1",
    ]
    assert "  declared difference: test_conv_module.py::test_order: order may be a list" in finished.stdout
    assert "out of scope: test_conv_module.py::test_uses_what_toolkit_lacks: out of scope: uses" not in finished.stdout
    assert "  out of scope: test_conv_module.py::test_uses_what_toolkit_lacks: uses" in finished.stdout
    assert "  DEFECT: test_conv_module.py::test_fails: " in finished.stdout
    assert finished.returncode == 1
    assert Path(tmp_path / "run" / "test_conv_module.py").is_file()
