"""Each shipped logger with its real backend, read back as its own tools read it."""

import json
import re

import pytest

from toolkit.training.run import run

QUICK = ["trainer.max_epochs=2", "model.widths=[8]"]


def metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def scalars(folder):
    """TensorBoard's scalars under `folder`, read by TensorBoard's own event reader."""
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    events = event_accumulator.EventAccumulator(str(folder))
    events.Reload()
    return {tag: [event.value for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_tensorboard_logger_writes_the_epoch_scalars(compose_config, tmp_path):
    run(compose_config("logger=tensorboard", *QUICK), tmp_path)
    logged = scalars(tmp_path / "tensorboard")
    assert {"val_acc", "val_loss", "train_loss", "train_acc", "test_acc"} <= set(logged)
    assert len(logged["val_acc"]) == 2 and logged["val_acc"][-1] == pytest.approx(metrics(tmp_path)["val_acc"])
    assert not (tmp_path / "logs").exists()  # tensorboard alone: no CSV


def test_csv_and_tensorboard_at_once(compose_config, tmp_path):
    run(compose_config("logger=[csv,tensorboard]", *QUICK), tmp_path)
    header = (tmp_path / "logs" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val_acc", "test_acc", "train_loss"} <= set(header)
    assert scalars(tmp_path / "tensorboard")["test_acc"] == [pytest.approx(metrics(tmp_path)["test_acc"])]
    assert (tmp_path / "curves.png").is_file()


@pytest.mark.slow
def test_mlflow_logs_metrics_and_hyperparameters_to_a_local_store(compose_config, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = tmp_path / "outputs"
    run(compose_config("logger=mlflow", f"paths.output_root={root}", "norm=gn", *QUICK), tmp_path / "run")
    result = metrics(tmp_path / "run")
    assert result["mlflow_tracking_uri"] == f"sqlite:///{root.resolve() / 'mlflow.db'}"
    client = mlflow.MlflowClient(result["mlflow_tracking_uri"])
    logged = client.get_run(result["mlflow_run_id"]).data
    assert logged.metrics["val_acc"] == pytest.approx(result["val_acc"])
    assert logged.metrics["test_acc"] == pytest.approx(result["test_acc"])
    assert logged.params["norm.type"] == "GN" and logged.params["model._target_"] == "toolkit.models.SimpleCNN"
    history = client.get_metric_history(result["mlflow_run_id"], "val_acc")
    assert len(history) == 2


def test_a_logger_that_cannot_write_is_named_before_training(compose_config, tmp_path, mount_tmpfs, monkeypatch):
    from toolkit.errors import ConfigError

    read_only_folder = mount_tmpfs("ro", size="1m", read_only=True)
    (tmp_path / "a-file").write_text("")
    cases = [
        (["logger=tensorboard", f"logger.tensorboard.save_dir={tmp_path / 'a-file'}"], "Not a directory"),
        (["logger=csv", f"logger.csv.save_dir={read_only_folder}"], "Read-only file system"),
        (["logger=mlflow", f"logger.mlflow.tracking_uri=sqlite:///{tmp_path / 'a-file' / 'm.db'}"], "File exists"),
        (["logger=mlflow", "logger.mlflow.tracking_uri=http://127.0.0.1:9"], "Connection refused"),  # no server
    ]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    for overrides, cause in cases:
        name, where = overrides[1].split("=", 1)
        logger = name.split(".")[1]
        message = rf"^logger\.{logger} cannot write to {re.escape(where)}: .*{cause}"
        with pytest.raises(ConfigError, match=message):
            run(compose_config(*overrides, *QUICK), tmp_path / "run")
        assert not (tmp_path / "run" / "checkpoints").exists()  # it stopped before training
