"""Bad input stops `run(cfg)` before any Trainer exists, with a message that names the key and the cause."""

from __future__ import annotations

import argparse
import importlib
import re

import pytest
import torch

from toolkit.config.bridge import ConfigError
from toolkit.models import SimpleCNN
from toolkit.training.run import run

run_module = importlib.import_module(
    "toolkit.training.run"
)  # the module, which `toolkit.training.run` (a function) hides


@pytest.fixture
def stop_before_training(monkeypatch, tmp_path):
    """Run in tmp_path; building a Trainer fails the test, so every error must come before it."""
    monkeypatch.chdir(tmp_path)

    def no_trainer(*args, **kwargs):
        raise AssertionError("the run reached training")

    monkeypatch.setattr(run_module, "make_trainer", no_trainer)
    return tmp_path


def lightning_checkpoint(path, epochs_done: int, net: torch.nn.Module) -> None:
    """A checkpoint as Lightning writes it at the end of an epoch, for `net`."""
    torch.save(
        {
            "pytorch-lightning_version": "2.6.0",
            "network_prefix": "net.",
            "epoch": epochs_done - 1,
            "state_dict": {f"net.{key}": value for key, value in net.state_dict().items()},
            "loops": {"fit_loop": {"epoch_progress": {"current": {"processed": epochs_done}}}},
        },
        path,
    )


def image_folder(root, classes: dict[str, int]) -> None:
    from PIL import Image

    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for index in range(count):
            Image.new("L", (8, 8), color=index * 10).save(root / name / f"{index}.png")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["export=net.pth"], r"export=net\.pth: the file name must end in \.safetensors"),
        (["data.val_fraction=1.0"], r"data\.val_fraction=1\.0: must lie strictly between 0 and 1"),
        (
            ["data.val_fraction=0.9999"],
            r"data\.val_fraction=0\.9999 and data\.test_fraction=0\.2 leave no training sample of the 1797",
        ),
        (["norm=gn", "norm.num_groups=-2"], r"norm=.*GN: num_groups must be a positive int .* got -2"),
        (["norm=gn", "norm.num_groups=0"], r"GN: num_groups must be a positive int .* got 0"),
        (["data=synthetic", "data.size=0"], r"data\.size=0: must be a positive integer"),
        (["+model.in_channels=3"], r"model=SimpleCNN cannot take the images of data=DigitsData \(shape \(1, 8, 8\)\)"),
        (["+model.num_classes=5"], r"model=SimpleCNN gives outputs of shape \(5,\), data=DigitsData has 10 classes"),
        (["data.batch_size=0"], r"data\.batch_size=0: must be a positive integer"),
        (["threads=-2"], r"threads=-2: must be a positive integer"),
        (["threads=100000"], r"threads=100000: must be a positive integer up to the \d+ cores this process may use"),
        (["data=synthetic", "data.samples=1000000000000"], r"data\.samples=1000000000000: the split order of the"),
        (["data=synthetic", "data.size=60000"], r"data\.size=60000: the 10 class patterns would take \d+ GB, more"),
        (["data=synthetic", "data.num_classes=1"], r"data\.num_classes=1: classification needs at least 2 classes"),
        (["seed=-1"], r"seed=-1: must be an integer from 0 to 2\*\*32 - 1"),
        (["data=folder"], r"^data\.root is not set: give data\.root=\.\.\.$"),  # a ??? value, not a traceback
        (["optim.lr=-1"], r"optim=AdamW\(lr=-1\.0, .*\): Invalid learning rate: -1\.0"),
        (["sched=step", "sched.step_size=0"], r"sched=StepLR\(step_size=0, gamma=0\.1\): ZeroDivisionError"),
        (["init=normal", "init.std=-1"], r"init=Normal: Normal\(.*std=-1\.0\) failed: std must be above 0"),
        (["init=pretrained", "init.checkpoint=nowhere.pth"], r"init\.checkpoint=nowhere\.pth: .* does not exist"),
        (["data.num_workers=-1"], r"data\.num_workers=-1: must be 0 or more"),
        (["model=custom", "model._target_=nosuch.Net"], r"model\._target_=nosuch\.Net does not import: No module"),
        (["model=custom", "model._target_=math.pi"], r"model\._target_=math\.pi is a float, not a class or a function"),
        (["model=custom"], r"model\._target_ is not set: give the dotted path of your class, e\.g\. model\."),
        (
            ["+model.widht=3"],
            r"model: toolkit\.models\.SimpleCNN takes no argument 'widht' \(did you mean 'widths'\?\); it takes: ",
        ),
        (["+data.batch=3"], r"data: toolkit\.training\.data\.DigitsData takes no argument 'batch' \(did you mean"),
        (["+callbacks.x._target_=nosuch.Callback"], r"callbacks\.x\._target_=nosuch\.Callback does not import"),
        (["+logger.csv.nme=x"], r"logger\.csv: .*ContinuingCSVLogger takes no argument 'nme' \(did you mean"),
        (["optimized_metric=val_accuracy"], r"optimized_metric=val_accuracy: no run reports it; .*'val_acc'"),
        (["data.batch_size=abc"], r"data\.batch_size=abc: must be a positive integer"),
    ],
)
def test_bad_values_stop_before_training(compose_config, stop_before_training, overrides, message):
    with pytest.raises(ConfigError, match=message):
        run(compose_config(*overrides))
    assert not (stop_before_training / "checkpoints").exists()


