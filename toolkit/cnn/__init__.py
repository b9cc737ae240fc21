"""Layer building from configs: registries, builders, `ConvModule` and `fuse_conv_bn`.

As `mmcv.cnn` does, this package also re-exports every name of `toolkit.init`.
"""

from ..init import *  # noqa: F403 (re-exported as mmcv.cnn does)
from ..init import __all__ as _init_names
from .activation import ACTIVATION_LAYERS, Clamp, HSigmoid, HSwish, Swish, build_activation_layer
from .alexnet import AlexNet
from .complexity import get_model_complexity_info
from .conv import CONV_LAYERS, Conv2dAdaptivePadding, ConvAWS2d, ConvWS2d, build_conv_layer
from .conv_module import ConvModule
from .depthwise import DepthwiseSeparableConvModule
from .dropout import DROPOUT_LAYERS, Dropout, DropPath, build_dropout
from .fuse import fuse_conv_bn
from .norm import NORM_LAYERS, LayerNorm2d, build_norm_layer
from .padding import PADDING_LAYERS, build_padding_layer
from .resnet import ResNet
from .scale import Scale, is_norm
from .sync_bn import SyncBatchNorm, revert_sync_batchnorm
from .upsample import UPSAMPLE_LAYERS, PixelShufflePack, build_upsample_layer
from .vgg import VGG

__all__ = [
    "ACTIVATION_LAYERS",
    "AlexNet",
    "CONV_LAYERS",
    "DROPOUT_LAYERS",
    "NORM_LAYERS",
    "PADDING_LAYERS",
    "UPSAMPLE_LAYERS",
    "VGG",
    "Clamp",
    "Conv2dAdaptivePadding",
    "ConvAWS2d",
    "ConvModule",
    "ConvWS2d",
    "DepthwiseSeparableConvModule",
    "DropPath",
    "Dropout",
    "HSigmoid",
    "HSwish",
    "LayerNorm2d",
    "PixelShufflePack",
    "ResNet",
    "Scale",
    "Swish",
    "SyncBatchNorm",
    "build_activation_layer",
    "build_conv_layer",
    "build_dropout",
    "build_norm_layer",
    "build_padding_layer",
    "build_upsample_layer",
    "fuse_conv_bn",
    "get_model_complexity_info",
    "is_norm",
    "revert_sync_batchnorm",
    *_init_names,
]
