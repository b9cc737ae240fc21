"""`save_checkpoint` and friends, as `mmcv.runner` has them: model, optimizer and meta round-trip
through `load_checkpoint` with `weights_only=True`."""

import pytest
import torch
from torch import nn

from toolkit.checkpoint import (
    CHECKPOINT_LOADERS,
    CheckpointLoader,
    get_state_dict,
    load_checkpoint,
    load_from_local,
    save_checkpoint,
    weights_to_cpu,
)


def test_model_optimizer_and_meta_round_trip_safely(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 2, 2, 2)).sum().backward()
    optimizer.step()
    path = tmp_path / "epoch_3.pth"
    save_checkpoint(nn.DataParallel(model), path, optimizer=optimizer, meta=dict(epoch=3, iter=30))
    restored = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))
    checkpoint = load_checkpoint(restored, str(path), strict=True)  # weights_only=True by default
    for name, tensor in model.state_dict().items():
        assert torch.equal(restored.state_dict()[name], tensor), name
    assert checkpoint["meta"]["epoch"] == 3 and "toolkit_version" in checkpoint["meta"] and checkpoint["meta"]["time"]
    fresh = torch.optim.SGD(restored.parameters(), lr=0.1, momentum=0.9)
    fresh.load_state_dict(checkpoint["optimizer"])
    assert torch.equal(
        fresh.state_dict()["state"][0]["momentum_buffer"], optimizer.state_dict()["state"][0]["momentum_buffer"]
    )
    assert [path.name for path in tmp_path.iterdir()] == ["epoch_3.pth"]  # written atomically, no leftovers


def test_a_dict_of_optimizers_and_bad_arguments(tmp_path):
    model = nn.Linear(2, 2)
    optimizers = {"a": torch.optim.SGD(model.parameters(), lr=1.0), "b": torch.optim.Adam(model.parameters())}
    save_checkpoint(model, tmp_path / "w.pth", optimizer=optimizers)
    assert set(torch.load(tmp_path / "w.pth", weights_only=True)["optimizer"]) == {"a", "b"}
    with pytest.raises(TypeError, match="meta must be a dict"):
        save_checkpoint(model, tmp_path / "w.pth", meta=["epoch"])


def test_get_state_dict_unwraps_wrappers_in_children_and_weights_to_cpu():
    model = nn.Sequential(nn.DataParallel(nn.Linear(2, 2)))
    assert list(get_state_dict(model)) == ["0.weight", "0.bias"]
    assert all(tensor.device.type == "cpu" for tensor in weights_to_cpu(model.state_dict()).values())


def test_checkpoint_loader_takes_mmcv_style_loaders(tmp_path):
    torch.save({"weight": torch.ones(2, 2), "bias": torch.zeros(2)}, tmp_path / "w.pth")

    @CheckpointLoader.register_scheme(prefixes=("local://", "here://"))
    def load_from_here(filename, map_location):
        return load_from_local(str(tmp_path / filename.split("://")[1]), map_location)

    try:
        model = nn.Linear(2, 2)
        load_checkpoint(model, "here://w.pth", strict=True)
        assert model.weight.unique().tolist() == [1.0]
        assert set(CheckpointLoader.load_checkpoint("local://w.pth")) == {"weight", "bias"}
        with pytest.raises(KeyError, match="already registered"):
            CheckpointLoader.register_scheme("here://", load_from_here)
        CheckpointLoader.register_scheme("here://", load_from_here, force=True)
    finally:
        for prefix in ("local://", "here://"):
            CHECKPOINT_LOADERS.module_dict.pop(prefix)


def test_class_names_go_into_meta_and_only_local_files_are_written(tmp_path, monkeypatch):
    model = nn.Linear(2, 3)
    model.CLASSES = ("cat", "dog", "emu")
    save_checkpoint(nn.DataParallel(model), tmp_path / "named.pth", file_client_args=dict(backend="disk"))
    assert torch.load(tmp_path / "named.pth", weights_only=True)["meta"]["CLASSES"] == ("cat", "dog", "emu")
    with pytest.raises(ValueError, match=r"toolkit saves checkpoints to local files only"):
        save_checkpoint(model, tmp_path / "remote.pth", file_client_args=dict(backend="petrel"))
    assert not (tmp_path / "remote.pth").exists()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"'s3://bucket/w.pth': toolkit saves checkpoints to local files only"):
        save_checkpoint(model, "s3://bucket/w.pth")  # MMCV would pick its petrel backend by the prefix
    assert not list(tmp_path.glob("s3*"))


def test_a_registered_module_wrapper_is_looked_through_as_in_mmcv(tmp_path):
    from toolkit import MODULE_WRAPPERS, is_module_wrapper

    class Wrapper:  # not an nn.Module, as MMCV's own tests write one
        def __init__(self, module):
            self.module = module

    model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    model.CLASSES = ("a", "b")
    MODULE_WRAPPERS.register_module(module=Wrapper)
    try:
        assert is_module_wrapper(Wrapper(model)) and is_module_wrapper(nn.DataParallel(model))
        state = get_state_dict(Wrapper(model))
        assert list(state) == list(model.state_dict()) and state._metadata["1"]["version"] == 2
        save_checkpoint(Wrapper(model), tmp_path / "w.pth")
        assert torch.load(tmp_path / "w.pth", weights_only=True)["meta"]["CLASSES"] == ("a", "b")
    finally:
        MODULE_WRAPPERS.module_dict.pop("Wrapper")
    assert not is_module_wrapper(Wrapper(model))


def test_the_loader_of_a_path_is_the_one_of_its_longest_prefix_as_in_mmcv():
    lookup = CheckpointLoader._get_checkpoint_loader
    assert [lookup(name).__name__ for name in ("https://x/w.pth", "open-mmlab://vgg16_caffe", "work/w.pth")] == [
        "load_from_http",
        "load_from_openmmlab",
        "load_from_local",
    ]
    CheckpointLoader.register_scheme("a/b", lambda filename, map_location: {"by": "a/b"})
    CheckpointLoader.register_scheme("a/b/c", lambda filename, map_location: {"by": "a/b/c"})
    try:
        assert CheckpointLoader.load_checkpoint("a/b/c/d") == {"by": "a/b/c"}
    finally:
        for prefix in ("a/b", "a/b/c"):
            CHECKPOINT_LOADERS.module_dict.pop(prefix)
