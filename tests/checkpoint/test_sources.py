import hashlib
import importlib.util
import io
import json
import os
import socket
import warnings

import pytest
import torch
from torch import nn

from toolkit import initialize, load_checkpoint
from toolkit.checkpoint import CHECKPOINT_LOADERS, CheckpointError, get_model_zoo_urls, model_zoo, sources
from toolkit.models import ResNetClassifier


def saved_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def linear_state(value: float) -> dict[str, torch.Tensor]:
    return {"weight": torch.full((2, 3), value), "bias": torch.full((2,), value)}


def cache_files(home) -> list[str]:
    folder = home / "checkpoints"
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


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
        sources.load_from_openmmlab("open-mmlab://resnet50_caffe")
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


@pytest.mark.parametrize("copies", [1, 4])
def test_cut_off_download_without_length_never_enters_the_cache(server, toolkit_home, copies):
    server.routes.add("/w.pth", saved_bytes(linear_state(1.0)) * copies, behaviour="cut-without-length")
    with pytest.raises(CheckpointError, match=r"the download of http://127\.0\.0\.1:\d+/w\.pth is an incomplete zip"):
        load_checkpoint(nn.Linear(3, 2), server.url("/w.pth"))
    assert cache_files(toolkit_home) == []
    server.routes.add("/w.pth", saved_bytes(linear_state(1.0)))  # the next load downloads again
    model = nn.Linear(3, 2)
    load_checkpoint(model, server.url("/w.pth"))
    assert model.weight.unique().tolist() == [1.0] and server.routes.requests["/w.pth"] == 2


def test_an_html_page_answered_with_200_is_not_a_checkpoint(server, toolkit_home):
    server.routes.add("/w.pth", b"<!DOCTYPE html><html><body>Sign in to continue</body></html>")
    with pytest.raises(CheckpointError, match=r"download of http://.*/w\.pth is not a checkpoint.*<!DOCTYPE html>"):
        load_checkpoint(nn.Linear(3, 2), server.url("/w.pth"))
    assert cache_files(toolkit_home) == []


def test_hash_prefix_is_checked_in_any_case(server, toolkit_home):
    body = saved_bytes(linear_state(2.0))
    digest = hashlib.sha256(body).hexdigest()[:8].upper()
    server.routes.add("/lin-FBF39488.pth", body)
    server.routes.add(f"/lin-{digest}.pth", body)
    with pytest.raises(CheckpointError, match="failed its hash check"):
        load_checkpoint(nn.Linear(3, 2), server.url("/lin-FBF39488.pth"))
    load_checkpoint(nn.Linear(3, 2), server.url(f"/lin-{digest}.pth"))
    assert cache_files(toolkit_home) == [f"lin-{digest}.pth"]


def test_the_cache_is_keyed_by_the_whole_url(server, toolkit_home):
    other = type(server)()
    try:
        server.routes.add("/x/model.pth", saved_bytes(linear_state(1.0)))
        other.routes.add("/x/model.pth", saved_bytes(linear_state(2.0)))
        for host, value in ((server, 1.0), (other, 2.0), (server, 1.0)):
            model = nn.Linear(3, 2)
            load_checkpoint(model, host.url("/x/model.pth"))
            assert model.weight.unique().tolist() == [value]
        assert server.routes.requests["/x/model.pth"] == other.routes.requests["/x/model.pth"] == 1
    finally:
        other.close()


def test_a_trickling_server_meets_the_overall_deadline(server, toolkit_home, monkeypatch):
    import time

    server.routes.add("/slow.pth", saved_bytes(linear_state(1.0)), behaviour="trickle")
    monkeypatch.setenv("TOOLKIT_DOWNLOAD_TIMEOUT", "1")
    monkeypatch.setenv("TOOLKIT_DOWNLOAD_DEADLINE", "1")
    start = time.monotonic()
    with pytest.raises(CheckpointError, match=r"slow\.pth took longer than TOOLKIT_DOWNLOAD_DEADLINE=1s"):
        load_checkpoint(nn.Linear(3, 2), server.url("/slow.pth"))
    assert time.monotonic() - start < 5
    assert cache_files(toolkit_home) == []


