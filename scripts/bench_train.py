"""Benchmark training under Lightning against a plain PyTorch loop, in one run.

Prints:
  - training throughput (images/s) of toolkit's LightningModule under `Trainer` vs a plain loop
    on the same network, data, optimizer, batches, precision, memory format and compilation, as a
    ratio (target: at least 0.97), with both loops' images/s and the device's name;
  - on the CPU, the fixed start-up cost: seconds from running `python train.py` to its first
    training step, imports included.

On the CPU it trains SimpleCNN on 3x32x32 images in float32; with `--device cuda`, ResNet-18 on
3x224x224 images, bf16-mixed, channels-last and compiled (each can be changed by its option).

Usage: python scripts/bench_train.py [--device cuda] [--model resnet34] [--epochs 5] [--repeats 5]
       [--json scripts/results/bench_train.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchkit import Bench

ROOT = Path(__file__).resolve().parents[1]
FIRST_STEP = """
import json, runpy, sys, time
from toolkit.training.module import Classifier
step = Classifier.training_step
def first(self, *args):
    if not getattr(first, "done", False):
        first.done = True
        print(json.dumps({"first_step": time.time()}), flush=True)
    return step(self, *args)
Classifier.training_step = first
script = sys.argv.pop(1)
sys.argv[0] = script
runpy.run_path(script, run_name="__main__")
"""


def torch_device_name(device: str) -> str:
    import platform

    import torch

    return torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine()


def startup_seconds(folder: Path) -> float:
    """Wall time from launching train.py to its first training step."""
    train = str(ROOT / "train.py")
    command = [sys.executable, "-c", FIRST_STEP, train, "trainer.max_epochs=1", f"hydra.run.dir={folder}"]
    start = time.time()
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    stamp = next(json.loads(line) for line in output.splitlines() if line.startswith('{"first_step"'))
    return stamp["first_step"] - start


@dataclass
class Setting:
    """What both loops train: the network, the images, the device and the speed options."""

    model: str = "simple_cnn"
    device: str = "cpu"
    size: int = 32
    batch_size: int = 64
    batches: int = 32
    precision: str = "32-true"
    channels_last: bool = False
    compile: bool = False

    def network(self) -> Any:
        import torch

        from toolkit.models import ResNetClassifier, SimpleCNN

        depth = {"resnet18": 18, "resnet34": 34}.get(self.model)
        net = SimpleCNN(3, 10) if depth is None else ResNetClassifier(depth=depth, in_channels=3, num_classes=1000)
        net = net.to(self.device)
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        return net

    def autocast(self) -> Any:
        import torch

        enabled = self.precision.startswith("bf16")
        return torch.autocast(self.device, dtype=torch.bfloat16, enabled=enabled)


def throughput(setting: Setting, epochs: int, rounds: int) -> dict[str, list[float]]:
    """Epoch times (epochs 2..N of every round) of a plain loop and of Lightning with the same
    setting; the two alternate round by round, so drift hits both alike."""
    import lightning as L
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from toolkit.training.data import EpochSeededSampler
    from toolkit.training.module import Classifier

    samples = setting.batch_size * setting.batches
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(samples, 3, setting.size, setting.size, generator=generator)
    classes = 10 if setting.model == "simple_cnn" else 1000
    dataset = TensorDataset(images, torch.randint(0, classes, (samples,), generator=generator))
    cuda = setting.device == "cuda"

    def loader() -> DataLoader:
        sampler = EpochSeededSampler(len(dataset), 0)
        return DataLoader(dataset, batch_size=setting.batch_size, sampler=sampler, pin_memory=cuda)

    def optimizer(params):  # the config's default, AdamW
        return torch.optim.AdamW(params, lr=3e-3, weight_decay=0.01)

    def synchronize() -> None:
        if cuda:
            torch.cuda.synchronize()

    def plain() -> list[float]:
        torch.manual_seed(0)
        net = setting.network()
        step_net = torch.compile(net, fullgraph=True) if setting.compile else net
        opt = optimizer(net.parameters())
        batches = loader()
        times = []
        for epoch in range(epochs):
            batches.sampler.set_epoch(epoch)
            synchronize()
            start = time.perf_counter()
            for x, y in batches:
                x, y = x.to(setting.device, non_blocking=True), y.to(setting.device, non_blocking=True)
                if setting.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                opt.zero_grad()
                with setting.autocast():
                    loss = F.cross_entropy(step_net(x), y)
                loss.backward()
                opt.step()
            synchronize()
            times.append(time.perf_counter() - start)
        return times[1:]

    class EpochTimer(L.Callback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            synchronize()
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            synchronize()
            self.times.append(time.perf_counter() - self.start)

    def lightning() -> list[float]:
        torch.manual_seed(0)
        net = setting.network()
        if setting.compile:
            net.compile(fullgraph=True)
        module = Classifier(net, classes, optimizer, channels_last=setting.channels_last)
        timer = EpochTimer()
        trainer = L.Trainer(
            max_epochs=epochs,
            accelerator="gpu" if cuda else "cpu",
            devices=1,
            precision=setting.precision,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            callbacks=[timer],
        )
        trainer.fit(module, train_dataloaders=loader())
        return timer.times[1:]

    runs = {"plain": plain, "lightning": lightning}
    times: dict[str, list[float]] = {"plain": [], "lightning": []}
    for round_ in range(rounds):
        for name in ("plain", "lightning") if round_ % 2 == 0 else ("lightning", "plain"):
            times[name] += runs[name]()
    return times


def main() -> None:
    bench = Bench("bench_train", __doc__, repeats=5)
    parser = bench.parser
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--model", choices=("simple_cnn", "resnet18", "resnet34"), help="default: by device")
    parser.add_argument("--size", type=int, help="image size (default: 32 on the CPU, 224 on CUDA)")
    parser.add_argument("--batch-size", type=int, help="default: 64 on the CPU, 128 on CUDA")
    parser.add_argument("--precision", help="default: 32-true on the CPU, bf16-mixed on CUDA")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, help="default: on CUDA")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, help="default: on CUDA")
    args = bench.parse()
    cuda = args.device == "cuda"
    setting = Setting(
        model=args.model or ("resnet18" if cuda else "simple_cnn"),
        device=args.device,
        size=args.size or (224 if cuda else 32),
        batch_size=args.batch_size or (128 if cuda else 64),
        precision=args.precision or ("bf16-mixed" if cuda else "32-true"),
        channels_last=cuda if args.channels_last is None else args.channels_last,
        compile=cuda if args.compile is None else args.compile,
    )
    for name in ("lightning", "lightning.pytorch", "lightning.pytorch.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    times = throughput(setting, args.epochs, args.repeats)
    samples = setting.batch_size * setting.batches
    best = {name: samples / min(values) for name, values in times.items()}
    typical = {name: samples / statistics.median(values) for name, values in times.items()}
    device = torch_device_name(setting.device)
    details = {"images_s_plain": best["plain"], "images_s_lightning": best["lightning"], "device": device}
    details |= {key: value for key, value in asdict(setting).items() if key != "device"}
    bench.record(
        "Lightning+Classifier / plain loop, fastest epoch",
        best["lightning"] / best["plain"],
        0.97,
        higher_is_better=True,
        **details,
    )
    bench.record("Lightning+Classifier / plain loop, median epoch", typical["lightning"] / typical["plain"])
    if not cuda:
        with tempfile.TemporaryDirectory() as folder:
            seconds = statistics.median(startup_seconds(Path(folder) / f"run{index}") for index in range(args.repeats))
        bench.record("start-up: python train.py to its first step", seconds, unit="s")
    bench.finish()


if __name__ == "__main__":
    main()
