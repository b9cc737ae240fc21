"""Shared fixtures: Hydra's compose API over the project's conf/, and the hypothesis profile."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hypothesis import settings

import toolkit.config  # noqa: F401 (registers the schemas)

CONF = Path(__file__).resolve().parents[1] / "conf"

# CI explores the same examples on every run; local runs explore new ones.
settings.register_profile("ci", derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="module")
def compose_config():
    """`compose_config(*overrides)` -> the composed config; Hydra's global state is cleared after."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        yield lambda *overrides: compose("config", overrides=list(overrides))
    GlobalHydra.instance().clear()
