"""The init report and every weight of the shipped models, for every init choice, against fixed files.

The files were written by the init code before it became two-phase; a change to init semantics or
to the order of random draws shows up here. Regenerate (only for an intended change) with
`python -m tests.init.test_init_fixed`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from toolkit.init import format_init_report

from ..conftest import built, swapped

DATA = Path(__file__).parent / "data" / "fixed_init.json"
CASES = (
    [
        (model, init, norm)
        for model in ("simple_cnn", "resnet")
        for init in ("kaiming", "xavier", "normal", "trunc_normal", "uniform", "caffe2_xavier", "constant", "default")
        for norm in ("bn", "gn")
    ]
    + [("simple_cnn", "kaiming", norm) for norm in ("ln", "in", "none")]
    + [("simple_cnn", "xavier", "bn_leaky")]
)


def choices(model: str, init: str, norm: str) -> dict[str, str]:
    act = {"act": "leakyrelu"} if norm == "bn_leaky" else {}
    return {"model": model, "init": init, "norm": norm.removesuffix("_leaky"), **act}


def digest(model: torch.nn.Module) -> str:
    hasher = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        hasher.update(name.encode())
        hasher.update(tensor.detach().contiguous().numpy().tobytes())
    return hasher.hexdigest()


def build(cfg, report: bool = True) -> torch.nn.Module:
    torch.manual_seed(0)
    if report:
        return built(cfg, in_channels=3)
    from toolkit.init.report import no_init_report

    with no_init_report():
        return built(cfg, in_channels=3)


@pytest.fixture(scope="module")
def fixed() -> dict:
    return json.loads(DATA.read_text())


@pytest.fixture(scope="module")
def defaults(compose_config):
    return compose_config()


@pytest.mark.parametrize("case", CASES, ids=["-".join(case) for case in CASES])
def test_report_and_weights_are_as_fixed(defaults, option_config, fixed, case):
    expected = fixed["-".join(case)]
    cfg = swapped(defaults, choices(*case), option_config)
    model = build(cfg)
    assert format_init_report(model.init_report()).splitlines() == expected["report"]
    assert digest(model) == expected["weights"]
    if case[0] == "simple_cnn":  # the report only observes: without it, the same weights
        assert digest(build(cfg, report=False)) == expected["weights"]


if __name__ == "__main__":
    from hydra import compose, initialize_config_dir

    import toolkit.config  # noqa: F401

    with initialize_config_dir(config_dir=str(Path(__file__).parents[2] / "conf"), version_base=None):
        table = {}
        for case in CASES:
            cfg = compose("config", overrides=[f"{group}={option}" for group, option in choices(*case).items()])
            model = build(cfg)
            table["-".join(case)] = {
                "report": format_init_report(model.init_report()).splitlines(),
                "weights": digest(model),
            }
    DATA.write_text(json.dumps(table, indent=1) + "\n")
