"""Run and sweep folders: nothing of the user's is removed or written over, a run is never mixed into an
earlier one, and an earlier run or sweep is continued with resume=true."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from toolkit.app.folders import lock_sweep_folder
from toolkit.errors import ConfigError

from .conftest import summary_rows

QUICK = ("trainer.max_epochs=1", "sched=none")


def signal_once(tmp_path: Path, number: int) -> list[str]:
    """The overrides of a user's callback that sends the run signal `number` once, as epoch index 1
    starts (one epoch finished and checkpointed); a resumed run goes through."""
    stop = ["+callbacks.stop._target_=stop_after_epoch.SignalOnce", "+callbacks.stop.epoch=1"]
    return [*stop, f"+callbacks.stop.signal_number={number}", f"+callbacks.stop.marker={tmp_path / 'stopped'}"]


def assert_same_result(run, other) -> None:
    """Two runs ended with the same losses and accuracies."""
    for key in ("train_loss", "val_loss", "val_acc", "test_acc"):
        assert run.metrics[key] == other.metrics[key], key


def tree(folder):
    """Every path under `folder` with its content (None for a folder)."""
    return {str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes() for path in folder.rglob("*")}


def test_a_failed_start_in_a_folder_of_the_users_removes_only_what_the_run_created(launch, tmp_path):
    folder = tmp_path / "mine"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "2025.txt").write_text("results")
    (folder / "plan.md").write_text("ideas")
    before = tree(folder)
    failed = launch("seed=-1", f"hydra.run.dir={folder}")
    assert failed.returncode == 1 and failed.stderr.startswith("Error: seed=-1")
    assert tree(folder) == before  # its .hydra/ and train.log went; the folder and the user's files stay


def test_the_working_folder_as_run_folder_keeps_its_files(launch, tmp_path):
    (tmp_path / "experiment-notes.txt").write_text("notes")
    failed = launch("seed=-1", "hydra.run.dir=.")
    assert failed.returncode == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["experiment-notes.txt"]


def test_a_folder_with_files_a_run_writes_is_refused_untouched(launch, tmp_path):
    folder = tmp_path / "mine"
    (folder / "logs" / "2025").mkdir(parents=True)
    (folder / "logs" / "2025" / "results.csv").write_text("a,b\n")
    (folder / "init_report.txt").write_text("my own report")
    before = tree(folder)
    refused = launch(*QUICK, f"hydra.run.dir={folder}")
    assert refused.returncode == 1
    assert refused.stderr == (
        f"Error: hydra.run.dir={folder} holds init_report.txt, logs/ of its own, which this run writes: "
        "give it an empty or new folder\n"
    )
    assert tree(folder) == before


def test_a_folder_holding_a_run_is_refused_or_resumed_never_mixed(train, tmp_path):
    first = train("trainer.max_epochs=2", "sched=none")
    before = tree(first.folder)
    again = train("trainer.max_epochs=1", "sched=none", "seed=1", check=False)
    assert again.process.returncode == 1
    assert again.process.stderr.startswith(f"Error: hydra.run.dir={first.folder} already holds a run (")
    assert "continue it with resume=true, or give this run a folder of its own" in again.process.stderr
    assert tree(first.folder) == before  # not even .hydra/ was written again

    resumed = train("trainer.max_epochs=3", "sched=none", "resume=true")
    with (first.folder / "logs" / "metrics.csv").open() as file:
        epochs = [row["epochs"] for row in csv.DictReader(file) if row["epochs"]]
    assert epochs == ["1.0", "2.0", "3.0"]  # epoch 3 was added to the same run
    assert resumed.metrics["epochs"] == 3 and len(list((first.folder / "checkpoints").glob("best-*"))) == 1

    finished = train("trainer.max_epochs=3", "sched=none", "resume=true")
    assert finished.process.stdout.startswith("already finished: val_acc=")
    assert finished.metrics == resumed.metrics


def test_resume_needs_a_run_to_continue(train):
    nothing = train(*QUICK, "resume=true", check=False)
    assert nothing.process.returncode == 1
    assert f"resume=true: hydra.run.dir={nothing.folder} holds no run to continue" in nothing.process.stderr


def test_a_sweep_folder_is_refused_resumed_and_locked(sweep):
    result, folder = sweep(*QUICK, "norm=bn,gn")
    assert result.returncode == 0, result.output[-3000:]
    metrics = [json.loads((folder / str(job) / "metrics.json").read_text()) for job in (0, 1)]

    again, _ = sweep(*QUICK, "norm=bn,gn")
    assert again.returncode == 1
    assert again.stderr.startswith(f"Error: hydra.sweep.dir={folder} already holds a sweep (multirun.yaml; summary.csv")

    resumed, _ = sweep(*QUICK, "norm=bn,gn", "resume=true")
    assert resumed.returncode == 0 and resumed.stdout.count("already finished: ") == 2
    assert [json.loads((folder / str(job) / "metrics.json").read_text()) for job in (0, 1)] == metrics
    expected = [f"{' '.join(QUICK)} norm={norm}" for norm in ("bn", "gn")]
    assert [row["overrides"] for row in summary_rows(folder)] == expected

    held = lock_sweep_folder(folder)  # a sweep running in the folder
    try:
        with pytest.raises(ConfigError, match="another sweep is running in this folder"):
            lock_sweep_folder(folder)
        busy, _ = sweep(*QUICK, "norm=bn,gn", "resume=true")
        assert busy.returncode == 1 and "another sweep is running in this folder" in busy.stderr
    finally:
        held.close()


@pytest.mark.parametrize(("number", "name", "status"), [(15, "SIGTERM", 143), (2, "SIGINT", 130)])
def test_sigterm_or_ctrl_c_is_not_a_finished_run_and_resume_finishes_it(
    train, tmp_path, monkeypatch, number, name, status, ctrl_c_raises
):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # a user's callback, as in test_train.py
    stop = signal_once(tmp_path, number)
    stopped = train("trainer.max_epochs=2", "sched=none", *stop, check=False)
    assert stopped.process.returncode == status  # 128 + the signal: a scheduler sees it did not finish
    resume = f"resume with: python train.py hydra.run.dir={stopped.folder} resume=true"
    assert stopped.process.stderr.splitlines()[-1] == f"stopped by {name} after epoch 1; {resume}"
    assert not (stopped.folder / "metrics.json").exists()
    last = torch.load(stopped.folder / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0 and last["state_dict"]  # epoch 1 (counted from 0), whole and loadable
    resumed = train("resume=true")  # the same command line, from the folder
    assert resumed.metrics["epochs"] == 2


@pytest.mark.parametrize(("number", "name", "status"), [(15, "SIGTERM", 143), (2, "SIGINT", 130)])
def test_loader_workers_ignore_the_signal_that_every_process_of_the_job_gets(
    train, tmp_path, monkeypatch, number, name, status, ctrl_c_raises
):
    """SLURM signals every process of a job, a terminal's Ctrl-C its whole process group: the loaders'
    workers get the signal too, ignore it, and the run stops after its last checkpoint; resumed, it ends
    with the metrics of a run never stopped (the workers are seeded as before)."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    data = ["data=synthetic", "data.samples=320", "data.size=16", "data.num_workers=2", "augment=cifar"]
    run = ["trainer.max_epochs=2", "sched=none", *data]  # 3 training batches (of 64) per epoch
    stop = signal_once(tmp_path, number)
    stopped = train(*run, *stop, "+callbacks.stop.workers=true", check=False)
    assert stopped.process.returncode == status, stopped.output[-3000:]
    assert stopped.process.stderr.splitlines()[-1].startswith(f"stopped by {name} after epoch 1; resume with: ")
    resumed = train(*run, *stop, "+callbacks.stop.workers=true", "resume=true")
    uninterrupted = train(*run, name="plain")
    assert_same_result(resumed, uninterrupted)


