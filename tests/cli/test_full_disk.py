"""A disk that fills up: at the start, during training, at the export. The message says that the disk is
full and where; the last good checkpoint survives. On a real size-limited file system (tmpfs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from .stop_after_epoch import fill_disk

QUICK = ["trainer.max_epochs=3", "sched=none", "logger=none"]


@pytest.fixture
def small_disk(mount_tmpfs):
    """A 3 MB file system at tmp_path/disk."""
    return mount_tmpfs("disk")


def test_a_full_disk_at_the_start_is_one_line_and_writes_nothing(launch, small_disk):
    fill_disk(str(small_disk))
    failed = launch(*QUICK, f"hydra.run.dir={small_disk / 'run'}")
    assert failed.returncode == 1
    assert failed.stderr.startswith(
        f"Error: hydra.run.dir={small_disk / 'run'}: the disk holding {small_disk} is full ("
    )
    assert sorted(path.name for path in small_disk.iterdir()) == ["filler"]


def test_a_disk_that_fills_during_training_keeps_the_last_good_checkpoint(launch, small_disk):
    folder = small_disk / "run"
    fill = ["+callbacks.fill._target_=stop_after_epoch.FillDiskAtEpochStart", "+callbacks.fill.epoch=1"]
    failed = launch(*QUICK, *fill, f"hydra.run.dir={folder}", pythonpath=Path(__file__).parent)
    assert failed.returncode == 1, failed.output[-3000:]
    message = failed.stderr.strip().splitlines()
    # the first write after the disk filled: the epoch's history row, or the checkpoint
    assert len(message) == 1 and message[0].startswith(f"Error: training stopped: cannot write {folder}/")
    assert f"the disk holding {folder}" in message[0] and " is full (" in message[0]
    assert message[0].endswith(f"the last good checkpoint is {folder / 'checkpoints' / 'last.ckpt'}")
    assert torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0  # epoch 1, whole
    assert not list(folder.rglob("*.part")) and "Traceback" not in failed.output


def test_a_full_disk_at_the_export_says_so(launch, small_disk, tmp_path):
    export = small_disk / "net.safetensors"
    fill_disk(str(small_disk))
    failed = launch(*QUICK, f"export={export}", f"hydra.run.dir={tmp_path / 'run'}")
    assert failed.returncode == 1, failed.output[-3000:]
    assert (
        failed.stderr
        == f"Error: cannot write {export}: the disk holding {small_disk} is full (0 bytes free); nothing was written\n"
    )
    assert sorted(path.name for path in small_disk.iterdir()) == ["filler"]
    assert (tmp_path / "run" / "metrics.json").is_file()  # the run's own outputs are all there
