"""Benchmark a four-job sweep with the joblib launcher (2 parallel jobs) against Hydra's basic one.

Both run `python train.py -m norm=bn,gn init=kaiming,xavier` with the same epochs, one after the
other; prints each wall time and the speed-up (target: at least 1.3x on 2 cores). Needs the
`sweep` extra (hydra-joblib-launcher).

Usage: python scripts/bench_sweep.py [--epochs 120] [--json scripts/results/bench_sweep.json]
(about 2 minutes; short jobs gain less, see docs/benchmarks.md)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import Bench

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["norm=bn,gn", "init=kaiming,xavier"]


def sweep_seconds(folder: Path, epochs: int, launcher: list[str]) -> float:
    command = [sys.executable, str(ROOT / "train.py"), "-m", *SWEEP, f"trainer.max_epochs={epochs}", *launcher]
    start = time.perf_counter()
    subprocess.run([*command, f"hydra.sweep.dir={folder}"], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    bench = Bench("bench_sweep", __doc__, repeats=1)
    bench.parser.add_argument("--epochs", type=int, default=120)
    args = bench.parse()
    with tempfile.TemporaryDirectory() as folder:
        basic = sweep_seconds(Path(folder) / "basic", args.epochs, [])
        joblib = sweep_seconds(
            Path(folder) / "joblib", args.epochs, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
        )
    bench.record(
        f"speed-up of joblib (2 jobs), {args.epochs} epochs a job",
        basic / joblib,
        1.3,
        unit="x",
        higher_is_better=True,
        s_basic=basic,
        s_joblib=joblib,
    )
    bench.finish()


if __name__ == "__main__":
    main()
