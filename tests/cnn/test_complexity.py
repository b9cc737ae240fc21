"""get_model_complexity_info counts as MMCV does: a multiply-add is one FLOP."""

import io

import pytest
from torch import nn

from toolkit.cnn import get_model_complexity_info
from toolkit.models import ResNetClassifier


def small_model() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10)
    )


def test_counts_of_a_small_model_by_hand():
    flops, params = get_model_complexity_info(small_model(), (3, 10, 10), print_per_layer_stat=False, as_strings=False)
    conv = 8 * 8 * (3 * 3 * 3) * 8 + 8 * 8 * 8  # 64 positions x 27 inputs x 8 filters, + the bias
    bn = 8 * 8 * 8 * 2  # affine: two per element
    relu = pool = 8 * 8 * 8
    linear = 128 * 10 + 10
    assert flops == conv + bn + relu + pool + linear
    assert params == (3 * 9 * 8 + 8) + 16 + (128 * 10 + 10)


def test_strings_and_the_per_layer_table():
    out = io.StringIO()
    flops, params = get_model_complexity_info(small_model(), (3, 10, 10), ost=out)
    assert (flops, params) == ("0.0 GFLOPs", "1.53 k")
    lines = out.getvalue().splitlines()
    assert lines[0] == "Sequential(" and lines[1] == "  0.002 M, 100.000% Params, 0.0 GFLOPs, 100.000% FLOPs"
    assert lines[2].startswith(
        "  (0): Conv2d(0.0 M, 14.641% Params, 0.0 GFLOPs, 81.114% FLOPs, 3, 8, kernel_size=(3, 3)"
    )


def test_resnet18_at_224_matches_the_published_figures():
    model = ResNetClassifier(depth=18, in_channels=3, num_classes=1000)
    flops, params = get_model_complexity_info(model, (3, 224, 224), print_per_layer_stat=False, as_strings=False)
    assert params == 11_689_512  # torchvision's ResNet-18
    assert flops / 1e9 == pytest.approx(1.82, abs=0.01)  # 1.82 GFLOPs, as MMCV and torchvision report
    assert model.training  # the mode is restored


def test_bad_input_shape():
    with pytest.raises(TypeError, match="input_shape must be a non-empty tuple of ints"):
        get_model_complexity_info(small_model(), [3, 10, 10])