@pytest.mark.parametrize("variable", ["TOOLKIT_DOWNLOAD_TIMEOUT", "TOOLKIT_DOWNLOAD_DEADLINE"])
@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "soon"])
def test_download_limits_must_be_positive_finite_seconds(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(
        CheckpointError, match=rf"{variable} must be a positive, finite number of seconds, got '{value}'"
    ):
        load_checkpoint(nn.Linear(3, 2), "http://127.0.0.1:9/w.pth")  # refused before any request


def test_errors_about_a_downloaded_file_name_the_url(server):
    import argparse

    server.routes.add("/unsafe.pth", saved_bytes({"state_dict": linear_state(1.0), "args": argparse.Namespace()}))
    with pytest.raises(CheckpointError, match=r"http://127\.0\.0\.1:\d+/unsafe\.pth \(cached as .*\): refused to load"):
        load_checkpoint(nn.Linear(3, 2), server.url("/unsafe.pth"))


def test_stale_temporary_files_of_killed_downloads_are_removed(server, toolkit_home):
    from toolkit.checkpoint.download import cache_path

    url = server.url("/w.pth")
    folder = cache_path(url).parent
    folder.mkdir(parents=True)
    stale = folder / ".w.pth.otherhost.12.ab12.part"
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))  # written long ago on another host
    dead = folder / f".w.pth.{socket.gethostname().replace('.', '_')}.999999999.cd34.part"
    dead.write_bytes(b"half")
    server.routes.add("/w.pth", saved_bytes(linear_state(1.0)))
    load_checkpoint(nn.Linear(3, 2), url)
    assert cache_files(toolkit_home) == ["w.pth"]


@pytest.mark.parametrize(
    ("home", "message"),
    [("file", "TOOLKIT_HOME must be a writable folder"), ("under-file", "TOOLKIT_HOME must be a writable folder")],
)
def test_toolkit_home_that_cannot_hold_the_cache(tmp_path, monkeypatch, home, message):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("TOOLKIT_HOME", str(tmp_path / "a-file" / ("" if home == "file" else "deeper")))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(nn.Linear(3, 2), "http://127.0.0.1:9/w.pth")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x/..", "http://127.0.0.1:9/", "http://127.0.0.1:9/x/."])
def test_a_url_without_a_file_name(url):
    with pytest.raises(CheckpointError, match="cannot tell a file name from the URL"):
        load_checkpoint(nn.Linear(3, 2), url)


def test_unknown_scheme_lists_the_known_ones():
    with pytest.raises(
        CheckpointError, match=r"no loader knows the scheme of 's3://bucket/w\.pth'; known schemes: .*http://"
    ):
        load_checkpoint(nn.Linear(3, 2), "s3://bucket/w.pth")


def test_model_zoo_table_that_is_not_utf8_is_named(toolkit_home):
    toolkit_home.mkdir()
    (toolkit_home / "open-mmlab.json").write_bytes(b'{"a": "\xff\xfe"}')
    with pytest.raises(CheckpointError, match=r"cannot read the model-zoo table '.*open-mmlab\.json'.*utf-8"):
        get_model_zoo_urls()


def test_model_zoo_entries_naming_other_sources_are_followed(toolkit_home, monkeypatch):
    toolkit_home.mkdir()
    torch.save(linear_state(5.0), toolkit_home / "mine.pth")
    table = {
        "tv": "torchvision://resnet18",
        "alias": "open-mmlab://chain",
        "chain": "openmmlab://mine",
        "mine": "mine.pth",
        "loop-a": "open-mmlab://loop-b",
        "loop-b": "open-mmlab://loop-a",
    }
    (toolkit_home / "open-mmlab.json").write_text(json.dumps(table))
    assert model_zoo.resolve_open_mmlab("tv") == "torchvision://resnet18"
    model = nn.Linear(3, 2)
    load_checkpoint(model, "open-mmlab://alias")
    assert model.weight.unique().tolist() == [5.0]
    loop = r"loop: open-mmlab://loop-a -> open-mmlab://loop-b -> open-mmlab://loop-a"
    with pytest.raises(CheckpointError, match=loop):
        load_checkpoint(nn.Linear(3, 2), "open-mmlab://loop-a")


@pytest.mark.parametrize("depth", [18, 50])
def test_torchvision_weights_load_into_model_resnet(depth, server, monkeypatch):
    """A checkpoint in torchvision's layout (written by torchvision's own ResNet) loads strictly into
    `model=resnet` from torchvision://, and both give the same outputs."""
    torchvision_models = pytest.importorskip("torchvision.models")
    reference = getattr(torchvision_models, f"resnet{depth}")(weights=None).eval()
    buffer = io.BytesIO()
    torch.save(reference.state_dict(), buffer)
    body = buffer.getvalue()
    served = f"/models/resnet{depth}-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    server.routes.add(served, body)
    monkeypatch.setattr(
        sources, "torchvision_url", lambda name: server.url(served) if name == f"resnet{depth}" else None
    )
    model = ResNetClassifier(depth=depth).eval()
    load_checkpoint(model, f"torchvision://resnet{depth}", strict=True)
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(model(x), reference(x))
