"""`python train.py` end to end: outputs, overrides, resume after a kill, eval, export, bad input."""

import csv
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from toolkit import load_checkpoint
from toolkit.models import SimpleCNN

from .conftest import command

SHORT = "trainer.max_epochs=2"
SYNTHETIC = [
    "data=synthetic",
    "data.samples=1024",
    "data.size=32",
    "trainer.max_epochs=4",
    "trainer.deterministic=true",
]


@pytest.mark.slow
def test_default_run_reaches_097_and_writes_every_output(train):
    run = train()
    metrics = run.metrics
    assert metrics["val_acc"] >= 0.97 and metrics["epochs"] == 12
    assert {"val_loss", "train_loss", "train_acc", "wall_time_s", "parameters", "overrides"} <= set(metrics)
    assert metrics["parameters"] == sum(p.numel() for p in SimpleCNN(1, 10).parameters())
    report = (run.folder / "init_report.txt").read_text().splitlines()
    assert report[0].split() == ["parameter", "shape", "initializer"]
    assert any(line.startswith("stages.0.0.conv.weight") and "Kaiming(" in line for line in report)
    assert (run.folder / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    checkpoints = sorted(path.name for path in (run.folder / "checkpoints").iterdir())
    assert len(checkpoints) == 2 and checkpoints[1] == "last.ckpt", checkpoints
    best_epoch = int(checkpoints[0].removeprefix("best-epoch")[:2])  # counted from 1, as the progress bar
    assert 1 <= best_epoch <= 12 and checkpoints[0].endswith(".ckpt") and "-val_acc0." in checkpoints[0]
    assert torch.load(run.folder / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 11  # the 12th
    umask = os.umask(0)
    os.umask(umask)
    for name in ("checkpoints/last.ckpt", checkpoints[0], "metrics.json", "init_report.txt", "curves.png"):
        path = run.folder / name if "/" in name or not name.startswith("best") else run.folder / "checkpoints" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, name
    summary = [line for line in run.process.stdout.splitlines() if line.startswith("val_acc=")]
    assert len(summary) == 1 and str(run.folder) in summary[0]


def test_norm_gn_init_kaiming_as_written(train):
    run = train("norm=gn", "init=kaiming")
    assert run.metrics["overrides"] == ["norm=gn", "init=kaiming"]
    assert run.metrics["config"]["norm"]["type"] == "GN"
    assert "Constant(layer=['GroupNorm'], val=1.0, bias=0.0)" in (run.folder / "init_report.txt").read_text()
    assert run.metrics["val_acc"] >= 0.95


def stop_after_first_checkpoint(folder, sent: signal.Signals, cwd):
    """Start a synthetic run, send it `sent` once last.ckpt exists, and return last.ckpt's path."""
    process = subprocess.Popen(
        command(folder, *SYNTHETIC), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    last = folder / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, sent)
    process.wait(timeout=60)
    assert last.exists() and not (folder / "metrics.json").exists(), "the run ended before it could be stopped"
    return last


@pytest.mark.slow
def test_killed_run_keeps_its_last_epoch_and_resumes_to_the_same_result(train, tmp_path):
    whole = train(*SYNTHETIC, name="whole")
    folder = tmp_path / "killed"
    script = [sys.executable, str(Path(__file__).parent / "killed_after_epoch.py"), "2"]
    process = subprocess.run([*script, *command(folder, *SYNTHETIC)[2:]], cwd=tmp_path, capture_output=True)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()[-2000:]
    last = folder / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 1  # epochs 1 and 2 (Lightning's 0 and 1) finished
    resumed = train(*SYNTHETIC, f"ckpt_path={last}", name="resumed")
    trained = [
        row["epochs"] for row in csv.DictReader((resumed.folder / "logs" / "metrics.csv").open()) if row["epochs"]
    ]
    assert trained == ["3.0", "4.0"]  # only the remaining epochs
    assert resumed.metrics["epochs"] == whole.metrics["epochs"] == 4
    for name in ("val_acc", "val_loss"):
        assert resumed.metrics[name] == pytest.approx(whole.metrics[name], abs=1e-6)


@pytest.mark.slow
def test_ctrl_c_leaves_a_usable_last_checkpoint(tmp_path):
    last = stop_after_first_checkpoint(tmp_path / "interrupted", signal.SIGINT, tmp_path)
    net = SimpleCNN(3, 10)
    checkpoint = load_checkpoint(net, str(last), strict=True)
    assert checkpoint["epoch"] >= 0 and "optimizer_states" in checkpoint


def test_eval_and_export(train, tmp_path):
    trained = train(SHORT, f"export={tmp_path / 'net.safetensors'}", name="trained")
    last = trained.folder / "checkpoints" / "last.ckpt"
    evaluated = train("mode=eval", f"ckpt_path={last}", name="evaluated")
    assert evaluated.metrics["mode"] == "eval"
    assert evaluated.metrics["val_acc"] == pytest.approx(trained.metrics["val_acc"], abs=1e-6)
    assert "weights then restored from ckpt_path" in (evaluated.folder / "init_report.txt").read_text()
    net = SimpleCNN(1, 10)
    load_checkpoint(net, str(tmp_path / "net.safetensors"), strict=True)
    from_ckpt = SimpleCNN(1, 10)
    load_checkpoint(from_ckpt, str(last), strict=True)
    for name, tensor in from_ckpt.state_dict().items():
        assert torch.equal(net.state_dict()[name], tensor), name


def test_bad_input_stops_before_training_naming_key_and_value(train, tmp_path):
    missing = train("data=folder", f"data.root={tmp_path / 'nowhere'}", check=False)
    assert missing.process.returncode == 1 and "data.root=" in missing.output and "no such folder" in missing.output
    no_ckpt = train(f"ckpt_path={tmp_path / 'nope.ckpt'}", check=False)
    assert no_ckpt.process.returncode == 1 and f"ckpt_path={tmp_path / 'nope.ckpt'}: no such file" in no_ckpt.output
    other = tmp_path / "other.pth"
    torch.save({"state_dict": {"net.fc.weight": torch.zeros(3, 3)}}, other)
    foreign = train(f"ckpt_path={other}", check=False)
    assert foreign.process.returncode == 1
    assert f"ckpt_path={other} does not belong to this model" in foreign.output
    gn = train("norm=gn", "norm.num_groups=3", check=False)
    assert gn.process.returncode == 1
    assert gn.process.stderr.startswith("Error: cannot build model=simple_cnn with conv=")
    assert "num_groups=3 does not divide the 32 channels" in gn.output
    for run in (missing, no_ckpt, foreign, gn):
        assert "Traceback" not in run.output and "HYDRA_FULL_ERROR" not in run.output
        assert not run.folder.exists()  # a run that never started leaves no output folder


def test_non_finite_loss_stops_naming_the_step(train):
    run = train("optim.lr=1e12", "trainer.max_epochs=3", check=False)
    assert run.process.returncode == 1
    assert "training stopped: the training loss became" in run.output and "at step" in run.output
    assert "(epoch 1)" in run.output and "Traceback" not in run.output


def test_folder_data_through_the_command_line(train, tmp_path):
    from PIL import Image

    for label, color in (("red", (220, 20, 20)), ("blue", (20, 20, 220))):
        (tmp_path / "images" / label).mkdir(parents=True)
        for index in range(12):
            Image.new("RGB", (20, 20), color=tuple(c + index for c in color)).save(
                tmp_path / "images" / label / f"{index}.png"
            )
    run = train("data=folder", f"data.root={tmp_path / 'images'}", "data.size=16", "data.batch_size=8", SHORT)
    assert run.metrics["config"]["data"]["num_classes"] == 2
    assert run.metrics["val_acc"] == 1.0


def test_ddp_without_gpus_and_too_many_devices_say_what_to_do(train):
    if not torch.cuda.is_available():
        gpu = train("trainer=ddp", check=False)
        assert gpu.process.returncode == 1 and "this machine has no GPU; use trainer=ddp_cpu" in gpu.output
    many = train("trainer=ddp_cpu", "trainer.devices=512", check=False)
    assert many.process.returncode == 1 and "trainer.devices=512: this machine has" in many.output


def test_the_progress_bar_counts_epochs_from_one():
    from types import SimpleNamespace

    from toolkit.training.trainer import EpochProgressBar

    bar = EpochProgressBar()
    bar._trainer = SimpleNamespace(max_epochs=3)
    assert bar._get_train_description(2).strip() == "Epoch 3/3"


def test_errors_that_are_bugs_keep_their_traceback(compose_config, monkeypatch):
    import importlib

    from toolkit import cli

    monkeypatch.setattr(importlib.import_module("toolkit.training"), "run", lambda cfg: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli.task(compose_config())
