"""Layer building from configs: registries, builders, `ConvModule` and `fuse_conv_bn`.

As `mmcv.cnn` does, this package also re-exports every name of `toolkit.init`.
"""

from ..init import *  # noqa: F403 (re-exported as mmcv.cnn does)
from ..init import __all__ as _init_names
from .activation import ACTIVATION_LAYERS, Clamp, HSigmoid, HSwish, Swish, build_activation_layer
from .alexnet import AlexNet
from .complexity import get_model_complexity_info
from .context_block import ContextBlock
from .conv import CONV_LAYERS, Conv2dAdaptivePadding, ConvAWS2d, ConvWS2d, build_conv_layer
from .conv_module import ConvModule
from .depthwise import DepthwiseSeparableConvModule
from .dropout import DROPOUT_LAYERS, Dropout, DropPath, build_dropout
from .fuse import fuse_conv_bn
from .generalized_attention import GeneralizedAttention
from .non_local import NonLocal1d, NonLocal2d, NonLocal3d
from .norm import NORM_LAYERS, LayerNorm2d, build_norm_layer
from .padding import PADDING_LAYERS, build_padding_layer
from .plugin import PLUGIN_LAYERS, build_plugin_layer, infer_plugin_abbr
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
    "PLUGIN_LAYERS",
    "UPSAMPLE_LAYERS",
    "VGG",
    "Clamp",
    "ContextBlock",
    "Conv2dAdaptivePadding",
    "ConvAWS2d",
    "ConvModule",
    "ConvWS2d",
    "DepthwiseSeparableConvModule",
    "DropPath",
    "Dropout",
    "GeneralizedAttention",
    "HSigmoid",
    "HSwish",
    "LayerNorm2d",
    "NonLocal1d",
    "NonLocal2d",
    "NonLocal3d",
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
    "build_plugin_layer",
    "build_upsample_layer",
    "fuse_conv_bn",
    "get_model_complexity_info",
    "infer_plugin_abbr",
    "is_norm",
    "revert_sync_batchnorm",
    *_init_names,
]