def test_a_resumed_model_with_dropout_draws_what_an_uninterrupted_one_draws(train, tmp_path, monkeypatch):
    """Checkpoints hold no random state: each step's comes from (seed, epoch, batch) alone."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "experiment"))  # user_code.DropoutNet
    run = ["trainer.max_epochs=2", "sched=none", "model=custom", "model._target_=user_code.DropoutNet"]
    stop = signal_once(tmp_path, 15)
    assert train(*run, *stop, check=False).process.returncode == 143
    resumed, uninterrupted = train(*run, *stop, "resume=true"), train(*run, name="plain")
    assert_same_result(resumed, uninterrupted)


@pytest.mark.slow
@pytest.mark.parametrize("rank", [None, 1], ids=["every-rank", "rank-1-only"])
def test_sigterm_stops_every_ddp_rank_at_the_same_step_and_resume_ends_as_an_uninterrupted_run(train, tmp_path, rank):
    """SLURM signals every task of a job at once; Lightning's own handler then deadlocks the ranks. A
    signal to any one rank stops them all after the same step, with one line and a whole last.ckpt."""
    ddp = ["trainer=ddp", "trainer.strategy=ddp", "trainer.devices=2", "trainer.accelerator=cpu"]
    run = [*ddp, "trainer.max_epochs=3", "sched=none", "trainer.deterministic=true"]
    stop = signal_once(tmp_path, 15)
    stop += [f"+callbacks.stop.rank={'null' if rank is None else rank}"]
    with pytest.MonkeyPatch.context() as patch:  # the ranks Lightning starts run the command line again
        patch.setenv("PYTHONPATH", str(Path(__file__).parent))
        stopped = train(*run, *stop, check=False, fresh=True)
        assert stopped.process.returncode == 143, stopped.output[-3000:]
        assert stopped.process.stderr.count("stopped by SIGTERM after epoch 1; resume with: ") == 1
        assert torch.load(stopped.folder / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
        if rank is not None:
            return
        resumed = train(*run, *stop, "resume=true", fresh=True)
        uninterrupted = train(*run, name="plain", fresh=True)
    assert_same_result(resumed, uninterrupted)


def test_a_job_stopped_by_sigterm_is_interrupted_in_the_summary_and_resume_finishes_it(sweep, tmp_path):
    stop = signal_once(tmp_path, 15)
    arguments = ["trainer.max_epochs=2", "sched=none", *stop, "norm=bn,gn"]
    stopped, folder = sweep(*arguments, pythonpath=Path(__file__).parent)
    assert stopped.returncode != 0
    rows = summary_rows(folder)
    assert rows[0]["status"] == "interrupted" and rows[0]["error"].startswith("StoppedBySignal: stopped by SIGTERM")
    resumed, _ = sweep(*arguments, "resume=true", pythonpath=Path(__file__).parent)
    assert resumed.returncode == 0 and [row["status"] for row in summary_rows(folder)] == ["completed"] * 2


@pytest.mark.slow
def test_a_sweep_killed_in_a_job_resumes_that_job_and_the_rest(sweep, tmp_path):
    kill = [
        "+callbacks.kill._target_=stop_after_epoch.SignalOnce",
        "+callbacks.kill.epoch=1",
        "+callbacks.kill.signal_number=9",
        f"+callbacks.kill.marker={tmp_path / 'killed'}",
    ]
    arguments = ["trainer.max_epochs=2", "sched=none", *kill, "norm=bn,gn"]
    killed, folder = sweep(*arguments, fresh=True, pythonpath=Path(__file__).parent)
    assert killed.returncode == -9 and not (folder / "1").exists()  # killed in job 0's second epoch
    assert [row["status"] for row in summary_rows(folder)] == ["running"]
    resumed, _ = sweep(*arguments, "resume=true", pythonpath=Path(__file__).parent)
    assert resumed.returncode == 0, resumed.output[-3000:]
    rows = summary_rows(folder)
    assert [row["status"] for row in rows] == ["completed"] * 2 and [row["epochs"] for row in rows] == ["2", "2"]
    with (folder / "0" / "logs" / "metrics.csv").open() as file:
        assert [row["epochs"] for row in csv.DictReader(file) if row["epochs"]] == ["1.0", "2.0"]  # epoch 1 kept


def test_resume_repeats_no_override_and_ends_as_an_uninterrupted_run(launch, tmp_path):
    setting = ["sched=none", "model.widths=[8]", "trainer.deterministic=true"]
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert launch(*setting, "trainer.max_epochs=3", f"hydra.run.dir={whole}").returncode == 0
    assert launch(*setting, "trainer.max_epochs=2", f"hydra.run.dir={part}").returncode == 0
    resumed = launch("resume=true", f"hydra.run.dir={part}", "trainer.max_epochs=3")  # nothing else repeated
    assert resumed.returncode == 0, resumed.output[-3000:]
    finished, stopped = (json.loads((folder / "metrics.json").read_text()) for folder in (whole, part))
    assert stopped["config"]["model"]["widths"] == [8] and stopped["epochs"] == 3
    for name in ("val_acc", "val_loss", "test_acc", "train_loss"):
        assert stopped[name] == pytest.approx(finished[name], abs=1e-6), name


def test_a_resumed_sweep_runs_the_failed_job_again_and_new_combinations_in_new_folders(sweep, tmp_path):
    fail = ["+callbacks.fail._target_=stop_after_epoch.FailOnce", f"+callbacks.fail.marker={tmp_path / 'failed'}"]
    user_code = Path(__file__).parent
    first, folder = sweep(*QUICK, *fail, "norm=bn,gn", pythonpath=user_code)
    assert first.returncode == 1 and [row["status"] for row in summary_rows(folder)] == ["failed", "completed"]
    finished = (folder / "1" / "metrics.json").read_bytes()
    resumed, _ = sweep("norm=bn,in,gn", "resume=true", pythonpath=user_code)  # the rest comes from the folder
    assert resumed.returncode == 0, resumed.output[-3000:]
    assert resumed.stdout.count("already finished: ") == 1 and (folder / "1" / "metrics.json").read_bytes() == finished
    rows = summary_rows(folder)
    norms = [next(override for override in row["overrides"].split() if override.startswith("norm=")) for row in rows]
    assert [(row["job"], row["status"], norm) for row, norm in zip(rows, norms, strict=True)] == [
        ("0", "completed", "norm=bn"),  # failed before, run again in its own folder
        ("1", "completed", "norm=gn"),
        ("3", "completed", "norm=in"),  # a new combination: a new folder after the earlier ones
    ]


def test_a_mandatory_value_not_given_is_one_line_and_leaves_no_folder(train):
    missing = train("data=folder", check=False)
    assert (
        missing.process.returncode == 1
        and missing.process.stderr == "Error: data.root is not set: give data.root=...\n"
    )
    assert not missing.folder.exists()
