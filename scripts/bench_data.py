"""Benchmark the `data=folder` training loader against torchvision's `ImageFolder` + `DataLoader`.

A folder of `--images` JPEGs (`--size` pixels square, 10 classes) is generated once. Both loaders
decode it with the same transforms (`augment=imagenet`'s training crop and flip to `--crop`, then
scaling to [0, 1] and ImageNet's normalization), the same workers and batch size, and both keep
their workers between epochs. One epoch of each is timed in alternating rounds after a warm-up
epoch; the figure is toolkit's images per second as a ratio to torchvision's (higher is better).

Usage: python scripts/bench_data.py [--images 5000] [--workers 2] [--json scripts/results/bench_data.json]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from benchkit import Bench, paired_medians

from toolkit.training.image_folder import IMAGENET_STATISTICS, FolderData


def write_folder(root: Path, images: int, size: int, classes: int = 10) -> None:
    """`images` JPEGs of `size` x `size` noise over a class colour, in `classes` sub-folders."""
    from PIL import Image

    generator = torch.Generator().manual_seed(0)
    colours = torch.randint(0, 256, (classes, 3, 1, 1), generator=generator)
    for index in range(images):
        label = index % classes
        folder = root / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        noise = torch.randint(-40, 40, (3, size, size), generator=generator)
        pixels = (colours[label] + noise).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
        Image.fromarray(pixels).save(folder / f"{index}.jpg", quality=90)


def training_transforms(crop: int) -> list:
    from torchvision.transforms import v2

    return [v2.RandomResizedCrop(crop, antialias=True), v2.RandomHorizontalFlip()]


def toolkit_loader(root: Path, crop: int, workers: int, batch_size: int) -> torch.utils.data.DataLoader:
    data = FolderData(
        str(root), size=crop, batch_size=batch_size, num_workers=workers, val_fraction=0.01, test_fraction=0.01
    )
    data.set_transforms(training_transforms(crop), [], crop)
    data.setup("fit")
    return data.train_dataloader()


def torchvision_loader(root: Path, crop: int, workers: int, batch_size: int) -> torch.utils.data.DataLoader:
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import v2

    mean, std = IMAGENET_STATISTICS
    pipeline = v2.Compose(
        [v2.PILToTensor(), *training_transforms(crop), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    )
    dataset = ImageFolder(str(root), transform=pipeline)
    return torch.utils.data.DataLoader(
        dataset, batch_size, shuffle=True, num_workers=workers, persistent_workers=workers > 0
    )


def epoch(loader: torch.utils.data.DataLoader) -> None:
    """Iterate one epoch."""
    for _ in loader:
        pass


def main() -> None:
    bench = Bench("bench_data", __doc__, repeats=5)
    bench.parser.add_argument("--images", type=int, default=5000)
    bench.parser.add_argument("--size", type=int, default=64, help="side of the generated JPEGs")
    bench.parser.add_argument("--crop", type=int, default=56, help="side of the images served")
    bench.parser.add_argument("--workers", type=int, default=2)
    bench.parser.add_argument("--batch-size", type=int, default=64)
    args = bench.parse()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_folder(root, args.images, args.size)
        options = (root, args.crop, args.workers, args.batch_size)
        loaders = {"toolkit": toolkit_loader(*options), "torchvision": torchvision_loader(*options)}
        seconds = paired_medians(
            {name: lambda loader=loader: epoch(loader) for name, loader in loaders.items()}, args.repeats
        )
    rates = {name: len(loader.dataset) / seconds[name] for name, loader in loaders.items()}
    bench.record(
        f"images/s, data=folder vs torchvision ImageFolder ({args.workers} workers)",
        rates["toolkit"] / rates["torchvision"],
        target=0.95,
        higher_is_better=True,
        toolkit=rates["toolkit"],
        torchvision=rates["torchvision"],
    )
    bench.finish()


if __name__ == "__main__":
    main()
