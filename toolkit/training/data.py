"""Data sets as LightningDataModules, each with a train/val/test split fixed by the seed.

The training order is reshuffled each epoch from (seed, epoch) alone, so a resumed run sees the
same batches as an uninterrupted one.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.seed import pl_worker_init_function
from torch.utils.data import DataLoader, Dataset, Sampler, Subset, TensorDataset

from ..errors import ConfigError
from .augment import ImagePipeline, SeededIndex, Transform, Transformed


class EpochSeededSampler(Sampler[int]):
    """A random order of `size` indices that depends only on the seed and the epoch; each index carries
    the seed of its sample's random transforms in that epoch (a `SeededIndex`), so a resumed run, in any
    worker, augments every sample as an uninterrupted run does.

    Example:
        >>> sampler = EpochSeededSampler(4, seed=0)
        >>> first = list(sampler)
        >>> sampler.set_epoch(1)
        >>> sorted(first) == sorted(sampler) == [0, 1, 2, 3] and first != list(sampler)
        True
    """

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.size, generator=generator).tolist()
        seeds = torch.randint(2**62, (self.size,), generator=generator).tolist()
        return map(SeededIndex, order, seeds)

    def __len__(self) -> int:
        return self.size


class ClassificationData(L.LightningDataModule):
    """Splits a data set into train, val and test by the seed, and serves the three.

    In Lightning's lifecycle: the constructor checks its arguments and stores them (it reads no
    data); `prepare_data()` is for what must happen once per node; `setup()` reads and splits the
    data set, once however often it is called. A data module sent to another process (the ranks of
    `ddp_spawn`) travels without the loaded data, and each process reads it in its own `setup()`.

    Subclasses implement `load()` (or `split_sets()`, for data with a test set of its own);
    `num_classes` and `channels` tell the model what to expect. Their images are uint8 tensors,
    normalized at the end of each split's pipeline by `statistics` (per-channel mean and std in [0, 1]),
    or float tensors already standardized (`statistics` None). `set_transforms()`, before `setup()`,
    gives the training and evaluation transforms (`augment=`); `image_size`, `fixed_size` and
    `autoaugment_policy` tell a recipe what fits the data set. The loaders take `num_workers`
    (None: the cores this process may use), `pin_memory` (None: when CUDA is there),
    `persistent_workers` (None: when there are workers) and `prefetch_factor` (None: torch's).

    Args:
        batch_size: Samples per batch.
        val_fraction: The share of the samples in the val split.
        test_fraction: The share of the samples in the test split.
        num_workers: Loader processes (None: the cores this process may use).
        seed: Fixes the split and each epoch's order.
        pin_memory: Page-locked batches (None: when CUDA is there).
        persistent_workers: Keep the loader processes between epochs (None: when there are workers).
        prefetch_factor: Batches each worker loads ahead (None: torch's default).
        download: Fetch the data set in `prepare_data()` (for the data sets that can be downloaded).

    Example:
        >>> data = DigitsData(batch_size=32)
        >>> data.train_set is None  # nothing read yet
        True
        >>> data.setup('fit')
        >>> len(data.train_set), len(data.val_set), len(data.test_set)
        (1079, 359, 359)
    """

    LOADED = ("dataset", "train_set", "val_set", "test_set")  # what setup() reads; not sent to other processes

    num_classes: int
    channels: int
    samples_key = "the number of samples"  # how messages name the data set's size
    statistics: tuple[tuple[float, ...], tuple[float, ...]] | None = None  # None: float images, standardized
    autoaugment_policy = "imagenet"  # the AutoAugment policy that fits the data set
    fixed_size: int | None = None  # the side of the images when they all have one (CIFAR's 32)
    downloadable = False  # whether `download=True` fetches the data set
    downloadable_not = "has nothing to download"  # why not, for messages

    def __init__(
        self,
        batch_size: int = 64,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        num_workers: int | None = 0,
        seed: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
        prefetch_factor: int | None = None,
        download: bool = False,
    ) -> None:
        super().__init__()
        if download and not self.downloadable:
            raise ConfigError(
                f"data.download=true: {type(self).__name__} {self.downloadable_not} (data=cifar10 and data=cifar100 "
                "can be downloaded)"
            )
        self.download = download
        workers = available_cores() if num_workers is None else num_workers
        check_data_arguments(
            batch_size=batch_size,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            num_workers=workers,
            seed=seed,
        )
        if prefetch_factor is not None:
            check_data_arguments(prefetch_factor=prefetch_factor)
        self.batch_size, self.seed = batch_size, seed
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.loader_options: dict[str, Any] = {
            "num_workers": workers,
            "pin_memory": torch.cuda.is_available() if pin_memory is None else pin_memory,
            "persistent_workers": workers > 0 if persistent_workers is None else persistent_workers and workers > 0,
            "worker_init_fn": start_worker,
        }
        if prefetch_factor is not None and workers:
            self.loader_options["prefetch_factor"] = prefetch_factor
        self.dataset: Dataset | None = None
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self.transforms: tuple[list[Transform], list[Transform]] = ([], [])
        self.output_size: int | None = None

    @property
    def class_names(self) -> list[str] | None:
        """The classes' names, where the data set has them (None: they are 0, 1, ...)."""
        return None

    @property
    def file_statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """What image files (uint8) are normalized by to look like this data set's images: `statistics`
        for data sets of uint8 images (None: the data set has no image files, as synthetic data)."""
        return self.statistics

    @property
    def image_size(self) -> int:
        """The side of the images the data set serves when no recipe says otherwise."""
        return self.fixed_size or getattr(self, "size", 32)

    def set_transforms(
        self, train: Sequence[Transform], evaluation: Sequence[Transform], size: int | None = None
    ) -> None:
        """The transforms of the training split and of the val and test splits, applied to each image in
        the loader's workers; `size`: the side every image is brought to at the end, for data sets whose
        images have no size of their own (None: `image_size`).

        Args:
            train: Transforms of training images (crops, flips, RandAugment, ...).
            evaluation: Transforms of val and test images (deterministic).
            size: The side of the images served, where the data set has no fixed size.
        """
        if self.train_set is not None:
            raise RuntimeError("set_transforms() comes before setup()")
        self.transforms, self.output_size = (list(train), list(evaluation)), size

    def setup(self, stage: str | None = None) -> None:
        """Read and split the data set, the first time it is called (later calls reuse the split)."""
        if self.train_set is None:
            train, val, test = self.split_sets()
            self.train_set = self.served(train, self.transforms[0])
            self.val_set, self.test_set = (self.served(split, self.transforms[1]) for split in (val, test))

    def served(self, split: Dataset, transforms: list[Transform]) -> Dataset:
        """A split as the loaders serve it: through its pipeline (as it is when there is nothing to do)."""
        fit = None if self.fixed_size is not None else self.output_size or self.image_size
        if not transforms and self.statistics is None and fit is None:
            return split
        return Transformed(split, ImagePipeline(transforms, self.statistics, fit))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(dict.fromkeys(self.LOADED))
        return state

    def load(self) -> Dataset:
        raise NotImplementedError

    def split_sets(self) -> tuple[Dataset, Dataset, Dataset]:
        """Train, val and test subsets of `load()`, by the seed."""
        self.dataset = self.load()
        name, total = type(self).__name__, len(self.dataset)
        check_fits(self.samples_key, total, total * INDEX_BYTES, f"the split order of the samples of {name}")
        order = seeded_order(total, self.seed).tolist()
        test_size, val_size = part_size(total, self.test_fraction), part_size(total, self.val_fraction)
        if test_size + val_size >= total:
            raise ConfigError(
                f"data.val_fraction={self.val_fraction} and data.test_fraction={self.test_fraction} leave no "
                f"training sample of the {total} in {name}"
            )
        return (
            Subset(self.dataset, order[test_size + val_size :]),
            Subset(self.dataset, order[test_size : test_size + val_size]),
            Subset(self.dataset, order[:test_size]),
        )

    def train_dataloader(self) -> DataLoader:
        sampler = EpochSeededSampler(len(self.train_set), self.seed)
        # Lightning starts the loader's first iterator, whose workers draw their first indices at once,
        # before it tells the sampler the epoch: a resumed run would replay epoch 0's order.
        sampler.set_epoch(epoch_to_start(self.trainer))
        return DataLoader(self.train_set, self.batch_size, sampler=sampler, **self.loader_options)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, self.batch_size, **self.loader_options)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, self.batch_size, **self.loader_options)


