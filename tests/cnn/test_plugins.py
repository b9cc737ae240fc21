"""The plugin layers: registry, builder and abbreviations as MMCV names them; ContextBlock and the
non-local blocks start as the identity and compute what their papers say."""

import pytest
import torch
from torch import nn

from toolkit.cnn import (
    PLUGIN_LAYERS,
    ContextBlock,
    GeneralizedAttention,
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
    # the same at every position (up to float rounding of the sums)
    torch.testing.assert_close(difference, difference[:, :, :1, :1].expand_as(difference), atol=1e-6, rtol=1e-5)
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


def brute_force_energy(block, x):
    """The attention energy of a stride-1 GeneralizedAttention, one query and key position at a time."""
    heads, dim = block.num_heads, block.qk_embed_dim
    n, _, h, w = x.shape
    kinds = block.attention_type
    query = block.query_conv(x).view(n, heads, dim, h, w) if hasattr(block, "query_conv") else None
    key = block.key_conv(x).view(n, heads, dim, h, w) if hasattr(block, "key_conv") else None
    if kinds[1] or kinds[3]:
        pos_x = block.appr_geom_fc_x(block.position_embedding(w, w, x)).view(w, w, heads, dim) / 2**0.5
        pos_y = block.appr_geom_fc_y(block.position_embedding(h, h, x)).view(h, h, heads, dim) / 2**0.5
    energy = torch.zeros(n, heads, h, w, h, w)
    for y, xx, ky, kx in torch.cartesian_prod(*(torch.arange(s) for s in (h, w, h, w))).tolist():
        q = query[:, :, :, y, xx] if query is not None else None
        total = 0
        if kinds[0]:
            total = total + (q * key[:, :, :, ky, kx]).sum(-1)
        if kinds[2]:
            total = total + (block.appr_bias.view(heads, dim) * key[:, :, :, ky, kx]).sum(-1)
        position = (pos_x[xx, kx] + pos_y[y, ky]) if kinds[1] or kinds[3] else None
        if kinds[1]:
            total = total + (q * position).sum(-1)
        if kinds[3]:
            total = total + (block.geom_bias.view(heads, dim) * position).sum(-1)
        energy[:, :, y, xx, ky, kx] = total
    return energy.view(n, heads, h * w, h * w)


@pytest.mark.parametrize("attention_type", ["1111", "1000", "0100", "0010", "0001"])
def test_generalized_attention_matches_a_brute_force_computation(attention_type):
    torch.manual_seed(0)
    block = GeneralizedAttention(8, num_heads=2, kv_stride=1, attention_type=attention_type).eval()
    x = torch.randn(1, 8, 3, 4)
    assert torch.equal(block(x), x)  # gamma starts at zero
    nn.init.ones_(block.gamma)
    with torch.no_grad():
        attention = brute_force_energy(block, x).softmax(-1)
        value = block.value_conv(x).view(1, 2, 4, 12).transpose(2, 3)
        expected = block.proj_conv(torch.matmul(attention, value).transpose(2, 3).reshape(1, 8, 3, 4)) + x
        torch.testing.assert_close(block(x), expected, atol=1e-5, rtol=1e-5)


def test_generalized_attention_strides_range_and_builder():
    name, block = build_plugin_layer(
        dict(type="GeneralizedAttention", num_heads=4, q_stride=2, spatial_range=1), in_channels=16
    )
    assert name == "gen_attention_block"
    nn.init.ones_(block.gamma)
    assert block(torch.randn(2, 16, 7, 7)).shape == (2, 16, 7, 7)
    local = GeneralizedAttention(16, num_heads=4, kv_stride=1, spatial_range=1)
    mask = local.outside_range(4, 4, 4, 4, torch.device("cpu"))
    assert mask.shape == (4, 4, 4, 4) and not mask[0, 0, 2, 2] and mask[0, 0, 3, 0]  # MMCV's bounds: [y-r, y+r+1]
    assert mask[3, 3, 1, 3] and not mask[3, 3, 2, 3]
    with pytest.raises(ValueError) as raised:
        GeneralizedAttention(16, attention_type="0000")
    assert isinstance(raised.value, AssertionError)


def test_conv_module_is_a_plugin_and_infer_abbr_has_mmcvs_name():
    from toolkit.cnn.plugin import infer_abbr, infer_plugin_abbr

    name, layer = build_plugin_layer(dict(type="ConvModule", in_channels=3, out_channels=4, kernel_size=3), postfix=1)
    assert name == "conv_block1" and type(layer).__name__ == "ConvModule"  # as mmcv's PLUGIN_LAYERS has it
    assert infer_abbr is infer_plugin_abbr
