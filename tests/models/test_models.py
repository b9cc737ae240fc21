from pathlib import Path

import pytest
import torch

from toolkit.models import MODELS, ResNet, SimpleCNN

TORCHVISION_RESNET18 = Path(__file__).parent / "data" / "resnet18_torchvision.txt"


def expected_resnet18() -> list[tuple[str, tuple[int, ...]]]:
    rows = []
    for line in TORCHVISION_RESNET18.read_text().splitlines():
        if line.startswith("#"):
            continue
        name, shape = line.split()
        rows.append((name, () if shape == "scalar" else tuple(int(size) for size in shape.split(","))))
    return rows


def test_resnet18_names_and_shapes_equal_torchvision():
    model = ResNet(depth=18, in_channels=3, num_classes=1000)
    actual = [(name, tuple(tensor.shape)) for name, tensor in model.state_dict().items()]
    assert actual == expected_resnet18()
    assert sum(p.numel() for p in model.parameters()) == 11_689_512


def test_resnet34_and_gn_names():
    model = ResNet(depth=34, in_channels=1, num_classes=10, base_width=16, norm_cfg=dict(type="GN", num_groups=8))
    names = list(model.state_dict())
    assert "layer3.5.gn2.weight" in names and "layer2.0.downsample.1.weight" in names
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match=r"depth must be one of \[18, 34\], got 50"):
        ResNet(depth=50)


def test_gn_that_does_not_divide_names_the_layer():
    with pytest.raises(ValueError, match=r"layer stages\.0\.0: GN: num_groups=5 does not divide the 32 channels"):
        SimpleCNN(1, 10, norm_cfg=dict(type="GN", num_groups=5))
    with pytest.raises(ValueError, match=r"layer conv1: GN: num_groups=5 does not divide the 64 channels"):
        ResNet(norm_cfg=dict(type="GN", num_groups=5))


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "circular"])
@pytest.mark.parametrize("name", sorted(MODELS.module_dict))
def test_models_without_norm_or_act_and_with_padding(name, padding_mode):
    model = MODELS[name](in_channels=3, num_classes=4, norm_cfg=None, act_cfg=None, padding_mode=padding_mode)
    x = torch.randn(2, 3, 64, 64)  # reflect padding needs more than 1x1 in ResNet's last stage
    model(x).sum().backward()
    assert model(x).shape == (2, 4)
