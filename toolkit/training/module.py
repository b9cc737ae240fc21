"""`Classifier`: the LightningModule that trains any network built by the config bridge.

The network is kept as `self.net`, so a checkpoint's state dict holds `net.*` keys; the checkpoint
says so (`network_prefix`), and `load_checkpoint` strips them to load the bare network. Only
tensors and plain values go into checkpoints: modules are never saved as hyperparameters, and the
run's resolved config is recorded as plain dicts and lists (`toolkit_config`, which a resume checks
against), so checkpoints load with `weights_only=True`.
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
from .resume import CONFIG_KEY

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any] | None


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


class Classifier(L.LightningModule):
    """Cross-entropy classification with accuracy metrics, the optimizer and the LR schedule from config.

    A training step never makes the host wait for the device: a non-finite loss is recorded on
    the device (its step, epoch and value) and looked at every `check_every` steps and at the
    last batch of each epoch, before validation and checkpoints; the metrics stay on the device
    (their argument checks, which would read values back, are off). With `channels_last`, the
    images of each batch are put in channels-last memory format.
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
    ) -> None:
        super().__init__()
        self.net, self.config = net, config
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.check_every, self.channels_last = check_every, channels_last
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_acc", MulticlassAccuracy(num_classes, average="micro", validate_args=False))
        # The current step and epoch, counted on the device; the first non-finite loss: its step and
        # epoch (-1 while there is none) and its value.
        self.register_buffer("position", torch.zeros(2, dtype=torch.long), persistent=False)
        self.register_buffer("non_finite_at", torch.full((2,), -1, dtype=torch.long), persistent=False)
        self.register_buffer("non_finite_loss", torch.zeros(()), persistent=False)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # load_checkpoint strips this prefix, so the bare network loads from a training checkpoint.
        checkpoint[NETWORK_PREFIX_KEY] = "net."
        if self.config is not None:  # plain values only, so the checkpoint still loads with weights_only=True
            checkpoint[CONFIG_KEY] = self.config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def formatted(self, images: torch.Tensor) -> torch.Tensor:
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_index: int) -> torch.Tensor:
        images, labels = batch
        logits = self.net(self.formatted(images))
        loss = F.cross_entropy(logits, labels)
        self.record_non_finite(loss.detach())
        self.train_acc.update(logits, labels)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        return loss

    def on_train_epoch_start(self) -> None:
        self.position.copy_(torch.tensor([self.global_step, self.current_epoch + 1]))

    def record_non_finite(self, loss: torch.Tensor) -> None:
        """Count the step and remember the first whose loss is NaN or infinite, on the device (no host sync)."""
        self.position[0] += 1
        first = ~torch.isfinite(loss) & (self.non_finite_at[0] < 0)
        self.non_finite_at.copy_(torch.where(first, self.position, self.non_finite_at))
        self.non_finite_loss.copy_(torch.where(first, loss.float(), self.non_finite_loss))

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_index: int) -> None:
        last = batch_index + 1 >= self.trainer.num_training_batches
        if last or (self.global_step % self.check_every == 0):
            self.raise_if_non_finite()

    def raise_if_non_finite(self) -> None:
        """Raise NonFiniteLossError naming the step if a training loss was not finite (reads the flag back)."""
        step, epoch = self.non_finite_at.tolist()
        if step >= 0:
            loss = self.non_finite_loss.item()
            raise NonFiniteLossError(f"the training loss became {loss} at step {step} (epoch {epoch})")

    def on_train_epoch_end(self) -> None:
        # Logging the metric object each step costs Lightning a device move per call: log its epoch value.
        self.log("train_acc", self.train_acc.compute(), sync_dist=True)
        self.log("epochs", float(self.current_epoch + 1), sync_dist=True)
        self.train_acc.reset()

    def evaluation_step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> None:
        images, labels = batch
        logits = self.net(self.formatted(images))
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