def test_missing_paths_and_checkpoints_of_another_model(compose_config, stop_before_training):
    folder = stop_before_training
    with pytest.raises(ConfigError, match=r"data\.root=.*nowhere'?: no such folder"):
        run(compose_config("data=folder", f"data.root={folder / 'nowhere'}"))
    with pytest.raises(ConfigError, match=rf"ckpt_path={folder / 'nope.ckpt'}: no such file"):
        run(compose_config(f"ckpt_path={folder / 'nope.ckpt'}"))
    torch.save({"state_dict": {"fc.weight": torch.zeros(3, 3)}}, folder / "other.pth")
    with pytest.raises(ConfigError, match=rf"ckpt_path={folder / 'other.pth'} does not belong to this model"):
        run(compose_config(f"ckpt_path={folder / 'other.pth'}"))


def test_unwritable_export_path(compose_config, stop_before_training):
    (stop_before_training / "a-file").write_text("")
    with pytest.raises(ConfigError, match=r"export=.*a-file/net\.safetensors: cannot write there"):
        run(compose_config(f"export={stop_before_training / 'a-file' / 'net.safetensors'}"))


def test_resume_with_nothing_left_to_train_says_so(compose_config, stop_before_training):
    checkpoint = stop_before_training / "done.ckpt"
    lightning_checkpoint(checkpoint, epochs_done=3, net=SimpleCNN(1, 10))
    message = r"has already trained 3 epochs and trainer\.max_epochs=3: nothing is left to train"
    with pytest.raises(ConfigError, match=message):
        run(compose_config(f"ckpt_path={checkpoint}", "trainer.max_epochs=3"))


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ({"only": 4}, r"holds a single class folder \(only\); classification needs at least 2"),
        ({"cats": 4, "dogs": 4, "empty": 0}, r"the class folder\(s\) empty hold no images"),
    ],
)
def test_folder_with_one_class_or_an_empty_class(compose_config, stop_before_training, classes, message):
    image_folder(stop_before_training / "images", classes)
    with pytest.raises(ConfigError, match=message):
        run(compose_config("data=folder", f"data.root={stop_before_training / 'images'}", "data.channels=1"))


def test_tensorboard_logger_without_tensorboard_names_the_extra(compose_config, stop_before_training, monkeypatch):
    from toolkit.config import targets

    find_spec = targets.importlib.util.find_spec
    monkeypatch.setattr(
        targets.importlib.util, "find_spec", lambda name: None if name.startswith("tensorboard") else find_spec(name)
    )
    message = r"logger\.tensorboard: TensorBoardLogger needs the tensorboard package, .* 'toolkit\[loggers\]'"
    with pytest.raises(ConfigError, match=message):
        run(compose_config("logger=tensorboard"))


def checkpoint_files(folder):
    """A checkpoint path per way of being wrong, and the cause its message must name."""
    empty = folder / "empty.ckpt"
    empty.write_bytes(b"")
    text = folder / "notes.ckpt"
    text.write_text("epoch 3, val_acc 0.99\n")
    unsafe = folder / "unsafe.ckpt"
    torch.save({"state_dict": {}, "args": argparse.Namespace(lr=1)}, unsafe)
    truncated = folder / "truncated.ckpt"
    lightning_checkpoint(truncated, 1, SimpleCNN(1, 10))
    truncated.write_bytes(truncated.read_bytes()[:5000])
    return [
        (empty, "is empty"),
        (text, "is not a checkpoint"),
        (unsafe, "refused to load .* Python objects whose unpickling could run code"),
        (truncated, "truncated or corrupt|is corrupt"),
        (folder, "is a directory"),
    ]


