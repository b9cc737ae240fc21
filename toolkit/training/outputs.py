"""What a run leaves in its output folder: metrics.json, init_report.txt, curves.png, confusion.png,
the export; written once, by rank 0, at the end (`write_outputs`), except the init report."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ..figures import pyplot, save_png
from ..files import atomic_file
from ..init import InitRow, format_init_report
from ..metrics import CURVES, SUMMARY_LINE
from .export import export_network
from .history import read_history

log = logging.getLogger("toolkit.training")


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader never sees half of it."""
    with atomic_file(path, "w") as file:
        file.write(text)


def write_metrics(path: Path, metrics: Mapping[str, Any]) -> None:
    write_atomic(path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def write_init_report(path: Path, rows: Sequence[InitRow], note: str = "") -> None:
    write_atomic(path, (f"{note}\n\n" if note else "") + format_init_report(rows) + "\n")


def plot_curves(history: Mapping[int, Mapping[str, float]], path: Path) -> None:
    """Loss and accuracy per epoch (from 1), train and val, as a PNG, from `EpochHistory`'s rows."""
    save_png(curves_figure(history), path)


def curves_figure(history: Mapping[int, Mapping[str, float]]) -> Any:
    """The figure of `plot_curves`; its x axes are marked at whole epochs only."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, (title, names) in zip(axes, CURVES, strict=True):
        for name in names:
            epochs = sorted(epoch for epoch, row in history.items() if name in row)
            if epochs:
                axis.plot(epochs, [history[epoch][name] for epoch in epochs], marker="o", label=name)
        axis.set(title=title, xlabel="epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        axis.grid(alpha=0.3)
        if axis.lines:  # no curve when no epoch ran
            axis.legend()
    figure.tight_layout()
    return figure


def plot_confusion(counts: Sequence[Sequence[int]], path: Path) -> None:
    """The test split's confusion matrix as a PNG: true class down, predicted class across, counts in
    the cells (up to 20 classes)."""
    plt = pyplot()

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
    save_png(figure, path)


def summary_line(metrics: Mapping[str, Any], output_dir: Path) -> str:
    """One line: the main metrics and where the outputs are."""
    shown = [f"{name}={metrics[name]:.4f}" for name in SUMMARY_LINE if name in metrics]
    if "epochs" in metrics:
        shown.append(f"epochs={metrics['epochs']}")
    shown.append(f"time={metrics['wall_time_s']:.1f}s")
    return f"{' '.join(shown)} -> {output_dir}"


def write_outputs(
    folder: Path,
    metrics: Mapping[str, Any],
    net: torch.nn.Module,
    test_report: Mapping[str, Any],
    exports: Sequence[Path] = (),
    example: torch.Tensor | None = None,
) -> None:
    """What a finished run writes, once, on rank 0: metrics.json, curves.png (from history.json),
    confusion.png (with a test report), the exports (checked on a batch shaped as `example`; their
    largest differences go into metrics.json as `export_max_difference`), and the summary line."""
    write_metrics(folder / "metrics.json", metrics)
    plot_curves(read_history(folder / "history.json"), folder / "curves.png")
    if test_report:
        plot_confusion(test_report["test_confusion"], folder / "confusion.png")
    if exports:
        differences = export_network(net, exports, example)
        if differences:
            write_metrics(folder / "metrics.json", {**metrics, "export_max_difference": differences})
    print(summary_line(metrics, folder))


def write_lr_find(folder: Path, found: Mapping[str, Any], recorded: Mapping[str, Any]) -> dict[str, Any]:
    """metrics.json of `mode=lr_find` (what the finder found, and `recorded`); prints the override to use."""
    result = {**found, "mode": "lr_find", **recorded}
    write_metrics(folder / "metrics.json", result)
    shown = f"optim.lr={found['suggested_lr']:.3g}" if found["suggested_lr"] else "none (the loss did not fall)"
    print(f"suggested learning rate: {shown} -> {folder / 'lr_find.png'}")
    return dict(found)