def epoch_to_start(trainer: L.Trainer | None) -> int:
    """The epoch (counted from 0) that `trainer` trains next: the one after its checkpoint's on a resume."""
    return trainer.fit_loop.epoch_progress.current.processed if trainer is not None else 0


JOB_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)  # what loader workers ignore


def start_worker(worker_id: int) -> None:
    """How a loader's worker process starts: deaf to the signals that stop or requeue a job, which SLURM
    (a requeue, a preemption, the time limit: SIGTERM, and the SIGUSR1 or SIGUSR2 of `--signal` that
    submitit and Lightning requeue on) and a terminal's Ctrl-C send to every process of a job, so that
    the training process alone acts on them and stops its workers itself after its last checkpoint (a
    worker killed by the signal, or running the handler it inherited from the training process, would
    end the run with "DataLoader worker exited unexpectedly"); then seeded as Lightning seeds workers
    where the run asked for it (`seed_everything(workers=True)`, as every toolkit run does).

    Args:
        worker_id: The worker's index in its loader.
    """
    for number in JOB_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    if int(os.environ.get("PL_SEED_WORKERS", "0")):
        pl_worker_init_function(worker_id)


def seeded_order(total: int, seed: int) -> torch.Tensor:
    """The indices 0..total-1 in an order fixed by `seed`, which the splits are cut from."""
    return torch.randperm(total, generator=torch.Generator().manual_seed(seed))


