import pytest
import torch
from torch import nn

from toolkit.cnn import PADDING_LAYERS, build_padding_layer

SEED_NAMES = {"zero": nn.ZeroPad2d, "reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d}


@pytest.mark.parametrize(("name", "cls"), SEED_NAMES.items())
def test_seed_padding_names(name, cls):
    layer = build_padding_layer(dict(type=name), 2)
    assert type(layer) is cls and layer.padding == (2, 2, 2, 2)


@pytest.mark.parametrize("name", sorted(PADDING_LAYERS.module_dict))
def test_every_padding_pads_its_dimensions(name):
    dims = 1 if name.endswith("1d") else 3 if name.endswith("3d") else 2
    x = torch.arange(float(3**dims)).reshape(1, 1, *([3] * dims))
    out = build_padding_layer(dict(type=name), 1)(x)
    assert out.shape == (1, 1, *([5] * dims))


def test_circular_wraps_around():
    x = torch.arange(4.0).reshape(1, 1, 4)
    assert build_padding_layer(dict(type="circular1d"), 1)(x).flatten().tolist() == [3, 0, 1, 2, 3, 0]


def test_unknown_padding():
    with pytest.raises(KeyError, match="did you mean 'reflect'"):
        build_padding_layer(dict(type="reflec"), 1)
