"""Benchmark weight init on a ResNet-50-sized model (about 25M parameters), in one run.

Prints, as ratios to a raw loop calling `torch.nn.init` on the same layers (lower is better):
  - `initialize(model, init_cfg)` with Kaiming for convs and linears and Constant 1/0 for norms;
  - `BaseModule.init_weights()` with the same init_cfg and its init report;
  - MMEngine's `initialize` and `init_weights` on the same model, where mmengine is installed
    (it is not a dependency: the script says so and skips them).

Usage: python scripts/bench_init.py [--repeats 21]
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import logging
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from toolkit import BaseModule, ConvModule, Sequential, initialize

INIT_CFG = [
    dict(type="Kaiming", layer=["Conv2d", "Linear"], mode="fan_out", nonlinearity="relu"),
    dict(type="Constant", layer="_BatchNorm", val=1, bias=0),
]


class Bottleneck(BaseModule):
    def __init__(self, in_channels: int, mid: int, stride: int) -> None:
        super().__init__()
        bn = dict(type="BN")
        self.conv1 = ConvModule(in_channels, mid, 1, norm_cfg=bn)
        self.conv2 = ConvModule(mid, mid, 3, stride=stride, padding=1, norm_cfg=bn)
        self.conv3 = ConvModule(mid, mid * 4, 1, norm_cfg=bn, act_cfg=None)
        self.downsample = (
            ConvModule(in_channels, mid * 4, 1, stride=stride, norm_cfg=bn, act_cfg=None)
            if stride != 1 or in_channels != mid * 4
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


class ResNet50(BaseModule):
    def __init__(self, init_cfg: list[dict] | None = None) -> None:
        super().__init__(init_cfg)
        self.stem = ConvModule(3, 64, 7, stride=2, padding=3, norm_cfg=dict(type="BN"))
        stages, in_channels = [], 64
        for mid, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            layers = []
            for index in range(blocks):
                layers.append(Bottleneck(in_channels, mid, stride if index == 0 else 1))
                in_channels = mid * 4
            stages.append(Sequential(*layers))
        self.stages = Sequential(*stages)
        self.fc = nn.Linear(2048, 1000)


def raw_init(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.constant_(module.bias, 0)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            nn.init.constant_(module.weight, 1)
            nn.init.constant_(module.bias, 0)


def reset_init_flags(model: nn.Module) -> None:
    """Let `init_weights()` run again on the same model."""
    for module in model.modules():
        if isinstance(module, BaseModule):
            module._is_init = False


def timed(steps: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median seconds of each step, in rounds that rotate which runs first."""
    names = list(steps)
    for name in names:
        steps[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def plain_layers(model: nn.Module) -> nn.ModuleList:
    """Copies of the model's conv, norm and linear layers, in plain torch containers."""
    kinds = (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm)
    return nn.ModuleList(copy.deepcopy(module) for module in model.modules() if isinstance(module, kinds))


def mmengine_steps(model: nn.Module) -> dict[str, Callable[[], None]]:
    """MMEngine's initialize and init_weights (with its report) on the same layers."""
    if importlib.util.find_spec("mmengine") is None:
        print("mmengine is not installed (it is not a dependency): skipping its initialize and init_weights")
        return {}
    from mmengine.logging import MMLogger
    from mmengine.model import BaseModule as MMBaseModule
    from mmengine.model import initialize as mm_initialize

    MMLogger.get_current_instance().setLevel(logging.WARNING)
    plain = plain_layers(model)
    wrapped = MMBaseModule(init_cfg=INIT_CFG)
    wrapped.layers = plain_layers(model)

    def mm_init_weights() -> None:
        wrapped._is_init = False
        wrapped.init_weights()

    return {"mmengine initialize": lambda: mm_initialize(plain, INIT_CFG), "mmengine init_weights": mm_init_weights}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    torch.set_num_threads(2)
    logging.getLogger("toolkit.init").setLevel(logging.WARNING)
    raw_model, init_model, tree = ResNet50(), ResNet50(), ResNet50(init_cfg=INIT_CFG)
    parameters = sum(p.numel() for p in tree.parameters())

    def init_weights_with_report() -> None:
        reset_init_flags(tree)
        tree.init_weights()

    steps = {
        "raw torch.nn.init loop": lambda: raw_init(raw_model),
        "toolkit initialize": lambda: initialize(init_model, INIT_CFG),
        "toolkit init_weights + report": init_weights_with_report,
        **mmengine_steps(raw_model),
    }
    times = timed(steps, args.repeats)
    assert len(tree.init_report()) == len(list(tree.parameters()))
    baseline = times["raw torch.nn.init loop"]
    print(f"ResNet-50-sized model, {parameters / 1e6:.1f}M parameters, median of {args.repeats}, 2 threads")
    targets = {"toolkit initialize": 1.02, "toolkit init_weights + report": 1.05}
    for name, seconds in times.items():
        target = f" (target <= {targets[name]})" if name in targets else ""
        print(f"{name:>30}: {seconds * 1e3:8.1f} ms, ratio {seconds / baseline:.3f}{target}")


if __name__ == "__main__":
    main()
