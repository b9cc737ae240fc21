"""Every builder checks the layer's arguments before building it: values torch would take and fail on later."""

from __future__ import annotations

import pytest

from toolkit import (
    ConvModule,
    build_activation_layer,
    build_conv_layer,
    build_norm_layer,
    build_padding_layer,
    build_upsample_layer,
)
from toolkit.errors import ArgumentTypeError, ArgumentValueError

PIXEL_SHUFFLE = dict(type="pixel_shuffle", in_channels=4, out_channels=4, upsample_kernel=3)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: build_conv_layer(None, 3, 8, 0), ArgumentValueError, "Conv2d: kernel_size must be a positive int"),
        (
            lambda: build_conv_layer(None, 3.5, 8, 3),
            ArgumentTypeError,
            "Conv2d: in_channels must be a positive int, got 3.5",
        ),
        (
            lambda: build_conv_layer(dict(type="ConvWS"), 3, 8, (3, 0)),
            ArgumentValueError,
            "ConvWS: kernel_size must be",
        ),
        (lambda: build_conv_layer(None, 3, 8, 3, padding=-1), ArgumentValueError, "padding must be a non-negative int"),
        (
            lambda: build_conv_layer(None, 3, 8, 3, stride=0),
            ArgumentValueError,
            "Conv2d: stride must be a positive int",
        ),
        (
            lambda: build_norm_layer(dict(type="BN"), 0),
            ArgumentValueError,
            "BN: num_features must be a positive int, got 0",
        ),
        (
            lambda: build_upsample_layer(dict(type="nearest", scale_factor=-2)),
            ArgumentValueError,
            "nearest: scale_factor must be a positive number",
        ),
        (
            lambda: build_upsample_layer({**PIXEL_SHUFFLE, "scale_factor": 0}),
            ArgumentValueError,
            "pixel_shuffle: scale_factor must be a positive",
        ),
        (
            lambda: build_padding_layer(dict(type="zero"), -1),
            ArgumentValueError,
            "zero: padding must be a non-negative int",
        ),
        (
            lambda: build_activation_layer(dict(type="ReLU", inplace="yes")),
            ArgumentTypeError,
            "ReLU: inplace must be True or False, got 'yes'",
        ),
        (lambda: ConvModule(3, 0, 3), ArgumentValueError, "Conv2d: out_channels must be a positive int, got 0"),
    ],
)
def test_a_value_out_of_bounds_is_named(build, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        build()


def test_values_in_bounds_build_as_before():
    assert build_conv_layer(None, 3, 8, 3, padding="same").padding == "same"
    assert build_upsample_layer(dict(type="bilinear", scale_factor=1.5)).scale_factor == 1.5
    assert build_padding_layer(dict(type="reflect"), (1, 0, 1, 0)).padding == (1, 0, 1, 0)
    assert build_norm_layer(dict(type="GN", num_groups=2), 4)[1].num_channels == 4
    with pytest.raises(AssertionError):  # code written for MMCV, which asserts, still catches it
        build_norm_layer(dict(type="BN"), 0)
