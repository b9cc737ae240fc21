"""Every Python example in the README runs as written."""

import re
from pathlib import Path

import pytest

import toolkit
from toolkit.checkpoint import CHECKPOINT_LOADERS

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
REGISTRIES = [
    toolkit.CONV_LAYERS,
    toolkit.NORM_LAYERS,
    toolkit.ACTIVATION_LAYERS,
    toolkit.UPSAMPLE_LAYERS,
    toolkit.PADDING_LAYERS,
    toolkit.INITIALIZERS,
    CHECKPOINT_LOADERS,
]


@pytest.fixture
def restored_registries():
    saved = [dict(registry.module_dict) for registry in REGISTRIES]
    yield
    for registry, entries in zip(REGISTRIES, saved, strict=True):
        registry.module_dict.clear()
        registry.module_dict.update(entries)


def test_readme_has_examples():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, restored_registries, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
