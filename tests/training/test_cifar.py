"""CIFAR-10/100 from a tiny data set written in torchvision's python layout, as its files are."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from toolkit.errors import ConfigError
from toolkit.training.cifar import STATISTICS, CIFARData
from toolkit.training.run import run

from ..conftest import set_up


def write_batch(path, images: np.ndarray, labels: list[int], label_key: bytes) -> None:
    """A batch file as CIFAR's Python 2 pickles hold it: bytes keys, (N, 3072) uint8 rows."""
    batch = {b"batch_label": b"tiny", label_key: labels, b"data": images, b"filenames": [b"x.png"] * len(labels)}
    path.write_bytes(pickle.dumps(batch, protocol=2))


def tiny_cifar(root, classes: int = 10, per_file: int = 20, seed: int = 0) -> None:
    """Each class a solid color plus noise, in CIFAR-`classes`'s folder and file names."""
    generator = np.random.default_rng(seed)
    folder_name, names, test_name, key = {
        10: ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", b"labels"),
        100: ("cifar-100-python", ["train"], "test", b"fine_labels"),
    }[classes]
    folder = root / folder_name
    folder.mkdir(parents=True)
    colors = generator.integers(0, 256, (classes, 3))
    for name in [*names, test_name]:
        labels = [int(label) for label in generator.integers(0, classes, per_file)]
        images = colors[labels][:, :, None].repeat(1024, axis=2) + generator.integers(-20, 20, (per_file, 3, 1024))
        write_batch(folder / name, np.clip(images, 0, 255).astype(np.uint8).reshape(per_file, 3072), labels, key)
    meta, names_key = {10: ("batches.meta", b"label_names"), 100: ("meta", b"fine_label_names")}[classes]
    (folder / meta).write_bytes(pickle.dumps({names_key: [f"class{index}".encode() for index in range(classes)]}))


def test_cifar10_reads_the_layout_splits_by_seed_and_normalizes(tmp_path):
    tiny_cifar(tmp_path)
    data = set_up(CIFARData(str(tmp_path), val_fraction=0.2, seed=1))
    assert (len(data.train_set), len(data.val_set), len(data.test_set)) == (80, 20, 20)
    assert data.num_classes == 10 and data.channels == 3
    image, label = data.test_set[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32 and 0 <= label < 10
    raw = data.test_set.source.images[0]
    assert raw.dtype == torch.uint8  # what a recipe's transforms get
    mean, std = (torch.tensor(values).view(3, 1, 1) for values in STATISTICS[10])
    torch.testing.assert_close(image, (raw.float() / 255 - mean) / std)
    again = set_up(CIFARData(str(tmp_path), val_fraction=0.2, seed=1))
    assert torch.equal(again.val_set.source.labels, data.val_set.source.labels)


def test_cifar100_fine_labels(tmp_path):
    tiny_cifar(tmp_path, classes=100, per_file=50)
    data = set_up(CIFARData(str(tmp_path), classes=100, val_fraction=0.1))
    assert data.num_classes == 100 and (len(data.train_set), len(data.test_set)) == (45, 50)


def test_a_pickle_that_asks_for_code_is_refused_and_missing_files_are_named(tmp_path):
    tiny_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({b"data": print}))
    with pytest.raises(ConfigError, match=r"cannot read the CIFAR file .*test_batch: refused to load builtins\.print"):
        set_up(CIFARData(str(tmp_path)))
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(ConfigError, match=r"data_batch_3 is missing"):
        set_up(CIFARData(str(tmp_path)))
    with pytest.raises(ConfigError, match=r"no cifar-100-python/ in it"):
        set_up(CIFARData(str(tmp_path), classes=100))


def test_data_cifar10_trains(compose_config, tmp_path):
    tiny_cifar(tmp_path / "data", per_file=40)
    overrides = ["data=cifar10", f"paths.data_root={tmp_path / 'data'}", "data.num_workers=0", "data.batch_size=32"]
    result = run(compose_config(*overrides, "trainer.max_epochs=2", "model.widths=[8,16]"), tmp_path / "run")
    assert result["num_classes"] == 10 and result["config"]["data"]["classes"] == 10 and "test_acc" in result


def good_batch(per_file: int = 20) -> tuple[np.ndarray, list[int]]:
    return np.zeros((per_file, 3072), dtype=np.uint8), [index % 10 for index in range(per_file)]


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (good_batch()[0], good_batch()[1][:-1], r"holds 20 images and 19 labels"),  # every later label shifted
        (np.zeros((20, 3000), dtype=np.uint8), good_batch()[1], r"holds an array of uint8, shape \(20, 3000\), not"),
        (np.zeros((20, 3072), dtype=np.float32), good_batch()[1], r"holds an array of float32, shape \(20, 3072\)"),
        (np.full((20, 3072), 300, dtype=np.int16), good_batch()[1], r"holds an array of int16"),
        (good_batch()[0], [10] * 20, r"holds the label 10; CIFAR-10 has 0 to 9"),
    ],
)
def test_a_batch_file_that_does_not_match_is_named(tmp_path, images, labels, message):
    tiny_cifar(tmp_path)
    broken = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    write_batch(broken, images, labels, b"labels")
    with pytest.raises(ConfigError, match=rf"the CIFAR file {broken} {message}"):
        set_up(CIFARData(str(tmp_path)))


