"""A user's own code, as the experiment-layer tests import it (`PYTHONPATH=tests/experiment`)."""

from __future__ import annotations

import typing

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from toolkit import build_norm_layer


class TinyNet(nn.Module):
    """A plain nn.Module that takes the chosen norm: conv, norm, ReLU, pooling, linear."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 8, norm_cfg: dict | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, width, 3, padding=1)
        self.norm = build_norm_layer(norm_cfg, width)[1] if norm_cfg else nn.Identity()
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.norm(self.conv(x))).mean((2, 3)))


class DropoutNet(nn.Module):
    """A network with dropout: it draws from the global random state in every training step."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(torch.relu(self.conv(x)).mean((2, 3))))


class NoLayerNet(nn.Module):
    """A network that takes none of the layer cfgs."""

    def __init__(self, in_chans: int, num_classes: int) -> None:
        super().__init__()
        self.head = nn.Linear(in_chans, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.mean((2, 3)))


class Blobs(L.LightningDataModule):
    """Three classes of 1x8x8 images: a bright blob in a class-specific corner, under noise."""

    num_classes = 3

    def __init__(self, samples: int = 240, batch_size: int = 32, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        labels = torch.arange(samples) % 3
        images = torch.randn(samples, 1, 8, 8, generator=generator) * 0.3
        for label, (row, column) in enumerate([(0, 0), (0, 4), (4, 0)]):
            images[labels == label, :, row : row + 4, column : column + 4] += 2.0
        self.splits = torch.utils.data.random_split(TensorDataset(images, labels), [0.6, 0.2, 0.2], generator)
        self.batch_size = batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.splits[0], self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.splits[1], self.batch_size)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.splits[2], self.batch_size)


class CountBatches(L.Callback):
    """Counts the batches of each stage, in `CountBatches.seen`."""

    seen: typing.ClassVar[dict[str, int]] = {}

    def __init__(self) -> None:
        CountBatches.seen = {"train": 0, "val": 0, "test": 0}

    def on_train_batch_end(self, *args: object) -> None:
        CountBatches.seen["train"] += 1

    def on_validation_batch_end(self, *args: object) -> None:
        CountBatches.seen["val"] += 1

    def on_test_batch_end(self, *args: object) -> None:
        CountBatches.seen["test"] += 1


class BadLabels(Blobs):
    """Blobs whose labels go wrong: `label` in place of the real ones, from training sample `start` on
    (0: the first samples too) or in the val split only (`split=1`), or every label as `dtype`."""

    def __init__(self, label: int = 0, start: int = 0, split: int = 0, dtype: str = "int64") -> None:
        super().__init__()
        images, labels = self.splits[0].dataset.tensors
        labels[self.splits[split].indices[start:]] = label
        self.splits[0].dataset.tensors = (images, labels.to(getattr(torch, dtype)))


class ExplodingNet(nn.Module):
    """A network whose constructor has a bug."""

    def __init__(self, num_classes: int, width: int = 8) -> None:
        super().__init__()
        raise RuntimeError(f"no kernel for width {width}")


class NoParameters(nn.Module):
    """A network with nothing to train."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(len(x), self.num_classes)


def make_dict(num_classes: int) -> dict:
    """A factory that returns the wrong kind of object."""
    return {"classes": num_classes}


def not_a_callback() -> str:
    return "a callback"
