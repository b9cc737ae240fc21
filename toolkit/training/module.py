"""`Classifier`: the LightningModule that trains any network built by the config bridge.

The network is kept as `self.net`, so a checkpoint's state dict holds `net.*` keys; the checkpoint
says so (`network_prefix`), and `load_checkpoint` strips them to load the bare network. Only
tensors and plain values go into checkpoints: modules are never saved as hyperparameters, and the
run's resolved config is recorded as plain dicts and lists (`toolkit_config`, which a resume checks
against), so checkpoints load with `weights_only=True`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from ..checkpoint.state_dict import NETWORK_PREFIX_KEY
from ..errors import ConfigError
from .augment import BatchMixing
from .resume import CONFIG_KEY, DATA_KEY

OptimizerFactory = Callable[[nn.Module], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any] | None


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


class LabelError(ConfigError):
    """A batch holds labels that are not class indices of the data set (of another dtype, or out of range)."""


STAGES = ("train", "val", "test")


def check_labels(labels: torch.Tensor, num_classes: int, data_name: str, where: str) -> None:
    """Raise LabelError unless `labels` are int64 class indices from 0 to `num_classes - 1` (reads them back).

    >>> check_labels(torch.tensor([0, -100]), 10, 'data=Mine', 'the first training samples')
    Traceback (most recent call last):
    toolkit.training.module.LabelError: data=Mine gives the label -100 in the first training samples: labels must \
be class indices from 0 to 9 (10 classes); cross_entropy would skip -100 and fail on others
    """
    check_label_dtype(labels, data_name)
    bad = labels[out_of_range(labels, num_classes)]
    if bad.numel():
        raise LabelError(label_message(int(bad[0]), num_classes, data_name, where))


def out_of_range(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Which of `labels` are no class index of `num_classes` classes."""
    return (labels < 0) | (labels >= num_classes)


def check_label_dtype(labels: torch.Tensor, data_name: str) -> None:
    """Raise LabelError unless `labels` are int64 (a host-side check: no sync)."""
    if labels.dtype != torch.long:
        raise LabelError(
            f"{data_name} gives labels of dtype {labels.dtype}: labels must be class indices of dtype torch.int64 "
            "(torch.long)"
        )


def label_message(label: int, num_classes: int, data_name: str, where: str) -> str:
    return (
        f"{data_name} gives the label {label} in {where}: labels must be class indices from 0 to {num_classes - 1} "
        f"({num_classes} classes); cross_entropy would skip -100 and fail on others"
    )


