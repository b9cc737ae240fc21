import hashlib
import importlib.util
import io
import json
import warnings

import pytest
import torch
from torch import nn

from toolkit import initialize, load_checkpoint
from toolkit.checkpoint import CHECKPOINT_LOADERS, CheckpointError, get_model_zoo_urls, model_zoo, sources


def saved_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def linear_state(value: float) -> dict[str, torch.Tensor]:
    return {"weight": torch.full((2, 3), value), "bias": torch.full((2,), value)}


def cache_files(home) -> list[str]:
    folder = home / "checkpoints"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_once_then_served_from_cache(server, toolkit_home):
    server.routes.add("/w.pth", saved_bytes(linear_state(1.5)))
    for _ in range(2):
        model = nn.Linear(3, 2)
        load_checkpoint(model, server.url("/w.pth"))
        assert model.weight.unique().tolist() == [1.5]
    assert server.routes.requests["/w.pth"] == 1
    assert cache_files(toolkit_home) == ["w.pth"]


def test_hash_named_file_that_matches(server, toolkit_home):
    body = saved_bytes(linear_state(2.0))
    name = f"/resnet-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    server.routes.add(name, body)
    model = nn.Linear(3, 2)
    load_checkpoint(model, server.url(name))
    assert model.bias.unique().tolist() == [2.0]
    assert cache_files(toolkit_home) == [name[1:]]


def test_hash_mismatch_leaves_the_cache_clean(server, toolkit_home):
    server.routes.add("/resnet-deadbeef.pth", saved_bytes(linear_state(2.0)))
    with pytest.raises(CheckpointError, match=r"resnet-deadbeef.pth failed its hash check"):
        load_checkpoint(nn.Linear(3, 2), server.url("/resnet-deadbeef.pth"))
    assert cache_files(toolkit_home) == []


def test_connection_closed_mid_file_leaves_no_partial_file(server, toolkit_home):
    server.routes.add("/big.pth", saved_bytes(linear_state(3.0)) * 4, behaviour="cut")
    with pytest.raises(CheckpointError, match=r"download of http://127\.0\.0\.1:\d+/big\.pth"):
        load_checkpoint(nn.Linear(3, 2), server.url("/big.pth"))
    assert cache_files(toolkit_home) == []


def test_404_names_the_url(server, toolkit_home):
    with pytest.raises(CheckpointError, match=r"download of http://127\.0\.0\.1:\d+/missing\.pth failed: HTTP 404"):
        load_checkpoint(nn.Linear(3, 2), server.url("/missing.pth"))
    assert cache_files(toolkit_home) == []


def test_refused_connection_and_timeout(server, monkeypatch):
    url = server.url("/w.pth")
    server.close()
    with pytest.raises(CheckpointError, match=r"failed: .*refused"):
        load_checkpoint(nn.Linear(3, 2), url)
    slow = type(server)()
    try:
        slow.routes.add("/slow.pth", saved_bytes(linear_state(1.0)), behaviour="slow")
        monkeypatch.setenv("TOOLKIT_DOWNLOAD_TIMEOUT", "0.3")
        with pytest.raises(CheckpointError, match=r"timed out|failed: timed out"):
            load_checkpoint(nn.Linear(3, 2), slow.url("/slow.pth"))
    finally:
        slow.close()


def test_open_mmlab_user_table_relative_path_and_override(toolkit_home):
    toolkit_home.mkdir()
    torch.save(linear_state(4.0), toolkit_home / "mine.pth")
    (toolkit_home / "open-mmlab.json").write_text(json.dumps({"vgg16_caffe": "mine.pth", "my/linear": "mine.pth"}))
    urls = get_model_zoo_urls()
    assert urls["vgg16_caffe"] == "mine.pth"
    assert urls["msra/hrnetv2_w32"].endswith("hrnetv2_w32-dc9eeb4f.pth")
    for name in ("open-mmlab://vgg16_caffe", "openmmlab://my/linear"):
        model = nn.Linear(3, 2)
        load_checkpoint(model, name)
        assert model.weight.unique().tolist() == [4.0]


def test_mmcv_spelling_of_the_user_table(toolkit_home):
    toolkit_home.mkdir()
    (toolkit_home / "open_mmlab.json").write_text(json.dumps({"regnetx_3.2gf": "https://example.invalid/x.pth"}))
    assert get_model_zoo_urls()["regnetx_3.2gf"] == "https://example.invalid/x.pth"


def test_unknown_model_zoo_name_lists_close_names():
    unknown = r"open-mmlab://msra/hrnetv2_w33 is not in .*did you mean msra/hrnetv2_w32"
    with pytest.raises(CheckpointError, match=unknown):
        load_checkpoint(nn.Linear(3, 2), "open-mmlab://msra/hrnetv2_w33")


def test_deprecated_name_warns_and_maps(monkeypatch):
    seen = []
    monkeypatch.setattr(sources, "load_from_source", lambda filename, *args: seen.append(filename) or linear_state(0))
    with pytest.warns(DeprecationWarning, match="resnet50_caffe is deprecated in favor of open-mmlab://detectron/"):
        sources.load_from_open_mmlab("open-mmlab://resnet50_caffe")
    assert seen == ["https://download.openmmlab.com/pretrain/third_party/resnet50_caffe-788b5fa3.pth"]


def test_seed_model_zoo_names_are_in_the_default_table():
    urls = get_model_zoo_urls()
    for name in (
        "vgg16_caffe",
        "detectron2/resnet50_caffe",
        "resnext101_32x4d",
        "detectron/resnet50_gn",
        "jhu/resnet50_gn_ws",
        "msra/hrnetv2_w32",
        "res2net101_v1d_26w_4s",
        "regnetx_3.2gf",
    ):
        assert urls[name].startswith("https://download.openmmlab.com/"), name


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="checks the shipped table")
def test_torchvision_url_without_torchvision(server, monkeypatch):
    assert model_zoo.torchvision_url("resnet18") == "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    with pytest.raises(CheckpointError, match=r"torchvision://resnet19 is not in .*resnet18"):
        model_zoo.torchvision_url("resnet19")
    body = saved_bytes(linear_state(5.0))
    served = f"/models/resnet18-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    server.routes.add(served, body)
    monkeypatch.setattr(sources, "torchvision_url", lambda name: server.url(served) if name == "resnet18" else None)
    model = nn.Linear(3, 2)
    load_checkpoint(model, "torchvision://resnet18")
    assert model.weight.unique().tolist() == [5.0]


def test_user_scheme_with_one_decorated_function():
    @CHECKPOINT_LOADERS.register_module("s3://")
    def load_from_s3(filename, map_location=None, weights_only=True):
        return {"state_dict": linear_state(6.0)}

    try:
        model = nn.Linear(3, 2)
        load_checkpoint(model, "s3://bucket/linear.pth")
        assert model.weight.unique().tolist() == [6.0]
    finally:
        CHECKPOINT_LOADERS.module_dict.pop("s3://")


def test_pretrained_init_with_prefix_through_a_url(server):
    body = saved_bytes({"state_dict": {f"backbone.{k}": v for k, v in linear_state(7.0).items()}})
    server.routes.add("/retinanet.pth", body)
    model = nn.Sequential(nn.Linear(3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        initialize(model[0], dict(type="Pretrained", checkpoint=server.url("/retinanet.pth"), prefix="backbone."))
    assert model[0].weight.unique().tolist() == [7.0]
