"""`logger=tensorboard` writes the run's scalars where TensorBoard reads them."""

import json

import pytest

from toolkit.training.run import run


def test_tensorboard_logger_writes_the_epoch_scalars(compose_config, tmp_path, monkeypatch):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    monkeypatch.chdir(tmp_path)
    run(compose_config("logger=tensorboard", "trainer.max_epochs=2", "model.widths=[8]"))
    events = event_accumulator.EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert {"val_acc", "val_loss", "train_loss", "train_acc"} <= set(events.Tags()["scalars"])
    val_acc = [event.value for event in events.Scalars("val_acc")]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(val_acc) == 2 and val_acc[-1] == pytest.approx(metrics["val_acc"])
