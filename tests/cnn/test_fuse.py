import pytest
import torch
from torch import nn

from toolkit.cnn import ConvModule, fuse_conv_bn


def trained_bn(module: nn.Module) -> nn.Module:
    """Give every BN non-trivial statistics and affine parameters, then switch to eval."""
    torch.manual_seed(0)
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.running_mean.uniform_(-1, 1)
            layer.running_var.uniform_(0.5, 2)
            nn.init.uniform_(layer.weight, 0.5, 1.5)
            nn.init.uniform_(layer.bias, -0.5, 0.5)
    return module.eval()


@pytest.mark.parametrize("conv_type", ["Conv1d", "Conv2d", "Conv3d"])
def test_conv_module_fused_matches_unfused(conv_type):
    dims = int(conv_type[-2])
    module = trained_bn(ConvModule(3, 8, 3, padding=1, conv_cfg=dict(type=conv_type), norm_cfg=dict(type=f"BN{dims}d")))
    x = torch.randn(2, 3, *([6] * dims))
    expected = module(x)
    fuse_conv_bn(module)
    assert isinstance(module.bn, nn.Identity) and module.conv.bias is not None
    torch.testing.assert_close(module(x), expected, atol=1e-5, rtol=0)


def test_sequential_and_nested_fusion():
    model = trained_bn(
        nn.Sequential(
            nn.Conv2d(3, 8, 3),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8)),
            ConvModule(8, 4, 1, norm_cfg=dict(type="BN")),
        )
    )
    x = torch.randn(2, 3, 8, 8)
    expected = model(x)
    fuse_conv_bn(model)
    assert [type(m).__name__ for m in model[:2]] == ["Conv2d", "Identity"]
    assert isinstance(model[3][1], nn.Identity) and isinstance(model[4].bn, nn.Identity)
    torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=0)


def test_bn_before_conv_or_not_adjacent_is_left_alone():
    before = trained_bn(ConvModule(3, 4, 1, norm_cfg=dict(type="BN"), order=("norm", "conv", "act")))
    apart = trained_bn(ConvModule(3, 4, 1, norm_cfg=dict(type="BN"), order=("conv", "act", "norm")))
    spectral = trained_bn(ConvModule(3, 4, 1, norm_cfg=dict(type="BN"), with_spectral_norm=True))
    for module in (before, apart, spectral):
        fuse_conv_bn(module)
        assert isinstance(module.bn, nn.BatchNorm2d)
    gn = ConvModule(3, 4, 1, norm_cfg=dict(type="GN", num_groups=2))
    fuse_conv_bn(gn)
    assert isinstance(gn.gn, nn.GroupNorm)


def test_fusing_a_module_in_training_mode_warns_and_gives_eval_outputs():
    model = trained_bn(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.BatchNorm2d(4))).train()
    x = torch.randn(2, 3, 8, 8)
    expected = model.eval()(x)
    model.train()
    with pytest.warns(UserWarning, match=r"fuse_conv_bn folded BN layers in training mode \(1\)"):
        fuse_conv_bn(model)
    assert isinstance(model[1], nn.Identity) and isinstance(model[3], nn.BatchNorm2d)
    torch.testing.assert_close(model.eval()(x), expected, atol=1e-5, rtol=1e-5)
