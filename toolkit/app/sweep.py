"""`SweepSummary`: a Hydra callback that tabulates a multirun in its sweep folder.

Each job records its status in its own folder when it ends (`job_status.json`); the summary is
rebuilt from the job folders as every job starts and ends and when the sweep ends, so a failed job
shows up as failed, and the summary exists even when Hydra stops the sweep over a failure:
`summary.csv` (a row per job), `summary_by_config.csv` (a row per configuration: mean, std and 95%
interval over its seeds, `toolkit.app.by_config`), `summary.md` (both tables) and `summary.png`
(per configuration the mean and its interval with each seed as a dot, when a configuration ran
with several seeds; else val_acc per job, the best highlighted).
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ..config.root import check_optimized_metric, without_resume
from ..errors import ConfigError, StoppedBySignal, one_message
from ..figures import pyplot, save_png
from ..files import atomic_file
from ..metrics import ACROSS_SEEDS, NAMES
from .by_config import COLUMNS as BY_CONFIG_COLUMNS
from .by_config import configuration, grouped, markdown_section, repeated
from .job import saved_overrides

METRICS = (*NAMES, "epochs")
LABEL_WIDTH = 24  # characters per line of a bar's label in summary.png
COLUMNS = ("job", "status", "overrides", *METRICS, "wall_time_s", "error")


def job_row(folder: Path) -> dict[str, Any]:
    """The summary row of one job folder."""
    overrides = saved_overrides(folder)
    status_file, metrics_file = folder / "job_status.json", folder / "metrics.json"
    status = json.loads(status_file.read_text()) if status_file.is_file() else {"status": "running"}
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    row = {"job": int(folder.name), "status": status["status"], "overrides": " ".join(without_resume(overrides))}
    row.update({name: metrics.get(name, "") for name in METRICS})
    row["wall_time_s"] = round(metrics.get("wall_time_s", status.get("wall_time_s", math.nan)), 2)
    row["error"] = status.get("error", "")
    return row


def collect(sweep_folder: Path) -> list[dict[str, Any]]:
    jobs = [path for path in sweep_folder.iterdir() if path.is_dir() and path.name.isdigit()]
    return [job_row(path) for path in sorted(jobs, key=lambda path: int(path.name))]


def by_accuracy(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Completed jobs by val_acc, best first, then the others."""
    return sorted(rows, key=lambda row: (row["val_acc"] == "", -(row["val_acc"] or 0), row["job"]))