class Watch(nn.Module):
    """The current step and epoch, counted on the device; the first non-finite loss (its step and epoch,
    -1 while there is none, and its value); the first label out of range (the step and epoch, the
    stage as its index in STAGES, and the label; step -1: none)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("position", torch.zeros(2, dtype=torch.long))
        self.register_buffer("non_finite_at", torch.full((2,), -1, dtype=torch.long))
        self.register_buffer("non_finite_loss", torch.zeros(()))
        self.register_buffer("bad_label", torch.tensor([-1, 0, 0, 0]))


class Classifier(L.LightningModule):
    """Cross-entropy classification with accuracy metrics, the optimizer and the LR schedule from config.

    A training step never makes the host wait for the device: a non-finite loss is recorded on
    the device (its step, epoch and value) and looked at every `check_every` steps and at the
    last batch of each epoch, before validation and checkpoints; the metrics stay on the device
    (their argument checks, which would read values back, are off). Labels outside
    0..num_classes-1 are recorded the same way (and clamped meanwhile, so that the loss neither
    skips nor fails on them) and stop the run as a `LabelError` naming `data_name`; labels of
    another dtype than int64 stop it at once. With `channels_last`, the images of each batch are
    put in channels-last memory format. With `mixing` (MixUp, CutMix), training batches are mixed
    and the loss takes the soft targets; `label_smoothing` applies to the training loss. Under mixing,
    `train_acc` counts a prediction right when it is the class with the largest weight in the mixed
    target (the class of the image that covers most of it).
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory = None,
        check_every: int = 50,
        channels_last: bool = False,
        config: dict[str, Any] | None = None,
        data_name: str = "the data",
        mixing: BatchMixing | None = None,
        label_smoothing: float = 0.0,
        data_facts: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.net, self.config, self.data_facts = net, config, data_facts
        self.mixing, self.label_smoothing = mixing, label_smoothing
        self.num_classes, self.data_name = num_classes, data_name
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.check_every, self.channels_last = check_every, channels_last
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_acc", MulticlassAccuracy(num_classes, average="micro", validate_args=False))
        # The test split's report: the confusion counts (per-class accuracy follows) and, past 5 classes, top-5.
        self.test_confusion = MulticlassConfusionMatrix(num_classes, validate_args=False)
        self.test_top5 = MulticlassAccuracy(num_classes, top_k=5, validate_args=False) if num_classes > 5 else None
        self.test_report: dict[str, Any] = {}
        self.planned_t_max: int | None = None  # the cosine schedule's length this run plans (configure_optimizers)
        # Kept out of the module tree, so that weight averaging (callbacks=ema) and checkpoints never see it.
        self.__dict__["_watch"] = Watch()

    @property
    def watch(self) -> Watch:
        """The device-side record of the step, the first non-finite loss and the first bad label, on this
        module's device."""
        if self._watch.position.device != self.device:
            self._watch.to(self.device)
        return self._watch

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # load_checkpoint strips this prefix, so the bare network loads from a training checkpoint.
        checkpoint[NETWORK_PREFIX_KEY] = "net."
        if self.config is not None:  # plain values only, so the checkpoint still loads with weights_only=True
            checkpoint[CONFIG_KEY] = self.config
        if self.data_facts is not None:  # class names, channels, statistics: mode=predict needs no data
            checkpoint[DATA_KEY] = self.data_facts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def formatted(self, images: torch.Tensor) -> torch.Tensor:
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_index: int) -> torch.Tensor:
        images, labels = batch
        labels = targets = self.recorded_labels(labels, "train")
        if self.mixing is not None:
            images, targets = self.mixing(images, labels, self.global_step)
            labels = targets.argmax(dim=1)
        logits = self.net(self.formatted(images))
        loss = F.cross_entropy(logits, targets, label_smoothing=self.label_smoothing)
        self.record_non_finite(loss.detach())
        self.train_acc.update(logits, labels)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        return loss

    def on_train_epoch_start(self) -> None:
        self.watch.position.copy_(torch.tensor([self.global_step, self.current_epoch + 1]))

    def record_non_finite(self, loss: torch.Tensor) -> None:
        """Count the step and remember the first whose loss is NaN or infinite, on the device (no host sync)."""
        watch = self.watch
        watch.position[0] += 1
        first = ~torch.isfinite(loss) & (watch.non_finite_at[0] < 0)
        watch.non_finite_at.copy_(torch.where(first, watch.position, watch.non_finite_at))
        watch.non_finite_loss.copy_(torch.where(first, loss.float(), watch.non_finite_loss))

    def recorded_labels(self, labels: torch.Tensor, stage: str) -> torch.Tensor:
        """`labels` clamped to the classes, the first one out of range recorded on the device (no host sync)."""
        check_label_dtype(labels, self.data_name)
        watch = self.watch
        bad = out_of_range(labels, self.num_classes)
        first = bad.any() & (watch.bad_label[0] < 0)
        step = watch.position + watch.position.new_tensor([1, 0])  # this step, counted from 1 as record_non_finite
        stage_index = watch.position.new_tensor([STAGES.index(stage)])
        found = torch.cat([step, stage_index, labels[bad.int().argmax()][None]])
        watch.bad_label.copy_(torch.where(first, found, watch.bad_label))
        return labels.clamp(0, self.num_classes - 1)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_index: int) -> None:
        last = batch_index + 1 >= self.trainer.num_training_batches
        if last or (self.global_step % self.check_every == 0):
            self.raise_if_non_finite()

    def raise_if_non_finite(self) -> None:
        """Raise NonFiniteLossError naming the step if a training loss was not finite, or LabelError if a label
        was out of range (reads both flags back at once)."""
        watch = self.watch
        step, epoch, label_step, label_epoch, stage, label = torch.cat([watch.non_finite_at, watch.bad_label]).tolist()
        if label_step >= 0:
            where = f"a {STAGES[stage]} batch" + (f" (step {label_step}, epoch {label_epoch})" if stage == 0 else "")
            raise LabelError(label_message(label, self.num_classes, self.data_name, where))
        if step >= 0:
            loss = watch.non_finite_loss.item()
            raise NonFiniteLossError(f"the training loss became {loss} at step {step} (epoch {epoch})")

    def on_train_epoch_end(self) -> None:
        # Logging the metric object each step costs Lightning a device move per call: log its epoch value.
        self.log("train_acc", self.train_acc.compute(), sync_dist=True)
        self.log("epochs", float(self.current_epoch + 1), sync_dist=True)
        self.train_acc.reset()

    def evaluation_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], stage: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = batch
        labels = self.recorded_labels(labels, stage)
        logits = self.net(self.formatted(images))
        getattr(self, f"{stage}_acc").update(logits, labels)
        self.log(f"{stage}_loss", F.cross_entropy(logits, labels), prog_bar=True, sync_dist=True)
        return logits, labels

    def evaluation_epoch_end(self, stage: str) -> None:
        self.raise_if_non_finite()
        accuracy = getattr(self, f"{stage}_acc")
        self.log(f"{stage}_acc", accuracy.compute(), prog_bar=True, sync_dist=True)
        accuracy.reset()

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_index: int) -> None:
        self.evaluation_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self.evaluation_epoch_end("val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_index: int) -> None:
        logits, labels = self.evaluation_step(batch, "test")
        self.test_confusion.update(logits, labels)
        if self.test_top5 is not None:
            self.test_top5.update(logits, labels)

    def on_test_epoch_end(self) -> None:
        self.evaluation_epoch_end("test")
        if self.test_top5 is not None:
            self.log("test_acc_top5", self.test_top5.compute(), sync_dist=True)
            self.test_top5.reset()
        counts = self.test_confusion.compute().long()
        self.test_confusion.reset()
        support = counts.sum(dim=1).tolist()
        correct = counts.diagonal().tolist()
        self.test_report = {
            "test_confusion": counts.tolist(),  # rows: the true class; columns: the predicted one
            "test_per_class_acc": [hit / total if total else None for hit, total in zip(correct, support, strict=True)],
        }

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.net)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        self.planned_t_max = getattr(scheduler, "T_max", None)  # before a resume restores the checkpoint's
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}

    def on_train_start(self) -> None:
        """A resume that raised trainer.max_epochs stretches a restored cosine schedule to the new length:
        its T_max becomes this run's, and the learning rate is the cosine's at the epoch reached (the
        restored schedule would have reached its minimum and risen again)."""
        planned = self.planned_t_max
        for config in self.trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            if isinstance(scheduler, CosineAnnealingLR) and planned is not None and scheduler.T_max != planned:
                scheduler.T_max = planned
                progress = math.cos(math.pi * scheduler.last_epoch / planned)
                for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True):
                    group["lr"] = scheduler.eta_min + (base - scheduler.eta_min) * (1 + progress) / 2
