import pytest
import torch
from torch import nn

from toolkit.cnn import NORM_LAYERS, LayerNorm2d, build_norm_layer
from toolkit.cnn.sync_bn import SyncBatchNorm

EXPECTED = {
    "BN1d": (nn.BatchNorm1d, "bn"),
    "BN2d": (nn.BatchNorm2d, "bn"),
    "BN3d": (nn.BatchNorm3d, "bn"),
    "BN": (nn.BatchNorm2d, "bn"),
    "SyncBN": (SyncBatchNorm, "bn"),
    "GN": (nn.GroupNorm, "gn"),
    "LN": (nn.LayerNorm, "ln"),
    "LN2d": (LayerNorm2d, "ln"),
    "IN1d": (nn.InstanceNorm1d, "in"),
    "IN2d": (nn.InstanceNorm2d, "in"),
    "IN3d": (nn.InstanceNorm3d, "in"),
    "IN": (nn.InstanceNorm2d, "in"),
}


def test_every_registered_norm_is_covered():
    assert set(NORM_LAYERS.module_dict) == set(EXPECTED)


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items())
def test_norm_class_abbreviation_and_arguments(name, expected):
    cls, abbr = expected
    extra = {"num_groups": 4} if name == "GN" else {"momentum": 0.3} if "BN" in name else {}
    layer_name, layer = build_norm_layer(dict(type=name, eps=1e-3, **extra), 8, postfix=2)
    assert type(layer) is cls
    assert layer_name == f"{abbr}2"
    assert layer.eps == 1e-3
    if "BN" in name:
        assert layer.momentum == 0.3 and layer.num_features == 8
    if name == "GN":
        assert (layer.num_groups, layer.num_channels) == (4, 8)


def test_default_eps_affine_and_requires_grad():
    _, layer = build_norm_layer(dict(type="BN", affine=False), 4)
    assert layer.eps == 1e-5 and layer.weight is None
    _, frozen = build_norm_layer(dict(type="GN", num_groups=2, requires_grad=False), 4)
    assert [p.requires_grad for p in frozen.parameters()] == [False, False]


def test_gn_errors_say_what_is_wrong():
    with pytest.raises(KeyError, match="GN needs 'num_groups'"):
        build_norm_layer(dict(type="GN"), 8)
    with pytest.raises(ValueError, match="num_groups=3 does not divide the 8 channels"):
        build_norm_layer(dict(type="GN", num_groups=3), 8)


def test_unknown_norm_suggests_closest():
    with pytest.raises(KeyError, match="did you mean 'GN'"):
        build_norm_layer(dict(type="Gn"), 8)


def test_user_norm_uses_abbr_attribute():
    @NORM_LAYERS.register_module()
    class MyNorm(nn.Module):
        _abbr_ = "mine"

        def __init__(self, num_features, eps=1e-5):
            super().__init__()

    try:
        assert build_norm_layer(dict(type="MyNorm"), 3)[0] == "mine"
    finally:
        NORM_LAYERS.module_dict.pop("MyNorm")


def test_ln2d_normalizes_over_channels():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 4, 5)
    layer = LayerNorm2d(6)
    reference = nn.functional.layer_norm(x.permute(0, 2, 3, 1), (6,)).permute(0, 3, 1, 2)
    torch.testing.assert_close(layer(x), reference)


def test_syncbn_works_on_cpu_in_one_process():
    _, layer = build_norm_layer(dict(type="SyncBN"), 3)
    assert isinstance(layer, nn.SyncBatchNorm)
    x = torch.randn(4, 3, 5, 5)
    expected = nn.functional.batch_norm(x, None, None, training=True)
    torch.testing.assert_close(layer(x), expected)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (dict(type="GN", num_groups=-2), "GN: num_groups must be a positive int dividing the channels, got -2"),
        (dict(type="GN", num_groups=0), "got 0"),
        (dict(type="GN", num_groups=2.0), "got 2.0"),
        (dict(type="GN", num_groups=True), "got True"),
        (dict(type="BN", eps=-1), "BN: eps must be a number above 0, got -1"),
        (dict(type="BN", eps=0), "got 0"),
        (dict(type="IN", momentum=2), "IN: momentum must be a number in"),
    ],
)
def test_bad_norm_arguments_are_refused_naming_the_key(cfg, message):
    with pytest.raises(ValueError, match=message):
        build_norm_layer(cfg, 8)
