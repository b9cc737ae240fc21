"""`run(cfg)` in-process on a composed config: what `python train.py ...` does, without a new interpreter."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from toolkit import load_checkpoint
from toolkit.errors import ConfigError
from toolkit.models import SimpleCNN
from toolkit.training.module import NonFiniteLossError
from toolkit.training.run import run

from ..conftest import set_up

SHORT = "trainer.max_epochs=2"


def metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_norm_gn_init_kaiming_as_written(compose_config, tmp_path):
    overrides = ["norm=gn", "init=kaiming", "trainer.max_epochs=8"]
    returned = run(compose_config(*overrides), tmp_path, overrides)
    result = metrics(tmp_path)
    assert result["overrides"] == overrides and result["config"]["norm"]["type"] == "GN"
    assert "Constant(layer=['GroupNorm'], val=1.0, bias=0.0)" in (tmp_path / "init_report.txt").read_text()
    assert result["val_acc"] == returned["val_acc"] >= 0.95 and result["test_acc"] >= 0.95
    assert result["environment"]["world_size"] == 1 and result["environment"]["versions"]["lightning"]
    logged = (tmp_path / "logs" / "hparams.yaml").read_text()  # every logger gets the same facts
    assert f"environment.host: {result['environment']['host']}" in logged


def test_eval_and_export(compose_config, tmp_path):
    exported = tmp_path / "weights" / "net.safetensors"
    threads = torch.get_num_threads()
    other = 1 if threads > 1 else 2  # within the cores (threads= may not ask for more)
    run(compose_config(SHORT, f"export={exported}", f"threads={other}"), tmp_path / "trained")
    assert metrics(tmp_path / "trained")["torch_threads"] == other
    assert torch.get_num_threads() == threads  # the run's thread count ends with the run
    last = tmp_path / "trained" / "checkpoints" / "last.ckpt"
    run(compose_config("mode=eval", f"ckpt_path={last}"), tmp_path / "evaluated")
    evaluated = metrics(tmp_path / "evaluated")
    assert evaluated["mode"] == "eval"
    assert evaluated["val_acc"] == pytest.approx(metrics(tmp_path / "trained")["val_acc"], abs=1e-6)
    assert "weights then restored from ckpt_path" in (tmp_path / "evaluated" / "init_report.txt").read_text()
    net, from_ckpt = SimpleCNN(1, 10), SimpleCNN(1, 10)
    load_checkpoint(net, str(exported), strict=True)
    load_checkpoint(from_ckpt, str(last), strict=True)
    for name, tensor in from_ckpt.state_dict().items():
        assert torch.equal(net.state_dict()[name], tensor), name


def test_non_finite_loss_stops_naming_the_step(compose_config, tmp_path):
    with pytest.raises(
        NonFiniteLossError, match=r"training stopped: the training loss became .* at step \d+ \(epoch 1\)"
    ):
        run(compose_config("optim.lr=1e12", "trainer.max_epochs=3"), tmp_path)


def test_folder_data(compose_config, tmp_path):
    from PIL import Image

    for label, color in (("red", (220, 20, 20)), ("blue", (20, 20, 220))):
        (tmp_path / "images" / label).mkdir(parents=True)
        for index in range(12):
            Image.new("RGB", (20, 20), color=tuple(c + index for c in color)).save(
                tmp_path / "images" / label / f"{index}.png"
            )
    overrides = ["data=folder", f"data.root={tmp_path / 'images'}", "data.size=16", "data.batch_size=8", SHORT]
    run(compose_config(*overrides), tmp_path / "run")
    result = metrics(tmp_path / "run")
    assert result["num_classes"] == 2 and result["val_acc"] == 1.0


def test_ddp_without_gpus_and_too_many_devices_say_what_to_do(compose_config, tmp_path):
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="this machine has no GPU; use trainer=ddp_cpu"):
            run(compose_config("trainer=ddp"), tmp_path)
    with pytest.raises(ConfigError, match=r"trainer\.devices=512: this machine has"):
        run(compose_config("trainer=ddp_cpu", "trainer.devices=512"), tmp_path)


def test_several_devices_without_a_strategy_are_spawned_from_this_process(compose_config, tmp_path):
    from toolkit.training.ddp import AnyDeviceDDPStrategy
    from toolkit.training.trainer import make_trainer

    def strategy(*overrides):
        cfg = compose_config("trainer.devices=2", *overrides)
        cfg.paths.output_dir = str(tmp_path)
        return make_trainer(cfg, tmp_path).strategy

    spawned = strategy()  # Lightning's own choice would start rank 1 by running the command line again
    assert isinstance(spawned, AnyDeviceDDPStrategy) and spawned._start_method == "spawn"
    assert strategy("trainer.strategy=ddp")._start_method == "popen"  # asked for by name


def test_a_rank_other_than_0_writes_no_output(compose_config, tmp_path, monkeypatch, capsys):
    import lightning as L

    monkeypatch.setattr(L.Trainer, "global_rank", property(lambda trainer: 1))  # as in a process of rank 1
    returned = run(compose_config(SHORT), tmp_path)
    assert 0 <= returned["val_acc"] <= 1 and "test_acc" not in returned
    assert not {"metrics.json", "curves.png"} & {path.name for path in tmp_path.iterdir()}
    assert "val_acc=" not in capsys.readouterr().out  # rank 0 prints the summary


def test_a_non_finite_loss_is_recorded_on_the_device_and_named_when_looked_at():
    from toolkit.training.module import Classifier

    module = Classifier(SimpleCNN(1, 10, widths=(8,)), 10, torch.optim.SGD)
    module.on_train_epoch_start()
    for loss in (1.0, 2.0, float("nan"), float("inf"), 3.0):
        module.record_non_finite(torch.tensor(loss))
    assert module.watch.non_finite_at.tolist() == [3, 1]  # the first one, found when looked at
    with pytest.raises(NonFiniteLossError, match=r"the training loss became nan at step 3 \(epoch 1\)"):
        module.raise_if_non_finite()
    assert list(module.state_dict()) == [f"net.{name}" for name in module.net.state_dict()]  # checkpoints unchanged
    assert not list(module.buffers())[len(list(module.net.buffers())) :]  # weight averaging sees the network's alone


@pytest.mark.slow
def test_bf16_channels_last_and_compiled_training_on_the_cpu(compose_config, tmp_path):
    # Dynamo captures the whole network (fullgraph) under autocast; the eager backend runs that graph
    # as it is (inductor's lowering of ConvModule is checked in tests/cnn/test_conv_module.py).
    overrides = ["trainer.precision=bf16-mixed", "channels_last=true", "compile=true", "compile_backend=eager"]
    result = run(compose_config(*overrides, "trainer.max_epochs=2", "model.widths=[8,16]"), tmp_path)
    assert result["val_acc"] > 0.25 and result["config"]["trainer"]["precision"] == "bf16-mixed"  # chance: 0.1
    net = SimpleCNN(1, 10, widths=(8, 16))
    load_checkpoint(net, str(tmp_path / "checkpoints" / "last.ckpt"), strict=True)  # the same parameter names


def test_a_resume_that_raises_max_epochs_stretches_the_cosine_schedule(compose_config, tmp_path):
    run(compose_config("trainer.max_epochs=2"), tmp_path / "first")  # cosine over 2 epochs: ends at lr 0
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    run(compose_config("trainer.max_epochs=4", f"ckpt_path={last}"), tmp_path / "longer")
    with (tmp_path / "longer" / "logs" / "metrics.csv").open() as file:
        rates = [float(row["lr-AdamW"]) for row in csv.DictReader(file) if row.get("lr-AdamW")]
    base = compose_config().optim.lr
    cosine = [base * (1 + math.cos(math.pi * epoch / 4)) / 2 for epoch in (2, 3)]  # epochs 3 and 4 of 4
    assert rates == pytest.approx(cosine, rel=1e-6)


def test_lr_find_suggests_a_rate_plots_it_and_trains_nothing(compose_config, tmp_path, capsys):
    found = run(compose_config("mode=lr_find", "lr_find.num_training=30"), tmp_path)
    assert 1e-6 <= found["suggested_lr"] <= 1.0 and len(found["lr_find"]["lr"]) == 30
    assert metrics(tmp_path)["suggested_lr"] == found["suggested_lr"] and metrics(tmp_path)["mode"] == "lr_find"
    assert (tmp_path / "lr_find.png").read_bytes()[:4] == b"\x89PNG"
    assert f"suggested learning rate: optim.lr={found['suggested_lr']:.3g}" in capsys.readouterr().out
    assert not list(tmp_path.glob(".lr_find_*")) and not (tmp_path / "checkpoints").exists()
    with pytest.raises(ConfigError, match=r"lr_find\.min_lr=1\.0, lr_find\.max_lr=0\.1: need 0 < min_lr < max_lr"):
        run(compose_config("mode=lr_find", "lr_find.min_lr=1.0", "lr_find.max_lr=0.1"), tmp_path / "bad")


def test_the_test_report_agrees_with_the_predictions_of_the_best_checkpoint(compose_config, tmp_path):
    from toolkit.training.data import DigitsData

    result = run(compose_config(SHORT), tmp_path)
    net = SimpleCNN(1, 10).eval()
    load_checkpoint(net, result["tested_with"], strict=True)
    logits, labels = [], []
    with torch.no_grad():
        for images, batch_labels in set_up(DigitsData(seed=0)).test_dataloader():
            logits.append(net(images))
            labels.append(batch_labels)
    logits, labels = torch.cat(logits), torch.cat(labels)
    confusion = torch.bincount(labels * 10 + logits.argmax(1), minlength=100).view(10, 10)
    assert result["test_confusion"] == confusion.tolist()  # rows: true class
    per_class = (confusion.diagonal() / confusion.sum(1)).tolist()
    assert result["test_per_class_acc"] == pytest.approx(per_class)
    top5 = (logits.topk(5, dim=1).indices == labels[:, None]).any(1).float().mean().item()
    assert result["test_acc_top5"] == pytest.approx(top5, abs=1e-6)
    assert result["test_acc"] == pytest.approx(confusion.diagonal().sum().item() / len(labels), abs=1e-6)
    assert (tmp_path / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_curves_come_from_the_history_whatever_the_loggers(compose_config, tmp_path):
    returned = run(compose_config("trainer.max_epochs=3", "logger=none"), tmp_path)
    history = json.loads((tmp_path / "history.json").read_text())
    assert sorted(history) == ["1", "2", "3"] and not (tmp_path / "logs").exists()
    assert set(history["3"]) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert history["3"]["val_acc"] == pytest.approx(returned["val_acc"])
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("epochs", [1, 3, 40])
def test_the_curves_mark_whole_epochs_only(epochs):
    from toolkit.training.outputs import curves_figure

    history = {epoch: {"train_loss": 1 / epoch, "val_acc": epoch / 100} for epoch in range(1, epochs + 1)}
    figure = curves_figure(history)
    figure.canvas.draw()
    for axis in figure.axes:
        low, high = axis.get_xlim()
        marks = [tick for tick in axis.get_xticks() if low <= tick <= high]
        assert marks and all(tick == int(tick) for tick in marks), marks  # no epoch 1.25
        assert epochs > 1 or marks == [1]
    (loss,) = figure.axes[0].lines
    assert loss.get_label() == "train_loss" and list(loss.get_xdata()) == list(range(1, epochs + 1))


def test_the_history_keeps_val_metrics_to_the_epochs_that_validated(compose_config, tmp_path):
    run(compose_config("trainer.max_epochs=3", "+trainer.check_val_every_n_epoch=2", "logger=none"), tmp_path)
    history = json.loads((tmp_path / "history.json").read_text())
    assert ["val_acc" in history[epoch] for epoch in ("1", "2", "3")] == [False, True, False]
    assert all("train_loss" in row for row in history.values())


def digits_accuracy(net: torch.nn.Module, split: str = "test") -> float:
    from toolkit.training.data import DigitsData

    data, hits, total = set_up(DigitsData(seed=0)), 0, 0
    with torch.no_grad():
        for images, labels in getattr(data, f"{split}_dataloader")():
            hits += int((net.eval()(images).argmax(1) == labels).sum())
            total += len(labels)
    return hits / total


def test_ema_evaluates_the_averaged_weights_keeps_the_raw_ones_and_resumes_both(compose_config, tmp_path):
    from safetensors.torch import load_file

    ema = ["callbacks=ema", "callbacks.ema.decay=0.9", "model.widths=[8,16]"]
    result = run(compose_config(*ema, "trainer.max_epochs=2", f"export={tmp_path / 'net.safetensors'}"), tmp_path)
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    averaged, raw = last["state_dict"], last["current_model_state"]
    assert averaged.keys() == raw.keys() and not torch.equal(averaged["net.head.weight"], raw["net.head.weight"])
    assert int(last["averaging_state"]["n_averaged"]) == 34  # one update a step: 17 batches, 2 epochs
    net = SimpleCNN(1, 10, widths=(8, 16))
    load_checkpoint(net, result["tested_with"], strict=True)
    assert result["test_acc"] == pytest.approx(digits_accuracy(net), abs=1e-6)  # the test split saw the average
    exported = load_file(tmp_path / "net.safetensors")
    assert torch.equal(exported["head.weight"], averaged["net.head.weight"])  # so did the export
    raw_net = SimpleCNN(1, 10, widths=(8, 16))
    raw_net.load_state_dict({name.removeprefix("net."): value for name, value in raw.items()})
    assert digits_accuracy(raw_net) != digits_accuracy(net)
    checkpoint = f"ckpt_path={tmp_path / 'checkpoints' / 'last.ckpt'}"
    resumed = run(compose_config(*ema, "trainer.max_epochs=3", checkpoint), tmp_path / "resumed")
    assert resumed["epochs"] == 3
    again = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    assert int(again["averaging_state"]["n_averaged"]) == 51  # the average went on from its 34 updates


def test_an_ema_decay_outside_0_1_names_the_key(compose_config, tmp_path):
    with pytest.raises(ConfigError, match=r"callbacks\.ema\.decay=1\.5: must lie strictly between 0 and 1"):
        run(compose_config("callbacks=ema", "callbacks.ema.decay=1.5"), tmp_path)
