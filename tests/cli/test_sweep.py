"""Multirun sweeps: an unknown option stops before any job, and DDP on the CPU inside a sweep, whose
ranks never run the command line again.

The sweep summary with completed and failed jobs is checked under the joblib launcher (test_launchers)."""

import csv
import json
import runpy
import statistics
import sys

import pytest
import torch

from toolkit.training.data import DigitsData

from ..conftest import ROOT, built, set_up
from .conftest import summary_rows


def test_unknown_option_in_a_sweep_fails_before_any_job(sweep):
    result, folder = sweep("norm=bn,nosuchnorm")
    assert result.returncode == 1 and "Could not find 'norm/nosuchnorm'" in result.stderr
    assert not any(path.is_dir() for path in folder.iterdir())


def test_a_sweep_job_cannot_use_ddp_that_runs_the_command_line_again(sweep):
    result, folder = sweep("trainer=ddp_cpu", "trainer.strategy=ddp", "seed=0,1")
    assert result.returncode == 1
    rows = summary_rows(folder)
    assert [row["status"] for row in rows] == ["failed", "failed"]
    message = "trainer.strategy=ddp starts each rank by running the command line again, which re-enters a -m sweep"
    assert all(message in row["error"] for row in rows)


# One batch of the whole train split (1,258 of the 1,797 digits: an even number, so that the two
# processes take half each, and no sample twice).
SPLIT = ["data.test_fraction=0.1", "data.batch_size=1258"]
DDP = ["trainer=ddp_cpu", "trainer.devices=2", "norm=syncbn", *SPLIT, "trainer.max_epochs=1"]


