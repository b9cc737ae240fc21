"""Random ConvModule configurations: output shape, backward, and fused == unfused in eval mode."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from toolkit.cnn import ACTIVATION_LAYERS, ConvModule, fuse_conv_bn

NORMS = {
    1: ["BN1d", "GN", "IN1d", "LN2d", "SyncBN", None],
    2: ["BN", "GN", "IN", "LN2d", "SyncBN", None],
    3: ["BN3d", "GN", "IN3d", "LN2d", "SyncBN", None],
}
ORDERS = [("conv", "norm", "act"), ("norm", "conv", "act"), ("act", "conv", "norm"), ("conv", "act", "norm")]


@st.composite
def conv_modules(draw):
    dims = draw(st.sampled_from([1, 2, 3]))
    groups = draw(st.sampled_from([1, 2]))
    in_channels = groups * draw(st.integers(1, 3))
    out_channels = 2 * groups * draw(st.integers(1, 3))
    order = draw(st.sampled_from(ORDERS))
    norm = draw(st.sampled_from(NORMS[dims]))
    norm_cfg = None if norm is None else dict(type=norm)
    if norm == "GN":
        channels = out_channels if order.index("norm") > order.index("conv") else in_channels
        norm_cfg["num_groups"] = draw(st.sampled_from([g for g in (1, 2) if channels % g == 0]))
    act = draw(st.sampled_from([*sorted(ACTIVATION_LAYERS.module_dict), None]))
    kernel = draw(st.sampled_from([1, 3]))
    padding = draw(st.integers(0, kernel // 2 + 1 if kernel > 1 else 0))
    kwargs = dict(
        stride=draw(st.integers(1, 2)),
        padding=padding,
        groups=groups,
        conv_cfg=dict(type=f"Conv{dims}d"),
        norm_cfg=norm_cfg,
        act_cfg=None if act is None else dict(type=act),
        padding_mode=draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"])) if padding else "zeros",
        order=order,
    )
    return ConvModule(in_channels, out_channels, kernel, **kwargs), dims, kwargs


@settings(max_examples=60, deadline=None)
@given(conv_modules(), st.integers(5, 8), st.integers(0, 2**16))
def test_random_conv_modules(built, size, seed):
    module, dims, kwargs = built
    torch.manual_seed(seed)
    x = torch.randn(2, module.in_channels, *([size] * dims), requires_grad=True)
    out = module(x)
    stride, padding, kernel = kwargs["stride"], kwargs["padding"], module.kernel_size[0]
    expected = (size + 2 * padding - kernel) // stride + 1
    assert out.shape == (2, module.out_channels, *([expected] * dims))
    out.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in module.parameters() if p.requires_grad)

    bn_follows = kwargs["norm_cfg"] and "BN" in kwargs["norm_cfg"]["type"]
    if bn_follows and kwargs["order"].index("norm") == kwargs["order"].index("conv") + 1:
        module.eval()
        with torch.no_grad():
            unfused = module(x)
            fuse_conv_bn(module)
            assert isinstance(module.norm, nn.Identity)
            torch.testing.assert_close(module(x), unfused, atol=1e-5, rtol=1e-5)
