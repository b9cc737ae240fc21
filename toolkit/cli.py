"""The command line: `python train.py` or `toolkit-train`, with Hydra overrides.

Only Hydra and the config schemas are imported up front; torch and Lightning load when a run
starts, so `--help` and `--cfg job` answer at once.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

import toolkit.config  # noqa: F401 (registers the schemas in Hydra's ConfigStore)

CONF = Path(__file__).resolve().parents[1] / "conf"


def task(cfg: DictConfig) -> float:
    """Train or evaluate as the config says; returns the final val_acc."""
    from toolkit.training import run

    return run(cfg)


def main() -> None:
    """Run `task` under Hydra with the config tree in `conf/`."""
    hydra.main(version_base=None, config_path=str(CONF), config_name="config")(task)()