def part_size(total: int, fraction: float) -> int:
    """How many of `total` samples a split of `fraction` holds: at least one."""
    return max(1, round(total * fraction))


def available_cores() -> int:
    """The cores this process may run on (its affinity, which schedulers such as SLURM restrict)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def memory_bytes() -> int:
    """The machine's physical memory, in bytes (a very large number where it cannot be told)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**62


def check_fits(key: str, value: Any, nbytes: int, what: str) -> None:
    """Stop when `what`, which the setting `key=value` makes take `nbytes`, cannot fit in memory.

    >>> check_fits('data.size', 60000, 60000 * 60000 * 3 * 4 * 64, 'a batch of 64 images')
    Traceback (most recent call last):
    toolkit.errors.ConfigError: data.size=60000: a batch of 64 images would take 2765 GB, more than this \
machine's memory (... GB)
    """
    memory = memory_bytes()
    if nbytes > memory:
        raise ConfigError(
            f"{key}={value}: {what} would take {nbytes / 1e9:.0f} GB, more than this machine's memory "
            f"({memory / 1e9:.0f} GB)"
        )


def check_image_memory(size: int, channels: int, batch_size: int) -> None:
    """Stop when a batch of `batch_size` images of `channels` x `size` x `size` cannot fit in memory."""
    check_fits("data.size", size, batch_size * channels * size * size * 4, f"a batch of {batch_size} images")


DIGITS = Path(__file__).with_name("digits.npz")
INDEX_BYTES = 48  # what one sample's place in the split order takes: its int64, then a Python int in a list
ZERO_OK = ("num_workers", "seed")  # the settings that may be 0


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


def standardize(images: torch.Tensor) -> torch.Tensor:
    """Zero mean and unit variance over the whole set."""
    return (images - images.mean()) / images.std()


class DigitsData(ClassificationData):
    """The 8x8 handwritten digits: 1,797 grey images of 10 classes, shipped with the package.

    `digits.npz` beside this module holds them as uint8 arrays (pixel values 0 to 16): the test set
    of the UCI "Optical Recognition of Handwritten Digits" data (E. Alpaydin and C. Kaynak, 1998;
    CC BY 4.0), as scikit-learn ships it (`sklearn.datasets.load_digits`, BSD-3-Clause). It is read
    with `allow_pickle=False`.
    """

    num_classes, channels, fixed_size = 10, 1, 8
    downloadable_not = "ships with the package: there is nothing to download"

    def load(self) -> Dataset:
        import numpy as np

        with np.load(DIGITS, allow_pickle=False) as digits:
            images, labels = digits["images"], digits["labels"]
        pixels = torch.tensor(images, dtype=torch.float32).unsqueeze(1)
        self.pixel_statistics = (float(pixels.mean()) / 16,), (float(pixels.std()) / 16,)  # 0..16 as [0, 1]
        return TensorDataset(standardize(pixels), torch.tensor(labels, dtype=torch.long))

    @property
    def file_statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """Image files of digits (0-255, ink bright) standardized as the shipped pixels (0-16) are."""
        return getattr(self, "pixel_statistics", None)


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

    samples_key = "data.samples"
    downloadable_not = "generates its images: there is nothing to download"

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
        if num_classes < 2:
            raise ConfigError(f"data.num_classes={num_classes}: classification needs at least 2 classes")
        check_fits("data.size", size, num_classes * channels * size * size * 4, f"the {num_classes} class patterns")
        self.num_classes, self.channels, self.fixed_size = num_classes, channels, size
        self.samples, self.noise = samples, noise
        super().__init__(**split)
        check_image_memory(size, channels, self.batch_size)

    def load(self) -> Dataset:
        return SyntheticImages(self.samples, self.num_classes, self.channels, self.fixed_size, self.noise, self.seed)
