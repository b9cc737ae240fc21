import pytest
import torch
from torch import nn

from toolkit.cnn import CONV_LAYERS, ConvWS2d, build_conv_layer

EXPECTED = {"Conv1d": nn.Conv1d, "Conv2d": nn.Conv2d, "Conv3d": nn.Conv3d, "Conv": nn.Conv2d, "ConvWS": ConvWS2d}


@pytest.mark.parametrize("name", sorted(CONV_LAYERS.module_dict))
def test_every_conv_type_builds_with_its_arguments(name):
    layer = build_conv_layer(dict(type=name), 4, 8, 3, stride=2, padding=1, bias=False)
    assert isinstance(layer, nn.modules.conv._ConvNd)
    padding = 0 if name == "Conv2dAdaptivePadding" else 1  # it pads in forward, like TensorFlow's SAME
    assert (layer.in_channels, layer.out_channels, layer.stride[0], layer.padding[0]) == (4, 8, 2, padding)
    assert layer.bias is None


@pytest.mark.parametrize(("name", "cls"), EXPECTED.items())
def test_contract_names_map_to_torch_classes(name, cls):
    assert type(build_conv_layer(dict(type=name), 2, 2, 1)) is cls


def test_none_cfg_is_conv2d_and_cfg_is_not_mutated():
    assert type(build_conv_layer(None, 3, 8, 3)) is nn.Conv2d
    cfg = dict(type="Conv3d", dilation=2)
    assert build_conv_layer(cfg, 3, 8, 3).dilation == (2, 2, 2)
    assert cfg == dict(type="Conv3d", dilation=2)


def test_bad_cfgs():
    with pytest.raises(TypeError, match="must be a dict"):
        build_conv_layer("Conv2d", 3, 8, 3)
    with pytest.raises(KeyError, match="did you mean 'Conv2d'"):
        build_conv_layer(dict(type="Conv2D"), 3, 8, 3)
    with pytest.raises(TypeError, match="bias given both in the cfg and as an argument"):
        build_conv_layer(dict(type="Conv2d", bias=False), 3, 8, 3, bias=True)


def test_conv_ws_standardizes_each_output_channel():
    torch.manual_seed(0)
    conv = ConvWS2d(3, 4, 3, bias=False)
    with torch.no_grad():
        conv.weight.mul_(5).add_(2)
    weight = conv.standardized_weight().flatten(1)
    torch.testing.assert_close(weight.mean(1), torch.zeros(4), atol=1e-6, rtol=0)
    torch.testing.assert_close(weight.std(1), torch.ones(4), atol=1e-4, rtol=0)
    x = torch.randn(2, 3, 6, 6)
    reference = nn.functional.conv2d(x, conv.standardized_weight())
    torch.testing.assert_close(conv(x), reference)
