"""Hydra's compose API over the project's conf/, initialized once per test module."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

import toolkit.config  # noqa: F401 (registers the schemas)

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.fixture(scope="module")
def compose_config():
    """`compose_config(*overrides)` -> the composed config; Hydra's global state is cleared after."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        yield lambda *overrides: compose("config", overrides=list(overrides))
    GlobalHydra.instance().clear()
