"""The plugin layers: registry, builder and abbreviations as MMCV names them; ContextBlock and the
non-local blocks start as the identity and compute what their papers say."""

import pytest
import torch
from torch import nn

from toolkit.cnn import (
    PLUGIN_LAYERS,
    ContextBlock,
    NonLocal1d,
    NonLocal2d,
    NonLocal3d,
    build_plugin_layer,
    infer_plugin_abbr,
)


def test_builder_names_and_errors():
    assert build_plugin_layer(dict(type="ContextBlock", ratio=0.5), in_channels=4)[0] == "context_block"
    name, layer = build_plugin_layer(dict(type="NonLocal2d", reduction=4), in_channels=8, postfix=2)
    assert name == "nonlocal_block2" and layer.inter_channels == 2
    assert infer_plugin_abbr(type("FancyHTTPBlock", (), {})) == "fancy_http_block"
    with pytest.raises(TypeError, match="cfg must be a dict"):
        build_plugin_layer("ContextBlock")
    with pytest.raises(KeyError, match="'Nope' is not in the plugin layer registry"):
        build_plugin_layer(dict(type="Nope"))
    with pytest.raises(AssertionError):
        build_plugin_layer(dict(type="ContextBlock", ratio=0.5), postfix=[1], in_channels=4)
    with pytest.raises(TypeError, match="class_type must be a type"):
        infer_plugin_abbr("ContextBlock")
    assert {"ContextBlock", "NonLocal2d"} <= set(PLUGIN_LAYERS.module_dict)


@pytest.mark.parametrize("pooling", ["att", "avg"])
def test_context_block_starts_as_identity_and_adds_a_per_channel_context(pooling):
    block = ContextBlock(8, ratio=0.25, pooling_type=pooling, fusion_types=("channel_add", "channel_mul"))
    x = torch.randn(2, 8, 5, 5)
    assert torch.allclose(block(x), x * 0.5)  # sigmoid(0) = 0.5 scales, the add term is 0
    nn.init.normal_(block.channel_add_conv[-1].weight)
    difference = block(x) - x * 0.5
    assert torch.allclose(difference, difference[:, :, :1, :1].expand_as(difference))  # the same at every position
    with pytest.raises(AssertionError):
        ContextBlock(8, 0.25, fusion_types=("channel_sub",))


def test_embedded_gaussian_attention_by_hand():
    block = NonLocal2d(4, reduction=2, zeros_init=False).eval()
    x = torch.randn(1, 4, 3, 3)
    flat = x.view(1, 4, 9)

    def project(module):
        return (module.conv.weight.view(module.conv.out_channels, -1) @ flat[0] + module.conv.bias[:, None]).T

    theta, phi, g = project(block.theta), project(block.phi), project(block.g)
    weights = (theta @ phi.T / 2**0.5).softmax(dim=-1)
    y = (weights @ g).T.reshape(1, 2, 3, 3)
    torch.testing.assert_close(block(x), x + block.conv_out(y))


@pytest.mark.parametrize("mode", ["gaussian", "embedded_gaussian", "dot_product", "concatenation"])
@pytest.mark.parametrize(
    ("cls", "shape"), [(NonLocal1d, (2, 8, 6)), (NonLocal2d, (2, 8, 4, 4)), (NonLocal3d, (2, 8, 2, 4, 4))]
)
@pytest.mark.parametrize("sub_sample", [False, True])
def test_non_local_blocks_start_as_identity_in_every_mode(mode, cls, shape, sub_sample):
    block = cls(8, sub_sample=sub_sample, mode=mode)
    x = torch.randn(*shape)
    assert torch.equal(block(x), x)
    block.init_weights(zeros_init=False)
    out = block(x)
    assert out.shape == x.shape and not torch.equal(out, x)
    assert type(block.g.conv if not sub_sample else block.g[0].conv).__name__ == f"Conv{len(shape) - 2}d"


def test_non_local_with_a_norm_and_a_bad_mode():
    block = NonLocal2d(8, norm_cfg=dict(type="BN"))
    assert block.conv_out.norm.weight.unique().tolist() == [0.0]
    with pytest.raises(ValueError) as raised:
        NonLocal2d(8, mode="cosine")
    assert isinstance(raised.value, AssertionError)
