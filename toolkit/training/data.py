"""Data sets as LightningDataModules, each with a train/val split fixed by the seed.

The training order is reshuffled each epoch from (seed, epoch) alone, so a resumed run sees the
same batches as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset, TensorDataset

from ..config.data import DataConfig
from ..errors import ConfigError
from ..registry import Registry

DATASETS = Registry("data set")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class EpochSeededSampler(Sampler[int]):
    """A random order of `size` indices that depends only on the seed and the epoch."""

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self) -> int:
        return self.size


class ClassificationData(L.LightningDataModule):
    """Splits a data set into train and val by the seed and serves both."""

    def __init__(self, cfg: DataConfig) -> None:
        super().__init__()
        self.cfg = cfg
        check_data_cfg(cfg)
        self.dataset = self.load()
        if len(self.dataset) < 2:
            raise ConfigError(f"data={cfg.type} holds {len(self.dataset)} samples; at least 2 are needed")
        order = torch.randperm(len(self.dataset), generator=torch.Generator().manual_seed(cfg.seed)).tolist()
        val_size = max(1, round(len(order) * cfg.val_fraction))
        if val_size >= len(order):
            raise ConfigError(
                f"data.val_fraction={cfg.val_fraction} leaves no training sample of the {len(order)} in data={cfg.type}"
            )
        self.train_set, self.val_set = Subset(self.dataset, order[val_size:]), Subset(self.dataset, order[:val_size])

    def load(self) -> Dataset:
        raise NotImplementedError

    @property
    def num_classes(self) -> int:
        return int(self.cfg.num_classes)

    def train_dataloader(self) -> DataLoader:
        sampler = EpochSeededSampler(len(self.train_set), self.cfg.seed)
        return DataLoader(self.train_set, self.cfg.batch_size, sampler=sampler, num_workers=self.cfg.num_workers)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, self.cfg.batch_size, num_workers=self.cfg.num_workers)


POSITIVE_KEYS = ("batch_size", "size", "samples", "channels", "num_classes")


def check_data_cfg(cfg: DataConfig) -> None:
    """Stop on data settings that would only fail inside training, naming the key.

    >>> check_data_cfg({'type': 'digits', 'batch_size': 0, 'val_fraction': 0.2, 'num_workers': 0})
    Traceback (most recent call last):
    toolkit.errors.ConfigError: data.batch_size=0: must be a positive integer
    """
    for key in POSITIVE_KEYS:
        value = cfg.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"data.{key}={value}: must be a positive integer")
    if not 0 < cfg.get("val_fraction") < 1:
        raise ConfigError(f"data.val_fraction={cfg.get('val_fraction')}: must lie strictly between 0 and 1")
    if cfg.get("num_workers") < 0:
        raise ConfigError(f"data.num_workers={cfg.get('num_workers')}: must be 0 or more")


def standardize(images: torch.Tensor) -> torch.Tensor:
    """Zero mean and unit variance over the whole set."""
    return (images - images.mean()) / images.std()


@DATASETS.register_module("digits")
class DigitsData(ClassificationData):
    """scikit-learn's 8x8 digits: 1,797 grey images of 10 classes, shipped with the package."""

    def load(self) -> Dataset:
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = standardize(torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1))
        return TensorDataset(images, torch.tensor(digits.target, dtype=torch.long))


class SyntheticImages(Dataset):
    """Sample i: the pattern of class i % classes, scaled, plus noise drawn from a seed of its own."""

    def __init__(self, samples: int, classes: int, channels: int, size: int, noise: float, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.patterns = torch.randn(classes, channels, size, size, generator=generator)
        self.samples, self.classes, self.noise, self.seed = samples, classes, noise, seed

    def __len__(self) -> int:
        return self.samples

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        label = index % self.classes
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        noise = torch.randn(self.patterns.shape[1:], generator=generator)
        return self.patterns[label] + self.noise * noise, label


@DATASETS.register_module("synthetic")
class SyntheticData(ClassificationData):
    """Images generated on the fly, with a learnable class signal under Gaussian noise."""

    def load(self) -> Dataset:
        cfg = self.cfg
        return SyntheticImages(cfg.samples, cfg.num_classes, cfg.channels, cfg.size, cfg.noise, cfg.seed)


class ImageFolder(Dataset):
    """Images in one sub-folder per class, read with Pillow, resized, scaled to [-1, 1]."""

    def __init__(self, root: Path, size: int, channels: int) -> None:
        if not root.is_dir():
            raise ConfigError(f"data.root={str(root)!r}: no such folder")
        self.classes = sorted(path.name for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))
        self.files = [
            (path, label)
            for label, name in enumerate(self.classes)
            for path in sorted((root / name).iterdir())
            if path.suffix.lower() in IMAGE_SUFFIXES
        ]
        expected = f"expected root/<class>/<image> with suffixes {sorted(IMAGE_SUFFIXES)}"
        if not self.files:
            raise ConfigError(f"data.root={str(root)!r} holds no images in class sub-folders ({expected})")
        empty = sorted(set(self.classes) - {path.parent.name for path, _ in self.files})
        if empty:
            raise ConfigError(
                f"data.root={str(root)!r}: the class folder(s) {', '.join(empty)} hold no images ({expected}); "
                "fill or remove them"
            )
        if len(self.classes) < 2:
            raise ConfigError(
                f"data.root={str(root)!r} holds a single class folder ({self.classes[0]}); "
                "classification needs at least 2"
            )
        self.size, self.mode = size, {1: "L", 3: "RGB"}.get(channels)
        if self.mode is None:
            raise ConfigError(f"data.channels={channels}: image folders are read as 1 (grey) or 3 (RGB) channels")
        for path, _ in self.files:
            self.check_readable(path)

    @staticmethod
    def check_readable(path: Path) -> None:
        """Raise a ConfigError naming `path` unless Pillow can read it as an image."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                image.verify()
        except (OSError, SyntaxError, UnidentifiedImageError) as error:
            raise ConfigError(f"cannot read the image {str(path)!r}: {error}") from error

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image, UnidentifiedImageError

        path, label = self.files[index]
        try:
            with Image.open(path) as image:
                pixels = image.convert(self.mode).resize((self.size, self.size))
        except (OSError, UnidentifiedImageError) as error:
            raise ConfigError(f"cannot read the image {str(path)!r}: {error}") from error
        tensor = torch.frombuffer(bytearray(pixels.tobytes()), dtype=torch.uint8).float()
        tensor = tensor.view(self.size, self.size, -1).permute(2, 0, 1)
        return tensor / 127.5 - 1, label


@DATASETS.register_module("folder")
class FolderData(ClassificationData):
    """Your images: `data.root=/path` with one sub-folder per class."""

    def load(self) -> Dataset:
        return ImageFolder(Path(self.cfg.root).expanduser(), self.cfg.size, self.cfg.channels)

    @property
    def num_classes(self) -> int:
        return len(self.dataset.classes)


def build_datamodule(cfg: DataConfig) -> ClassificationData:
    """The data module of a `data` config node."""
    return DATASETS[cfg.type](cfg)
