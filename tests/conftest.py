"""Shared fixtures: Hydra's compose API over the shipped config tree (`toolkit.conf`), and the hypothesis profile."""

from __future__ import annotations

import os

# Under pytest-xdist the workers share the cores: one torch (OpenMP) thread per worker and per
# process it starts, set before torch loads, so threads never wait on each other for a core.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hypothesis import settings

import toolkit.config  # noqa: F401 (registers the schemas)
from toolkit.config.bridge import build_model, initialize_model

# CI explores the same examples on every run; local runs explore new ones.
settings.register_profile("ci", derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="module")
def compose_config():
    """`compose_config(*overrides)` -> the composed config; Hydra's global state is cleared after."""
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="toolkit.conf", version_base=None):
        yield lambda *overrides: compose("config", overrides=list(overrides))
    GlobalHydra.instance().clear()


def built(cfg, num_classes: int = 10, in_channels: int = 1):
    """The config's model for data of `num_classes` and `in_channels` (the digits'), initialized."""
    model = build_model(cfg, num_classes, in_channels)
    initialize_model(model, cfg)
    return model
