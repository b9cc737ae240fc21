"""The Hydra application: `python train.py`, `python -m toolkit` and `toolkit-train` are `main()`.

Everything that knows Hydra's job lives here: the entry point, the job context (output folder,
overrides, the share of cores), the sweep summary callback and the generated `--help`. The config
tree ships inside the package as `toolkit.conf`, so the command works from any folder.
"""

from .cli import main, task

__all__ = ["main", "task"]
