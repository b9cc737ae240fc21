"""Every Python example in the README and in the docs pages runs as written, each block on its own."""

import re
from pathlib import Path

import pytest

import toolkit
from toolkit.checkpoint import CHECKPOINT_LOADERS

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCKS = [(page, code) for page in PAGES for code in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)]
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


def block_ids() -> list[str]:
    seen: dict[Path, int] = {}
    ids = []
    for page, _ in BLOCKS:
        seen[page] = seen.get(page, 0) + 1
        ids.append(f"{page.relative_to(ROOT)}:{seen[page]}")
    return ids


def test_the_pages_have_examples():
    assert len(BLOCKS) >= 10 and len({page for page, _ in BLOCKS}) >= 4


@pytest.mark.parametrize(("page", "code"), BLOCKS, ids=block_ids())
def test_example_runs(page, code, restored_registries, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(page), "exec"), {"__name__": "docs"})


def test_the_readme_is_an_overview():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_every_link_between_pages_resolves():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text()):
            if not (page.parent / target).is_file():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []
