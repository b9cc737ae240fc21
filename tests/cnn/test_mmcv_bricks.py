"""Bricks that ported `mmcv.cnn` code imports: Scale, is_norm, dropout, the conv variants,
DepthwiseSeparableConvModule and revert_sync_batchnorm."""

import pytest
import torch
from torch import nn

from toolkit.cnn import (
    Conv2dAdaptivePadding,
    ConvAWS2d,
    DepthwiseSeparableConvModule,
    Dropout,
    DropPath,
    Scale,
    SyncBatchNorm,
    build_conv_layer,
    build_dropout,
    is_norm,
    revert_sync_batchnorm,
)


def test_scale_is_a_learnable_factor():
    scale = Scale(0.5)
    out = scale(torch.ones(3))
    out.sum().backward()
    assert out.tolist() == [0.5] * 3 and scale.scale.grad.item() == 3.0


def test_is_norm_and_its_exclude():
    assert all(
        is_norm(layer) for layer in (nn.BatchNorm1d(2), nn.InstanceNorm2d(2), nn.GroupNorm(1, 2), nn.LayerNorm(2))
    )
    assert not is_norm(nn.Conv2d(1, 1, 1)) and not is_norm(nn.GroupNorm(1, 2), exclude=(nn.GroupNorm,))
    with pytest.raises(TypeError) as raised:
        is_norm(nn.BatchNorm2d(2), exclude="BN")
    assert isinstance(raised.value, AssertionError)


def test_drop_path_drops_whole_samples_and_keeps_the_expectation():
    torch.manual_seed(0)
    layer = DropPath(drop_prob=0.5).train()
    out = layer(torch.ones(4000, 3, 2))
    per_sample = out.flatten(1)
    assert set(per_sample.unique().tolist()) == {0.0, 2.0}
    assert (per_sample == per_sample[:, :1]).all()  # a sample is kept or dropped whole
    assert abs(out.mean().item() - 1.0) < 0.05
    assert torch.equal(layer.eval()(torch.ones(2, 3)), torch.ones(2, 3))


def test_build_dropout():
    assert isinstance(build_dropout(dict(type="Dropout", drop_prob=0.2)), Dropout)
    assert build_dropout(dict(type="DropPath"), default_args=dict(drop_prob=0.3)).drop_prob == 0.3


@pytest.mark.parametrize(("size", "stride"), [(7, 2), (8, 2), (9, 3), (5, 1)])
def test_adaptive_padding_gives_ceil_of_input_over_stride(size, stride):
    conv = build_conv_layer(dict(type="Conv2dAdaptivePadding"), 1, 1, 3, stride=stride)
    assert isinstance(conv, Conv2dAdaptivePadding)
    assert conv(torch.randn(1, 1, size, size)).shape[-2:] == (-(-size // stride),) * 2


def test_conv_aws_standardizes_and_loads_a_plain_conv_exactly():
    plain, aws = nn.Conv2d(3, 4, 3), ConvAWS2d(3, 4, 3)
    aws.load_state_dict(plain.state_dict(), strict=True)
    x = torch.randn(2, 3, 6, 6)
    torch.testing.assert_close(aws(x), plain(x), atol=1e-5, rtol=1e-5)
    assert {"weight_gamma", "weight_beta"} <= set(aws.state_dict())
    assert type(build_conv_layer(dict(type="ConvAWS"), 3, 4, 3)) is ConvAWS2d


def test_depthwise_separable_conv_module_shapes_and_defaults():
    module = DepthwiseSeparableConvModule(4, 8, 3, padding=1, norm_cfg=dict(type="BN"), dw_act_cfg=None)
    assert module.depthwise_conv.conv.groups == 4 and module.pointwise_conv.conv.kernel_size == (1, 1)
    assert module.depthwise_conv.with_norm and module.pointwise_conv.with_norm
    assert not module.depthwise_conv.with_activation and module.pointwise_conv.with_activation
    assert module(torch.randn(2, 4, 5, 5)).shape == (2, 8, 5, 5)


def test_revert_sync_batchnorm_keeps_parameters_statistics_and_mode():
    model = nn.Sequential(nn.Conv2d(2, 4, 1), SyncBatchNorm(4), nn.Sequential(nn.SyncBatchNorm(4))).eval()
    model[1].running_mean.fill_(0.5)
    x = torch.randn(2, 2, 3, 3)
    expected = model(x)
    reverted = revert_sync_batchnorm(model)
    assert not any(isinstance(layer, nn.SyncBatchNorm) for layer in reverted.modules())
    assert not reverted[1].training and reverted[1].running_mean.unique().tolist() == [0.5]
    torch.testing.assert_close(reverted(x), expected)
