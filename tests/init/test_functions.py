import math

import pytest
import torch
from torch import nn

from toolkit.init import (
    bias_init_with_prob,
    caffe2_xavier_init,
    constant_init,
    kaiming_init,
    normal_init,
    trunc_normal_init,
    uniform_init,
    xavier_init,
)

FAN_IN, FAN_OUT = 256 * 9, 512 * 9


@pytest.fixture
def big_conv() -> nn.Conv2d:
    torch.manual_seed(0)
    return nn.Conv2d(256, 512, 3)


def test_seed_constant_init():
    conv1 = nn.Conv2d(3, 3, 1)
    constant_init(conv1, 1, 0)
    assert conv1.weight.unique().tolist() == [1.0] and conv1.bias.unique().tolist() == [0.0]


def test_seed_bias_init_with_prob():
    assert bias_init_with_prob(0.01) == pytest.approx(-4.59511985013459, abs=1e-9)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        bias_init_with_prob(1.0)


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_kaiming_std_follows_theory(big_conv, distribution):
    kaiming_init(big_conv, distribution=distribution, bias=0.5)
    assert big_conv.weight.mean().item() == pytest.approx(0, abs=2e-4)
    assert big_conv.weight.std().item() == pytest.approx(math.sqrt(2 / FAN_OUT), rel=0.01)
    assert big_conv.bias.unique().tolist() == [0.5]


def test_kaiming_fan_in_leaky_relu(big_conv):
    kaiming_init(big_conv, a=0.2, mode="fan_in", nonlinearity="leaky_relu")
    gain = math.sqrt(2 / (1 + 0.2**2))
    assert big_conv.weight.std().item() == pytest.approx(gain / math.sqrt(FAN_IN), rel=0.01)


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_xavier_std_follows_theory(big_conv, distribution):
    xavier_init(big_conv, gain=2, distribution=distribution)
    assert big_conv.weight.std().item() == pytest.approx(2 * math.sqrt(2 / (FAN_IN + FAN_OUT)), rel=0.01)
    if distribution == "uniform":
        assert big_conv.weight.abs().max().item() <= 2 * math.sqrt(6 / (FAN_IN + FAN_OUT))


def test_normal_init(big_conv):
    normal_init(big_conv, mean=0.5, std=0.01, bias=0.1)
    assert big_conv.weight.mean().item() == pytest.approx(0.5, abs=1e-4)
    assert big_conv.weight.std().item() == pytest.approx(0.01, rel=0.01)
    assert big_conv.bias.unique().tolist() == [pytest.approx(0.1)]


def test_trunc_normal_init_stays_in_bounds(big_conv):
    trunc_normal_init(big_conv, mean=0, std=1, a=-1, b=1)
    weight = big_conv.weight
    assert weight.min().item() >= -1 and weight.max().item() <= 1
    # std of a standard normal truncated to [-1, 1]
    phi = math.exp(-0.5) / math.sqrt(2 * math.pi)
    mass = math.erf(1 / math.sqrt(2))
    assert weight.std().item() == pytest.approx(math.sqrt(1 - 2 * phi / mass), rel=0.01)


def test_uniform_init(big_conv):
    uniform_init(big_conv, a=-3, b=1)
    assert big_conv.weight.min().item() >= -3 and big_conv.weight.max().item() <= 1
    assert big_conv.weight.mean().item() == pytest.approx(-1, abs=0.01)
    assert big_conv.weight.std().item() == pytest.approx(4 / math.sqrt(12), rel=0.01)


def test_caffe2_xavier_is_kaiming_uniform_fan_in(big_conv):
    caffe2_xavier_init(big_conv)
    bound = math.sqrt(3 / FAN_IN)
    assert big_conv.weight.abs().max().item() <= bound
    assert big_conv.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.01)


@pytest.mark.parametrize(
    "init", [constant_init, xavier_init, normal_init, trunc_normal_init, uniform_init, kaiming_init, caffe2_xavier_init]
)
def test_modules_without_weight_or_bias(init):
    args = (1,) if init is constant_init else ()
    init(nn.ReLU(), *args)
    no_bias = nn.Conv2d(2, 2, 1, bias=False)
    init(no_bias, *args)
    norm = nn.BatchNorm2d(2, affine=False)
    init(norm, *args)


def test_bad_distribution_names_allowed_values():
    with pytest.raises(ValueError, match=r"distribution must be one of \('normal', 'uniform'\), got 'gaussian'"):
        kaiming_init(nn.Conv2d(1, 1, 1), distribution="gaussian")
    with pytest.raises(ValueError, match="distribution must be one of"):
        xavier_init(nn.Conv2d(1, 1, 1), distribution="gaussian")
