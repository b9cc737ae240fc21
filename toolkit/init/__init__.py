"""Weight initialization: functions, initializer classes, `initialize()` and the init report."""

from .functions import (
    bias_init_with_prob,
    caffe2_xavier_init,
    constant_init,
    kaiming_init,
    normal_init,
    trunc_normal_init,
    uniform_init,
    xavier_init,
)
from .initializers import (
    INITIALIZERS,
    BaseInit,
    Caffe2XavierInit,
    ConstantInit,
    KaimingInit,
    NormalInit,
    PretrainedInit,
    TruncNormalInit,
    UniformInit,
    XavierInit,
    initialize,
)
from .report import InitRow, format_init_report

__all__ = [
    "INITIALIZERS",
    "BaseInit",
    "Caffe2XavierInit",
    "ConstantInit",
    "InitRow",
    "KaimingInit",
    "NormalInit",
    "PretrainedInit",
    "TruncNormalInit",
    "UniformInit",
    "XavierInit",
    "bias_init_with_prob",
    "caffe2_xavier_init",
    "constant_init",
    "format_init_report",
    "initialize",
    "kaiming_init",
    "normal_init",
    "trunc_normal_init",
    "uniform_init",
    "xavier_init",
]
