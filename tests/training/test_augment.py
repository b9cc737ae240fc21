"""`augment=` recipes on CIFAR and image folders, batch-level mixing, and the bad input they refuse."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from toolkit.config.targets import build_target
from toolkit.errors import ConfigError
from toolkit.training.augment import apply_recipe, batch_mixer, check_augment
from toolkit.training.run import run

from ..conftest import set_up
from .test_cifar import tiny_cifar

RECIPES = ["none", "cifar", "imagenet", "randaugment", "trivialaugment", "autoaugment"]


def served(cfg, data_name: str = "data=test"):
    """The data module of `cfg` with its recipe, set up."""
    datamodule = build_target("data", cfg.data)
    apply_recipe(cfg.augment, datamodule, data_name)
    return set_up(datamodule)


def photos(root, sizes=((40, 48), (52, 36), (44, 44))) -> None:
    """Two class folders of JPEG photos of various sizes, each a gradient (so crops differ)."""
    ramp = torch.linspace(0, 255, 64).to(torch.uint8)
    for label, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for index, (width, height) in enumerate(sizes):
            pixels = torch.stack([ramp[:height, None].expand(height, width), ramp[None, :width].expand(height, width)])
            pixels = torch.cat([pixels, torch.full((1, height, width), 100 * label, dtype=torch.uint8)])
            Image.fromarray(pixels.permute(1, 2, 0).numpy()).save(root / name / f"{index}.jpg", quality=95)


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_on_cifar_gives_normalized_floats_and_a_fixed_evaluation(compose_config, tmp_path, recipe):
    tiny_cifar(tmp_path)
    cfg = compose_config("data=cifar10", f"augment={recipe}", f"paths.data_root={tmp_path}", "data.val_fraction=0.2")
    data = served(cfg)
    assert cfg.augment.size == 32 and cfg.augment.policy == "cifar10"
    image, label = data.train_set[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32 and isinstance(label, int)
    assert torch.equal(data.val_set[0][0], data.val_set[0][0]) and torch.equal(data.test_set[3][0], data.test_set[3][0])
    torch.manual_seed(0)
    views = [data.train_set[0][0] for _ in range(12)]
    varies = not all(torch.equal(views[0], view) for view in views[1:])
    assert varies == (recipe != "none")
    if recipe == "none":  # the image itself, scaled to [0, 1] and normalized by CIFAR-10's statistics
        mean, std = (torch.tensor(values).view(3, 1, 1) for values in data.statistics)
        torch.testing.assert_close(image, (data.train_set.source[0][0].float() / 255 - mean) / std)


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_on_a_folder_gives_images_of_augment_size(compose_config, tmp_path, recipe):
    photos(tmp_path / "images")
    overrides = [f"data.root={tmp_path / 'images'}", "data.size=24", "data.val_fraction=0.34"]
    overrides += ["data.test_fraction=0.34"]
    crop = ["augment/crop=imagenet"] if recipe not in ("none", "cifar", "imagenet") else []
    cfg = compose_config("data=folder", f"augment={recipe}", *overrides, *crop)
    data = served(cfg)
    assert (cfg.augment.size, cfg.augment.resize, cfg.augment.policy) == (24, 27, "imagenet")
    for split in (data.train_set, data.val_set, data.test_set):
        image, _ = split[0]
        assert image.shape == (3, 24, 24) and image.dtype == torch.float32
    assert torch.equal(data.val_set[0][0], data.val_set[0][0])


def test_imagenet_evaluation_resizes_to_size_8_7_then_takes_the_centre(compose_config, tmp_path):
    from torchvision.transforms.v2 import functional

    photos(tmp_path / "images")
    root = tmp_path / "images"
    cfg = compose_config("data=folder", f"data.root={root}", "data.size=24", "augment.resize=30")
    data = served(cfg)
    raw = data.test_set.source[0][0]
    expected = functional.center_crop(functional.resize(raw, [30], antialias=True), [24, 24])
    mean, std = (torch.tensor(values).view(3, 1, 1) for values in data.statistics)
    torch.testing.assert_close(data.test_set[0][0], (expected.float() / 255 - mean) / std)


def test_mixup_and_cutmix_give_soft_targets_drawn_from_the_seed_and_step_alone():
    images, labels = torch.rand(8, 3, 16, 16), torch.arange(8) % 4
    mixup, cutmix = batch_mixer(0.4, 0.0, 4, seed=1), batch_mixer(0.0, 1.0, 4, seed=1)
    before = torch.random.get_rng_state()
    mixed, targets = mixup(images, labels, step=3)
    assert torch.equal(torch.random.get_rng_state(), before)  # the run's own random state is left alone
    assert targets.shape == (8, 4) and torch.allclose(targets.sum(1), torch.ones(8)) and targets.max() < 1
    weight = targets[0, labels[0]]  # image 0 is weight * image 0 + (1 - weight) * image 7
    torch.testing.assert_close(mixed[0], weight * images[0] + (1 - weight) * images[7])
    again, same = mixup(images, labels, step=3)
    assert torch.equal(again, mixed) and torch.equal(same, targets)
    assert not torch.equal(mixup(images, labels, step=4)[1], targets)
    patched, cut_targets = cutmix(images, labels, step=3)
    area = (patched[0] == images[7]).all(dim=0).float().mean()  # CutMix: the share of the pasted patch
    torch.testing.assert_close(cut_targets[0, labels[7]], area, atol=1e-6, rtol=0)
    assert batch_mixer(0.0, 0.0, 4) is None


def test_a_run_with_mixing_and_label_smoothing_trains(compose_config, tmp_path):
    overrides = ["data=synthetic", "data.samples=128", "augment=cifar", "augment.mixup_alpha=0.4"]
    overrides += ["augment.cutmix_alpha=1.0", "augment.label_smoothing=0.1", "trainer.max_epochs=2"]
    result = run(compose_config(*overrides), tmp_path)
    assert result["epochs"] == 2 and 0 <= result["train_acc"] <= 1 and result["train_loss"] > 0
    assert result["config"]["augment"]["mixup_alpha"] == 0.4 and result["config"]["augment"]["size"] == 32


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("mixup_alpha", -0.1, r"augment\.mixup_alpha=-0\.1: must be 0 \(off\) or positive"),
        ("cutmix_alpha", -1.0, r"augment\.cutmix_alpha=-1\.0: must be 0 \(off\) or positive"),
        ("label_smoothing", 1.0, r"augment\.label_smoothing=1\.0: must lie in \[0, 1\)"),
        ("policy", "cifar", r"augment\.policy=cifar: choose one of cifar10, imagenet, svhn \(did you mean 'cifar10'"),
    ],
)
def test_bad_mixing_values_name_the_key(key, value, message):
    node = {"mixup_alpha": 0.0, "cutmix_alpha": 0.0, "label_smoothing": 0.0, "policy": None, key: value}
    with pytest.raises(ConfigError, match=message):
        check_augment(node)


def test_recipes_that_do_not_fit_the_data_stop_before_training(compose_config, tmp_path):
    tiny_cifar(tmp_path / "data")
    cifar = ["data=cifar10", f"paths.data_root={tmp_path / 'data'}"]
    with pytest.raises(ConfigError, match=r"augment\.size=40: larger than the 32x32 images of data=CIFARData"):
        run(compose_config(*cifar, "augment.size=40"), tmp_path / "big")
    with pytest.raises(ConfigError, match=r"RandAugment reads pixel values as uint8, and data=SyntheticData gives"):
        run(compose_config("data=synthetic", "augment=randaugment"), tmp_path / "colour")
    custom = ["data=custom", "data._target_=tests.experiment.user_code.Blobs", "augment=cifar"]
    with pytest.raises(ConfigError, match=r"augment: data=Blobs builds its own transforms .*use augment=none"):
        run(compose_config(*custom), tmp_path / "custom")
    with pytest.raises(ConfigError, match=r"data\.download=true: DigitsData ships with the package"):
        run(compose_config("data.download=true"), tmp_path / "download")
    assert not any((tmp_path / name).exists() for name in ("big", "colour", "custom", "download"))


def test_a_seeded_index_fixes_a_samples_random_transforms_in_any_process_and_keeps_the_global_state():
    import pickle

    from torch.utils.data import TensorDataset
    from torchvision.transforms import v2

    from toolkit.training.augment import SeededIndex, Transformed
    from toolkit.training.data import EpochSeededSampler

    images = Transformed(TensorDataset(torch.rand(4, 3, 16, 16), torch.arange(4)), v2.RandomResizedCrop(8))
    index = pickle.loads(pickle.dumps(SeededIndex(2, seed=7)))  # as it reaches a loader's worker
    assert (index, index.seed) == (2, 7)
    state = torch.random.get_rng_state()
    first, again = images[index][0], images[SeededIndex(2, seed=7)][0]
    assert torch.equal(torch.random.get_rng_state(), state)  # dropout and the rest draw as before
    assert torch.equal(first, again) and not torch.equal(first, images[SeededIndex(2, seed=8)][0])
    sampler = EpochSeededSampler(4, seed=0)
    seeds = [index.seed for index in sampler]
    assert seeds == [index.seed for index in sampler] and len(set(seeds)) == 4
    sampler.set_epoch(1)
    assert not set(seeds) & {index.seed for index in sampler}  # each epoch draws anew
