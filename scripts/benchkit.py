"""What every bench script shares: its command line, a paired alternating median timer, and results
checked against targets.

A script makes a `Bench`, adds its own arguments, measures, `record`s each figure (a ratio against
plain PyTorch measured in the same run, or a plain value) with its target, and ends with
`bench.finish()`: a table on stdout, the results as JSON with `--json PATH`, and exit status 1 when
a target is missed. `scripts/bench_tables.py` fills the tables of docs/benchmarks.md from the JSON files.

>>> bench = Bench('demo', 'a demo', argv=['--threads', '1'])
>>> bench.record('ratio', 0.99, target=1.02)
>>> bench.missed()
[]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


@dataclass
class Result:
    """One measured figure: `value` in `unit`, and the bound it must stay under (or over)."""

    name: str
    value: float
    unit: str = "ratio"
    target: float | None = None
    higher_is_better: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        if self.target is None:
            return True
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def line(self) -> str:
        bound = "" if self.target is None else f" (target {'>=' if self.higher_is_better else '<='} {self.target})"
        shown = ", ".join(
            f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
            for key, value in self.details.items()
        )
        flag = "" if self.met else "  MISSED"
        return f"{self.name:>50}: {self.value:.4g} {self.unit}{bound}{'; ' + shown if shown else ''}{flag}"


class Bench:
    """The command line and the results of one bench script."""

    def __init__(self, name: str, description: str, argv: Sequence[str] | None = None, repeats: int = 21) -> None:
        self.name = name
        self.parser = argparse.ArgumentParser(
            description=description, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        self.parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
        self.parser.add_argument("--repeats", type=int, default=repeats, help="rounds of the paired timer")
        self.parser.add_argument("--json", type=Path, help=f"write the results there (e.g. {RESULTS}/{name}.json)")
        self._argv = argv
        self.args: argparse.Namespace | None = None
        self.results: list[Result] = []

    def parse(self) -> argparse.Namespace:
        """Parse the command line and set torch's thread count."""
        import torch

        self.args = self.parser.parse_args(self._argv)
        torch.set_num_threads(self.args.threads)
        return self.args

    def record(self, name: str, value: float, target: float | None = None, unit: str = "ratio", **details: Any) -> None:
        """Keep a result; `target` bounds it from above (from below with `higher_is_better=True`)."""
        higher = bool(details.pop("higher_is_better", False))
        self.results.append(Result(name, float(value), unit, target, higher, details))

    def missed(self) -> list[Result]:
        return [result for result in self.results if not result.met]

    def finish(self) -> None:
        """Print the results, write the JSON file if asked, and exit 1 if a target was missed."""
        import torch

        args = self.args or self.parse()
        context = {
            "bench": self.name,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "threads": args.threads,
            "repeats": args.repeats,
        }
        print(f"{self.name}: torch {context['torch']}, {args.threads} threads, {args.repeats} rounds")
        for result in self.results:
            print(result.line())
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            payload = {**context, "results": [asdict(result) | {"met": result.met} for result in self.results]}
            args.json.write_text(json.dumps(payload, indent=2) + "\n")
        missed = self.missed()
        if missed:
            print(f"missed {len(missed)} target(s): {', '.join(result.name for result in missed)}", file=sys.stderr)
            sys.exit(1)


def block_time(step: Callable[[], object], inner: int = 1) -> float:
    """Seconds per call of `step`, over `inner` calls."""
    start = time.perf_counter()
    for _ in range(inner):
        step()
    return (time.perf_counter() - start) / inner


def paired_medians(steps: dict[str, Callable[[], object]], rounds: int, inner: int = 1) -> dict[str, float]:
    """Median seconds per call of each step, after a warm-up, in rounds that rotate which runs first,
    so drifts of the machine (clock, caches, other load) fall on all of them alike.

    >>> medians = paired_medians({'a': lambda: None, 'b': lambda: None}, rounds=3)
    >>> sorted(medians)
    ['a', 'b']
    """
    names = list(steps)
    for name in names:
        block_time(steps[name], inner)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(block_time(steps[name], inner))
    return {name: statistics.median(values) for name, values in times.items()}
