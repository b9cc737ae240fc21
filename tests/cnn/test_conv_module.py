import pytest
import torch
from torch import nn

from toolkit.cnn import ACTIVATION_LAYERS, ConvModule


def children(module):
    return [(name, type(layer)) for name, layer in module.named_children()]


def test_seed_conv_bn_relu():
    conv = ConvModule(3, 8, 2, norm_cfg=dict(type="BN"))
    assert children(conv) == [("conv", nn.Conv2d), ("bn", nn.BatchNorm2d), ("activate", nn.ReLU)]
    assert conv.conv.bias is None and conv.norm is conv.bn and conv.bn.num_features == 8
    assert conv.activate.inplace is True


def test_seed_conv_gn_relu():
    conv = ConvModule(3, 8, 2, norm_cfg=dict(type="GN", num_groups=2))
    assert children(conv) == [("conv", nn.Conv2d), ("gn", nn.GroupNorm), ("activate", nn.ReLU)]
    assert conv.gn.num_groups == 2


def test_seed_conv_relu_and_plain_conv():
    conv = ConvModule(3, 8, 2)
    assert children(conv) == [("conv", nn.Conv2d), ("activate", nn.ReLU)]
    assert conv.conv.bias is not None and conv.norm is None
    plain = ConvModule(3, 8, 2, act_cfg=None)
    assert children(plain) == [("conv", nn.Conv2d)]
    x = torch.randn(1, 3, 5, 5)
    torch.testing.assert_close(plain(x), plain.conv(x))


def test_seed_conv_leaky_relu_and_its_init_slope():
    torch.manual_seed(0)
    conv = ConvModule(64, 256, 3, padding=1, act_cfg=dict(type="LeakyReLU"))
    assert children(conv) == [("conv", nn.Conv2d), ("activate", nn.LeakyReLU)]
    expected_std = nn.init.calculate_gain("leaky_relu", 0.01) / (256 * 9) ** 0.5
    assert conv.conv.weight.std().item() == pytest.approx(expected_std, rel=0.02)
    assert conv.conv.bias.abs().max() == 0


def test_seed_bn_conv_relu_gets_in_channels_and_runs_in_order():
    conv = ConvModule(3, 8, 2, norm_cfg=dict(type="BN"), order=("norm", "conv", "act"))
    assert conv.bn.num_features == 3
    conv.eval()
    x = torch.randn(2, 3, 5, 5)
    torch.testing.assert_close(conv(x), torch.relu(conv.conv(conv.bn(x))))


def test_activation_first_leaves_the_input_untouched():
    conv = ConvModule(3, 4, 1, order=("act", "conv", "norm"), norm_cfg=dict(type="BN"))
    x = torch.randn(1, 3, 4, 4)
    before = x.clone()
    conv(x)
    torch.testing.assert_close(x, before)


def test_default_init_is_kaiming_fan_out_and_norm_one_zero():
    torch.manual_seed(0)
    conv = ConvModule(64, 128, 3, norm_cfg=dict(type="BN"))
    assert conv.conv.weight.std().item() == pytest.approx((2 / (128 * 9)) ** 0.5, rel=0.02)
    assert conv.bn.weight.unique().tolist() == [1.0] and conv.bn.bias.unique().tolist() == [0.0]


def test_forward_flags_skip_norm_and_activation():
    conv = ConvModule(3, 4, 1, norm_cfg=dict(type="BN")).eval()
    x = torch.randn(1, 3, 4, 4)
    torch.testing.assert_close(conv(x, activate=False), conv.bn(conv.conv(x)))
    torch.testing.assert_close(conv(x, norm=False), torch.relu(conv.conv(x)))


@pytest.mark.parametrize("act", sorted(ACTIVATION_LAYERS.module_dict))
def test_every_activation_works_inside(act):
    conv = ConvModule(3, 4, 3, padding=1, act_cfg=dict(type=act))
    assert conv(torch.randn(1, 3, 6, 6)).shape == (1, 4, 6, 6)


