"""Bad input stops `run(cfg)` before any Trainer exists, with a message that names the key and the cause."""

from __future__ import annotations

import argparse
import importlib

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
        (["seed=-1"], r"seed=-1: must be an integer from 0 to 2\*\*32 - 1"),
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
