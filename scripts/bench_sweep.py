"""Benchmark a four-job sweep with the joblib launcher (2 parallel jobs) against Hydra's basic one.

Both run `python train.py -m norm=bn,gn init=kaiming,xavier` with the same epochs, one after the
other; prints each wall time and the speed-up (target: at least 1.3x on 2 cores). Needs the
`sweep` extra (hydra-joblib-launcher).

Usage: python scripts/bench_sweep.py [--epochs 120]  (about 2 minutes; short jobs gain less, see the README)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["norm=bn,gn", "init=kaiming,xavier"]


def sweep_seconds(folder: Path, epochs: int, launcher: list[str]) -> float:
    command = [sys.executable, str(ROOT / "train.py"), "-m", *SWEEP, f"trainer.max_epochs={epochs}", *launcher]
    start = time.perf_counter()
    subprocess.run([*command, f"hydra.sweep.dir={folder}"], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        basic = sweep_seconds(Path(folder) / "basic", args.epochs, [])
        joblib = sweep_seconds(
            Path(folder) / "joblib", args.epochs, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
        )
    print(f"four-job sweep, {args.epochs} epochs each: basic launcher {basic:.1f} s, joblib (2 jobs) {joblib:.1f} s")
    print(f"speed-up {basic / joblib:.2f}x (target >= 1.3x on 2 cores)")


if __name__ == "__main__":
    main()
