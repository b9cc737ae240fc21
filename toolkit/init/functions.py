"""Functions that initialize a layer's `weight` and `bias` in place, as `mmcv.cnn` names them.

A module without a weight, or whose bias is None, is left as it is for that part.

>>> from torch import nn

from ..errors import ArgumentValueError
>>> conv = nn.Conv2d(3, 3, 1)
>>> constant_init(conv, 1, bias=0)
>>> conv.weight.unique().tolist(), conv.bias.unique().tolist()
([1.0], [0.0])
"""

from __future__ import annotations

import math

from torch import nn

from ..errors import ArgumentValueError

DISTRIBUTIONS = ("normal", "uniform")


def check_distribution(distribution: str) -> None:
    """Raise ValueError unless `distribution` is 'normal' or 'uniform'."""
    if distribution not in DISTRIBUTIONS:
        raise ArgumentValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")


def _weight(module: nn.Module) -> nn.Parameter | None:
    return getattr(module, "weight", None)


def init_bias(module: nn.Module, bias: float) -> None:
    """Fill `module.bias` with `bias` where the module has one.

    >>> conv = nn.Conv2d(1, 1, 1)
    >>> init_bias(conv, 0.5)
    >>> conv.bias.item()
    0.5
    """
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def constant_init(module: nn.Module, val: float, bias: float = 0) -> None:
    """Fill the weight with `val` and the bias with `bias`.

    Args:
        module: The layer; a part it lacks (a weight or a bias) is left alone.
        val: The value the weight is filled with.
        bias: The value the bias is filled with.

    Example:
        >>> bn = nn.BatchNorm2d(2)
        >>> constant_init(bn, 1)
        >>> bn.weight.tolist()
        [1.0, 1.0]
    """
    if _weight(module) is not None:
        nn.init.constant_(module.weight, val)
    init_bias(module, bias)


def xavier_init(module: nn.Module, gain: float = 1, bias: float = 0, distribution: str = "normal") -> None:
    """Glorot & Bengio (2010) init of the weight, normal or uniform.

    Args:
        module: The layer; a part it lacks (a weight or a bias) is left alone.
        gain: The scaling factor.
        bias: The value the bias is filled with.
        distribution: 'normal' or 'uniform' (anything else is a ValueError).

    Example:
        >>> xavier_init(nn.Linear(4, 4), distribution='uniform')
    """
    check_distribution(distribution)
    if _weight(module) is not None:
        fill = nn.init.xavier_uniform_ if distribution == "uniform" else nn.init.xavier_normal_
        fill(module.weight, gain=gain)
    init_bias(module, bias)


def normal_init(module: nn.Module, mean: float = 0, std: float = 1, bias: float = 0) -> None:
    """Draw the weight from N(mean, std**2).

    Args:
        module: The layer; a part it lacks (a weight or a bias) is left alone.
        mean: The mean.
        std: The standard deviation.
        bias: The value the bias is filled with.

    Example:
        >>> normal_init(nn.Conv2d(3, 3, 1), std=0.01)
    """
    if _weight(module) is not None:
        nn.init.normal_(module.weight, mean, std)
    init_bias(module, bias)


def trunc_normal_init(
    module: nn.Module, mean: float = 0, std: float = 1, a: float = -2, b: float = 2, bias: float = 0
) -> None:
    """Draw the weight from N(mean, std**2) truncated to [a, b].

    Args:
        module: The layer; a part it lacks (a weight or a bias) is left alone.
        mean: The mean.
        std: The standard deviation.
        a: The lower cut-off.
        b: The upper cut-off.
        bias: The value the bias is filled with.

    Example:
        >>> trunc_normal_init(nn.Linear(8, 8), std=0.02)
    """
    if _weight(module) is not None:
        nn.init.trunc_normal_(module.weight, mean, std, a, b)
    init_bias(module, bias)


def uniform_init(module: nn.Module, a: float = 0, b: float = 1, bias: float = 0) -> None:
    """Draw the weight from U(a, b).

    Args:
        module: The layer; a part it lacks (a weight or a bias) is left alone.
        a: The lower bound.
        b: The upper bound.
        bias: The value the bias is filled with.

    Example:
        >>> uniform_init(nn.Conv2d(3, 3, 1), a=0, b=1)
    """
    if _weight(module) is not None:
        nn.init.uniform_(module.weight, a, b)
    init_bias(module, bias)


def kaiming_init(
    module: nn.Module,
    a: float = 0,
    mode: str = "fan_out",
    nonlinearity: str = "relu",
    bias: float = 0,
    distribution: str = "normal",
) -> None:
    """He et al. (2015) init of the weight, normal or uniform, scaled by fan_in or fan_out.

    Args:
        module: The layer; a part it lacks (a weight or a bias) is left alone.
        a: The negative slope of the rectifier after the layer (LeakyReLU's).
        mode: 'fan_in' or 'fan_out', the fan the variance is scaled by.
        nonlinearity: The nonlinearity after the layer ('relu', 'leaky_relu', ...).
        bias: The value the bias is filled with.
        distribution: 'normal' or 'uniform' (anything else is a ValueError).

    Example:
        >>> kaiming_init(nn.Conv2d(3, 3, 1))
    """
    check_distribution(distribution)
    if _weight(module) is not None:
        fill = nn.init.kaiming_uniform_ if distribution == "uniform" else nn.init.kaiming_normal_
        fill(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    init_bias(module, bias)


def caffe2_xavier_init(module: nn.Module, bias: float = 0) -> None:
    """Caffe2's "xavier" init, which is PyTorch's `kaiming_uniform_` with a=1 over fan_in.

    Args:
        module: The layer; a part it lacks (a weight or a bias) is left alone.
        bias: The value the bias is filled with.

    Example:
        >>> caffe2_xavier_init(nn.Conv2d(3, 3, 1))
    """
    kaiming_init(module, a=1, mode="fan_in", nonlinearity="leaky_relu", bias=bias, distribution="uniform")


def bias_init_with_prob(prior_prob: float) -> float:
    """The bias whose sigmoid is `prior_prob` (Focal Loss, Lin et al. 2017).

    Args:
        prior_prob: The probability a classifier starts at, strictly between 0 and 1.

    Returns:
        `-log((1 - prior_prob) / prior_prob)`.

    Raises:
        ValueError: For a probability outside (0, 1).

    Example:
        >>> round(bias_init_with_prob(0.01), 6)
        -4.59512
    """
    if not 0 < prior_prob < 1:
        raise ValueError(f"prior_prob must lie strictly between 0 and 1, got {prior_prob}")
    return float(-math.log((1 - prior_prob) / prior_prob))
