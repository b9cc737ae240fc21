"""Benchmark weight init on `model=resnet model.depth=50` (25.6M parameters), in one run.

Prints, as ratios to a raw loop calling `torch.nn.init` on the same layers (lower is better):
  - `initialize(model, init_cfg)` with Kaiming for convs and linears and Constant 1/0 for norms;
  - `BaseModule.init_weights()` with the same init_cfg and its init report;
  - MMEngine's `initialize` and `init_weights` on the same model, where mmengine is installed
    (it is not a dependency: the script says so and skips them).

Usage: python scripts/bench_init.py [--repeats 21] [--threads 2] [--json scripts/results/bench_init.json]
"""

from __future__ import annotations

import copy
import importlib.util
import logging
from collections.abc import Callable

from benchkit import Bench, paired_medians
from torch import nn

from toolkit import BaseModule, initialize
from toolkit.models import ResNetClassifier

INIT_CFG = [
    dict(type="Kaiming", layer=["Conv2d", "Linear"], mode="fan_out", nonlinearity="relu"),
    dict(type="Constant", layer="_BatchNorm", val=1, bias=0),
]


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
    bench = Bench("bench_init", __doc__, repeats=21)
    args = bench.parse()
    logging.getLogger("toolkit.init").setLevel(logging.WARNING)
    raw_model, init_model = ResNetClassifier(depth=50), ResNetClassifier(depth=50)
    tree = ResNetClassifier(depth=50, init_cfg=INIT_CFG)
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
    times = paired_medians(steps, args.repeats)
    assert len(tree.init_report()) == len(list(tree.parameters()))
    baseline = times.pop("raw torch.nn.init loop")
    targets = {"toolkit initialize": 1.02, "toolkit init_weights + report": 1.05}
    for name, seconds in times.items():
        bench.record(
            f"{name} / raw loop", seconds / baseline, targets.get(name), ms=seconds * 1e3, parameters=parameters
        )
    bench.finish()


if __name__ == "__main__":
    main()
