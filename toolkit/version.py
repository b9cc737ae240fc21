"""The package's version: the one place it is written (pyproject.toml reads it from here).

Modules take it from here rather than from the package's `__init__`, so it is there even when a
folder named `toolkit` in the working folder (a clone, run from its parent) hides the package's
`__init__` behind a namespace package.
"""

__version__ = "0.1.0"
