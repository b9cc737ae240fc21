"""Layer building from configs: registries, builders, `ConvModule` and `fuse_conv_bn`.

As `mmcv.cnn` does, this package also re-exports every name of `toolkit.init`.
"""

from ..init import *  # noqa: F403 (re-exported as mmcv.cnn does)
from ..init import __all__ as _init_names
from .activation import ACTIVATION_LAYERS, HSigmoid, build_activation_layer
from .conv import CONV_LAYERS, ConvWS2d, build_conv_layer
from .conv_module import ConvModule
from .fuse import fuse_conv_bn
from .norm import NORM_LAYERS, LayerNorm2d, build_norm_layer
from .padding import PADDING_LAYERS, build_padding_layer
from .upsample import UPSAMPLE_LAYERS, PixelShufflePack, build_upsample_layer

__all__ = [
    "ACTIVATION_LAYERS",
    "CONV_LAYERS",
    "NORM_LAYERS",
    "PADDING_LAYERS",
    "UPSAMPLE_LAYERS",
    "ConvModule",
    "ConvWS2d",
    "HSigmoid",
    "LayerNorm2d",
    "PixelShufflePack",
    "build_activation_layer",
    "build_conv_layer",
    "build_norm_layer",
    "build_padding_layer",
    "build_upsample_layer",
    "fuse_conv_bn",
    *_init_names,
]