def expected_running_stats(compose_config) -> dict[str, torch.Tensor]:
    """BN statistics of one process after one training step on the whole train split."""
    cfg = compose_config(*DDP)
    data = set_up(DigitsData(seed=cfg.seed, test_fraction=0.1))
    assert len(data.train_set) == cfg.data.batch_size
    torch.manual_seed(cfg.seed)
    model = built(cfg).train()
    images = torch.stack([data.train_set[index][0] for index in range(len(data.train_set))])
    with torch.no_grad():
        model(images)
    return {name: value for name, value in model.state_dict().items() if "running" in name}


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_inside_a_sweep_syncs_bn_like_one_process(sweep, compose_config, recwarn):
    result, folder = sweep(*DDP, "seed=0")
    assert result.returncode == 0, result.stderr[-3000:]
    muted = [w for w in recwarn if "callbacks used to create the checkpoint" in str(w.message)]
    assert not muted  # the test trainer loads the weights only
    jobs = sorted(path for path in folder.iterdir() if path.is_dir())
    assert [job.name for job in jobs] == ["0"]  # one folder for the job: the ranks never re-ran the sweep
    assert len(list(jobs[0].rglob("metrics.json"))) == 1
    assert [row["status"] for row in summary_rows(folder)] == ["completed"]
    metrics = json.loads((jobs[0] / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["bn_stats_rank_spread"] < 1e-5
    # The test split is scored once, in the main process, and logged after the DDP epochs.
    assert 0 <= metrics["test_acc"] <= 1 and metrics["tested_with"].endswith(".ckpt")
    header = (jobs[0] / "logs" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val_acc", "test_acc", "bn_stats_rank_spread"} <= set(header)
    checkpoint = torch.load(jobs[0] / "checkpoints" / "last.ckpt", weights_only=True)
    stats = expected_running_stats(compose_config)
    assert len(stats) == 8
    for name, value in stats.items():
        torch.testing.assert_close(checkpoint["state_dict"][f"net.{name}"], value, atol=1e-5, rtol=1e-5)


def test_train_py_imported_by_a_spawned_rank_runs_nothing(tmp_path, monkeypatch):
    # Each rank that DDP spawns from `python train.py -m ...` imports train.py as its __mp_main__.
    monkeypatch.setattr(sys, "argv", ["train.py", "-m", "norm=bn,gn", f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(ROOT / "train.py"), run_name="__mp_main__")
    assert list(tmp_path.iterdir()) == []


def test_results_across_seeds_are_grouped_by_configuration(sweep):
    result, folder = sweep("norm=gn", "norm.num_groups=8,3", "seed=0,1,2", "trainer.max_epochs=1", "model.widths=[8]")
    assert result.returncode == 1  # the three jobs with num_groups=3 fail (3 does not divide 8 channels)
    with (folder / "summary_by_config.csv").open() as file:
        table = list(csv.DictReader(file))
    assert [(row["config"], row["n"], row["failed"]) for row in table] == [
        ("norm=gn norm.num_groups=8 trainer.max_epochs=1 model.widths=[8]", "3", "0"),
        ("norm=gn norm.num_groups=3 trainer.max_epochs=1 model.widths=[8]", "0", "3"),  # counted apart
    ]
    runs = [json.loads((folder / str(job) / "metrics.json").read_text()) for job in range(3)]
    t_975_2 = 4.302652729911275  # Student's t, 97.5% quantile, 2 degrees of freedom
    for metric in ("val_acc", "test_acc", "val_loss", "test_loss"):
        values = [run[metric] for run in runs]
        std = statistics.stdev(values)
        assert float(table[0][f"{metric}_mean"]) == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert float(table[0][f"{metric}_std"]) == pytest.approx(std, rel=1e-12)
        assert float(table[0][f"{metric}_ci95"]) == pytest.approx(t_975_2 * std / 3**0.5, rel=1e-9)
        assert table[1][f"{metric}_mean"] == ""
    section = (folder / "summary.md").read_text().split("## By configuration")[1]
    mean, std = statistics.fmean(run["val_acc"] for run in runs), statistics.stdev(run["val_acc"] for run in runs)
    assert f"| 3 | 0 | {mean:.4f} ± {std:.4f} (±" in section
    assert (folder / "summary.png").read_bytes()[:4] == b"\x89PNG"


def test_the_summary_chart_names_each_job_starts_at_zero_and_keeps_its_text_inside():
    from toolkit.app.sweep import bar_figure

    overrides = [
        "hparams_search=optuna optim.lr=0.000123456 optim.weight_decay=0.0345 norm=gn act=gelu init=xavier",
        "hparams_search=optuna optim.lr=0.0213 optim.weight_decay=0.000111 norm=bn act=relu init=kaiming",
    ]
    rows = [{"job": job, "val_acc": 0.91 + 0.04 * job, "overrides": text} for job, text in enumerate(overrides)]
    figure = bar_figure(rows)
    axis = figure.axes[0]
    labels = [label.get_text() for label in axis.get_xticklabels()]
    assert labels[1].startswith("1\noptim.lr=0.0213") and "hparams_search" not in labels[1]  # what sets it apart
    assert axis.get_ylim() == (0.0, 1.0) and "best: job 1, 0.9500" in axis.get_title()
    assert_text_inside(figure)
    assert bar_figure([{"job": 0, "val_acc": "", "overrides": "norm=bn"}]) is None


def assert_text_inside(figure) -> None:
    """The title, the labels under the columns and the value axis's label lie inside the figure."""
    axis, renderer, box = figure.axes[0], figure.canvas.get_renderer(), figure.bbox
    for text in [axis.title, *axis.get_xticklabels(), axis.yaxis.label]:
        extent = text.get_window_extent(renderer)
        assert (
            box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1 and box.y0 - 1 <= extent.y0 and extent.y1 <= box.y1 + 1
        ), text.get_text()


def test_the_seed_chart_labels_each_configuration_by_what_sets_it_apart_and_keeps_its_text_inside():
    from toolkit.app.by_config import grouped
    from toolkit.app.sweep import error_bar_figure

    common = "experiment=he2015_deep_plain trainer.max_epochs=1 data.train_fraction=0.3 model.blocks_per_stage=4"
    rows = [
        {"job": 3 * index + seed, "status": "completed", "overrides": f"{common} init={init} seed={seed}"}
        | {"val_acc": 0.5 + 0.1 * seed + 0.3 * (init == "kaiming")}
        for index, init in enumerate(["kaiming", "xavier"])
        for seed in range(3)
    ]
    figure = error_bar_figure(grouped(rows, "val_acc"), rows, "val_acc")
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ["init=kaiming", "init=xavier"]
    assert_text_inside(figure)
    alone = [row for row in rows if "kaiming" in row["overrides"]]  # one configuration: all of it, wrapped
    figure = error_bar_figure(grouped(alone, "val_acc"), alone, "val_acc")
    (label,) = [label.get_text() for label in figure.axes[0].get_xticklabels()]
    assert label.splitlines() == [*common.split(), "init=kaiming"]
    assert_text_inside(figure)
