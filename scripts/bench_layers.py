"""Benchmark ConvModule against plain PyTorch, measured in the same run.

Prints ratios (toolkit / plain PyTorch; lower is better):
  - a stack of 8 ConvModule(64, 64, 3, BN, ReLU) vs the same nn.Sequential, forward+backward,
    on a 16x64x32x32 batch and on a 1x64x8x8 batch (Python overhead dominates);
  - eval forward after `fuse_conv_bn` vs a stack folded by hand, and their max abs difference;
  - `import toolkit.cnn` vs `import torch` in fresh processes.

Usage: python scripts/bench_layers.py [--repeats 40] [--threads 2] [--json scripts/results/bench_layers.json]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Callable

import torch
from benchkit import Bench, paired_medians
from torch import nn

from toolkit.cnn import ConvModule, fuse_conv_bn

DEPTH, CHANNELS = 8, 64


def toolkit_stack() -> nn.Sequential:
    return nn.Sequential(
        *[ConvModule(CHANNELS, CHANNELS, 3, padding=1, norm_cfg=dict(type="BN")) for _ in range(DEPTH)]
    )


def plain_stack() -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(DEPTH):
        layers += [nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, bias=False), nn.BatchNorm2d(CHANNELS), nn.ReLU(True)]
    return nn.Sequential(*layers)


def copy_into_toolkit(plain: nn.Sequential) -> nn.Sequential:
    """A ConvModule stack holding the plain stack's weights and statistics."""
    stack = toolkit_stack()
    for block, conv, bn in zip(stack, plain[0::3], plain[1::3], strict=True):
        block.conv.load_state_dict(conv.state_dict())
        block.bn.load_state_dict(bn.state_dict())
    return stack


def hand_folded(plain: nn.Sequential) -> nn.Sequential:
    """Fold each BN into the conv before it, written out by hand as the reference."""
    layers: list[nn.Module] = []
    for conv, bn, act in zip(plain[0::3], plain[1::3], plain[2::3], strict=True):
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        folded = nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1, bias=True)
        with torch.no_grad():
            folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            folded.bias.copy_(bn.bias - bn.running_mean * scale)
        layers += [folded, act]
    return nn.Sequential(*layers).eval()


def train_step(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        model(x).sum().backward()

    return step


def import_time(module: str) -> float:
    """Seconds that `import module` takes in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return float(subprocess.check_output([sys.executable, "-c", code]))


def main() -> None:
    bench = Bench("bench_layers", __doc__, repeats=40)
    args = bench.parse()
    torch.manual_seed(0)
    plain = plain_stack()
    ours = copy_into_toolkit(plain)
    for shape, inner, target in (((16, 64, 32, 32), 2, 1.01), ((1, 64, 8, 8), 50, 1.02)):
        x = torch.randn(*shape)
        times = paired_medians({"ours": train_step(ours, x), "plain": train_step(plain, x)}, args.repeats, inner)
        bench.record(
            f"fwd+bwd {'x'.join(map(str, shape))} ConvModule / nn.Sequential",
            times["ours"] / times["plain"],
            target,
            ms_toolkit=times["ours"] * 1e3,
            ms_plain=times["plain"] * 1e3,
        )

    for module in plain.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    reference = hand_folded(plain.eval())
    fused = fuse_conv_bn(copy_into_toolkit(plain).eval())
    x = torch.randn(16, 64, 32, 32)
    with torch.no_grad():
        difference = (fused(x) - plain(x)).abs().max().item()
        times = paired_medians({"fused": lambda: fused(x), "folded": lambda: reference(x)}, args.repeats, 2)
    bench.record("eval fwd fuse_conv_bn / folded by hand", times["fused"] / times["folded"], 1.02)
    bench.record("max abs diff fused vs unfused", difference, 1e-5, unit="")

    runs = [(import_time("toolkit.cnn"), import_time("torch")) for _ in range(max(5, args.repeats // 3))]
    toolkit_import, torch_import = (statistics.median(run[i] for run in runs) for i in (0, 1))
    bench.record("import toolkit.cnn / import torch", toolkit_import / torch_import, 1.1, s_torch=torch_import)
    bench.finish()


if __name__ == "__main__":
    main()
