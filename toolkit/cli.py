"""The command line: `python train.py` or `toolkit-train`, with Hydra overrides.

Only Hydra and the config schemas are imported up front; torch and Lightning load when a run
starts, so `--help` and `--cfg job` answer at once.

Bad input (a config that cannot be built, a checkpoint that cannot be read, a loss that becomes
NaN) ends a single run with its message alone on stderr and exit status 1; a run stopped before
training leaves no output folder behind. Inside a `-m` sweep the error is recorded as the job's
failure instead. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

import toolkit.config  # noqa: F401 (registers the schemas in Hydra's ConfigStore)

CONF = Path(__file__).resolve().parents[1] / "conf"
RUN_FILES = (".hydra", "init_report.txt", "logs")


def discard_run_folder(folder: Path, job_name: str) -> None:
    """Remove what a run that never started wrote, then the folder and its parents while empty."""
    for name in (*RUN_FILES, f"{job_name}.log"):
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()
    stop = Path.cwd().resolve()
    for path in [folder.resolve(), *folder.resolve().parents]:
        if path == stop or stop.is_relative_to(path) or any(path.iterdir()):
            break
        path.rmdir()


def task(cfg: DictConfig) -> float:
    """Train or evaluate as the config says; returns the final val_acc."""
    from toolkit.checkpoint import CheckpointError
    from toolkit.config.bridge import ConfigError
    from toolkit.training import run
    from toolkit.training.module import NonFiniteLossError

    try:
        return run(cfg)
    except (ConfigError, CheckpointError, NonFiniteLossError) as error:
        hydra_cfg = HydraConfig.get()
        if hydra_cfg.mode == RunMode.MULTIRUN:
            raise
        if not isinstance(error, NonFiniteLossError):
            discard_run_folder(Path(hydra_cfg.runtime.output_dir), hydra_cfg.job.name)
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)


def main() -> None:
    """Run `task` under Hydra with the config tree in `conf/`."""
    hydra.main(version_base=None, config_path=str(CONF), config_name="config")(task)()
