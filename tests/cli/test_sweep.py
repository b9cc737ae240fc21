"""Multirun sweeps and their summaries, and DDP on the CPU from Hydra, alone and inside a sweep."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from toolkit.config.bridge import build_model
from toolkit.training.data import build_datamodule

from .conftest import ROOT


def sweep(tmp_path: Path, *overrides: str) -> tuple[subprocess.CompletedProcess, Path]:
    folder = tmp_path / "sweep"
    command = [sys.executable, str(ROOT / "train.py"), "-m", *overrides, f"hydra.sweep.dir={folder}"]
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=600), folder


def summary_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "summary.csv").open() as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_four_job_sweep_writes_a_summary(tmp_path):
    result, folder = sweep(tmp_path, "norm=bn,gn", "init=kaiming,xavier", "trainer.max_epochs=1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(path.name for path in folder.iterdir() if path.is_dir()) == ["0", "1", "2", "3"]
    rows = summary_rows(folder)
    assert [row["overrides"] for row in rows] == [
        f"norm={norm} init={init} trainer.max_epochs=1" for norm in ("bn", "gn") for init in ("kaiming", "xavier")
    ]
    assert all(row["status"] == "completed" and 0 < float(row["val_acc"]) <= 1 for row in rows)
    table = (folder / "summary.md").read_text().splitlines()
    accuracies = [float(line.split("|")[4]) for line in table[2:]]
    assert accuracies == sorted(accuracies, reverse=True) and len(accuracies) == 4
    assert (folder / "summary.png").read_bytes()[:4] == b"\x89PNG"


def test_a_failed_job_is_recorded_and_the_others_finish(tmp_path):
    result, folder = sweep(tmp_path, "norm=gn", "norm.num_groups=3,8", "trainer.max_epochs=1")
    assert result.returncode == 1
    rows = summary_rows(folder)
    assert [row["status"] for row in rows] == ["failed", "completed"]
    assert "num_groups=3 does not divide the 32 channels" in rows[0]["error"]
    assert float(rows[1]["val_acc"]) > 0 and (folder / "1" / "metrics.json").is_file()


def test_unknown_option_in_a_sweep_fails_before_any_job(tmp_path):
    result, folder = sweep(tmp_path, "norm=bn,nosuchnorm")
    assert result.returncode == 1 and "Could not find 'norm/nosuchnorm'" in result.stderr
    assert not any(path.is_dir() for path in folder.iterdir())


DDP = ["trainer=ddp_cpu", "trainer.devices=2", "norm=syncbn", "data.batch_size=1438", "trainer.max_epochs=1"]


def expected_running_stats() -> dict[str, torch.Tensor]:
    """BN statistics of one process after one training step on the whole train split."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        cfg = compose("config", overrides=DDP)
    GlobalHydra.instance().clear()
    data = build_datamodule(cfg.data)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg).train()
    images = torch.stack([data.train_set[index][0] for index in range(len(data.train_set))])
    with torch.no_grad():
        model(images)
    return {name: value for name, value in model.state_dict().items() if "running" in name}


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_syncs_bn_like_one_process(train):
    run = train(*DDP)
    folders = [path for path in run.folder.parent.iterdir() if path.is_dir()]
    assert folders == [run.folder] and run.metrics["epochs"] == 1
    assert run.metrics["bn_stats_rank_spread"] < 1e-5
    checkpoint = torch.load(run.folder / "checkpoints" / "last.ckpt", weights_only=True)
    stats = expected_running_stats()
    assert len(stats) == 8
    for name, value in stats.items():
        torch.testing.assert_close(checkpoint["state_dict"][f"net.{name}"], value, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_ddp_inside_a_two_job_sweep(tmp_path):
    result, folder = sweep(tmp_path, *DDP, "seed=0,1")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(path for path in folder.iterdir() if path.is_dir())
    assert [job.name for job in jobs] == ["0", "1"]
    assert all(len(list(job.glob("metrics.json"))) == 1 for job in jobs)
    assert [row["status"] for row in summary_rows(folder)] == ["completed", "completed"]
