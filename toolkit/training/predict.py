"""`mode=predict`: a trained network's predictions for a folder of images, as `predictions.csv`.

`python train.py mode=predict ckpt_path=.../best.ckpt predict.root=FOLDER` needs nothing but the
checkpoint: it records the run's config (which builds the network and the evaluation transforms
of its data set) and its data's class names, channels and normalization (`toolkit_data`). Every
image under the folder, at any depth, is decoded, sent through those transforms, and its
predicted class (by name), the probability of it and the `predict.top_k` most likely classes are
written in one row.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, Dataset

from ..config.bridge import build_model
from ..errors import ConfigError
from ..files import atomic_file
from .augment import ImagePipeline, recipe_transforms
from .checks import load_weights
from .data import available_cores, start_worker
from .image_folder import IMAGE_SUFFIXES, read_image
from .resume import CONFIG_KEY, DATA_KEY


def data_facts(datamodule: Any, num_classes: int, channels: int) -> dict[str, Any]:
    """What prediction needs to know of the data a network was trained on, as plain values: the class
    names (the data module's `class_names`, else 0, 1, ...), the channels, and the statistics that
    image files are normalized by (None: the data set has no image files, as synthetic data)."""
    names = getattr(datamodule, "class_names", None) or [str(index) for index in range(num_classes)]
    statistics = getattr(datamodule, "file_statistics", getattr(datamodule, "statistics", None))
    return {
        "classes": [str(name) for name in names],
        "channels": channels,
        "statistics": None if statistics is None else [list(map(float, values)) for values in statistics],
    }


def image_files(root: Path) -> list[Path]:
    """Every image under `root`, at any depth, in sorted order."""
    if not root.is_dir():
        raise ConfigError(f"predict.root={str(root)!r}: no such folder")
    files = sorted(
        Path(folder) / name
        for folder, _, names in os.walk(root)
        for name in names
        if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise ConfigError(f"predict.root={str(root)!r} holds no images (suffixes {sorted(IMAGE_SUFFIXES)})")
    return files


class PredictImages(Dataset):
    """The image files, decoded and sent through the evaluation pipeline."""

    def __init__(self, files: list[Path], mode: str, pipeline: ImagePipeline) -> None:
        self.files, self.mode, self.pipeline = files, mode, pipeline

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.pipeline(read_image(str(self.files[index]), self.mode))


def read_checkpoint(ckpt_path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run config and the data facts a checkpoint records; a ConfigError when it holds none."""
    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    config, facts = (checkpoint.get(key) if isinstance(checkpoint, dict) else None for key in (CONFIG_KEY, DATA_KEY))
    if not isinstance(config, dict) or not isinstance(facts, dict):
        raise ConfigError(
            f"ckpt_path={ckpt_path} records no run config and class names: mode=predict needs a checkpoint "
            "written by a training run of this version of toolkit"
        )
    if facts["statistics"] is None:
        data = str(config.get("data", {}).get("_target_", "its data")).rsplit(".", 1)[-1]
        raise ConfigError(f"ckpt_path={ckpt_path} was trained on {data}, which has no image files to predict")
    return config, facts


def pipeline_of(config: Mapping[str, Any], facts: Mapping[str, Any]) -> ImagePipeline:
    """The evaluation transforms of the checkpoint's recipe, then the size and normalization it trained at."""
    recipe = OmegaConf.create(config["augment"])
    _, evaluation = recipe_transforms(recipe)
    mean, std = facts["statistics"]
    return ImagePipeline(evaluation, (mean, std), recipe.size)


def predict(cfg: Any, folder: Path) -> dict[str, Any]:
    """Write `predictions.csv` in `folder` for every image under `cfg.predict.root`, with the network
    and transforms of `cfg.ckpt_path`; returns what metrics.json records.

    Args:
        cfg: The composed config (`ckpt_path`, `predict.root`, `predict.top_k`, `predict.batch_size`).
        folder: The run folder.

    Returns:
        The mode, the checkpoint, the number of images and the file written.

    Raises:
        ConfigError: For a checkpoint without what prediction needs, or a folder without images.
    """
    config, facts = read_checkpoint(cfg.ckpt_path)
    classes, channels = facts["classes"], facts["channels"]
    net = build_model(OmegaConf.create(config), len(classes), channels)
    load_weights(net, cfg.ckpt_path)
    root = Path(cfg.predict.root).expanduser()
    files = image_files(root)
    images = PredictImages(files, "L" if channels == 1 else "RGB", pipeline_of(config, facts))
    workers = min(available_cores(), 8) if len(files) > 256 else 0
    loader = DataLoader(images, cfg.predict.batch_size, num_workers=workers, worker_init_fn=start_worker)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net.to(device).eval()
    top_k = min(cfg.predict.top_k or 5, len(classes))
    rows = []
    with torch.no_grad():
        for batch in loader:
            probabilities = net(batch.to(device)).float().softmax(dim=1).cpu()
            values, indices = probabilities.topk(top_k, dim=1)
            rows += zip(values.tolist(), indices.tolist(), strict=True)
    header = ["path", "label", "probability"]
    header += [f"top{rank}_{part}" for rank in range(1, top_k + 1) for part in ("label", "probability")]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    for path, (values, indices) in zip(files, rows, strict=True):
        ranked = [field for value, index in zip(values, indices, strict=True) for field in (classes[index], value)]
        writer.writerow([str(path.relative_to(root)), classes[indices[0]], values[0], *ranked])
    with atomic_file(folder / "predictions.csv", "w") as file:
        file.write(text.getvalue())
    print(f"predicted {len(files)} images of {root} -> {folder / 'predictions.csv'}")
    return {"mode": "predict", "ckpt_path": str(cfg.ckpt_path), "images": len(files), "predictions": "predictions.csv"}