def markdown(rows: list[dict[str, Any]]) -> str:
    header = ("job", "status", "overrides", "val_acc", "test_acc", "val_loss", "epochs", "wall_time_s")
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in by_accuracy(rows):
        cells = [f"{value:.4f}" if isinstance(value, float) else str(value) for value in map(row.get, header)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def varying(overrides: list[str]) -> list[str]:
    """Of each job's overrides (one string each), those that are not the same in every job: what tells
    the jobs apart.

    >>> varying(['norm=bn seed=0', 'norm=gn seed=0'])
    ['norm=bn', 'norm=gn']
    """
    common = set.intersection(*(set(text.split()) for text in overrides)) if overrides else set()
    return [" ".join(o for o in text.split() if o not in common) for text in overrides]


def wrapped(text: str) -> list[str]:
    """`text` in lines of at most `LABEL_WIDTH` characters, broken only between overrides.

    >>> wrapped('optim.lr=0.0213 optim.weight_decay=0.000111 norm=bn')
    ['optim.lr=0.0213', 'optim.weight_decay=0.000111', 'norm=bn']
    """
    return textwrap.wrap(text, LABEL_WIDTH, break_on_hyphens=False, break_long_words=False)


def labelled_axes(labels: list[str]) -> tuple[Any, Any]:
    """A figure with one column per label, wide enough for the widest line of any label, and the
    labels (lines joined by newlines, never rotated) under the columns."""
    plt = pyplot()

    widest = max((len(line) for label in labels for line in label.splitlines()), default=0)
    figure, axis = plt.subplots(figsize=(max(6.5, len(labels) * max(1.3, 0.085 * widest)), 4.5))
    axis.set_xticks(range(len(labels)), labels)
    axis.set_xlim(-0.5, len(labels) - 0.5)
    return figure, axis


def bar_chart(rows: list[dict[str, Any]], path: Path) -> None:
    """val_acc per job from 0 to 1, each bar labelled by its job number and what sets it apart, the best
    highlighted (nothing is drawn before a job completes)."""
    figure = bar_figure(rows)
    if figure is not None:
        save_png(figure, path)


def bar_figure(rows: list[dict[str, Any]]) -> Any:
    """The figure of `bar_chart`, laid out so that every label and the title lie inside it; None
    without a completed job."""
    done = [row for row in rows if row["val_acc"] != ""]
    if not done:
        return None
    best = max(done, key=lambda row: row["val_acc"])
    apart = varying([row["overrides"] for row in done])
    figure, axis = labelled_axes(
        ["\n".join([str(row["job"]), *wrapped(text)]) for row, text in zip(done, apart, strict=True)]
    )
    colors = ["tab:orange" if row is best else "tab:blue" for row in done]
    axis.bar(range(len(done)), [row["val_acc"] for row in done], color=colors)
    axis.set(ylabel="val_acc", title=f"val_acc per job (best: job {best['job']}, {best['val_acc']:.4f})")
    axis.set_ylim(0, 1.0)
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    return figure


def error_bar_chart(table: list[dict[str, Any]], rows: list[dict[str, Any]], metric: str, path: Path) -> None:
    """Per configuration, the mean of `metric` with its 95% interval, and each job as a dot."""
    save_png(error_bar_figure(table, rows, metric), path)


def error_bar_figure(table: list[dict[str, Any]], rows: list[dict[str, Any]], metric: str) -> Any:
    """The figure of `error_bar_chart`: each configuration labelled by what sets it apart from the
    others (the whole of it when it is the only one), every label and the title inside the figure."""
    shown = [row for row in table if row[f"{metric}_mean"] != ""]
    configs = [row["config"] for row in shown]
    apart = varying(configs) if len(configs) > 1 else configs
    figure, axis = labelled_axes(["\n".join(wrapped(text)) or "(no overrides)" for text in apart])
    for position, row in enumerate(shown):
        ci95 = row[f"{metric}_ci95"] or 0
        axis.errorbar(position, row[f"{metric}_mean"], yerr=ci95, fmt="o", color="tab:blue", capsize=6, markersize=8)
        values = [
            float(job[metric])
            for job in rows
            if configuration(job["overrides"].split()) == row["config"]
            and job["status"] == "completed"
            and job[metric] != ""
        ]
        axis.scatter([position + 0.15] * len(values), values, color="tab:gray", s=14, zorder=3)
    axis.set(ylabel=metric, title="mean and 95% interval per configuration; dots: seeds")
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    return figure


def write_csv(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_file(path, "w") as file:
        file.write(table.getvalue())


def write_summary(sweep_folder: Path, optimized_metric: str = "val_acc", chart: bool = True) -> list[dict[str, Any]]:
    """Rebuild summary.csv, summary_by_config.csv, summary.md and (with `chart`) summary.png from the job folders."""
    rows = collect(sweep_folder)
    table = grouped(rows, optimized_metric)
    write_csv(sweep_folder / "summary.csv", rows, COLUMNS)
    write_csv(sweep_folder / "summary_by_config.csv", table, BY_CONFIG_COLUMNS)
    with atomic_file(sweep_folder / "summary.md", "w") as file:
        file.write(markdown(rows) + "\n" + markdown_section(table))
    if not chart:
        return rows
    if repeated(table) and optimized_metric in ACROSS_SEEDS:
        error_bar_chart(table, rows, optimized_metric, sweep_folder / "summary.png")
    else:
        bar_chart(rows, sweep_folder / "summary.png")
    return rows


def check_direction(config: DictConfig) -> None:
    """Stop a sweep before its first job when `optimized_metric` names no metric, or when a sweeper
    would maximize a loss."""
    check_optimized_metric(config.optimized_metric)
    direction = config.hydra.sweeper.get("direction")
    if config.optimized_metric.endswith("_loss") and direction == "maximize":
        raise ConfigError(
            f"optimized_metric={config.optimized_metric} with hydra.sweeper.direction=maximize would search for "
            "the worst loss: add hydra.sweeper.direction=minimize"
        )


def check_time_limit(launcher: DictConfig) -> None:
    """Stop a SLURM sweep whose jobs would be told that their time is up as they start.

    SLURM signals a job `signal_delay_s` before its `timeout_min`; a delay not shorter than the limit
    puts the signal at the start, before submitit can catch it, and the job dies of it. Launchers
    without these keys pass.

    >>> from omegaconf import OmegaConf
    >>> check_time_limit(OmegaConf.create({'timeout_min': 2, 'signal_delay_s': 90}))
    >>> check_time_limit(OmegaConf.create({'timeout_min': 1, 'signal_delay_s': 90}))
    Traceback (most recent call last):
    toolkit.errors.ConfigError: hydra.launcher.signal_delay_s=90 is not shorter than \
hydra.launcher.timeout_min=1 (60 s): SLURM would signal every job as it starts; lower signal_delay_s \
or raise timeout_min
    """
    limit, delay = launcher.get("timeout_min"), launcher.get("signal_delay_s")
    if limit is not None and delay is not None and delay >= 60 * limit:
        raise ConfigError(
            f"hydra.launcher.signal_delay_s={delay} is not shorter than hydra.launcher.timeout_min={limit} "
            f"({60 * limit} s): SLURM would signal every job as it starts; lower signal_delay_s or raise timeout_min"
        )


class SweepSummary(Callback):
    """Checks what a sweep optimizes and its time limit, records each job's status and keeps the sweep's
    summary up to date."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Hydra turns a callback's exceptions into warnings: a bad optimized_metric ends the command here instead.
        try:
            check_direction(config)
            check_time_limit(config.hydra.launcher)
        except ConfigError as error:
            print(f"Error: {error}", file=sys.stderr)
            raise SystemExit(1) from error

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.perf_counter()
        if config.hydra.mode.name == "MULTIRUN":  # the job shows as running, even if the sweep is killed in it
            write_summary(Path(config.hydra.sweep.dir), config.optimized_metric, chart=False)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode.name != "MULTIRUN":  # a single run's folder has metrics.json, or its error was shown
            return
        folder = Path(config.hydra.runtime.output_dir)
        failed = job_return.status == JobStatus.FAILED
        status = {"status": "failed" if failed else "completed", "wall_time_s": time.perf_counter() - self.started}
        if failed:
            try:
                _ = job_return.return_value  # a failed job's return value is its error, raised again here
            except Exception as error:
                status["error"] = f"{type(error).__name__}: {one_message(error)}".splitlines()[0]
                if isinstance(error, StoppedBySignal):  # SIGTERM or Ctrl-C: resume=true continues it
                    status["status"] = "interrupted"
        with atomic_file(folder / "job_status.json", "w") as file:
            json.dump(status, file)
        write_summary(Path(config.hydra.sweep.dir), config.optimized_metric)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        write_summary(Path(config.hydra.sweep.dir), config.optimized_metric)
