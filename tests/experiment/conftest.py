"""The experiment-layer tests import a user's own code from this folder (`user_code.py`)."""

from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture
def user_code(monkeypatch):
    """Make `user_code` importable, as a user's PYTHONPATH would."""
    monkeypatch.syspath_prepend(str(HERE))
    import user_code

    return user_code
