"""Your images, one sub-folder per class (`data=folder`): listed once, decoded lazily in the loader's
workers, an unreadable image reported with its path when it is met (or skipped, with a warning).

Start-up costs one directory listing per class folder, not a read of every image, so a folder
of a million images starts training at once.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from ..errors import ConfigError
from .data import ClassificationData, check_data_arguments, check_image_memory

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
EXPECTED = f"expected root/<class>/<image> with suffixes {sorted(IMAGE_SUFFIXES)}"


def listed(folder: Path) -> list[os.DirEntry[str]]:
    """The entries of `folder`; one that cannot be listed (a symlink loop, no permission) is named."""
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError as error:
        raise ConfigError(f"data.root: cannot list {str(folder)!r}: {error.strerror or error}") from None


def is_kind(entry: os.DirEntry[str], kind: str) -> bool:
    """Whether `entry` is a folder (`kind='dir'`) or a regular file (`'file'`; never a FIFO or a device,
    which would hang or fail the loader), following symlinks; a link that loops is named."""
    try:
        return entry.is_dir() if kind == "dir" else entry.is_file()
    except OSError as error:
        raise ConfigError(f"data.root: cannot read {entry.path!r}: {error.strerror or error}") from None


def list_images(root: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """The class names (sorted folder names) and every image's path and label, from one listing per folder."""
    if not root.is_dir():
        raise ConfigError(f"data.root={str(root)!r}: no such folder")
    classes = sorted(entry.name for entry in listed(root) if is_kind(entry, "dir") and not entry.name.startswith("."))
    files, empty = [], []
    for label, name in enumerate(classes):
        found = sorted(
            entry.path
            for entry in listed(root / name)
            if os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES and is_kind(entry, "file")
        )
        files += [(path, label) for path in found]
        if not found:
            empty.append(name)
    if not files:
        raise ConfigError(f"data.root={str(root)!r} holds no images in class sub-folders ({EXPECTED})")
    if empty:
        raise ConfigError(
            f"data.root={str(root)!r}: the class folder(s) {', '.join(empty)} hold no images ({EXPECTED}); "
            "fill or remove them"
        )
    if len(classes) < 2:
        raise ConfigError(
            f"data.root={str(root)!r} holds a single class folder ({classes[0]}); classification needs at least 2"
        )
    return classes, files


class ImageFolder(Dataset):
    """Images in one sub-folder per class, read with Pillow when asked for, resized, scaled to [-1, 1].

    An image Pillow cannot read raises a ConfigError naming its path; with `skip_unreadable`, a
    warning names it instead and the next readable image takes its place.
    """

    def __init__(self, root: Path, size: int, channels: int, skip_unreadable: bool = False) -> None:
        self.mode = {1: "L", 3: "RGB"}.get(channels)
        if self.mode is None:
            raise ConfigError(f"data.channels={channels}: image folders are read as 1 (grey) or 3 (RGB) channels")
        self.classes, self.files = list_images(root)
        self.size, self.skip_unreadable = size, skip_unreadable

    def __len__(self) -> int:
        return len(self.files)

    def read(self, index: int) -> torch.Tensor:
        from PIL import Image, UnidentifiedImageError

        path = self.files[index][0]
        try:
            with Image.open(path) as image:
                pixels = image.convert(self.mode).resize((self.size, self.size))
        except Image.DecompressionBombError as error:
            limit = f"{Image.MAX_IMAGE_PIXELS * 2:,}"
            raise ConfigError(
                f"cannot read the image {path!r}: it has more pixels than Pillow decodes ({limit}), which guards "
                "against decompression bombs; shrink the image, or raise PIL.Image.MAX_IMAGE_PIXELS if you trust it"
            ) from error
        except (OSError, SyntaxError, UnidentifiedImageError, ValueError) as error:
            raise ConfigError(f"cannot read the image {path!r}: {error}") from error
        tensor = torch.frombuffer(bytearray(pixels.tobytes()), dtype=torch.uint8).float()
        return tensor.view(self.size, self.size, -1).permute(2, 0, 1) / 127.5 - 1

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        for offset in range(len(self.files)):
            position = (index + offset) % len(self.files)
            try:
                return self.read(position), self.files[position][1]
            except ConfigError as error:
                if not self.skip_unreadable:
                    raise
                warnings.warn(f"skipped: {error}", stacklevel=2)
        raise ConfigError(f"no image in data.root can be read ({len(self.files)} tried)")


class FolderData(ClassificationData):
    """Your images: `data.root=/path` with one sub-folder per class (the classes are counted).

    `skip_unreadable=true` skips an image Pillow cannot read, with a warning naming it, instead of
    stopping the run there.
    """

    def __init__(
        self, root: str, channels: int = 3, size: int = 32, skip_unreadable: bool = False, **split: Any
    ) -> None:
        check_data_arguments(channels=channels, size=size)
        self.root, self.channels, self.size = Path(root).expanduser(), channels, size
        self.skip_unreadable = skip_unreadable
        super().__init__(**split)
        check_image_memory(size, channels, self.batch_size)

    def load(self) -> Dataset:
        """The folder, listed (the classes are counted here: `num_classes` is known after `setup()`)."""
        images = ImageFolder(self.root, self.size, self.channels, self.skip_unreadable)
        self.num_classes = len(images.classes)
        return images
