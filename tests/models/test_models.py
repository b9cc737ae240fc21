from pathlib import Path

import pytest
import torch

import toolkit
import toolkit.models
from toolkit import ResNet
from toolkit.models import MODELS, ResNetClassifier, SimpleCNN

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
    model = ResNetClassifier(depth=18, in_channels=3, num_classes=1000)
    actual = [(name, tuple(tensor.shape)) for name, tensor in model.state_dict().items()]
    assert actual == expected_resnet18()
    assert sum(p.numel() for p in model.parameters()) == 11_689_512


def test_resnet34_and_gn_names():
    model = ResNetClassifier(
        depth=34, in_channels=1, num_classes=10, base_width=16, norm_cfg=dict(type="GN", num_groups=8)
    )
    names = list(model.state_dict())
    assert "layer3.5.gn2.weight" in names and "layer2.0.downsample.1.weight" in names
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    with pytest.raises(KeyError, match=r"invalid depth 20 for resnet; allowed: \[18, 34, 50, 101, 152\]"):
        ResNetClassifier(depth=20)


def test_there_is_one_resnet():
    assert ResNetClassifier.__mro__[1] is ResNet and toolkit.ResNet is ResNet
    assert {name for name in dir(toolkit.models) if "Block" in name or "Bottleneck" in name} == set()


@pytest.mark.parametrize(("depth", "params"), [(34, 21_797_672), (50, 25_557_032), (101, 44_549_160)])
def test_every_depth_has_torchvisions_parameter_count(depth, params):
    assert sum(p.numel() for p in ResNetClassifier(depth=depth).parameters()) == params


def test_resnet50_trains_a_step():
    model = ResNetClassifier(depth=50, in_channels=3, num_classes=4, base_width=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    before = torch.nn.functional.cross_entropy(model(x), y)
    before.backward()
    optimizer.step()
    assert model.fc.weight.grad.abs().sum() > 0 and before.isfinite()


def test_zero_init_residual_is_the_blocks_own_init_and_in_the_report():
    model = ResNetClassifier(depth=50, zero_init_residual=True, init_cfg=dict(type="Kaiming", layer="Conv2d"))
    model.init_weights()
    assert model.layer2[1].bn3.weight.unique().tolist() == [0.0] and model.layer2[1].bn2.weight.unique().tolist() == [
        1.0
    ]
    rows = {row.name: row.initializer for row in model.init_report()}
    assert rows["layer2.1.bn3.weight"].startswith("Constant(val=0, bias=0) override 'bn3'")
    assert rows["layer2.1.conv1.weight"].startswith("Kaiming")


def test_gn_that_does_not_divide_names_the_layer():
    with pytest.raises(ValueError, match=r"layer stages\.0\.0: GN: num_groups=5 does not divide the 32 channels"):
        SimpleCNN(1, 10, norm_cfg=dict(type="GN", num_groups=5))
    with pytest.raises(ValueError, match=r"layer conv1: GN: num_groups=5 does not divide the 64 channels"):
        ResNetClassifier(norm_cfg=dict(type="GN", num_groups=5))


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "circular"])
@pytest.mark.parametrize("name", sorted(MODELS.module_dict))
def test_models_without_norm_or_act_and_with_padding(name, padding_mode):
    model = MODELS[name](in_channels=3, num_classes=4, norm_cfg=None, act_cfg=None, padding_mode=padding_mode)
    x = torch.randn(2, 3, 64, 64)  # reflect padding needs more than 1x1 in ResNet's last stage
    model(x).sum().backward()
    assert model(x).shape == (2, 4)
