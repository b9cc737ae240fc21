"""Results across seeds: a sweep's jobs grouped by configuration (their overrides without `seed=`), with
the mean, the sample standard deviation and a 95% confidence interval of each metric.

`python train.py -m norm=bn,gn seed=0,1,2` gives two configurations of three jobs each; the question
"does GN beat BN by more than the noise between seeds?" is answered by `summary_by_config.csv` (and the
"By configuration" section of `summary.md`): per configuration `n` (completed jobs), `failed` (counted
apart, never averaged) and, for `val_acc`, `test_acc`, `val_loss` and `test_loss`, `_mean`, `_std`
(n - 1 in the denominator) and `_ci95`, the half-width of the 95% interval from Student's t with
n - 1 degrees of freedom (scipy's `t.ppf`). Rows are sorted by the mean of the optimized metric.

>>> rows = [{'overrides': f'norm=gn seed={seed}', 'status': 'completed', 'val_acc': value}
...         for seed, value in enumerate([0.90, 0.92, 0.94])]
>>> row = grouped(rows, 'val_acc')[0]
>>> row['config'], row['n'], round(row['val_acc_mean'], 4), round(row['val_acc_std'], 4), round(row['val_acc_ci95'], 4)
('norm=gn', 3, 0.92, 0.02, 0.0497)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any

from ..metrics import ACROSS_SEEDS

COLUMNS = (
    "config",
    "n",
    "failed",
    *(f"{metric}_{kind}" for metric in ACROSS_SEEDS for kind in ("mean", "std", "ci95")),
)


def configuration(overrides: Iterable[str]) -> str:
    """A job's configuration: its overrides without the seed.

    >>> configuration(['norm=gn', 'seed=2', 'trainer.max_epochs=3'])
    'norm=gn trainer.max_epochs=3'
    """
    return " ".join(override for override in overrides if not override.lstrip("+~").startswith("seed="))


def ci95_half_width(values: list[float]) -> float | str:
    """The half-width of the 95% confidence interval of the mean of `values` (Student's t); '' for one value."""
    if len(values) < 2:
        return ""
    from scipy.stats import t

    return float(t.ppf(0.975, len(values) - 1)) * statistics.stdev(values) / math.sqrt(len(values))


def grouped(rows: list[dict[str, Any]], optimized_metric: str) -> list[dict[str, Any]]:
    """One row per configuration of the job rows (`overrides` as a string of space-separated overrides),
    sorted by the mean of `optimized_metric`, best first (lowest for a loss); configurations without a
    completed job last."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(configuration(str(row["overrides"]).split()), []).append(row)
    table = []
    for config, jobs in groups.items():
        done = [job for job in jobs if job["status"] == "completed"]
        summary: dict[str, Any] = {
            "config": config,
            "n": len(done),
            "failed": sum(j["status"] == "failed" for j in jobs),
        }
        for metric in ACROSS_SEEDS:
            values = [float(job[metric]) for job in done if job.get(metric, "") != ""]
            summary[f"{metric}_mean"] = statistics.fmean(values) if values else ""
            summary[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else ""
            summary[f"{metric}_ci95"] = ci95_half_width(values)
        table.append(summary)
    sign = 1 if optimized_metric.endswith("_loss") else -1
    key = f"{optimized_metric}_mean"
    return sorted(table, key=lambda row: (row.get(key, "") == "", sign * (row.get(key) or 0)))


def repeated(table: list[dict[str, Any]]) -> bool:
    """Whether some configuration ran more than once (several seeds)."""
    return any(row["n"] > 1 for row in table)


def markdown_section(table: list[dict[str, Any]]) -> str:
    """The "By configuration" section of summary.md: mean ± std (95% CI half-width) per metric."""

    def cell(row: dict[str, Any], metric: str) -> str:
        mean, std, ci95 = (row[f"{metric}_{kind}"] for kind in ("mean", "std", "ci95"))
        if mean == "":
            return ""
        return f"{mean:.4f}" if std == "" else f"{mean:.4f} ± {std:.4f} (±{ci95:.4f})"

    header = ("config", "n", "failed", *ACROSS_SEEDS)
    lines = [
        "## By configuration (mean ± std over seeds, 95% CI half-width in brackets)",
        "",
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
    ]
    for row in table:
        lines.append(
            "| "
            + " | ".join(
                [row["config"] or "(none)", str(row["n"]), str(row["failed"])]
                + [cell(row, metric) for metric in ACROSS_SEEDS]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"
