"""Every private name of torch, Lightning, Hydra and submitit that toolkit relies on, in one place.

Nothing outside this package touches a private name of those libraries (a test checks it). Each
name used here is listed in `PRIVATE_NAMES` with the version it was written against; the tests
look each one up and fail naming it when an upgrade removes it, instead of toolkit breaking
silently. The parts are imported where they are needed: `toolkit._compat.torch` needs torch only,
`toolkit._compat.lightning` imports Lightning (so `import toolkit` does not), `toolkit._compat.submitit`
submitit (on a SLURM node, for the launcher in `hydra_plugins.toolkit_launcher`).

>>> ('torch.nn.modules.batchnorm', '_BatchNorm') in [(module, name) for module, name, _ in PRIVATE_NAMES]
True
"""

from __future__ import annotations

# (module, dotted attribute path in it, the version it was written against)
PRIVATE_NAMES: tuple[tuple[str, str, str], ...] = (
    ("torch.nn.modules.batchnorm", "_BatchNorm", "torch 2.14"),
    ("torch.nn.modules.batchnorm", "_BatchNorm._check_input_dim", "torch 2.14"),
    ("torch.nn.modules.instancenorm", "_InstanceNorm", "torch 2.14"),
    ("torch.nn.modules.conv", "_ConvNd", "torch 2.14"),
    ("torch.nn.modules.conv", "_ConvTransposeNd", "torch 2.14"),
    ("torch.nn.modules.pooling", "_MaxPoolNd", "torch 2.14"),
    ("torch.nn.modules.pooling", "_AvgPoolNd", "torch 2.14"),
    ("torch.nn.modules.pooling", "_AdaptiveMaxPoolNd", "torch 2.14"),
    ("torch.nn.modules.pooling", "_AdaptiveAvgPoolNd", "torch 2.14"),
    ("torch.storage", "_get_dtype_from_pickle_storage_type", "torch 2.14"),
    ("torch.distributed._functional_collectives", "all_reduce", "torch 2.14"),
    ("torch.nn.parallel", "DistributedDataParallel._passing_sync_batchnorm_handle", "torch 2.14"),
    ("lightning.pytorch.loggers.csv_logs", "ExperimentWriter._check_log_dir_exists", "lightning 2.6"),
    ("lightning.pytorch.loggers.csv_logs", "ExperimentWriter._record_new_keys", "lightning 2.6"),
    ("lightning.pytorch.strategies", "DDPStrategy._setup_model", "lightning 2.6"),
    ("submitit", "JobEnvironment._usr_sig", "submitit 1.5"),
)

# Private attribute names of upstream objects: those read here (instance attributes, so the tests look
# them up on an instance; Tensor._version is the in-place write counter behind the init report), and
# those replaced by public APIs (`_return_value`, `_get_train_description`). The tests refuse each of
# them anywhere else in the package.
PRIVATE_ATTRIBUTES: tuple[str, ...] = (
    "_version",
    "_forward_pre_hooks",
    "_fs",
    "_experiment",
    "_ddp_kwargs",
    "_tracking_uri",
    "_check_input_dim",
    "_passing_sync_batchnorm_handle",
    "_record_new_keys",
    "_check_log_dir_exists",
    "_setup_model",
    "_get_dtype_from_pickle_storage_type",
    "_return_value",
    "_get_train_description",
    "_usr_sig",
)
