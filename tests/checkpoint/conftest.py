"""A fresh $TOOLKIT_HOME per checkpoint test (the loopback HTTP server is in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def toolkit_home(tmp_path, monkeypatch):
    home = tmp_path / "toolkit-home"
    monkeypatch.setenv("TOOLKIT_HOME", str(home))
    return home