def test_unreadable_ckpt_path_names_the_real_cause(compose_config, stop_before_training):
    for path, cause in checkpoint_files(stop_before_training):
        with pytest.raises(ConfigError) as caught:
            run(compose_config(f"ckpt_path={path}"))
        assert "does not belong to this model" not in str(caught.value)
        assert caught.match(cause), str(caught.value)


@pytest.fixture(scope="module")
def trained_checkpoint(compose_config, tmp_path_factory):
    """The last.ckpt of one epoch on the digits with the step schedule, and its contents."""
    folder = tmp_path_factory.mktemp("trained")
    run(compose_config("trainer.max_epochs=1", "sched=step"), folder)
    path = folder / "checkpoints" / "last.ckpt"
    return path, torch.load(path, weights_only=True)


@pytest.mark.parametrize(
    ("overrides", "refused"),
    [
        (["optim.lr=0.05"], "optim.lr=0.05"),
        (["sched=none"], "sched=none"),
        (["optim=sgd", "seed=3"], "optim=SGD, seed=3"),
        (["sched=cosine"], "sched=CosineAnnealingLR"),
    ],
)
def test_a_resume_names_the_overrides_it_cannot_honour(
    compose_config, stop_before_training, trained_checkpoint, overrides, refused
):
    path, _ = trained_checkpoint
    message = rf"ckpt_path={path}: a resume restores the model, the optimizer and the schedule as they were, so it "
    message += rf"cannot honour {refused} \(the checkpoint was trained otherwise\)"
    with pytest.raises(ConfigError, match=message):
        run(compose_config(f"ckpt_path={path}", "trainer.max_epochs=2", "sched=step", *overrides))


def test_a_resume_names_what_does_not_fit_in_the_training_state(
    compose_config, stop_before_training, trained_checkpoint
):
    _, checkpoint = trained_checkpoint
    unrecorded = {key: value for key, value in checkpoint.items() if key != "toolkit_config"}  # an older checkpoint

    def resume(name, contents, *overrides):
        torch.save(contents, stop_before_training / name)
        run(compose_config(f"ckpt_path={stop_before_training / name}", "trainer.max_epochs=2", *overrides))

    weights = {"state_dict": checkpoint["state_dict"], "network_prefix": "net."}
    with pytest.raises(ConfigError, match=r"weights\.ckpt holds weights only, no training state to resume: .*init=pre"):
        resume("weights.ckpt", weights, "sched=step")
    with pytest.raises(ConfigError, match=r"optimizer state does not fit this run: it is another optimizer's"):
        resume("other.ckpt", unrecorded, "optim=sgd", "sched=step")
    state = unrecorded["optimizer_states"][0]["state"]
    tampered = {**unrecorded, "optimizer_states": [{**unrecorded["optimizer_states"][0], "state": dict(state)}]}
    tampered["optimizer_states"][0]["state"][0] = {**state[0], "exp_avg": torch.zeros(3)}
    shape = re.escape(str(tuple(state[0]["exp_avg"].shape)))
    with pytest.raises(ConfigError, match=rf"exp_avg of parameter 0 has the shape \(3,\), the parameter {shape}"):
        resume("tampered.ckpt", tampered, "sched=step")
    with pytest.raises(ConfigError, match=r"was trained with an LR schedule, this run has none"):
        resume("unscheduled.ckpt", unrecorded, "sched=none")


def test_a_checkpoint_with_weights_that_are_not_finite_is_refused(compose_config, stop_before_training):
    net = SimpleCNN(1, 10)
    with torch.no_grad():
        next(net.parameters())[0] = float("nan")
    torch.save({"state_dict": net.state_dict()}, stop_before_training / "nan.pth")
    with pytest.raises(ConfigError, match=r"nan\.pth holds weights that are not finite \(NaN or infinite\) in "):
        run(compose_config("mode=eval", f"ckpt_path={stop_before_training / 'nan.pth'}"))


def test_eval_on_other_data_than_the_checkpoint_was_trained_on_warns(
    compose_config, tmp_path, trained_checkpoint, caplog
):
    path, _ = trained_checkpoint
    other = ["data=synthetic", "data.channels=1", "data.size=8", "data.samples=64", "logger=none"]  # the same shapes
    with caplog.at_level("WARNING", logger="toolkit.training"):
        run(compose_config("mode=eval", f"ckpt_path={path}", *other), tmp_path)
    assert f"mode=eval: ckpt_path={path} was trained on other data (now data=SyntheticData" in caplog.text
