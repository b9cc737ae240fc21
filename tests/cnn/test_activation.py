import pytest
import torch
from torch import nn

from toolkit.cnn import ACTIVATION_LAYERS, Clamp, HSigmoid, HSwish, Swish, build_activation_layer

EXPECTED = {
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "PReLU": nn.PReLU,
    "RReLU": nn.RReLU,
    "ReLU6": nn.ReLU6,
    "ELU": nn.ELU,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "GELU": nn.GELU,
    "SiLU": nn.SiLU,
    "Swish": Swish,
    "HSwish": nn.Hardswish,  # as MMCV builds it on torch 1.7 and later
    "Clamp": Clamp,
    "Clip": Clamp,  # MMCV registers Clamp under Clip too
    "HSigmoid": HSigmoid,
    "Mish": nn.Mish,
}


def test_every_registered_activation_is_covered():
    assert set(ACTIVATION_LAYERS.module_dict) == set(EXPECTED)


@pytest.mark.parametrize(("name", "cls"), EXPECTED.items())
def test_activation_class_and_inplace_only_where_accepted(name, cls):
    layer = build_activation_layer(dict(type=name), inplace=True)
    assert type(layer) is cls
    if hasattr(cls(), "inplace"):
        assert layer.inplace is True


def test_arguments_pass_through():
    assert build_activation_layer(dict(type="LeakyReLU", negative_slope=0.2)).negative_slope == 0.2
    assert build_activation_layer(dict(type="GELU", approximate="tanh")).approximate == "tanh"
    assert build_activation_layer(dict(type="PReLU", num_parameters=4)).weight.shape == (4,)


def test_swish_hswish_and_clamp_compute_mmcv_functions():
    x = torch.linspace(-5, 5, 41)
    torch.testing.assert_close(Swish()(x), nn.functional.silu(x))
    torch.testing.assert_close(HSwish()(x), nn.functional.hardswish(x))
    torch.testing.assert_close(HSwish(inplace=True)(x.clone()), nn.functional.hardswish(x))
    assert Clamp(min=-2.0, max=3.0)(x).tolist() == x.clamp(-2, 3).tolist()


def test_hsigmoid_matches_hardsigmoid():
    x = torch.linspace(-5, 5, 41)
    torch.testing.assert_close(HSigmoid()(x), nn.functional.hardsigmoid(x))
    with pytest.raises(ValueError, match="divisor"):
        HSigmoid(divisor=0)
    with pytest.raises(AssertionError):  # what MMCV raises, for code and tests written for it
        HSigmoid(divisor=0)


def test_unknown_activation():
    with pytest.raises(KeyError, match="did you mean 'ReLU'"):
        build_activation_layer(dict(type="Relu"))
