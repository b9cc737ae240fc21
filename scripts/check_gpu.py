"""GPU checks, run by hand on a CUDA machine: compile, fusion, SyncBatchNorm and training on the GPU.

Prints one line per check with its numbers; exits non-zero on the first failure.

Runs `python -m toolkit`, so the package must be installed (`pip install -e .` or the wheel).

Usage: python scripts/check_gpu.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

import torch
from torch import nn

from toolkit.checkpoint import load_checkpoint
from toolkit.cnn import ConvModule, fuse_conv_bn
from toolkit.cnn.sync_bn import SyncBatchNorm

CONFIGS = {
    "bn relu": dict(norm_cfg=dict(type="BN")),
    "gn gelu reflect, norm first": dict(
        norm_cfg=dict(type="GN", num_groups=8),
        act_cfg=dict(type="GELU"),
        padding_mode="reflect",
        order=("norm", "conv", "act"),
    ),
    "ConvWS LN2d circular": dict(conv_cfg=dict(type="ConvWS"), norm_cfg=dict(type="LN2d"), padding_mode="circular"),
}


def check_compile() -> None:
    for name, kwargs in CONFIGS.items():
        module = ConvModule(32, 32, 3, padding=1, **kwargs).cuda().eval()
        x = torch.randn(8, 32, 32, 32, device="cuda")
        compiled = torch.compile(module, fullgraph=True)
        start = time.perf_counter()
        out = compiled(x)
        torch.cuda.synchronize()
        seconds, error = time.perf_counter() - start, (out - module(x)).abs().max().item()
        print(f"compile fullgraph on CUDA, {name}: first call {seconds:.1f} s, max abs diff {error:.2e}")
        assert error < 1e-4


def check_fusion() -> None:
    module = ConvModule(32, 64, 3, padding=1, norm_cfg=dict(type="BN")).cuda()
    module(torch.randn(16, 32, 16, 16, device="cuda"))
    module.eval()
    x = torch.randn(4, 32, 16, 16, device="cuda")
    expected = module(x)
    error = (fuse_conv_bn(module)(x) - expected).abs().max().item()
    print(f"fuse_conv_bn on CUDA: max abs diff {error:.2e}")
    assert error < 1e-5


def check_sync_bn() -> None:
    layer, reference = SyncBatchNorm(16).cuda(), nn.BatchNorm2d(16).cuda()
    x = torch.randn(8, 16, 8, 8, device="cuda")
    error = (layer(x) - reference(x)).abs().max().item()
    print(f"SyncBatchNorm on CUDA in one process: max abs diff to BatchNorm2d {error:.2e}")
    assert error < 1e-5


def check_checkpoint() -> None:
    source = ConvModule(8, 16, 3, norm_cfg=dict(type="BN")).cuda()
    target = ConvModule(8, 16, 3, norm_cfg=dict(type="BN")).cuda()
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/w.pth"
        torch.save(source.state_dict(), path)
        checkpoint = load_checkpoint(target, path, map_location="cuda", strict=True)
    devices = {tensor.device.type for tensor in checkpoint.values()}
    same = all(
        torch.equal(a, b) for a, b in zip(source.state_dict().values(), target.state_dict().values(), strict=True)
    )
    print(f"load_checkpoint(map_location='cuda'), memory-mapped and checked: devices {devices}, equal {same}")
    assert devices == {"cuda"} and same


def check_training() -> None:
    runs = {
        "train.py on the GPU, resnet on synthetic 64x64": [
            "trainer.accelerator=gpu",
            "model=resnet",
            "data=synthetic",
            "data.size=64",
        ],
        "train.py trainer=ddp (1 GPU) norm=syncbn": ["trainer=ddp", "trainer.devices=1", "norm=syncbn"],
    }
    with tempfile.TemporaryDirectory() as folder:
        for index, (name, overrides) in enumerate(runs.items()):
            command = [sys.executable, "-m", "toolkit", *overrides, "trainer.max_epochs=3", f"hydra.run.dir={index}"]
            result = subprocess.run(command, capture_output=True, text=True, cwd=folder)
            summary = [line for line in result.stdout.splitlines() if line.startswith("val_acc=")]
            print(f"{name}: {summary[0] if summary else result.stderr[-1500:]}")
            assert result.returncode == 0


def check_no_sync_in_the_step() -> None:
    """A few training steps of Classifier under CUDA's sync debug mode "error": any operation inside
    a step that makes the host wait for the GPU raises. The non-finite check reads its flag back
    outside the step (every 50 steps and at an epoch's last batch), where the mode is off."""
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    from toolkit.models import SimpleCNN
    from toolkit.training.module import Classifier

    class SyncDebug(L.Callback):
        def on_train_batch_start(self, *args: object) -> None:
            torch.cuda.set_sync_debug_mode("error")

        def on_train_batch_end(self, *args: object) -> None:  # before the module's own hook, which may read back
            torch.cuda.set_sync_debug_mode(0)

    data = TensorDataset(torch.randn(256, 3, 32, 32), torch.randint(0, 10, (256,)))
    module = Classifier(SimpleCNN(3, 10), 10, lambda params: torch.optim.AdamW(params, capturable=True))
    trainer = L.Trainer(
        accelerator="gpu",
        devices=1,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[SyncDebug()],
    )
    try:
        trainer.fit(module, DataLoader(data, batch_size=32, pin_memory=True))
    finally:
        torch.cuda.set_sync_debug_mode(0)
    print(f"no host sync inside {trainer.global_step} training steps (sync debug mode 'error')")


def main() -> None:
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    checks = (check_compile, check_fusion, check_sync_bn, check_checkpoint, check_no_sync_in_the_step, check_training)
    for check in checks:
        check()


if __name__ == "__main__":
    main()
