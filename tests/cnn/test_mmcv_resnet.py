"""MMCV's plain ResNet backbone: torchvision's names and shapes (no classifier), stage layout,
`out_indices`, styles, frozen stages and BN modes, and its complexity at 224x224."""

import pytest
import torch
from torch import nn

from toolkit.cnn import ResNet, get_model_complexity_info

from ..models.test_models import expected_resnet18


def shapes(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(tensor.shape)) for name, tensor in model.state_dict().items()]


def test_resnet18_has_torchvisions_names_and_shapes_without_the_classifier():
    expected = [(name, shape) for name, shape in expected_resnet18() if not name.startswith("fc.")]
    assert shapes(ResNet(18)) == expected


@pytest.mark.parametrize(
    ("depth", "blocks", "widths"),
    [
        (34, (3, 4, 6, 3), (64, 128, 256, 512)),
        (50, (3, 4, 6, 3), (256, 512, 1024, 2048)),
        (101, (3, 4, 23, 3), (256, 512, 1024, 2048)),
    ],
)
def test_stage_layout_and_outputs(depth, blocks, widths):
    model = ResNet(depth).eval()
    assert tuple(len(getattr(model, f"layer{i}")) for i in range(1, 5)) == blocks
    outs = model(torch.randn(1, 3, 64, 64))
    assert [out.shape[1:] for out in outs] == [
        (width, 64 // 2**k, 64 // 2**k) for k, width in zip((2, 3, 4, 5), widths, strict=True)
    ]
    assert model.feat_dim == widths[-1]


def test_resnet50_parameters_and_flops_as_published():
    backbone = ResNet(50, out_indices=(3,))
    assert sum(p.numel() for p in backbone.parameters()) == 23_508_032
    classifier = nn.Sequential(backbone, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))
    flops, params = get_model_complexity_info(classifier, (3, 224, 224), print_per_layer_stat=False, as_strings=False)
    assert params == 25_557_032  # torchvision's ResNet-50
    assert flops / 1e9 == pytest.approx(4.1, abs=0.05)  # about 4.1 GFLOPs


def test_style_puts_the_stride_on_the_3x3_or_the_first_1x1():
    pytorch, caffe = ResNet(50, style="pytorch").layer2[0], ResNet(50, style="caffe").layer2[0]
    assert (pytorch.conv1.stride, pytorch.conv2.stride) == ((1, 1), (2, 2))
    assert (caffe.conv1.stride, caffe.conv2.stride) == ((2, 2), (1, 1))


def test_single_out_index_num_stages_and_dilations():
    model = ResNet(18, num_stages=3, strides=(1, 2, 1), dilations=(1, 1, 2), out_indices=(2,)).eval()
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 256, 8, 8)
    assert model.layer3[1].conv1.dilation == (2, 2) and not hasattr(model, "layer4")


def test_frozen_stages_and_bn_modes():
    model = ResNet(18, frozen_stages=1, bn_eval=True, bn_frozen=True).train()
    assert not model.conv1.weight.requires_grad and not model.layer1[0].conv1.weight.requires_grad
    assert model.layer2[0].conv1.weight.requires_grad and not model.layer2[0].bn1.weight.requires_grad
    assert not any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert ResNet(18, bn_eval=False).train().bn1.training


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = ResNet(18, bn_eval=False)
    checkpointed = ResNet(18, bn_eval=False, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    for model in (plain, checkpointed):
        sum(out.sum() for out in model(x)).backward()
    torch.testing.assert_close(checkpointed.layer1[0].conv1.weight.grad, plain.layer1[0].conv1.weight.grad)


def test_bad_arguments():
    with pytest.raises(KeyError, match="invalid depth 20"):
        ResNet(20)
    for kwargs in (dict(num_stages=5), dict(out_indices=(4,)), dict(style="tf"), dict(strides=(1, 2))):
        with pytest.raises(AssertionError):
            ResNet(18, **kwargs)
    model = ResNet(18)
    model.init_weights()
    assert model.bn1.weight.unique().tolist() == [1.0]
    with pytest.raises(TypeError, match="pretrained must be a str or None"):
        model.init_weights(pretrained=3)
