"""Image pipelines from `augment=` recipes, and batch-level mixing (MixUp, CutMix).

A recipe (`conf/augment/*.yaml`) is a crop and flip (`augment.crop`) and transforms of its own, for
training and for evaluation, as `torchvision.transforms.v2` `_target_` nodes. The images reaching
a recipe are what v2 expects: uint8 tensors (CIFAR, image folders), or float tensors already
standardized (digits, synthetic data: geometric transforms only). `ImagePipeline` runs the
transforms, then brings an image of a folder to the recipe's size, then scales uint8 images to
[0, 1] and normalizes them by the data set's statistics. torchvision is imported when a pipeline
is built, not with this module.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

import torch
from omegaconf import DictConfig
from torch.utils.data import Dataset

from ..errors import ConfigError

Transform = Callable[[Any], Any]
# The operations that read pixel values as uint8 (or floats in [0, 1]): not for standardized images.
COLOUR_OPERATIONS = (
    "RandAugment",
    "TrivialAugmentWide",
    "AutoAugment",
    "AugMix",
    "ColorJitter",
    "RandomEqualize",
    "RandomPosterize",
    "RandomSolarize",
    "RandomAutocontrast",
    "RandomAdjustSharpness",
    "RandomInvert",
)
POLICIES = ("cifar10", "imagenet", "svhn")


def check_augment(node: Any) -> None:
    """Stop on mixing and smoothing values that would only fail (or mislead) in training, naming the key.

    Args:
        node: The composed `augment` config.

    Raises:
        ConfigError: For a negative alpha, a label smoothing outside [0, 1), or an unknown policy.

    Example:
        >>> check_augment({'mixup_alpha': -1.0, 'cutmix_alpha': 0.0, 'label_smoothing': 0.0, 'policy': None})
        Traceback (most recent call last):
        toolkit.errors.ConfigError: augment.mixup_alpha=-1.0: must be 0 (off) or positive
    """
    for key in ("mixup_alpha", "cutmix_alpha"):
        if node[key] < 0:
            raise ConfigError(f"augment.{key}={node[key]}: must be 0 (off) or positive")
    if not 0 <= node["label_smoothing"] < 1:
        raise ConfigError(f"augment.label_smoothing={node['label_smoothing']}: must lie in [0, 1)")
    policy = node["policy"]
    if policy is not None and policy not in POLICIES:
        close = difflib.get_close_matches(str(policy), POLICIES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"augment.policy={policy}: choose one of {', '.join(POLICIES)}{hint}")


def fill_in(node: DictConfig, size: int, policy: str) -> None:
    """Set the recipe's `size`, `resize` and `policy` where they are null: the data set's image side,
    size * 8 / 7 (ImageNet's 256 for 224), and the data set's AutoAugment policy."""
    if node.size is None:
        node.size = size
    if node.resize is None:
        node.resize = round(node.size * 8 / 7)
    if node.policy is None:
        node.policy = policy


def instantiated(node: DictConfig, stage: str) -> list[Transform]:
    """The crop's and the recipe's transforms for `stage` (`train` or `eval`), built; a node that does
    not build is a ConfigError naming its key."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    transforms = []
    for key, entries in ((f"augment.crop.{stage}", node.crop[stage]), (f"augment.{stage}", node[stage])):
        for index, entry in enumerate(entries):
            try:
                transforms.append(instantiate(entry))
            except InstantiationException as error:
                raise ConfigError(f"{key}[{index}]: {error}") from None
    return transforms


def recipe_transforms(node: DictConfig) -> tuple[list[Transform], list[Transform]]:
    """The training and the evaluation transforms of a filled-in recipe (`fill_in`).

    Args:
        node: The `augment` config, its `size`, `resize` and `policy` set.

    Returns:
        The training transforms and the evaluation transforms, in order.

    Example:
        >>> from omegaconf import OmegaConf
        >>> node = OmegaConf.create({'size': 32, 'resize': 37, 'policy': 'cifar10', 'train': [], 'eval': [],
        ...     'crop': {'train': [{'_target_': 'torchvision.transforms.v2.RandomHorizontalFlip'}], 'eval': []}})
        >>> train, evaluation = recipe_transforms(node)
        >>> [type(transform).__name__ for transform in train], evaluation
        (['RandomHorizontalFlip'], [])
    """
    return instantiated(node, "train"), instantiated(node, "eval")


def check_recipe_fits(
    transforms: Sequence[Transform], size: int, fixed_size: int | None, standardized: bool, data_name: str
) -> None:
    """Stop when a recipe cannot work on a data set's images: a crop larger than images of a fixed size,
    or colour operations on images that are standardized floats.

    Args:
        transforms: The recipe's training transforms.
        size: The recipe's `augment.size`.
        fixed_size: The side of the data set's images when they all have one (CIFAR's 32), else None.
        standardized: Whether the data set gives standardized float images rather than uint8 ones.
        data_name: How messages name the data (`data=...`).

    Raises:
        ConfigError: Naming the key and the data set's images.

    Example:
        >>> check_recipe_fits([], 40, 32, False, 'data=cifar10')
        Traceback (most recent call last):
        toolkit.errors.ConfigError: augment.size=40: larger than the 32x32 images of data=cifar10; crop to 32 or less
    """
    if fixed_size is not None and size > fixed_size:
        raise ConfigError(
            f"augment.size={size}: larger than the {fixed_size}x{fixed_size} images of {data_name}; "
            f"crop to {fixed_size} or less"
        )
    colour = [type(transform).__name__ for transform in transforms if type(transform).__name__ in COLOUR_OPERATIONS]
    if standardized and colour:
        raise ConfigError(
            f"augment: {', '.join(colour)} reads pixel values as uint8, and {data_name} gives standardized float "
            "images; use a recipe of geometric transforms (augment=none or cifar)"
        )


class ImagePipeline:
    """An image through a recipe's transforms; then, with `size`, to `size` x `size` where it is not;
    then, with `statistics` (per-channel mean and std in [0, 1]), from uint8 to normalized floats.

    Args:
        transforms: v2 transforms, applied in order.
        statistics: The data set's per-channel mean and standard deviation (None: images are floats).
        size: The side every image must have at the end (None: left as the transforms give it).

    Example:
        >>> pipeline = ImagePipeline([], ((0.5,), (0.5,)))
        >>> pipeline(torch.full((1, 2, 2), 255, dtype=torch.uint8))
        tensor([[[1., 1.],
                 [1., 1.]]])
    """

    def __init__(
        self,
        transforms: Sequence[Transform],
        statistics: tuple[Sequence[float], Sequence[float]] | None,
        size: int | None = None,
    ) -> None:
        self.transforms, self.size = list(transforms), size
        self.mean = self.std = None
        if statistics is not None:
            self.mean, self.std = (torch.tensor(values, dtype=torch.float32).view(-1, 1, 1) for values in statistics)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        for transform in self.transforms:
            image = transform(image)
        if self.size is not None and tuple(image.shape[-2:]) != (self.size, self.size):
            from torchvision.transforms.v2.functional import resize

            image = resize(image, [self.size, self.size], antialias=True)
        if self.mean is None:
            return image
        return (image.float() / 255 - self.mean) / self.std

    def __repr__(self) -> str:
        return f"ImagePipeline({self.transforms}, size={self.size})"


class Transformed(Dataset):
    """The samples of `source` with `pipeline` applied to their images (labels as they are). An index
    that carries a seed (a `SeededIndex`, as the training sampler hands out) fixes the random draws of the
    pipeline for that sample, whatever process or worker applies it.

    Args:
        source: A data set of (image, label) samples.
        pipeline: What each image goes through.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> doubled = Transformed(TensorDataset(torch.ones(3, 1), torch.arange(3)), lambda image: image * 2)
        >>> doubled[2]
        (tensor([2.]), tensor(2))
    """

    def __init__(self, source: Dataset, pipeline: Transform) -> None:
        self.source, self.pipeline = source, pipeline

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, label = self.source[index]
        seed = getattr(index, "seed", None)
        if seed is None:
            return self.pipeline(image), label
        with torch.random.fork_rng(devices=[]):  # the process's own random state stays as it was
            torch.random.default_generator.manual_seed(seed)
            return self.pipeline(image), label


class SeededIndex(int):
    """A sample's index that carries the seed its random transforms draw from (see `Transformed`).

    Args:
        index: The sample's index.
        seed: The seed of its transforms.

    Example:
        >>> index = SeededIndex(3, seed=12345)
        >>> index + 1, index.seed
        (4, 12345)
    """

    seed: int

    def __new__(cls, index: int, seed: int) -> SeededIndex:
        made = super().__new__(cls, index)
        made.seed = seed
        return made

    def __reduce__(self) -> tuple[type, tuple[int, int]]:
        return SeededIndex, (int(self), self.seed)


class BatchMixing:
    """Mixes training batches with a torchvision mixer, its randomness drawn from (seed, step) alone, so
    that a resumed run mixes its batches as an uninterrupted one does (the global random state is kept).

    Args:
        mixer: torchvision's MixUp, CutMix or a RandomChoice of them.
        seed: The run's seed.
    """

    def __init__(self, mixer: Transform, seed: int) -> None:
        self.mixer, self.seed = mixer, seed

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(self.seed * 1_000_003 + step)
            return self.mixer(images, labels)


def batch_mixer(mixup_alpha: float, cutmix_alpha: float, num_classes: int, seed: int = 0) -> BatchMixing | None:
    """torchvision's MixUp, CutMix, or one of the two per batch (both alphas set, as its RandomChoice
    does), on (images, labels); None when both alphas are 0.

    Args:
        mixup_alpha: MixUp's Beta(alpha, alpha) parameter (0: off).
        cutmix_alpha: CutMix's (0: off).
        num_classes: The number of classes, for the soft targets.
        seed: The run's seed, which with the step fixes each batch's mixing.

    Returns:
        A callable taking (images, labels, step) and returning (images, targets): class indices in,
        probabilities out.

    Example:
        >>> mix = batch_mixer(0.2, 0.0, num_classes=3)
        >>> images, targets = mix(torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 0]), step=0)
        >>> targets.shape, bool(torch.allclose(targets.sum(1), torch.ones(4)))
        (torch.Size([4, 3]), True)
    """
    if mixup_alpha <= 0 and cutmix_alpha <= 0:
        return None
    from torchvision.transforms import v2

    mixers = []
    if mixup_alpha > 0:
        mixers.append(v2.MixUp(alpha=mixup_alpha, num_classes=num_classes))
    if cutmix_alpha > 0:
        mixers.append(v2.CutMix(alpha=cutmix_alpha, num_classes=num_classes))
    return BatchMixing(mixers[0] if len(mixers) == 1 else v2.RandomChoice(mixers), seed)


def apply_recipe(node: DictConfig, datamodule: Any, data_name: str) -> None:
    """Give a data module the transforms of the `augment` recipe, its null values filled in from the data
    set. A data module of the user's own (without `set_transforms`) builds its own transforms, so only
    `augment=none` (and batch-level mixing, which works on any data) applies to it.

    Args:
        node: The composed `augment` config; its `size`, `resize` and `policy` are filled in.
        datamodule: The built data module.
        data_name: How messages name the data (`data=...`).

    Raises:
        ConfigError: When the recipe cannot work on the data set's images.
    """
    if not hasattr(datamodule, "set_transforms"):
        if any(len(entries) for entries in (node.crop.train, node.crop.eval, node.train, node.eval)):
            raise ConfigError(
                f"augment: {data_name} builds its own transforms (it is no toolkit data set); use augment=none "
                "(augment.mixup_alpha, augment.cutmix_alpha and augment.label_smoothing work with any data)"
            )
        return
    fill_in(node, datamodule.image_size, datamodule.autoaugment_policy)
    train, evaluation = recipe_transforms(node)
    check_recipe_fits(train, node.size, datamodule.fixed_size, datamodule.statistics is None, data_name)
    datamodule.set_transforms(train, evaluation, node.size)
