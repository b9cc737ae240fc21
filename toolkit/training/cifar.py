"""CIFAR-10 and CIFAR-100 (`data=cifar10`, `data=cifar100`) in torchvision's python layout
(`cifar-10-batches-py/`, `cifar-100-python/`) under `data.root`, downloaded there with
`data.download=true` (in `prepare_data()`, once per node; the archive's MD5 is checked before it is
extracted). The files are pickles, so they are read by an unpickler that builds only
dicts, lists, bytes and numpy arrays: a file that asks for anything else is refused, never run.
Images are served as uint8 tensors through the `augment=` recipe (`augment=cifar` unless said
otherwise: a random 32x32 crop of the image padded by 4, and a random horizontal flip), then
normalized by the data set's channel statistics.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import ConfigError
from .archive import extract, fetch_archive
from .data import ClassificationData, part_size, seeded_order

# The official archives and their MD5s (as torchvision has them).
ARCHIVES = {
    10: ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),
    100: ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85"),
}
LAYOUTS = {
    10: ("cifar-10-batches-py", [f"data_batch_{index}" for index in range(1, 6)], "test_batch", b"labels"),
    100: ("cifar-100-python", ["train"], "test", b"fine_labels"),
}
# The file of the class names in each layout, and their key.
META = {10: ("batches.meta", b"label_names"), 100: ("meta", b"fine_label_names")}
# Per-channel mean and standard deviation of the training images, in [0, 1].
STATISTICS = {
    10: ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    100: ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
ARRAY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class ArrayUnpickler(pickle.Unpickler):
    """Builds plain containers and numpy arrays only; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ARRAY_GLOBALS:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: a CIFAR file holds only arrays and lists")
        if module.startswith("numpy") and name == "_reconstruct":
            return np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's own array reconstructor, wherever it lives
        return super().find_class(module, name)


def read_batch(path: Path) -> dict[bytes, Any]:
    """One CIFAR file, as the dict it holds (keys are bytes, as Python 2 wrote them)."""
    if not path.is_file():
        raise ConfigError(f"data.root: {path} is missing (torchvision's python layout is expected there)")
    try:
        return ArrayUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as error:
        raise ConfigError(f"cannot read the CIFAR file {path}: {error}") from error


def checked_batch(path: Path, label_key: bytes, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The images (N x 3072, uint8) and labels of one CIFAR file, once they are what CIFAR holds: a uint8
    array of N rows of 3072 values, and N labels from 0 to `classes - 1`; otherwise a ConfigError naming
    the file (data read another way would be taken apart wrongly without a word)."""
    batch = read_batch(path)
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise ConfigError(f"the CIFAR file {path} holds no {b'data'!r} and {label_key!r} (it holds {keys})")
    images, labels = batch[b"data"], np.asarray(batch[label_key])
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3072:
        array = isinstance(images, np.ndarray)
        described = f"an array of {images.dtype}, shape {images.shape}" if array else type(images).__name__
        raise ConfigError(f"the CIFAR file {path} holds {described}, not a uint8 array of N x 3072 images")
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ConfigError(f"the CIFAR file {path} holds {len(images)} images and {labels.size} labels ({labels.dtype})")
    outside = labels[(labels < 0) | (labels >= classes)]
    if outside.size:
        raise ConfigError(f"the CIFAR file {path} holds the label {outside[0]}; CIFAR-{classes} has 0 to {classes - 1}")
    return images, labels


def read_split(folder: Path, names: list[str], label_key: bytes, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The images (N, 3, 32, 32, uint8) and labels of the named files of `folder`, in order."""
    batches = [checked_batch(folder / name, label_key, classes) for name in names]
    images = np.concatenate([images for images, _ in batches])
    labels = np.concatenate([labels for _, labels in batches])
    return torch.from_numpy(images).view(-1, 3, 32, 32), torch.from_numpy(labels.astype(np.int64))


def read_names(folder: Path, classes: int) -> list[str] | None:
    """The class names in the layout's meta file (None when it is not there, or holds other than the
    `classes` names)."""
    name, key = META[classes]
    if not (folder / name).is_file():
        return None
    names = read_batch(folder / name).get(key)
    if not isinstance(names, list) or len(names) != classes:
        return None
    return [item.decode() if isinstance(item, bytes) else str(item) for item in names]


class CIFARImages(Dataset):
    """CIFAR's images as uint8 tensors (3 x 32 x 32), with their labels."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


class CIFARData(ClassificationData):
    """CIFAR-10 (`classes=10`) or CIFAR-100 (`classes=100`, fine labels) under `root`.

    The val split is drawn from the 50,000 training images by the seed (`val_fraction`); the test
    split is the data set's own 10,000 test images (`test_fraction` does not apply).
    """

    channels, fixed_size, autoaugment_policy, downloadable = 3, 32, "cifar10", True

    def __init__(
        self,
        root: str,
        classes: int = 10,
        download: bool = False,
        url: str | None = None,
        md5: str | None = None,
        **split: Any,
    ) -> None:
        if classes not in LAYOUTS:
            raise ConfigError(f"data.classes={classes}: CIFAR has 10 or 100 classes")
        self.root, self.num_classes, self.statistics = Path(root).expanduser(), classes, STATISTICS[classes]
        self.url, self.md5 = url or ARCHIVES[classes][0], (md5 or ARCHIVES[classes][1]).lower()
        super().__init__(download=download, **split)

    @property
    def class_names(self) -> list[str] | None:
        """CIFAR's label names, from the layout's meta file once `setup()` has read it."""
        return getattr(self, "names", None)

    def prepare_data(self) -> None:
        """With `download`, fetch the archive into `root` (its MD5 checked) and extract it, unless
        the folder is there already."""
        folder_name = LAYOUTS[self.num_classes][0]
        if not self.download or (self.root / folder_name).is_dir():
            return
        archive = self.root / self.url.rstrip("/").rpartition("/")[2]
        by_hand = f"place {archive.name} from {self.url} (or its extracted {folder_name}/) in {self.root}"
        fetch_archive(self.url, self.md5, archive, by_hand)
        extract(archive, self.root, folder_name)

    def split_sets(self) -> tuple[Dataset, Dataset, Dataset]:
        folder_name, train_names, test_name, label_key = LAYOUTS[self.num_classes]
        folder = self.root / folder_name
        if not folder.is_dir():
            raise ConfigError(
                f"data.root={str(self.root)!r}: no {folder_name}/ in it (torchvision's python layout); "
                "data.download=true fetches it"
            )
        images, labels = read_split(folder, train_names, label_key, self.num_classes)
        order = seeded_order(len(labels), self.seed)
        val_size = part_size(len(order), self.val_fraction)
        if val_size >= len(order):
            raise ConfigError(f"data.val_fraction={self.val_fraction} leaves no training image of the {len(order)}")
        train, val = order[val_size:], order[:val_size]
        test_images, test_labels = read_split(folder, [test_name], label_key, self.num_classes)
        self.names = read_names(folder, self.num_classes)
        return (
            CIFARImages(images[train], labels[train]),
            CIFARImages(images[val], labels[val]),
            CIFARImages(test_images, test_labels),
        )
