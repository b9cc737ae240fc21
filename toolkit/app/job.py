"""The Hydra job a run belongs to: its output folder, its overrides, its share of the cores, and the
strategy a sweep's job may not use."""

from __future__ import annotations

import os
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from ..config.root import TrainConfig
from ..errors import ConfigError


def output_dir() -> Path:
    """The Hydra run folder (the working folder outside Hydra)."""
    return Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else Path.cwd()


def saved_overrides(folder: Path) -> list[str]:
    """The overrides the run in `folder` was started with (Hydra's `.hydra/overrides.yaml`; none without it)."""
    import yaml

    path = folder / ".hydra" / "overrides.yaml"
    return [str(override) for override in yaml.safe_load(path.read_text()) or []] if path.is_file() else []


def overrides() -> list[str]:
    """The command-line overrides of this job (none outside Hydra)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def thread_count(cfg: TrainConfig) -> int | None:
    """`threads=N`; else, under a parallel launcher (joblib's n_jobs), the job's share of the cores."""
    if cfg.threads is not None or not HydraConfig.initialized():
        return cfg.threads
    jobs = HydraConfig.get().launcher.get("n_jobs")
    cores = os.cpu_count() or 1
    return max(1, cores // (cores if jobs == -1 else jobs)) if jobs else None


def sweeping() -> bool:
    """Whether this job is one of a `-m` sweep's."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def check_strategy(cfg: TrainConfig) -> None:
    """Stop a `-m` sweep's job that asks for `trainer.strategy=ddp`: Lightning starts each of its ranks by
    running the command line again, which would re-enter the sweep; unless SLURM started the ranks as its
    tasks (`hydra.launcher.tasks_per_node`), which Lightning's plain `ddp` joins."""
    if sweeping() and cfg.trainer.get("strategy") == "ddp" and int(os.environ.get("SLURM_NTASKS", "1")) < 2:
        raise ConfigError(
            "trainer.strategy=ddp starts each rank by running the command line again, which re-enters a -m sweep: "
            "use trainer.strategy=ddp_spawn (as trainer=ddp and trainer=ddp_cpu do)"
        )
