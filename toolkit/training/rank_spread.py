"""Under DDP, how far apart the ranks' BatchNorm running statistics are: 0 with SyncBN, more without.

Measured after each epoch's last training step, before validation (which runs through DDP's
wrapper and so copies rank 0's buffers to every rank).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.distributed as dist


class BatchNormRankSpread(L.Callback):
    """Logs `bn_stats_rank_spread`, the largest difference of any BN running statistic between ranks."""

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.world_size < 2 or batch_idx != trainer.num_training_batches - 1 or not dist.is_initialized():
            return
        stats = [buffer for name, buffer in module.named_buffers() if "running_" in name]
        if not stats:
            return
        high = torch.cat([buffer.detach().flatten().double() for buffer in stats])
        low = high.clone()
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        spread = (high - low).max().float()  # the same on every rank: averaging them changes nothing
        module.log("bn_stats_rank_spread", spread, on_step=False, on_epoch=True, sync_dist=True)
