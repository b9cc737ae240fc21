"""The SLURM launcher on a real one-node cluster (`scripts/slurm_cluster.sh start`, then `SLURM_CONF`
exported): sweeps submitted as job arrays, failures, requeues and DDP across SLURM tasks."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import in_this_process

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ["hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=10"]


def cluster_reason() -> str | None:
    """Why the tests cannot run here (None: a cluster answers)."""
    if not os.environ.get("SLURM_CONF") or shutil.which("sinfo") is None:
        return "no SLURM cluster: start one with scripts/slurm_cluster.sh start and export SLURM_CONF"
    answer = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    return None if answer.returncode == 0 and answer.stdout.strip() else f"sinfo does not answer: {answer.stderr}"


pytestmark = [pytest.mark.slurm, pytest.mark.slow]
if reason := cluster_reason():
    pytestmark.append(pytest.mark.skip(reason=reason))


def sweep(
    folder: Path, *overrides: str, wait: bool = True, timeout: float = 240
) -> subprocess.Popen | subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "train.py"), "-m", *LAUNCHER, f"hydra.sweep.dir={folder}", *overrides]
    callbacks = [str(Path(__file__).parent), str(ROOT / "tests" / "cli")]  # the jobs import the tests' callbacks
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(callbacks)}
    if not wait:
        return subprocess.Popen(
            command, cwd=folder.parent, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    return subprocess.run(command, cwd=folder.parent, env=environment, capture_output=True, text=True, timeout=timeout)


def summary(folder: Path) -> list[dict[str, str]]:
    with open(folder / "summary.csv") as file:
        return list(csv.DictReader(file))


def job_ids(folder: Path) -> list[str]:
    """The SLURM ids of a sweep's jobs: submitit's folders, `<array>_<index>` (a sweep of one: `<job>`)."""
    names = [path.name for path in (folder / ".submitit").iterdir() if path.is_dir()]
    tasks = sorted(name for name in names if "_" in name)
    return tasks or sorted(name for name in names if name.isdigit())


def states(ids: list[str]) -> dict[str, str]:
    listed = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(ids)], capture_output=True, text=True
    ).stdout
    return dict(line.split("|", 1) for line in listed.split())


def until(condition, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.5)


def test_a_sweep_is_one_job_array_a_failed_job_is_reported_and_resume_true_runs_it_again(tmp_path):
    folder = tmp_path / "sweep"
    fail = ["+callbacks.fail._target_=stop_after_epoch.FailOnce", f"+callbacks.fail.marker={tmp_path / 'failed'}"]
    first = sweep(folder, "trainer.max_epochs=1", *fail, "norm=bn,gn")
    assert first.returncode == 1, first.stdout[-3000:] + first.stderr[-3000:]  # the sweep ends, and says so
    rows = summary(folder)
    assert sorted(row["status"] for row in rows) == ["completed", "failed"]
    assert [row["error"] for row in rows if row["status"] == "failed"] == ["RuntimeError: a transient failure"]
    ids = job_ids(folder)
    assert len(ids) == 2 and len({identifier.split("_")[0] for identifier in ids}) == 1  # one array
    until(lambda: set(states(ids).values()) == {"COMPLETED"})  # SLURM ran both; the failure is the run's
    resumed = sweep(folder, "resume=true")  # the sweep's own overrides come from its folder
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert [row["status"] for row in summary(folder)] == ["completed", "completed"]


RUN = ["trainer.max_epochs=3", "trainer.deterministic=true", "sched=none", "seed=3"]  # a job to interrupt


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    """The metrics of `RUN` run here, where nothing interrupts it: what a job computes does not depend on
    where it runs."""
    folder = tmp_path_factory.mktemp("uninterrupted") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder.parent)
        patch.setattr(sys, "argv", [str(ROOT / "train.py"), *RUN, f"hydra.run.dir={folder}"])
        finished = in_this_process()
    assert finished.returncode == 0, finished.output[-3000:]
    return json.loads((folder / "metrics.json").read_text())


def same_result(metrics: dict, uninterrupted: dict) -> None:
    for name in ("val_acc", "val_loss", "test_acc", "train_loss", "epochs"):
        assert metrics[name] == uninterrupted[name], name


def test_a_requeued_job_continues_from_its_last_checkpoint_to_the_metrics_of_an_uninterrupted_one(
    tmp_path, uninterrupted
):
    run = RUN
    pause = ["+callbacks.pause._target_=pause_once.PauseOnce", "+callbacks.pause.epoch=1"]
    pause += ["+callbacks.pause.seconds=60", f"+callbacks.pause.marker={tmp_path / 'paused'}"]
    requeued = sweep(tmp_path / "requeued", *run, *pause, wait=False)
    try:
        last = tmp_path / "requeued" / "0" / "checkpoints" / "last.ckpt"
        until(lambda: last.is_file() and (tmp_path / "paused").exists(), 120)
        (job,) = job_ids(tmp_path / "requeued")
        subprocess.run(["scontrol", "requeue", job], check=True)
        output, _ = requeued.communicate(timeout=240)
    finally:
        requeued.kill()
    assert requeued.returncode == 0, output[-4000:]
    assert (
        "REQUEUED"
        in subprocess.run(["sacct", "-n", "-D", "-X", "-o", "State", "-j", job], capture_output=True, text=True).stdout
    )
    same_result(json.loads((tmp_path / "requeued" / "0" / "metrics.json").read_text()), uninterrupted)


def test_a_job_signalled_before_its_time_limit_is_requeued_by_submitit_and_ends_as_an_uninterrupted_one(
    tmp_path, uninterrupted
):
    """`hydra.launcher.signal_delay_s` before `timeout_min`, SLURM signals the job (USR2); submitit requeues
    it, and each attempt continues from the last.ckpt of the one before. With a one-minute limit and the
    signal 40 s before it, every attempt is signalled at slurmctld's first 30 s tick from its 20th second
    (by then submitit catches the signal, which at the very start would kill the job, and a loaded
    machine has written the first checkpoint), so the first one (held after its first checkpoint)
    surely is, and the job ends after however many attempts it takes."""
    limit = ["hydra.launcher.timeout_min=1", "hydra.launcher.signal_delay_s=40", "hydra.launcher.max_num_timeout=20"]
    pause = ["+callbacks.pause._target_=pause_once.PauseOnce", "+callbacks.pause.epoch=1"]
    pause += ["+callbacks.pause.seconds=100", f"+callbacks.pause.marker={tmp_path / 'paused'}"]
    folder = tmp_path / "limited"
    result = sweep(folder, *RUN, *limit, *pause, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (job,) = job_ids(folder)
    log = next((folder / ".submitit" / job).glob("*_log.out")).read_text()
    assert "Caught signal SIGUSR2" in log and "this job is timed-out" in log and "Requeued job" in log
    assert "Restoring states from the checkpoint path at" in log  # an attempt went on from last.ckpt
    same_result(json.loads((folder / "0" / "metrics.json").read_text()), uninterrupted)


def test_two_slurm_tasks_form_one_ddp_run(tmp_path):
    folder = tmp_path / "sweep"
    ddp = ["hydra.launcher.tasks_per_node=2", "trainer=ddp", "trainer.strategy=ddp", "trainer.devices=2"]
    result = sweep(folder, *ddp, "trainer.accelerator=cpu", "trainer.max_epochs=1", "norm=syncbn")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((folder / "0" / "metrics.json").read_text())
    assert metrics["environment"]["world_size"] == 2 and 0 <= metrics["val_acc"] <= 1
    assert [row["status"] for row in summary(folder)] == ["completed"]
