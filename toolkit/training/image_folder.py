"""Your images, one sub-folder per class (`data=folder`): listed once, decoded lazily in the loader's
workers, an unreadable image reported with its path when it is met (or skipped, with a warning).

Start-up costs one directory listing per class folder, not a read of every image, so a folder
of a million images starts training at once. JPEG and PNG files are decoded by torchvision
(libjpeg-turbo and libpng, about twice as fast as Pillow), other formats by Pillow; Pillow reads
every header first, so that an image claiming more pixels than Pillow would decode (a
decompression bomb) is refused before any memory is taken for it.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
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


TORCHVISION_DECODES = {".png", ".jpg", ".jpeg"}
# ImageNet's per-channel mean and standard deviation, in [0, 1]: the usual statistics for photos.
IMAGENET_STATISTICS = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def decoded(path: str, data: bytes, mode: str) -> torch.Tensor:
    """The image in `data` (read from `path`) as a uint8 tensor, channels first, in Pillow's `mode`
    (`L` or `RGB`): JPEG and PNG by torchvision, others by Pillow. Its header is checked first."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:  # reads the header: a decompression bomb stops here
        if os.path.splitext(path)[1].lower() not in TORCHVISION_DECODES:
            return torch.from_numpy(np.array(image.convert(mode))).view(image.height, image.width, -1).permute(2, 0, 1)
    from torchvision.io import ImageReadMode, decode_image

    with warnings.catch_warnings():  # torchvision 0.29 and later deprecate their decoders in favour of TorchCodec
        warnings.simplefilter("ignore", DeprecationWarning)
        read_mode = ImageReadMode.GRAY if mode == "L" else ImageReadMode.RGB
        return decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=read_mode)


def read_image(path: str, mode: str) -> torch.Tensor:
    """The image file at `path` as a uint8 tensor in Pillow's `mode` (`L` or `RGB`); a ConfigError
    naming the path when it cannot be decoded, or claims more pixels than Pillow decodes."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open(path, "rb") as file:
            return decoded(path, file.read(), mode)
    except Image.DecompressionBombError as error:
        limit = f"{Image.MAX_IMAGE_PIXELS * 2:,}"
        raise ConfigError(
            f"cannot read the image {path!r}: it has more pixels than Pillow decodes ({limit}), which guards "
            "against decompression bombs; shrink the image, or raise PIL.Image.MAX_IMAGE_PIXELS if you trust it"
        ) from error
    except UnidentifiedImageError as error:
        raise ConfigError(f"cannot read the image {path!r}: its format cannot be identified") from error
    except (OSError, RuntimeError, SyntaxError, ValueError) as error:
        raise ConfigError(f"cannot read the image {path!r}: {error}") from error


class ImageFolder(Dataset):
    """Images in one sub-folder per class, decoded when asked for, as uint8 tensors at their own size.

    An image that cannot be decoded raises a ConfigError naming its path; with `skip_unreadable`, a
    warning names it instead and the next readable image takes its place.

    Args:
        root: The folder of class sub-folders.
        channels: 1 (grey) or 3 (RGB).
        skip_unreadable: Skip an unreadable image with a warning instead of stopping.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> for name in ('cat', 'dog'):
        ...     (root / name).mkdir()
        ...     Image.new('RGB', (5, 4)).save(root / name / '0.jpg')
        >>> images = ImageFolder(root, channels=3)
        >>> images.classes, images[1][0].shape, images[1][0].dtype, images[1][1]
        (['cat', 'dog'], torch.Size([3, 4, 5]), torch.uint8, 1)
    """

    def __init__(self, root: Path, channels: int, skip_unreadable: bool = False) -> None:
        self.mode = {1: "L", 3: "RGB"}.get(channels)
        if self.mode is None:
            raise ConfigError(f"data.channels={channels}: image folders are read as 1 (grey) or 3 (RGB) channels")
        self.classes, self.files = list_images(root)
        self.skip_unreadable = skip_unreadable

    def __len__(self) -> int:
        return len(self.files)

    def read(self, index: int) -> torch.Tensor:
        return read_image(self.files[index][0], self.mode)

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

    Images are served at `size` x `size` (the `augment=` recipe crops them there, `augment=imagenet`
    unless said otherwise; a recipe that does not is followed by a resize), normalized by `mean` and
    `std` (None: ImageNet's statistics; their average for grey images). `skip_unreadable=true` skips
    an image that cannot be decoded, with a warning naming it, instead of stopping the run there.

    Args:
        root: The folder of class sub-folders.
        channels: 1 (grey) or 3 (RGB).
        size: The side of the images served.
        skip_unreadable: Skip an unreadable image with a warning instead of stopping.
        mean: Per-channel means of the images in [0, 1] (None: ImageNet's).
        std: Per-channel standard deviations (None: ImageNet's).
        **split: The arguments of `ClassificationData` (batch size, fractions, loader settings, seed).
    """

    downloadable_not = "reads your own images from data.root: there is nothing to download"

    @property
    def class_names(self) -> list[str] | None:
        """The class folders' names, once `setup()` has listed them."""
        return None if self.dataset is None else self.dataset.classes

    def __init__(
        self,
        root: str,
        channels: int = 3,
        size: int = 32,
        skip_unreadable: bool = False,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        **split: Any,
    ) -> None:
        check_data_arguments(channels=channels, size=size)
        self.root, self.channels, self.size = Path(root).expanduser(), channels, size
        self.skip_unreadable = skip_unreadable
        self.statistics = folder_statistics(channels, mean, std)
        super().__init__(**split)
        check_image_memory(size, channels, self.batch_size)

    def load(self) -> Dataset:
        """The folder, listed (the classes are counted here: `num_classes` is known after `setup()`)."""
        images = ImageFolder(self.root, self.channels, self.skip_unreadable)
        self.num_classes = len(images.classes)
        return images


def folder_statistics(
    channels: int, mean: Sequence[float] | None, std: Sequence[float] | None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The per-channel mean and std a folder's images are normalized by: given, or ImageNet's.

    >>> folder_statistics(1, None, None)
    ((0.449,), (0.226,))
    >>> folder_statistics(3, [0.5], None)
    Traceback (most recent call last):
    toolkit.errors.ConfigError: data.mean=[0.5]: give one value per channel (3)
    """
    given = {}
    for key, values, default in (("mean", mean, IMAGENET_STATISTICS[0]), ("std", std, IMAGENET_STATISTICS[1])):
        if values is None:
            values = default if channels == 3 else (round(sum(default) / 3, 3),)
        values = tuple(float(value) for value in values)
        if len(values) != channels:
            raise ConfigError(f"data.{key}={list(values)}: give one value per channel ({channels})")
        if key == "std" and min(values) <= 0:
            raise ConfigError(f"data.std={list(values)}: must be positive")
        given[key] = values
    return given["mean"], given["std"]
