"""Schemas of the data choices (`data=`): each is a LightningDataModule with a seeded train/val split."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING


@dataclass
class DataConfig:
    """Fields shared by every data set; `num_classes: null` means: count them from the data."""

    type: str = MISSING
    channels: int = MISSING
    num_classes: int | None = MISSING
    batch_size: int = 64
    val_fraction: float = 0.2
    num_workers: int = 0
    seed: int = 0


@dataclass
class DigitsConfig(DataConfig):
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download)."""

    type: str = "digits"
    channels: int = 1
    num_classes: int | None = 10


@dataclass
class SyntheticConfig(DataConfig):
    """Images made on the fly: a class-specific pattern plus noise."""

    type: str = "synthetic"
    channels: int = 3
    num_classes: int | None = 10
    size: int = 32
    samples: int = 2048
    noise: float = 2.0


@dataclass
class FolderConfig(DataConfig):
    """Your images in one sub-folder per class, read with Pillow and resized to `size`."""

    type: str = "folder"
    root: str = MISSING
    channels: int = 3
    num_classes: int | None = None
    size: int = 32
