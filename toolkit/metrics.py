"""The metrics a run reports, in one table; every list of them (the optimized-metric check, the
sweep's summaries, the curves, the one-line summary) is read from it.

>>> NAMES
('val_acc', 'test_acc', 'val_loss', 'test_loss', 'train_loss', 'train_acc')
>>> ACROSS_SEEDS, SUMMARY_LINE
(('val_acc', 'test_acc', 'val_loss', 'test_loss'), ('val_acc', 'test_acc', 'val_loss', 'train_loss'))
>>> CURVES
(('loss', ('train_loss', 'val_loss')), ('accuracy', ('train_acc', 'val_acc')))
"""

from __future__ import annotations

from typing import NamedTuple


class Metric(NamedTuple):
    """A metric of a run: its name (`<split>_<quantity>`), and where it is shown."""

    name: str
    in_summary_line: bool  # the one line a run ends with
    across_seeds: bool  # mean, standard deviation and 95% interval in summary_by_config.csv

    @property
    def split(self) -> str:
        return self.name.partition("_")[0]

    @property
    def quantity(self) -> str:
        return self.name.partition("_")[2]


# Most telling first: the order of the columns of summary.csv.
METRICS = (
    Metric("val_acc", in_summary_line=True, across_seeds=True),
    Metric("test_acc", in_summary_line=True, across_seeds=True),
    Metric("val_loss", in_summary_line=True, across_seeds=True),
    Metric("test_loss", in_summary_line=False, across_seeds=True),
    Metric("train_loss", in_summary_line=True, across_seeds=False),
    Metric("train_acc", in_summary_line=False, across_seeds=False),
)
NAMES = tuple(metric.name for metric in METRICS)
SUMMARY_LINE = tuple(metric.name for metric in METRICS if metric.in_summary_line)
ACROSS_SEEDS = tuple(metric.name for metric in METRICS if metric.across_seeds)
CURVES = tuple(
    (title, tuple(m.name for split in ("train", "val") for m in METRICS if m.split == split and m.quantity == quantity))
    for title, quantity in (("loss", "loss"), ("accuracy", "acc"))
)
