"""A user's own model, data, callbacks and presets, in-process; end to end in test_end_to_end.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from toolkit.training.run import run

CONF = Path(__file__).resolve().parents[2] / "conf"
QUICK = ["trainer.max_epochs=2", "model.widths=[8]"]


def metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def test_a_model_that_takes_no_layer_cfg_warns_and_trains_on_your_data(compose_config, tmp_path, user_code):
    overrides = [
        "model=custom",
        "model._target_=user_code.NoLayerNet",
        "data=custom",
        "data._target_=user_code.Blobs",
        "trainer.max_epochs=2",
    ]
    with pytest.warns(UserWarning, match=r"NoLayerNet takes none of conv_cfg, norm_cfg, act_cfg: conv=, norm="):
        result = run(compose_config(*overrides), tmp_path)
    assert result["num_classes"] == 3 and result["parameters"] == 1 * 3 + 3  # in_chans=1 from the data
    assert {"val_acc", "test_acc", "test_loss"} <= set(result)
    report = (tmp_path / "init_report.txt").read_text()
    assert "head.weight" in report and "Normal(std=0.01, bias=0.0) override 'head'" in report  # its last Linear


def test_early_stopping_stops_a_run_that_does_not_improve_and_says_so(compose_config, tmp_path, capsys):
    overrides = ["callbacks=early_stopping", "callbacks.early_stopping.patience=1", "optim.lr=0", "model.widths=[8]"]
    result = run(compose_config(*overrides, "trainer.max_epochs=6"), tmp_path)
    assert result["epochs"] == 2  # the best epoch, then one without improvement
    said = "early stopping: val_acc did not improve for 1 epoch; training stopped after epoch 2 of 6"
    assert said in capsys.readouterr().out


def test_debug_fdr_runs_one_batch_of_each_stage_and_keeps_nothing(compose_config, tmp_path, user_code):
    counter = ["+callbacks.count._target_=user_code.CountBatches"]
    result = run(compose_config("debug=fdr", *counter), tmp_path)
    assert user_code.CountBatches.seen == {"train": 1, "val": 1, "test": 1}
    assert result["tested_with"] == "the final weights" and not (tmp_path / "checkpoints").exists()
    assert "debug" in result["tags"]


def test_debug_limit_and_overfit_set_the_trainer(compose_config):
    limit = compose_config("debug=limit").trainer
    assert (limit.max_epochs, limit.limit_train_batches, limit.limit_val_batches) == (3, 3, 2)
    assert compose_config("debug=overfit").trainer.overfit_batches == 3
    assert compose_config("debug=profiler").trainer.profiler == "simple"


def test_callbacks_none_writes_no_checkpoint_and_logger_none_no_log(compose_config, tmp_path):
    result = run(compose_config("callbacks=none", "logger=none", *QUICK), tmp_path)
    assert result["tested_with"] == "the final weights" and result["epochs"] == 2
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "logs").exists()


@pytest.mark.parametrize("experiment", sorted(path.stem for path in (CONF / "experiment").glob("*.yaml")))
def test_every_experiment_composes(compose_config, experiment):
    cfg = compose_config(f"experiment={experiment}")
    assert cfg.tags and cfg.trainer.max_epochs >= 3


def test_an_experiment_runs_end_to_end(compose_config, tmp_path):
    small = ["data.samples=128", "model.base_width=8", "trainer.max_epochs=1"]
    result = run(compose_config("experiment=resnet_synthetic_gn", *small), tmp_path)
    config = result["config"]
    assert config["model"]["_target_"] == "toolkit.models.ResNetClassifier" and config["norm"]["type"] == "GN"
    assert result["tags"] == ["resnet", "synthetic", "gn"] and "test_acc" in result
    assert "GroupNorm" in (tmp_path / "init_report.txt").read_text()


def test_tags_and_the_resolved_config_are_logged_as_hyperparameters(compose_config, tmp_path):
    import yaml

    run(compose_config("tags=[ablation,gn]", "norm=gn", *QUICK), tmp_path)
    hyperparameters = yaml.safe_load((tmp_path / "logs" / "hparams.yaml").read_text())
    assert hyperparameters["tags"] == ["ablation", "gn"] and hyperparameters["norm.type"] == "GN"
    assert hyperparameters["model._target_"] == "toolkit.models.SimpleCNN" and hyperparameters["seed"] == 0


def test_a_bug_in_your_constructor_keeps_its_traceback_and_names_the_key(compose_config, tmp_path, user_code, launch):
    overrides = ["model=custom", "model._target_=user_code.ExplodingNet", "+model.width=5"]
    with pytest.raises(RuntimeError, match="no kernel for width 5") as raised:
        run(compose_config(*overrides), tmp_path)
    assert raised.value.__notes__ == [
        "model: user_code.ExplodingNet(width=5, num_classes=10) raised RuntimeError: no kernel for width 5"
    ]
    shown = launch(*overrides, f"hydra.run.dir={tmp_path / 'cli'}", pythonpath=Path(__file__).parent)
    assert shown.returncode == 1 and "Traceback" in shown.stderr
    assert (
        "model: user_code.ExplodingNet(width=5, num_classes=10) raised RuntimeError: no kernel for width 5"
        in shown.stderr
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["model=custom", "model._target_=user_code.make_dict"],
            "model._target_=user_code.make_dict returned a dict, not an nn.Module",
        ),
        (
            ["model=custom", "model._target_=user_code.NoParameters"],
            "model._target_=user_code.NoParameters returned a NoParameters with no parameters to train",
        ),
        (
            ["+callbacks.bad._target_=user_code.not_a_callback"],
            "callbacks.bad._target_=user_code.not_a_callback returned a str, not a Lightning Callback",
        ),
        (
            ["data=custom", "data._target_=user_code.make_dict", "+data.num_classes=3"],
            "data._target_=user_code.make_dict returned a dict, not a LightningDataModule",
        ),
    ],
)
def test_a_target_that_returns_the_wrong_kind_is_named_before_training(
    compose_config, tmp_path, user_code, overrides, message
):
    from toolkit.errors import ConfigError

    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        run(compose_config(*overrides, "trainer.max_epochs=1"), tmp_path)
