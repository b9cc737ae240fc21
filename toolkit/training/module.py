"""`Classifier`: the LightningModule that trains any network built by the config bridge.

The network is kept as `self.net`, so a checkpoint's state dict holds `net.*` keys; the checkpoint
says so (`network_prefix`), and `load_checkpoint` strips them to load the bare network. Only
tensors go into checkpoints: configs and modules are never saved as hyperparameters, so
checkpoints load with `weights_only=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from ..checkpoint.state_dict import NETWORK_PREFIX_KEY

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any] | None


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


class Classifier(L.LightningModule):
    """Cross-entropy classification with accuracy metrics, the optimizer and the LR schedule from config."""

    def __init__(
        self, net: nn.Module, num_classes: int, optimizer: OptimizerFactory, scheduler: SchedulerFactory = None
    ) -> None:
        super().__init__()
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.train_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_acc = MulticlassAccuracy(num_classes, average="micro")
        self.test_acc = MulticlassAccuracy(num_classes, average="micro")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # load_checkpoint strips this prefix, so the bare network loads from a training checkpoint.
        checkpoint[NETWORK_PREFIX_KEY] = "net."

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_index: int) -> torch.Tensor:
        images, labels = batch
        logits = self.net(images)
        loss = F.cross_entropy(logits, labels)
        if not torch.isfinite(loss):
            step, epoch = self.global_step + 1, self.current_epoch + 1
            raise NonFiniteLossError(f"the training loss became {loss.item()} at step {step} (epoch {epoch})")
        self.train_acc.update(logits, labels)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self) -> None:
        # Logging the metric object each step costs Lightning a device move per call: log its epoch value.
        self.log("train_acc", self.train_acc.compute(), sync_dist=True)
        self.log("epochs", float(self.current_epoch + 1), sync_dist=True)
        self.train_acc.reset()

    def evaluation_step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> None:
        images, labels = batch
        logits = self.net(images)
        getattr(self, f"{stage}_acc").update(logits, labels)
        self.log(f"{stage}_loss", F.cross_entropy(logits, labels), prog_bar=True, sync_dist=True)

    def evaluation_epoch_end(self, stage: str) -> None:
        accuracy = getattr(self, f"{stage}_acc")
        self.log(f"{stage}_acc", accuracy.compute(), prog_bar=True, sync_dist=True)
        accuracy.reset()

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_index: int) -> None:
        self.evaluation_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self.evaluation_epoch_end("val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_index: int) -> None:
        self.evaluation_step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self.evaluation_epoch_end("test")

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": self.scheduler_factory(optimizer), "interval": "epoch"},
        }
