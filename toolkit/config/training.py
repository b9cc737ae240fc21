"""Schemas of the trainer, optimizer and scheduler choices.

`TrainerConfig` lists every argument of Lightning's `Trainer` that a config can hold; a field
left at None keeps Lightning's default, and a key that is not a Trainer argument is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


@dataclass
class TrainerConfig:
    accelerator: Any = None
    strategy: Any = None
    devices: Any = None
    num_nodes: int | None = None
    precision: Any = None
    fast_dev_run: Any = None
    max_epochs: int | None = None
    min_epochs: int | None = None
    max_steps: int | None = None
    min_steps: int | None = None
    max_time: Any = None
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    limit_test_batches: Any = None
    limit_predict_batches: Any = None
    overfit_batches: Any = None
    val_check_interval: Any = None
    check_val_every_n_epoch: int | None = None
    num_sanity_val_steps: int | None = None
    log_every_n_steps: int | None = None
    enable_checkpointing: bool | None = None
    enable_progress_bar: bool | None = None
    enable_model_summary: bool | None = None
    accumulate_grad_batches: int | None = None
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: str | None = None
    deterministic: Any = None
    benchmark: bool | None = None
    inference_mode: bool | None = None
    use_distributed_sampler: bool | None = None
    profiler: str | None = None
    detect_anomaly: bool | None = None
    barebones: bool | None = None
    sync_batchnorm: bool | None = None
    reload_dataloaders_every_n_epochs: int | None = None
    enable_autolog_hparams: bool | None = None


@dataclass
class ParamwiseConfig:
    """MMCV 1.x's `paramwise_cfg`: multipliers of the base lr and weight decay per kind of parameter
    (null: 1), `custom_keys` ({substring of a parameter name: {lr_mult, decay_mult}}), and
    `bypass_duplicate` (see `toolkit.optim.DefaultOptimizerConstructor`)."""

    bias_lr_mult: float | None = None
    bias_decay_mult: float | None = None
    norm_decay_mult: float | None = None
    dwconv_decay_mult: float | None = None
    dcn_offset_lr_mult: float | None = None
    custom_keys: dict[str, Any] = field(default_factory=dict)
    bypass_duplicate: bool = False


@dataclass
class OptimizerConfig:
    """A torch optimizer, built by Hydra with the model's parameters (`_partial_`), grouped by
    `paramwise_cfg`."""

    _target_: str = MISSING
    _partial_: bool = True
    lr: float = MISSING
    weight_decay: float = 0.0
    paramwise_cfg: ParamwiseConfig = field(default_factory=ParamwiseConfig)


@dataclass
class SGDConfig(OptimizerConfig):
    _target_: str = "torch.optim.SGD"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True


@dataclass
class AdamWConfig(OptimizerConfig):
    _target_: str = "torch.optim.AdamW"
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.01


@dataclass
class WarmupConfig:
    """A linear warm-up before a schedule: the learning rate starts at `warmup_start_factor` times its
    value and reaches it after `warmup_epochs` epochs (0: no warm-up); the schedule follows."""

    warmup_epochs: int = 0
    warmup_start_factor: float = 0.1


@dataclass
class CosineConfig(WarmupConfig):
    """Cosine decay over the run's epochs (those after the warm-up)."""

    _target_: str = "torch.optim.lr_scheduler.CosineAnnealingLR"
    _partial_: bool = True
    T_max: int = MISSING
    eta_min: float = 0.0


@dataclass
class StepConfig(WarmupConfig):
    """Multiply the learning rate by `gamma` every `step_size` epochs."""

    _target_: str = "torch.optim.lr_scheduler.StepLR"
    _partial_: bool = True
    step_size: int = 10
    gamma: float = 0.1


@dataclass
class NoSchedulerConfig(WarmupConfig):
    """A constant learning rate (after the warm-up)."""

    _target_: str | None = None


@dataclass
class CropConfig:
    """The crop and flip a recipe starts with (`augment/crop=cifar|imagenet|none`): lists of transforms."""

    train: list[Any] = field(default_factory=list)
    eval: list[Any] = field(default_factory=list)


@dataclass
class AugmentConfig:
    """An `augment=` recipe: the crop and flip (`crop`), then the recipe's own transforms, for training
    (`train`) and evaluation (`eval`), each a list of `torchvision.transforms.v2` `_target_` nodes;
    then batch-level mixing and label smoothing. `size`, `resize` and `policy` left at null take the
    data set's values (its image side; size * 8 / 7; cifar10 for CIFAR, imagenet otherwise)."""

    size: int | None = None
    resize: int | None = None
    policy: str | None = None
    crop: CropConfig = field(default_factory=CropConfig)
    train: list[Any] = field(default_factory=list)
    eval: list[Any] = field(default_factory=list)
    mixup_alpha: float = 0.0
    cutmix_alpha: float = 0.0
    label_smoothing: float = 0.0
