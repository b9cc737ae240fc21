"""Benchmark ConvModule against plain PyTorch, measured in the same run.

Prints ratios (toolkit / plain PyTorch; lower is better):
  - a stack of 8 ConvModule(64, 64, 3, BN, ReLU) vs the same nn.Sequential, forward+backward,
    on a 16x64x32x32 batch and on a 1x64x8x8 batch (Python overhead dominates);
  - eval forward after `fuse_conv_bn` vs a stack folded by hand, and their max abs difference;
  - `import toolkit.cnn` vs `import torch` in fresh processes.

Usage: python scripts/bench_layers.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
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


def block_time(step: Callable[[], object], inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        step()
    return (time.perf_counter() - start) / inner


def paired_ratio(
    ours: Callable[[], object], theirs: Callable[[], object], rounds: int, inner: int
) -> tuple[float, float, float]:
    """Median block times of both after a warm-up, in rounds that alternate which runs first."""
    for step in (ours, theirs):
        block_time(step, inner)
    times: dict[Callable[[], object], list[float]] = {ours: [], theirs: []}
    for round_ in range(rounds):
        for step in (ours, theirs) if round_ % 2 else (theirs, ours):
            times[step].append(block_time(step, inner))
    a, b = statistics.median(times[ours]), statistics.median(times[theirs])
    return a, b, a / b


def train_step(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        model(x).sum().backward()

    return step


def import_time(module: str) -> float:
    """Seconds that `import module` takes in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return float(subprocess.check_output([sys.executable, "-c", code]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    plain = plain_stack()
    ours = copy_into_toolkit(plain)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats} rounds")
    for shape, inner, target in (((16, 64, 32, 32), 2, 1.01), ((1, 64, 8, 8), 50, 1.02)):
        x = torch.randn(*shape)
        a, b, ratio = paired_ratio(train_step(ours, x), train_step(plain, x), args.repeats, inner)
        print(
            f"fwd+bwd {'x'.join(map(str, shape)):>12}: ConvModule {a * 1e3:8.3f} ms, "
            f"nn.Sequential {b * 1e3:8.3f} ms, ratio {ratio:.3f} (target <= {target})"
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
        a, b, ratio = paired_ratio(lambda: fused(x), lambda: reference(x), args.repeats, 2)
    print(
        f"fused eval fwd: fuse_conv_bn {a * 1e3:.3f} ms, folded by hand {b * 1e3:.3f} ms, ratio {ratio:.3f} "
        f"(target <= 1.02), max abs diff vs unfused {difference:.2e} (target <= 1e-5)"
    )

    runs = [(import_time("toolkit.cnn"), import_time("torch")) for _ in range(max(5, args.repeats // 3))]
    toolkit_import = statistics.median(run[0] for run in runs)
    torch_import = statistics.median(run[1] for run in runs)
    print(
        f"import: toolkit.cnn {toolkit_import:.3f} s, torch {torch_import:.3f} s, "
        f"ratio {toolkit_import / torch_import:.3f} (target <= 1.1)"
    )


if __name__ == "__main__":
    main()
