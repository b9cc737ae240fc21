"""The joblib launcher runs jobs in parallel with the cores shared out; the SLURM config composes."""

import importlib.util
import json
import os

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from .conftest import ROOT
from .test_sweep import summary_rows, sweep

needs_plugins = pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_joblib_launcher") is None, reason="needs the sweep extra"
)


@needs_plugins
@pytest.mark.slow
def test_joblib_runs_a_four_job_sweep_two_at_a_time(tmp_path):
    result, folder = sweep(
        tmp_path,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "norm=bn,gn",
        "init=kaiming,xavier",
        "trainer.max_epochs=1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert [row["status"] for row in summary_rows(folder)] == ["completed"] * 4
    threads = {json.loads((folder / str(job) / "metrics.json").read_text())["torch_threads"] for job in range(4)}
    assert threads == {max(1, (os.cpu_count() or 1) // 2)}


@needs_plugins
def test_slurm_launcher_config_composes():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        cfg = compose("config", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
    GlobalHydra.instance().clear()
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.timeout_min, launcher.tasks_per_node, launcher.gpus_per_node) == (240, 1, 1)
