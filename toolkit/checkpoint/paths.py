"""Where toolkit keeps downloads and the user's model-zoo tables: `$TOOLKIT_HOME`.

>>> import os
>>> os.environ['TOOLKIT_HOME'] = '/tmp/toolkit-home'
>>> str(toolkit_home()), str(checkpoint_cache())
('/tmp/toolkit-home', '/tmp/toolkit-home/checkpoints')
>>> del os.environ['TOOLKIT_HOME']
"""

from __future__ import annotations

import os
from pathlib import Path


def toolkit_home() -> Path:
    """`$TOOLKIT_HOME`, read at each call, or `~/.cache/toolkit`."""
    return Path(os.environ.get("TOOLKIT_HOME") or Path("~/.cache/toolkit")).expanduser()


def checkpoint_cache() -> Path:
    """The folder that downloaded checkpoints are kept in."""
    return toolkit_home() / "checkpoints"
