"""The charts a run or a sweep writes (curves.png, confusion.png, lr_find.png, summary.png): matplotlib
on its file-only backend, imported on first use, and each PNG written atomically.

>>> plt = pyplot()
>>> figure, _ = plt.subplots()
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), 'chart.png')
>>> save_png(figure, path)
>>> open(path, 'rb').read(4)
b'\\x89PNG'
"""

from __future__ import annotations

import os
from typing import Any

from .files import atomic_file


def pyplot() -> Any:
    """`matplotlib.pyplot` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(figure: Any, path: str | os.PathLike[str]) -> None:
    """Write `figure` to `path` as a PNG, atomically (a reader never sees half a chart), and close it."""
    with atomic_file(path) as file:
        figure.savefig(file, format="png", dpi=100)
    pyplot().close(figure)
