"""MMCV's plain VGG and AlexNet: torchvision's names, parameter counts and shapes, stage outputs,
frozen stages and BN modes."""

import pytest
import torch
from torch import nn

from toolkit.cnn import VGG, AlexNet, get_model_complexity_info

# torchvision's vgg11 feature indices that hold convs, and the channels of each
VGG11_CONVS = {0: 64, 3: 128, 6: 256, 8: 256, 11: 512, 13: 512, 16: 512, 18: 512}


def test_vgg11_has_torchvisions_names_shapes_and_parameter_count():
    model = VGG(11, num_classes=1000)
    convs = {
        int(name.split(".")[1]): tensor.shape[0]
        for name, tensor in model.state_dict().items()
        if name.startswith("features.") and name.endswith(".weight")
    }
    assert convs == VGG11_CONVS
    assert [name for name in model.state_dict() if name.startswith("classifier.")] == [
        f"classifier.{index}.{kind}" for index in (0, 3, 6) for kind in ("weight", "bias")
    ]
    assert sum(p.numel() for p in model.parameters()) == 132_863_336  # torchvision's vgg11


@pytest.mark.parametrize(("depth", "convs"), [(11, 8), (13, 10), (16, 13), (19, 16)])
def test_vgg_depths_and_stage_outputs(depth, convs):
    model = VGG(depth, with_bn=True).eval()
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == convs
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == convs
    outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(out.shape[1:]) for out in outs] == [
        (64, 32, 32),
        (128, 16, 16),
        (256, 8, 8),
        (512, 4, 4),
        (512, 2, 2),
    ]


def test_vgg_classifier_last_pool_and_frozen_stages():
    assert VGG(11, num_classes=10).eval()(torch.randn(1, 3, 224, 224))[-1].shape == (1, 10)
    assert VGG(11, out_indices=(4,), with_last_pool=False).eval()(torch.randn(1, 3, 64, 64)).shape == (1, 512, 4, 4)
    model = VGG(11, with_bn=True, frozen_stages=2).train()
    assert not model.features[0].weight.requires_grad and not model.features[4].weight.requires_grad
    assert model.features[8].weight.requires_grad and not model.features[1].training
    model.init_weights()
    assert model.features[1].weight.unique().tolist() == [1.0]


def test_alexnet_names_counts_and_outputs():
    model = AlexNet(num_classes=1000).eval()
    assert sum(p.numel() for p in model.parameters()) == 61_100_840  # torchvision's alexnet
    assert [name for name in model.state_dict() if name.endswith("weight")][:2] == [
        "features.0.weight",
        "features.3.weight",
    ]
    assert model(torch.randn(2, 3, 224, 224)).shape == (2, 1000)
    assert AlexNet()(torch.randn(1, 3, 224, 224)).shape == (1, 256, 6, 6)
    flops, _ = get_model_complexity_info(model, (3, 224, 224), print_per_layer_stat=False, as_strings=False)
    assert flops / 1e9 == pytest.approx(0.71, abs=0.02)  # torchvision's 0.71 GFLOPs


def test_bad_arguments():
    with pytest.raises(KeyError, match="invalid depth 12 for vgg"):
        VGG(12)
    for kwargs in (dict(num_stages=6), dict(dilations=(1, 1)), dict(out_indices=(6,))):
        with pytest.raises(AssertionError):
            VGG(11, **kwargs)


def test_vgg_and_alexnet_layers_come_from_the_builders():
    vgg = VGG(11, norm_cfg=dict(type="GN", num_groups=8), act_cfg=dict(type="GELU"), conv_cfg=dict(type="ConvWS"))
    kinds = [type(layer).__name__ for layer in vgg.features[:4]]
    assert kinds == ["ConvWS2d", "GroupNorm", "GELU", "MaxPool2d"]
    assert [type(layer).__name__ for layer in VGG(11, with_bn=True).features[:3]] == ["Conv2d", "BatchNorm2d", "ReLU"]
    alexnet = AlexNet(act_cfg=dict(type="SiLU"))
    assert [type(layer).__name__ for layer in alexnet.features[:3]] == ["Conv2d", "SiLU", "MaxPool2d"]
    assert list(AlexNet(num_classes=10).state_dict())[:2] == ["features.0.weight", "features.0.bias"]
