"""Each init choice really sets every conv and linear weight, as the report says and the statistics show."""

import math

import pytest
import torch
from torch import nn

from toolkit.errors import ConfigError

from ..conftest import built

WIDTHS = "model.widths=[64,128]"


def weight_rows(model):
    layers = {name: module for name, module in model.named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))}
    return {f"{name}.weight": layer for name, layer in layers.items()}


def fans(weight: torch.Tensor) -> tuple[int, int]:
    receptive = weight[0][0].numel()
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def expected_std(init: str, weight: torch.Tensor) -> float:
    fan_in, fan_out = fans(weight)
    return {
        "kaiming": math.sqrt(2 / fan_out),
        "xavier": math.sqrt(2 / (fan_in + fan_out)),
        "normal": 0.01,
        "uniform": 0.1 / math.sqrt(12),
        "caffe2_xavier": math.sqrt(1 / fan_in),
    }[init]


@pytest.mark.parametrize(
    ("init", "label"),
    [
        ("kaiming", "Kaiming("),
        ("xavier", "Xavier("),
        ("normal", "Normal("),
        ("trunc_normal", "TruncNormal("),
        ("uniform", "Uniform("),
        ("caffe2_xavier", "Caffe2Xavier("),
        ("constant", "Constant("),
    ],
)
def test_init_choice_sets_every_conv_and_linear_weight(compose_config, init, label):
    torch.manual_seed(0)
    model = built(compose_config(f"init={init}", WIDTHS))
    report = {row.name: row.initializer for row in model.init_report()}
    assert report["head.weight"] == report["head.bias"] == "Normal(std=0.01, bias=0.0) override 'head' [head]"
    assert model.head.weight.std().item() == pytest.approx(0.01, rel=0.1) and not model.head.bias.any()
    for name, layer in weight_rows(model).items():
        if name.startswith("head."):
            continue  # the classifier head: init.head
        assert report[name].startswith(label), (name, report[name])
        weight = layer.weight.detach()
        if init == "constant":
            assert weight.unique().tolist() == [1.0]
        elif init == "trunc_normal":
            assert weight.abs().max() <= 2 and weight.std().item() == pytest.approx(0.02, rel=0.15)
        elif weight.numel() > 10_000:
            assert weight.std().item() == pytest.approx(expected_std(init, weight), rel=0.05), name
    norms = [row for row in model.init_report() if ".bn." in row.name]
    expected_norm = "Constant(layer=['BatchNorm2d'], val=1.0, bias=0.0)"
    assert all(row.initializer.startswith(expected_norm) for row in norms)


def test_the_head_takes_the_chosen_init_with_head_null_or_a_named_child(compose_config):
    torch.manual_seed(0)
    model = built(compose_config("init=kaiming", "init.head=null", WIDTHS))
    assert {row.name: row.initializer for row in model.init_report()}["head.weight"].startswith("Kaiming(")
    resnet = built(compose_config("model=resnet", "model.base_width=8", "init=xavier", "init.head.std=0.05"))
    report = {row.name: row.initializer for row in resnet.init_report()}
    assert report["fc.weight"] == "Normal(std=0.05, bias=0.0) override 'fc' [fc]"  # ResNet's head is `fc`
    with pytest.raises(ConfigError, match=r"init\.head_name=nohead: SimpleCNN has no such child"):
        built(compose_config("init.head_name=nohead", WIDTHS))


def test_default_keeps_the_modules_own_init(compose_config):
    model = built(compose_config("init=default"))
    report = {row.name: row.initializer for row in model.init_report()}
    assert report["stages.0.0.conv.weight"].startswith("ConvModule default: kaiming_init")
    assert report["stages.0.0.bn.weight"].startswith("ConvModule default: constant_init")
    assert report["head.weight"] == "unchanged (PyTorch default init)"


def test_norm_values_can_be_overridden(compose_config):
    model = built(compose_config("init=xavier", "init.norm_val=0.5", "init.norm_bias=0.1", "norm=gn"))
    gn = model.stages[0][0].gn
    assert gn.weight.unique().tolist() == [0.5] and gn.bias.unique().tolist() == [pytest.approx(0.1)]
    untouched = built(compose_config("init=xavier", "init.norm_val=null", "norm=gn"))
    report = {row.name: row.initializer for row in untouched.init_report()}
    assert report["stages.0.0.gn.weight"].startswith("ConvModule default")


def test_same_seed_same_config_same_weights(compose_config):
    states = []
    for _ in range(2):
        torch.manual_seed(7)
        states.append(built(compose_config("init=xavier", "norm=gn")).state_dict())
    assert all(torch.equal(value, states[1][key]) for key, value in states[0].items())
