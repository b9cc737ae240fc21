"""`python train.py` as the user runs it: the default run and its outputs, a killed run (in a fresh
process) and its resume, Ctrl-C, and bad input as the user sees it. `run()` itself is tested in
tests/training."""

import csv
import os
import signal
import stat
from pathlib import Path

import pytest
import torch

from toolkit.errors import StoppedBySignal
from toolkit.models import SimpleCNN
from toolkit.training.run import run

from ..conftest import set_up
from .conftest import summary_rows

SYNTHETIC = [
    "data=synthetic",
    "data.samples=512",
    "data.size=16",
    "trainer.max_epochs=4",
    "trainer.deterministic=true",
    "threads=2",  # the same reduction order in the stopped process and in this one
]


@pytest.mark.slow
def test_default_run_reaches_097_and_writes_every_output(train):
    run = train()
    metrics = run.metrics
    assert metrics["val_acc"] >= 0.97 and metrics["test_acc"] >= 0.97 and metrics["epochs"] == 12
    assert {"val_loss", "test_loss", "train_loss", "train_acc", "wall_time_s", "parameters"} <= set(metrics)
    assert Path(metrics["tested_with"]).name.startswith("best-epoch")
    assert metrics["parameters"] == sum(p.numel() for p in SimpleCNN(1, 10).parameters())
    report = (run.folder / "init_report.txt").read_text().splitlines()
    assert report[0].split() == ["parameter", "shape", "initializer"]
    assert any(line.startswith("stages.0.0.conv.weight") and "Kaiming(" in line for line in report)
    assert (run.folder / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(path.name for path in run.folder.iterdir()) == [
        ".hydra",
        "checkpoints",
        "confusion.png",
        "curves.png",
        "history.json",
        "init_report.txt",
        "logs",
        "metrics.json",
        "train.log",
    ]
    checkpoints = sorted(path.name for path in (run.folder / "checkpoints").iterdir())
    assert len(checkpoints) == 2 and checkpoints[1] == "last.ckpt", checkpoints
    best_epoch = int(checkpoints[0].removeprefix("best-epoch")[:2])  # counted from 1, as the progress bar
    assert 1 <= best_epoch <= 12 and checkpoints[0].endswith(".ckpt") and "-val_acc0." in checkpoints[0]
    assert torch.load(run.folder / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 11  # the 12th
    umask = os.umask(0)
    os.umask(umask)
    for name in ("checkpoints/last.ckpt", f"checkpoints/{checkpoints[0]}", "metrics.json", "init_report.txt"):
        assert stat.S_IMODE((run.folder / name).stat().st_mode) == 0o666 & ~umask, name
    summary = [line for line in run.process.stdout.splitlines() if line.startswith("val_acc=")]
    assert len(summary) == 1 and str(run.folder) in summary[0] and f"test_acc={metrics['test_acc']:.4f}" in summary[0]


STOP_AT_EPOCH_3 = [
    "+callbacks.stop._target_=stop_after_epoch.SignalAtEpochStart",  # a user's own callback
    "+callbacks.stop.epoch=2",
]


@pytest.mark.slow
def test_a_killed_run_keeps_its_last_epoch_and_resumes_to_the_same_result(compose_config, launch, tmp_path):
    folder = tmp_path / "stopped"
    stop = [*STOP_AT_EPOCH_3, f"+callbacks.stop.signal_number={int(signal.SIGKILL)}"]
    killed = launch(*SYNTHETIC, *stop, f"hydra.run.dir={folder}", fresh=True, pythonpath=Path(__file__).parent)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    last = folder / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 1  # epochs 1 and 2 (Lightning's 0 and 1) finished
    assert not list((folder / "checkpoints").glob("*.part"))
    whole = run(compose_config(*SYNTHETIC), tmp_path / "whole")
    resumed = run(compose_config(*SYNTHETIC, f"ckpt_path={last}"), tmp_path / "resumed")
    with (tmp_path / "resumed" / "logs" / "metrics.csv").open() as file:
        trained = [row["epochs"] for row in csv.DictReader(file) if row["epochs"]]
    assert trained == ["3.0", "4.0"]  # only the remaining epochs
    for name in ("val_acc", "val_loss", "test_acc"):
        assert resumed[name] == pytest.approx(whole[name], abs=1e-6), name


def test_ctrl_c_stops_after_the_last_finished_epoch(compose_config, tmp_path, monkeypatch, ctrl_c_raises):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    stop = [*STOP_AT_EPOCH_3, f"+callbacks.stop.signal_number={int(signal.SIGINT)}"]
    with pytest.raises(StoppedBySignal, match="stopped by SIGINT after epoch 2") as stopped:  # graceful
        run(compose_config(*SYNTHETIC, *stop), tmp_path)
    assert stopped.value.exit_status == 130
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1
    assert not list((tmp_path / "checkpoints").glob("*.part"))


def test_a_config_error_is_one_clean_message_and_leaves_no_folder(train):
    gn = train("norm=gn", "norm.num_groups=3", check=False)
    assert gn.process.returncode == 1
    assert gn.process.stderr.startswith("Error: cannot build model=SimpleCNN with conv=")
    assert "num_groups=3 does not divide the 32 channels" in gn.output
    assert "Traceback" not in gn.output and "HYDRA_FULL_ERROR" not in gn.output
    assert not gn.folder.exists()  # a run that never started leaves no output folder


def test_an_error_in_a_data_loader_worker_is_its_own_message_in_a_run_and_in_a_sweep(train, sweep, tmp_path):
    from PIL import Image

    from toolkit.training.image_folder import FolderData

    for label, color in (("red", (220, 20, 20)), ("blue", (20, 20, 220))):
        (tmp_path / "images" / label).mkdir(parents=True)
        for index in range(10):
            Image.new("RGB", (12, 12), color=color).save(tmp_path / "images" / label / f"{index}.png")
    data = set_up(FolderData(root=str(tmp_path / "images"), seed=0))
    broken, _ = data.dataset.files[data.test_set.source.indices[0]]  # met by a worker when the test split is scored
    Path(broken).write_bytes(b"\x89PNG\r\n\x1a\n not really")
    overrides = ["data=folder", f"data.root={tmp_path / 'images'}", "data.size=8", "data.num_workers=1", "seed=0"]
    message = f"cannot read the image '{broken}': its format cannot be identified"
    single = train(*overrides, "trainer.max_epochs=1", check=False)
    assert single.process.returncode == 1 and single.process.stderr.splitlines() == [f"Error: {message}"]
    result, folder = sweep(*overrides, "trainer.max_epochs=1,2")
    assert result.returncode == 1
    assert [row["error"] for row in summary_rows(folder)] == [f"ConfigError: {message}"] * 2


def test_runs_without_validation_end_normally_alone_and_in_a_sweep(train, sweep, recwarn):
    no_validation = ["trainer.limit_val_batches=0", "trainer.max_epochs=1"]
    trained = train(*no_validation)
    metrics = trained.metrics
    assert "val_acc" not in metrics and 0 <= metrics["test_acc"] <= 1 and metrics["tested_with"] == "the final weights"
    assert (trained.folder / "curves.png").is_file()
    assert not [warning for warning in recwarn if "No artists with labels" in str(warning.message)]
    untrained = train("trainer.max_epochs=0", name="untrained", check=False)  # it would score untrained weights
    assert untrained.process.stderr.startswith("Error: trainer.max_epochs=0 trains nothing")
    result, folder = sweep(*no_validation, "norm=bn,gn")
    assert result.returncode == 0, result.output[-3000:]
    rows = summary_rows(folder)
    assert [row["status"] for row in rows] == ["completed"] * 2 and [row["val_acc"] for row in rows] == ["", ""]
    assert result.output.count("optimized_metric=val_acc: this run reported none (did validation run?)") == 2


def test_a_run_where_srun_is_installed_gives_no_hint_to_prepend_it(train, tmp_path, monkeypatch, recwarn):
    """On a SLURM login node Lightning tells a run not started by srun to `srun python train.py`; the
    toolkit's way onto SLURM is `-m hydra/launcher=slurm`, which starts each job with srun itself."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    (bin_folder / "srun").write_text("#!/bin/sh\nexit 1\n")
    (bin_folder / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    assert train("trainer.max_epochs=1").metrics["epochs"] == 1
    assert not [warning for warning in recwarn if "srun" in str(warning.message)]
