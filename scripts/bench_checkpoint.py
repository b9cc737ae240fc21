"""Benchmark `load_checkpoint` against plain `torch.load` on a 400 MB state dict, in one run.

Each method runs in a fresh process (so peak memory is its own): the model is built first, the
file is read once to warm the page cache, then loaded `--repeats` times. Prints the median load
time of each as a ratio to a bare `torch.load`, and the peak resident memory that loading adds
(on top of the model), as a multiple of the weights' size.

Usage: python scripts/bench_checkpoint.py [--megabytes 400] [--repeats 9] [--json scripts/results/bench_checkpoint.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from benchkit import Bench
from torch import nn

LAYER_FLOATS = 1000 * 1000
METHODS = ("torch.load", "torch.load + load_state_dict", "toolkit load_checkpoint")


def build_model(megabytes: int) -> nn.ModuleList:
    layers = max(1, megabytes * 2**20 // (4 * (LAYER_FLOATS + 1000)))
    return nn.ModuleList(nn.Linear(1000, 1000) for _ in range(layers))


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(method: str, path: str, megabytes: int, repeats: int, threads: int) -> None:
    """Load `path` with `method`; print the median seconds and the peak memory the first load added."""
    from toolkit import load_checkpoint

    torch.set_num_threads(threads)
    model = build_model(megabytes)
    with open(path, "rb") as file:  # warm the page cache without holding the bytes
        while file.read(2**20):
            pass
    before = peak_rss_bytes()

    def load() -> None:
        if method == "torch.load":
            torch.load(path, weights_only=True)
        elif method == "torch.load + load_state_dict":
            model.load_state_dict(torch.load(path, weights_only=True))
        else:
            load_checkpoint(model, path, strict=True)

    times = []
    for index in range(repeats):
        start = time.perf_counter()
        load()
        times.append(time.perf_counter() - start)
        if index == 0:
            added = peak_rss_bytes() - before
    print(json.dumps({"seconds": statistics.median(times), "added": added}))


def main() -> None:
    bench = Bench("bench_checkpoint", __doc__, repeats=9)
    bench.parser.add_argument("--megabytes", type=int, default=400)
    bench.parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = bench.parse()
    if args.child:
        child(args.child[0], args.child[1], args.megabytes, args.repeats, args.threads)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "weights.pth")
        torch.save(build_model(args.megabytes).state_dict(), path)
        size = Path(path).stat().st_size
        results = {}
        for method in METHODS:
            command = [sys.executable, __file__, "--child", method, path, "--threads", str(args.threads)]
            command += ["--megabytes", str(args.megabytes), "--repeats", str(args.repeats)]
            results[method] = json.loads(subprocess.check_output(command))
    baseline = results.pop("torch.load")
    for method, result in results.items():
        ours = method.startswith("toolkit")
        details = {"ms": result["seconds"] * 1e3, "ms_torch_load": baseline["seconds"] * 1e3, "mib": size / 2**20}
        bench.record(
            f"{method} / torch.load time", result["seconds"] / baseline["seconds"], 1.1 if ours else None, **details
        )
        bench.record(f"{method} memory added / weights", result["added"] / size, 1.3 if ours else None, unit="x")
    bench.finish()


if __name__ == "__main__":
    main()
