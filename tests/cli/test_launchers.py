"""The joblib launcher runs jobs in parallel with the cores shared out; the SLURM config composes, and its
jobs requeue when signalled at any point after submitit takes them over."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import summary_rows


def installed(module: str) -> bool:
    """Whether `module` can be imported; False also when a parent package is missing (find_spec raises then)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


needs_plugins = pytest.mark.skipif(
    not installed("hydra_plugins.hydra_joblib_launcher"), reason="needs the sweep extra (pip install -e .[sweep])"
)


def test_the_skip_guard_skips_when_the_parent_package_is_missing():
    assert not installed("no_such_package.launcher") and installed("hydra")


@needs_plugins
@pytest.mark.slow
def test_joblib_runs_four_jobs_two_at_a_time_and_the_summary_records_the_failed_ones(sweep):
    result, folder = sweep(
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "norm=gn",
        "norm.num_groups=8,3",
        "init=kaiming,xavier",
        "trainer.max_epochs=1",
    )
    assert result.returncode == 1  # Hydra reports the failed jobs once the sweep is over
    assert sorted(path.name for path in folder.iterdir() if path.is_dir()) == ["0", "1", "2", "3"]
    rows = summary_rows(folder)
    assert [row["overrides"] for row in rows] == [
        f"norm=gn norm.num_groups={groups} init={init} trainer.max_epochs=1"
        for groups in (8, 3)
        for init in ("kaiming", "xavier")
    ]
    assert [row["status"] for row in rows] == ["completed", "completed", "failed", "failed"]
    assert all(0 < float(row["val_acc"]) <= 1 for row in rows[:2])
    assert all("num_groups=3 does not divide the 32 channels" in row["error"] for row in rows[2:])
    threads = {json.loads((folder / str(job) / "metrics.json").read_text())["torch_threads"] for job in range(2)}
    assert threads == {max(1, (os.cpu_count() or 1) // 2)}
    table = (folder / "summary.md").read_text().splitlines()
    accuracies = [float(line.split("|")[4]) for line in table[2:4]]
    assert accuracies == sorted(accuracies, reverse=True) and "failed" in table[4] and "failed" in table[5]
    assert (folder / "summary.png").read_bytes()[:4] == b"\x89PNG"


@needs_plugins
def test_slurm_launcher_config_composes(compose_config):
    cfg = compose_config("hydra/launcher=slurm", return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.timeout_min, launcher.tasks_per_node, launcher.gpus_per_node, launcher.mem_gb) == (
        240,
        1,
        None,
        None,
    )
    on_gpus = compose_config(
        "hydra/launcher=slurm", "trainer.accelerator=gpu", "trainer.devices=4", return_hydra_config=True
    )
    assert on_gpus.hydra.launcher.gpus_per_node == 4  # follows the Trainer unless set
    asked = ["hydra/launcher=slurm", "hydra.launcher.gpus_per_node=2", "hydra.launcher.mem_gb=16"]
    assert compose_config(*asked, return_hydra_config=True).hydra.launcher.mem_gb == 16


@needs_plugins
def test_a_slurm_sweep_whose_signal_would_come_at_the_start_stops_before_submitting(sweep):
    """The launcher's default signal_delay_s (120) with a two-minute limit: SLURM would signal each job as
    it starts, and it would die of the signal before it could requeue itself."""
    result, folder = sweep("hydra/launcher=slurm", "hydra.launcher.timeout_min=2", "norm=bn,gn")
    assert result.returncode == 1 and not (folder / ".submitit").exists()
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: hydra.launcher.signal_delay_s=120 is not shorter than hydra.launcher.timeout_min=2 (120 s): "
        "SLURM would signal every job as it starts; lower signal_delay_s or raise timeout_min"
    )


@needs_plugins
def test_a_slurm_job_signalled_while_hydra_reads_its_config_requeues_instead_of_failing(tmp_path):
    """SLURM's signal (USR2: time limit or preemption) as Hydra opens a config file of the job: submitit's
    handler exits to requeue the job, and Hydra's config reader turns that exit into an UnboundLocalError,
    which fails the job. The toolkit's launcher holds the signal back until the task starts, where the
    exit goes through (the task does not start: the job is requeued)."""
    script = Path(__file__).with_name("signalled_job.py")

    def job_with(launcher: str) -> list[str]:
        run = subprocess.run(
            [sys.executable, str(script), launcher, str(tmp_path / launcher)], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        return run.stdout.split()

    assert job_with("hydra_plugins.toolkit_launcher.SlurmLauncher") == ["SystemExit"]
    assert job_with("hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher") == ["UnboundLocalError"]
