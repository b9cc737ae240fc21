"""Benchmark training under Lightning against a plain PyTorch loop, in one run.

Prints:
  - training throughput (samples/s) of toolkit's LightningModule under `Trainer` vs a plain loop
    on the same network, data, optimizer and batches, as a ratio (target: at least 0.97);
  - the fixed start-up cost: seconds from running `python train.py` to its first training step,
    imports included.

Usage: python scripts/bench_train.py [--epochs 5] [--repeats 5] [--json scripts/results/bench_train.json]
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from benchkit import Bench

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = 2048
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


def startup_seconds(folder: Path) -> float:
    """Wall time from launching train.py to its first training step."""
    train = str(ROOT / "train.py")
    command = [sys.executable, "-c", FIRST_STEP, train, "trainer.max_epochs=1", f"hydra.run.dir={folder}"]
    start = time.time()
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    stamp = next(json.loads(line) for line in output.splitlines() if line.startswith('{"first_step"'))
    return stamp["first_step"] - start


def throughput(epochs: int, rounds: int) -> dict[str, list[float]]:
    """Epoch times (epochs 2..N of every round) of a plain loop and of Lightning; the two
    alternate round by round, so drift hits both alike."""
    import lightning as L
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from toolkit.models import SimpleCNN
    from toolkit.training.data import EpochSeededSampler
    from toolkit.training.module import Classifier

    generator = torch.Generator().manual_seed(0)
    images = torch.randn(SAMPLES, 3, 32, 32, generator=generator)
    dataset = TensorDataset(images, torch.randint(0, 10, (SAMPLES,), generator=generator))

    def loader() -> DataLoader:
        return DataLoader(dataset, batch_size=64, sampler=EpochSeededSampler(len(dataset), 0))

    def optimizer(params):  # the config's default, AdamW
        return torch.optim.AdamW(params, lr=3e-3, weight_decay=0.01)

    def plain() -> float:
        torch.manual_seed(0)
        net = SimpleCNN(3, 10)
        opt = optimizer(net.parameters())
        batches = loader()
        times = []
        for epoch in range(epochs):
            batches.sampler.set_epoch(epoch)
            start = time.perf_counter()
            for x, y in batches:
                opt.zero_grad()
                F.cross_entropy(net(x), y).backward()
                opt.step()
            times.append(time.perf_counter() - start)
        return times[1:]

    class EpochTimer(L.Callback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            self.times.append(time.perf_counter() - self.start)

    def lightning() -> float:
        torch.manual_seed(0)
        module = Classifier(SimpleCNN(3, 10), 10, optimizer)
        timer = EpochTimer()
        trainer = L.Trainer(
            max_epochs=epochs,
            accelerator="cpu",
            devices=1,
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
    bench.parser.add_argument("--epochs", type=int, default=5)
    args = bench.parse()
    for name in ("lightning", "lightning.pytorch", "lightning.pytorch.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    times = throughput(args.epochs, args.repeats)
    best = {name: SAMPLES / min(values) for name, values in times.items()}
    typical = {name: SAMPLES / statistics.median(values) for name, values in times.items()}
    details = {"samples_s_plain": best["plain"], "samples_s_lightning": best["lightning"]}
    bench.record(
        "Lightning+Classifier / plain loop, fastest epoch",
        best["lightning"] / best["plain"],
        0.97,
        higher_is_better=True,
        **details,
    )
    bench.record("Lightning+Classifier / plain loop, median epoch", typical["lightning"] / typical["plain"])
    with tempfile.TemporaryDirectory() as folder:
        seconds = statistics.median(startup_seconds(Path(folder) / f"run{index}") for index in range(args.repeats))
    bench.record("start-up: python train.py to its first step", seconds, unit="s")
    bench.finish()


if __name__ == "__main__":
    main()
