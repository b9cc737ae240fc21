"""Data sets as LightningDataModules, each with a train/val split fixed by the seed.

The training order is reshuffled each epoch from (seed, epoch) alone, so a resumed run sees the
same batches as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset, TensorDataset

from ..errors import ConfigError

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
    """Splits a data set into train, val and test by the seed, and serves the three.

    Subclasses implement `load()`; `num_classes` and `channels` tell the model what to expect.
    """

    num_classes: int
    channels: int

    def __init__(
        self,
        batch_size: int = 64,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        check_data_arguments(
            batch_size=batch_size,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            num_workers=num_workers,
            seed=seed,
        )
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed
        self.dataset = self.load()
        name, total = type(self).__name__, len(self.dataset)
        order = torch.randperm(total, generator=torch.Generator().manual_seed(seed)).tolist()
        test_size, val_size = (max(1, round(total * fraction)) for fraction in (test_fraction, val_fraction))
        if test_size + val_size >= total:
            raise ConfigError(
                f"data.val_fraction={val_fraction} and data.test_fraction={test_fraction} leave no training "
                f"sample of the {total} in {name}"
            )
        self.test_set = Subset(self.dataset, order[:test_size])
        self.val_set = Subset(self.dataset, order[test_size : test_size + val_size])
        self.train_set = Subset(self.dataset, order[test_size + val_size :])

    def load(self) -> Dataset:
        raise NotImplementedError

    def train_dataloader(self) -> DataLoader:
        sampler = EpochSeededSampler(len(self.train_set), self.seed)
        return DataLoader(self.train_set, self.batch_size, sampler=sampler, num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, self.batch_size, num_workers=self.num_workers)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, self.batch_size, num_workers=self.num_workers)


def check_data_arguments(**arguments: Any) -> None:
    """Stop on data settings that would only fail inside training, naming the key.

    >>> check_data_arguments(batch_size=0, val_fraction=0.2)
    Traceback (most recent call last):
    toolkit.errors.ConfigError: data.batch_size=0: must be a positive integer
    """
    for key, value in arguments.items():
        if key.endswith("_fraction"):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise ConfigError(f"data.{key}={value}: must lie strictly between 0 and 1")
        elif isinstance(value, bool) or not isinstance(value, int) or value < (0 if key in ZERO_OK else 1):
            kind = "0 or more" if key in ZERO_OK else "a positive integer"
            raise ConfigError(f"data.{key}={value}: must be {kind}")


ZERO_OK = ("num_workers", "seed")


def standardize(images: torch.Tensor) -> torch.Tensor:
    """Zero mean and unit variance over the whole set."""
    return (images - images.mean()) / images.std()


class DigitsData(ClassificationData):
    """scikit-learn's 8x8 digits: 1,797 grey images of 10 classes, shipped with the package."""

    num_classes, channels = 10, 1

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


class SyntheticData(ClassificationData):
    """Images generated on the fly, with a learnable class signal under Gaussian noise."""

    def __init__(
        self,
        num_classes: int = 10,
        channels: int = 3,
        size: int = 32,
        samples: int = 2048,
        noise: float = 2.0,
        **split: Any,
    ) -> None:
        check_data_arguments(num_classes=num_classes, channels=channels, size=size, samples=samples)
        self.num_classes, self.channels, self.size = num_classes, channels, size
        self.samples, self.noise = samples, noise
        super().__init__(**split)

    def load(self) -> Dataset:
        return SyntheticImages(self.samples, self.num_classes, self.channels, self.size, self.noise, self.seed)


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


class FolderData(ClassificationData):
    """Your images: `data.root=/path` with one sub-folder per class (the classes are counted)."""

    def __init__(self, root: str, channels: int = 3, size: int = 32, **split: Any) -> None:
        check_data_arguments(channels=channels, size=size)
        self.root, self.channels, self.size = Path(root).expanduser(), channels, size
        super().__init__(**split)
        self.num_classes = len(self.dataset.classes)

    def load(self) -> Dataset:
        return ImageFolder(self.root, self.size, self.channels)
