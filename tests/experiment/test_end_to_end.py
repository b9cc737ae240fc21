"""The experiment layer as a user drives it from the shell: their own config folder and code, and an
Optuna search, each a `python train.py` command line."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from .conftest import HERE

TINY_NET = """\
# My own network: user_code.TinyNet, which takes in_channels, num_classes and norm_cfg.
_target_: user_code.TinyNet
width: 16
"""
BLOBS = """\
# My own LightningDataModule.
_target_: user_code.Blobs
samples: 300
seed: ${seed}
"""


# A preset run end to end at the smallest size: one batch of each split.
ONE_BATCH = ["trainer.limit_train_batches=1", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1"]


@pytest.fixture
def shell(launch):
    """`shell(*arguments)`: `train.py ARGUMENTS` with the user's code (user_code.py) importable."""
    return lambda *arguments: launch(*arguments, pythonpath=HERE)


def test_your_own_model_and_data_from_your_own_config_folder(shell, tmp_path):
    for group, text in (("model", TINY_NET), ("data", BLOBS)):
        (tmp_path / "my_conf" / group).mkdir(parents=True)
        (tmp_path / "my_conf" / group / f"{group}_of_mine.yaml").write_text(text)
    folder = tmp_path / "run"
    overrides = ["model=model_of_mine", "data=data_of_mine", "norm=gn", "norm.num_groups=4", "trainer.max_epochs=3"]
    process = shell("--config-dir", "my_conf", *overrides, f"hydra.run.dir={folder}")
    assert process.returncode == 0, process.stderr[-3000:]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["num_classes"] == 3 and metrics["config"]["model"]["_target_"] == "user_code.TinyNet"
    assert metrics["parameters"] == (1 * 9 + 1) * 16 + 2 * 16 + 16 * 3 + 3  # conv, GN(16), head for 3 classes
    report = (folder / "init_report.txt").read_text()
    assert "norm.weight" in report and "Constant(layer=['GroupNorm']" in report  # norm=gn reached TinyNet
    assert 0 <= metrics["test_acc"] <= 1 and metrics["tested_with"] != "the final weights"


@pytest.mark.slow
def test_optuna_search_runs_its_trials_and_summarizes_them(shell, tmp_path):
    folder = tmp_path / "search"
    arguments = ["hparams_search=optuna", "hydra.sweeper.n_trials=2", "trainer.max_epochs=1", "model.widths=[8]"]
    process = shell("-m", *arguments, f"hydra.sweep.dir={folder}")
    assert process.returncode == 0, process.stderr[-3000:]
    results = yaml.safe_load((folder / "optimization_results.yaml").read_text())
    assert set(results["best_params"]) == {"optim.lr", "optim.weight_decay", "norm", "act", "init"}
    with (folder / "summary.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [row["status"] for row in rows] == ["completed"] * 2
    assert results["best_value"] == pytest.approx(max(float(row["val_acc"]) for row in rows))


def test_a_search_for_a_metric_no_run_reports_stops_before_its_first_trial(shell, tmp_path):
    folder = tmp_path / "search"
    process = shell("hparams_search=optuna", "optimized_metric=val_accuracy", f"hydra.sweep.dir={folder}")
    assert process.returncode == 1
    assert process.stderr.startswith("Error: optimized_metric=val_accuracy: no run reports it")
    assert not folder.exists()


@pytest.mark.slow
def test_optuna_records_failed_trials_goes_on_and_ends_in_one_line_when_none_completed(shell, tmp_path):
    folder = tmp_path / "search"
    nan_data = ["data=synthetic", "data.noise=nan", "data.samples=64", "data.size=8"]  # every loss is NaN
    arguments = ["hparams_search=optuna", "hydra.sweeper.n_trials=2", "trainer.max_epochs=1", *nan_data]
    process = shell("-m", *arguments, f"hydra.sweep.dir={folder}")
    assert process.returncode == 1
    assert process.stderr.splitlines()[-1] == (
        "Error: hparams_search=optuna: none of the 2 trials completed (each failed, or gave an optimized_metric "
        f"that is not a number); see {folder}/summary.csv for why"
    )
    assert "No trials are completed yet" not in process.output and "Values cannot be specified" not in process.output
    with (folder / "summary.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [row["status"] for row in rows] == ["failed"] * 2  # the study went on after the first
    assert all("the training loss became nan" in row["error"] for row in rows)


def test_the_deep_plain_preset_sweeps_both_inits_over_seeds_at_reduced_size(shell, tmp_path):
    folder = tmp_path / "he2015"
    reduced = ["trainer.max_epochs=1", "model.blocks_per_stage=3", "seed=0,1", *ONE_BATCH]
    process = shell("-m", "experiment=he2015_deep_plain", *reduced, f"hydra.sweep.dir={folder}")
    assert process.returncode == 0, process.stderr[-3000:]
    with (folder / "summary_by_config.csv").open() as file:
        table = list(csv.DictReader(file))
    assert sorted(row["config"].split()[0] for row in table) == ["init=kaiming", "init=xavier"]
    assert [row["n"] for row in table] == ["2", "2"]
    config = json.loads((folder / "0" / "metrics.json").read_text())["config"]
    assert config["norm"]["type"] == "none" and config["optim"]["lr"] == 1e-3 and config["model"]["widths"] == [32]


@pytest.mark.parametrize(
    ("preset", "configs"),
    [
        ("wu2018_batch_size", {f"norm={norm} data.batch_size={batch}" for norm in ("bn", "gn") for batch in (2, 32)}),
        ("qiao2019_ws", {f"conv={conv} norm={norm}" for conv in ("conv2d", "conv_ws") for norm in ("bn", "gn")}),
    ],
)
def test_the_small_batch_presets_sweep_their_configurations_at_reduced_size(shell, tmp_path, preset, configs):
    folder = tmp_path / preset
    reduced = ["trainer.max_epochs=1", "data.samples=40", "data.size=16", "seed=0", *ONE_BATCH]
    process = shell("-m", f"experiment={preset}", *reduced, f"hydra.sweep.dir={folder}")
    assert process.returncode == 0, process.stderr[-3000:]
    with (folder / "summary_by_config.csv").open() as file:
        table = list(csv.DictReader(file))
    keys = ("norm", "conv", "data.batch_size")
    swept = {" ".join(sorted(p for p in row["config"].split() if p.split("=")[0] in keys)) for row in table}
    assert swept == {" ".join(sorted(config.split())) for config in configs}
    assert all(row["n"] == "1" for row in table)
