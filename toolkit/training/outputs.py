"""What a run leaves in its output folder: metrics.json, init_report.txt, curves.png, confusion.png."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..files import atomic_file
from ..init import InitRow, format_init_report

CURVES = (("loss", ("train_loss", "val_loss")), ("accuracy", ("train_acc", "val_acc")))


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader never sees half of it."""
    with atomic_file(path, "w") as file:
        file.write(text)


def write_metrics(path: Path, metrics: Mapping[str, Any]) -> None:
    write_atomic(path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def write_init_report(path: Path, rows: Sequence[InitRow], note: str = "") -> None:
    write_atomic(path, (f"{note}\n\n" if note else "") + format_init_report(rows) + "\n")


def epoch_curves(metrics_csv: Path) -> dict[str, dict[int, float]]:
    """Per metric, its value at each epoch, from Lightning's CSV log (rows without an epoch, such as
    the learning rate monitor's, are left out)."""
    curves: dict[str, dict[int, float]] = defaultdict(dict)
    with metrics_csv.open() as file:
        for row in csv.DictReader(file):
            if not row.get("epoch"):
                continue
            for name, value in row.items():
                if name not in ("epoch", "step") and value:
                    curves[name][int(row["epoch"])] = float(value)
    return curves


def plot_curves(metrics_csv: Path, path: Path) -> None:
    """Loss and accuracy per epoch, train and val, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = epoch_curves(metrics_csv)
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, (title, names) in zip(axes, CURVES, strict=True):
        for name in names:
            if curves.get(name):
                epochs = sorted(curves[name])
                axis.plot([e + 1 for e in epochs], [curves[name][e] for e in epochs], marker="o", label=name)
        axis.set(title=title, xlabel="epoch")
        axis.grid(alpha=0.3)
        if axis.lines:  # no curve when no epoch ran
            axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_confusion(counts: Sequence[Sequence[int]], path: Path) -> None:
    """The test split's confusion matrix as a PNG: true class down, predicted class across, counts in
    the cells (up to 20 classes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = len(counts)
    figure, axis = plt.subplots(figsize=(min(12, 2 + 0.5 * classes), min(11, 1.5 + 0.5 * classes)))
    image = axis.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axis)
    axis.set(xlabel="predicted class", ylabel="true class", title="test split: confusion matrix")
    if classes <= 20:
        axis.set_xticks(range(classes))
        axis.set_yticks(range(classes))
        peak = max(max(row) for row in counts) or 1
        for row, values in enumerate(counts):
            for column, value in enumerate(values):
                color = "white" if value > peak / 2 else "black"
                axis.text(column, row, str(value), ha="center", va="center", color=color, fontsize=8)
    figure.tight_layout()
    with atomic_file(path) as file:
        figure.savefig(file, format="png", dpi=100)
    plt.close(figure)


def summary_line(metrics: Mapping[str, Any], output_dir: Path) -> str:
    """One line: the main metrics and where the outputs are."""
    names = ("val_acc", "test_acc", "val_loss", "train_loss")
    shown = [f"{name}={metrics[name]:.4f}" for name in names if name in metrics]
    if "epochs" in metrics:
        shown.append(f"epochs={metrics['epochs']}")
    shown.append(f"time={metrics['wall_time_s']:.1f}s")
    return f"{' '.join(shown)} -> {output_dir}"