def cifar_archive(root, classes: int = 10, member_name: str | None = None) -> bytes:
    """A tiny CIFAR archive in the real layout (a .tar.gz of its python folder), as bytes."""
    import io
    import tarfile

    source = root / "source"
    tiny_cifar(source, classes)
    folder = next(source.iterdir())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=member_name or folder.name)
    return buffer.getvalue()


def md5(body: bytes) -> str:
    import hashlib

    return hashlib.md5(body).hexdigest()


@pytest.mark.parametrize("classes", [10, 100])
def test_download_checks_the_md5_then_extracts_once(classes, server, tmp_path):
    body = cifar_archive(tmp_path, classes)
    server.routes.add("/cifar.tar.gz", body)
    root = tmp_path / "data"
    arguments = dict(classes=classes, download=True, url=server.url("/cifar.tar.gz"), md5=md5(body), val_fraction=0.2)
    data = CIFARData(str(root), **arguments)
    data.prepare_data()
    assert len(set_up(data).train_set) == (80 if classes == 10 else 16)
    again = CIFARData(str(root), **arguments)
    again.prepare_data()  # the folder is there: nothing is fetched again
    assert server.routes.requests["/cifar.tar.gz"] == 1
    folder = {10: "cifar-10-batches-py", 100: "cifar-100-python"}[classes]
    assert sorted(path.name for path in root.iterdir()) == sorted(["cifar.tar.gz", folder])


def test_a_wrong_md5_stops_naming_both_and_keeps_nothing(server, tmp_path):
    body = cifar_archive(tmp_path)
    server.routes.add("/cifar.tar.gz", body)
    root = tmp_path / "data"
    data = CIFARData(str(root), download=True, url=server.url("/cifar.tar.gz"), md5="0" * 32)
    with pytest.raises(ConfigError, match=rf"MD5 is {md5(body)}, data.md5 says 0{{32}}; nothing was kept"):
        data.prepare_data()
    assert not root.exists() or list(root.iterdir()) == []


def test_an_interrupted_download_leaves_nothing_and_no_network_says_what_to_do(server, tmp_path):
    body = cifar_archive(tmp_path)
    server.routes.add("/cut.tar.gz", body, "cut")
    root = tmp_path / "data"
    data = CIFARData(str(root), download=True, url=server.url("/cut.tar.gz"), md5=md5(body))
    with pytest.raises(ConfigError, match=r"was cut off .*without a network, place cut\.tar\.gz from http"):
        data.prepare_data()
    assert not root.exists() or list(root.iterdir()) == []
    offline = CIFARData(str(root), download=True, url="http://127.0.0.1:9/cifar-10-python.tar.gz", md5=md5(body))
    with pytest.raises(ConfigError) as raised:
        offline.prepare_data()
    assert str(raised.value).count("\n") == 0 and "http://127.0.0.1:9/cifar-10-python.tar.gz" in str(raised.value)
    assert "(or its extracted cifar-10-batches-py/)" in str(raised.value)


def test_an_archive_member_outside_the_folder_is_refused(server, tmp_path):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        escaping = tarfile.TarInfo("../escaped.txt")
        escaping.size = 2
        tar.addfile(escaping, io.BytesIO(b"hi"))
    body = buffer.getvalue()
    server.routes.add("/evil.tar.gz", body)
    root = tmp_path / "data"
    data = CIFARData(str(root), download=True, url=server.url("/evil.tar.gz"), md5=md5(body))
    with pytest.raises(ConfigError, match="cannot extract"):
        data.prepare_data()
    assert not (tmp_path / "escaped.txt").exists() and not (root / "cifar-10-batches-py").exists()


def test_a_run_with_download_trains_and_one_with_a_wrong_md5_keeps_nothing(compose_config, server, tmp_path):
    body = cifar_archive(tmp_path)
    server.routes.add("/cifar-10-python.tar.gz", body)
    root = tmp_path / "data"
    overrides = ["data=cifar10", f"paths.data_root={root}", "data.download=true", "data.num_workers=0"]
    overrides += [f"data.url={server.url('/cifar-10-python.tar.gz')}", "trainer.max_epochs=1", "model.widths=[8,16]"]
    with pytest.raises(ConfigError, match=rf"MD5 is {md5(body)}, data.md5 says f{{32}}; nothing was kept"):
        run(compose_config(*overrides, "data.md5=" + "f" * 32), tmp_path / "refused")
    assert not root.exists() or list(root.iterdir()) == []
    result = run(compose_config(*overrides, f"data.md5={md5(body)}"), tmp_path / "run")
    assert result["epochs"] == 1 and result["num_classes"] == 10 and 0 <= result["test_acc"] <= 1
    assert (root / "cifar-10-batches-py" / "test_batch").is_file()
