"""Fill the benchmark tables of docs/benchmarks.md from the bench scripts' JSON results.

Each table sits between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in docs/benchmarks.md and
is rewritten from `scripts/results/NAME.json` (written by `python scripts/NAME.py --json ...`), so
the figures in the docs are the ones measured, never copied by hand.

Usage: python scripts/bench_tables.py [--check]   (--check: exit 1 if the page is out of date)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "scripts" / "results"
BLOCK = re.compile(r"(<!-- bench:(\w+) -->\n)(.*?)(<!-- /bench:\2 -->)", re.S)


def number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def table(results: dict) -> str:
    """A markdown table of one bench's results, and the line that says how they were measured."""
    lines = ["| measure | value | target | met |", "| --- | --- | --- | --- |"]
    for result in results["results"]:
        unit = "" if result["unit"] == "ratio" else f" {result['unit']}".rstrip()
        bound = (
            ""
            if result["target"] is None
            else (">= " if result["higher_is_better"] else "<= ") + number(result["target"])
        )
        details = ", ".join(
            f"{key} {number(value) if isinstance(value, float) else value}" for key, value in result["details"].items()
        )
        shown = f"{number(result['value'])}{unit}" + (f" ({details})" if details else "")
        met = "" if result["target"] is None else ("yes" if result["met"] else "no")
        lines.append(f"| {result['name']} | {shown} | {bound} | {met} |")
    lines.append("")
    lines.append(
        f"Measured by `python scripts/{results['bench']}.py --json scripts/results/{results['bench']}.json`: torch "
        f"{results['torch']}, Python {results['python']}, {results['machine']}, {results['threads']} threads, "
        f"{results['repeats']} rounds."
    )
    return "\n".join(lines) + "\n"


def render(page: str) -> str:
    def fill(match: re.Match) -> str:
        path = RESULTS / f"{match.group(2)}.json"
        if not path.is_file():
            return match.group(0)
        return match.group(1) + table(json.loads(path.read_text())) + match.group(4)

    return BLOCK.sub(fill, page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    page = ROOT / "docs" / "benchmarks.md"
    text = page.read_text()
    updated = render(text)
    if args.check:
        sys.exit(0 if updated == text else 1)
    page.write_text(updated)


if __name__ == "__main__":
    main()