@pytest.mark.parametrize(
    ("mode", "pad"), [("reflect", "reflect"), ("replicate", "replicate"), ("circular", "circular")]
)
def test_padding_modes_really_pad_that_way(mode, pad):
    conv = ConvModule(2, 3, 3, padding=1, padding_mode=mode, act_cfg=None)
    assert children(conv)[:2] == [("padding_layer", type(conv.padding_layer)), ("conv", nn.Conv2d)]
    assert conv.conv.padding == (0, 0)
    x = torch.randn(1, 2, 6, 6)
    expected = nn.functional.conv2d(nn.functional.pad(x, (1, 1, 1, 1), mode=pad), conv.conv.weight, conv.conv.bias)
    torch.testing.assert_close(conv(x), expected)


@pytest.mark.parametrize(("conv_type", "dims"), [("Conv1d", 1), ("Conv3d", 3)])
def test_padding_layers_follow_conv_dimensions(conv_type, dims):
    conv = ConvModule(2, 3, 3, padding=1, padding_mode="reflect", conv_cfg=dict(type=conv_type))
    x = torch.randn(1, 2, *([5] * dims))
    assert conv(x).shape == (1, 3, *([5] * dims))


def test_bias_auto_and_explicit():
    assert ConvModule(3, 4, 1, norm_cfg=dict(type="GN", num_groups=2)).conv.bias is None
    assert ConvModule(3, 4, 1, norm_cfg=dict(type="GN", num_groups=2), bias=True).conv.bias is not None
    with pytest.warns(UserWarning, match="Unnecessary conv bias"):
        ConvModule(3, 4, 1, norm_cfg=dict(type="BN"), bias=True)


def test_spectral_norm_keeps_mmcv_parameter_names():
    conv = ConvModule(3, 4, 3, with_spectral_norm=True)
    assert {"conv.weight_orig", "conv.weight_u", "conv.weight_v"} <= set(conv.state_dict())
    assert conv(torch.randn(1, 3, 5, 5)).shape == (1, 4, 3, 3)


def test_attributes_mirror_the_conv():
    conv = ConvModule(3, 6, 3, stride=2, padding=1, dilation=1, groups=3)
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride) == (3, 6, (3, 3), (2, 2))
    assert (conv.padding, conv.groups, conv.transposed) == (1, 3, False)


def test_mmcv_state_dict_keys():
    keys = set(ConvModule(3, 4, 3, norm_cfg=dict(type="BN")).state_dict())
    assert keys == {
        "conv.weight",
        "bn.weight",
        "bn.bias",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
    }


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(order=("conv", "norm")), ValueError, "order must be"),
        (dict(order=("conv", "norm", "norm")), ValueError, "order must be"),
        (dict(padding_mode="mirror"), KeyError, "'mirror' is not in the padding layer registry"),
        (dict(norm_cfg="BN"), TypeError, "norm_cfg must be a dict"),
        (dict(bias="yes"), ValueError, "bias must be"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ConvModule(3, 4, 3, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(norm_cfg=dict(type="BN")),
        dict(norm_cfg=dict(type="GN", num_groups=2), act_cfg=dict(type="GELU"), order=("norm", "conv", "act")),
        dict(
            padding_mode="reflect",
            act_cfg=dict(type="LeakyReLU"),
            order=("act", "conv", "norm"),
            norm_cfg=dict(type="IN"),
        ),
        dict(padding_mode="circular", conv_cfg=dict(type="ConvWS"), norm_cfg=dict(type="LN2d")),
        dict(with_spectral_norm=True, act_cfg=dict(type="SiLU")),
    ],
)
def test_compiles_without_graph_breaks(kwargs):
    torch._dynamo.reset()
    module = ConvModule(4, 4, 3, padding=1, **kwargs)
    x = torch.randn(2, 4, 6, 6)
    explanation = torch._dynamo.explain(module)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    module.eval()
    compiled = torch.compile(module, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x), module(x))


@pytest.mark.slow
def test_compiles_with_the_default_backend():
    torch._dynamo.reset()
    module = ConvModule(4, 4, 3, padding=1, norm_cfg=dict(type="BN"), padding_mode="reflect").eval()
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(torch.compile(module, fullgraph=True)(x), module(x))
