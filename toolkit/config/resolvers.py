"""Resolvers the shipped config tree uses, registered when `toolkit.config` is imported.

`${toolkit_gpus_per_node:${trainer.accelerator},${trainer.devices}}` is what the SLURM launcher asks
for when `hydra.launcher.gpus_per_node` is not set: the GPUs the Trainer will use on each node.
"""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

GPU_ACCELERATORS = ("gpu", "cuda")


def gpus_per_node(accelerator: Any, devices: Any) -> int | None:
    """The GPUs a job asks of each SLURM node: `trainer.devices` when `trainer.accelerator` is a GPU (1 when
    the devices are `auto` or -1, the count of a list), else none (None: SLURM gives no GPU).

    Args:
        accelerator: `trainer.accelerator`.
        devices: `trainer.devices`.

    Returns:
        The GPUs per node, or None.

    Example:
        >>> gpus_per_node('gpu', 4), gpus_per_node('gpu', [0, 2]), gpus_per_node('cpu', 2), gpus_per_node(None, None)
        (4, 2, None, None)
    """
    if str(accelerator).lower() not in GPU_ACCELERATORS:
        return None
    if isinstance(devices, int) and devices > 0:
        return devices
    if isinstance(devices, list | tuple):
        return len(devices)
    return 1


OmegaConf.register_new_resolver("toolkit_gpus_per_node", gpus_per_node, replace=True)
