"""`mode=predict`: a checkpoint's predictions for a folder of images, with its data's class names."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from toolkit.errors import ConfigError
from toolkit.training.run import run

from .test_augment import photos
from .test_cifar import tiny_cifar


def rows(folder):
    with open(folder / "predictions.csv") as file:
        return list(csv.DictReader(file))


def test_predict_on_a_nested_folder_gives_a_row_per_image_with_the_folder_class_names(compose_config, tmp_path):
    photos(tmp_path / "images")
    trained = ["data=folder", f"data.root={tmp_path / 'images'}", "data.size=16", "trainer.max_epochs=1"]
    run(
        compose_config(*trained, "data.val_fraction=0.34", "data.test_fraction=0.34", "model.widths=[8]"),
        tmp_path / "t",
    )
    new = tmp_path / "new" / "deep" / "er"
    new.mkdir(parents=True)
    for index, source in enumerate(sorted((tmp_path / "images").rglob("*.jpg"))[:4]):
        (new if index % 2 else new.parent).joinpath(f"{index}.jpg").write_bytes(source.read_bytes())
    (new / "notes.txt").write_text("not an image")
    checkpoint = next((tmp_path / "t" / "checkpoints").glob("best-*.ckpt"))
    result = run(
        compose_config("mode=predict", f"ckpt_path={checkpoint}", f"predict.root={tmp_path / 'new'}"), tmp_path / "p"
    )
    predicted = rows(tmp_path / "p")
    assert [row["path"] for row in predicted] == ["deep/0.jpg", "deep/2.jpg", "deep/er/1.jpg", "deep/er/3.jpg"]
    assert list(predicted[0]) == ["path", "label", "probability"] + [
        f"top{rank}_{part}" for rank in (1, 2) for part in ("label", "probability")
    ]  # top_k: 5, or the 2 classes there are
    for row in predicted:
        assert row["label"] in ("cat", "dog") and row["label"] == row["top1_label"]
        assert float(row["probability"]) >= float(row["top2_probability"]) >= 0
        assert float(row["top1_probability"]) + float(row["top2_probability"]) == pytest.approx(1, abs=1e-6)
    assert result["images"] == 4 and result["mode"] == "predict"


def test_digits_predictions_from_image_files_match_the_network_on_the_data_set(compose_config, tmp_path):
    from toolkit import load_checkpoint
    from toolkit.models import SimpleCNN
    from toolkit.training.data import DIGITS, DigitsData

    run(compose_config("trainer.max_epochs=3"), tmp_path / "t")
    with np.load(DIGITS) as digits:
        images = digits["images"][:40]
    (tmp_path / "files").mkdir()
    for index, image in enumerate(images):
        pixels = (image.astype(np.float64) * 255 / 16).round().astype(np.uint8)  # 0-16 as 0-255
        Image.fromarray(pixels).save(tmp_path / "files" / f"{index:02d}.png")
    checkpoint = tmp_path / "t" / "checkpoints" / "last.ckpt"
    run(compose_config("mode=predict", f"ckpt_path={checkpoint}", f"predict.root={tmp_path / 'files'}"), tmp_path / "p")
    predicted = [row["label"] for row in rows(tmp_path / "p")]
    net = SimpleCNN(1, 10).eval()
    load_checkpoint(net, str(checkpoint), strict=True)
    data = DigitsData()
    with torch.no_grad():
        expected = net(data.load().tensors[0][:40]).argmax(1).tolist()
    assert sum(label == str(index) for label, index in zip(predicted, expected, strict=True)) >= 38
    assert set(predicted) <= {str(digit) for digit in range(10)} and len(rows(tmp_path / "p")[0]) == 3 + 2 * 5


def test_cifar_predictions_name_cifar_classes(compose_config, tmp_path):
    tiny_cifar(tmp_path / "data", per_file=40)
    trained = ["data=cifar10", f"paths.data_root={tmp_path / 'data'}", "data.num_workers=0", "trainer.max_epochs=1"]
    run(compose_config(*trained, "model.widths=[8]"), tmp_path / "t")
    (tmp_path / "files").mkdir()
    for index in range(3):
        Image.new("RGB", (40, 30), color=(index * 90, 50, 200)).save(tmp_path / "files" / f"{index}.png")
    checkpoint = tmp_path / "t" / "checkpoints" / "last.ckpt"
    run(compose_config("mode=predict", f"ckpt_path={checkpoint}", f"predict.root={tmp_path / 'files'}"), tmp_path / "p")
    assert all(row["label"].startswith("class") for row in rows(tmp_path / "p"))


def test_predict_without_what_it_needs_says_so(compose_config, tmp_path):
    with pytest.raises(ConfigError, match=r"mode=predict needs ckpt_path=.* and predict\.root="):
        run(compose_config("mode=predict"), tmp_path / "a")
    run(compose_config("trainer.max_epochs=1", "data=synthetic", "data.samples=64"), tmp_path / "synthetic")
    checkpoint = tmp_path / "synthetic" / "checkpoints" / "last.ckpt"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"was trained on SyntheticData, which has no image files to predict"):
        run(compose_config("mode=predict", f"ckpt_path={checkpoint}", f"predict.root={tmp_path}"), tmp_path / "b")
    run(compose_config("trainer.max_epochs=1"), tmp_path / "digits")
    digits = tmp_path / "digits" / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError, match=r"predict\.root='.*empty' holds no images"):
        run(compose_config("mode=predict", f"ckpt_path={digits}", f"predict.root={tmp_path / 'empty'}"), tmp_path / "c")
