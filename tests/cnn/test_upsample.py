import pytest
import torch
from torch import nn

from toolkit.cnn import UPSAMPLE_LAYERS, PixelShufflePack, build_upsample_layer


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_interpolating_upsample(mode):
    layer = build_upsample_layer(dict(type=mode, scale_factor=2))
    assert type(layer) is nn.Upsample and layer.mode == mode and layer.scale_factor == 2
    assert layer(torch.randn(1, 3, 4, 4)).shape == (1, 3, 8, 8)


def test_deconv():
    layer = build_upsample_layer(dict(type="deconv"), 3, 5, kernel_size=2, stride=2)
    assert type(layer) is nn.ConvTranspose2d
    assert layer(torch.randn(1, 3, 4, 4)).shape == (1, 5, 8, 8)


def test_pixel_shuffle_has_mmcv_names_shapes_and_init():
    torch.manual_seed(0)
    layer = build_upsample_layer(
        dict(type="pixel_shuffle", in_channels=16, out_channels=8, scale_factor=2, upsample_kernel=3)
    )
    assert isinstance(layer, PixelShufflePack)
    assert set(layer.state_dict()) == {"upsample_conv.weight", "upsample_conv.bias"}
    assert layer.upsample_conv.weight.shape == (32, 16, 3, 3)
    assert layer.upsample_conv.bias.abs().max() == 0
    bound = (6 / (16 * 9 + 32 * 9)) ** 0.5
    assert layer.upsample_conv.weight.abs().max() <= bound
    assert layer.upsample_conv.weight.abs().max() > 0.9 * bound
    x = torch.randn(1, 16, 5, 5)
    expected = nn.functional.pixel_shuffle(layer.upsample_conv(x), 2)
    torch.testing.assert_close(layer(x), expected)


def test_user_upsample_registered_and_built_by_name():
    @UPSAMPLE_LAYERS.register_module()
    class MyUpsample:
        def __init__(self, scale_factor):
            self.scale_factor = scale_factor

        def forward(self, x):
            return x

    try:
        layer = build_upsample_layer(dict(type="MyUpsample", scale_factor=2))
        assert isinstance(layer, MyUpsample) and layer.scale_factor == 2
    finally:
        UPSAMPLE_LAYERS.module_dict.pop("MyUpsample")


def test_upsample_bad_cfg():
    with pytest.raises(TypeError):
        build_upsample_layer(["nearest"])
    with pytest.raises(KeyError, match='must contain the key "type"'):
        build_upsample_layer(dict(scale_factor=2))
