"""``torch.nn.utils.fusion``: fold an eval-mode BatchNorm into the convolution or linear layer
before it, the step inference scripts take before exporting a trained CNN.

BatchNorm in eval mode is ``(x - mean) * w / sqrt(var + eps) + b``, an affine map per channel,
so it folds into the preceding layer's weight (scaled per output channel) and bias.

>>> import glassgrad as gg
>>> from glassgrad import nn
>>> conv, bn = nn.Conv2d(3, 4, 3).eval(), nn.BatchNorm2d(4).eval()
>>> x = gg.randn(1, 3, 5, 5)
>>> bool((fuse_conv_bn_eval(conv, bn)(x) - bn(conv(x))).abs().max() < 1e-5)
True
"""

from __future__ import annotations

import copy
from typing import Any

from glassgrad.autograd.grad_mode import no_grad
from glassgrad.tensor import Tensor

__all__ = [
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
]


def _check_eval(op: str, layer: Any, bn: Any) -> None:
    if layer.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError(
            f"{op}: bn.running_mean and bn.running_var must not be None "
            "(a BatchNorm made with track_running_stats=False has no statistics to fold)"
        )


def fuse_conv_bn_eval(conv: Any, bn: Any, transpose: bool = False) -> Any:
    """A copy of ``conv`` computing ``bn(conv(x))`` (both in eval mode); ``transpose``: a
    ConvTranspose, whose output channels are the weight's second dimension."""
    _check_eval("fuse_conv_bn_eval", conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight,
        fused.bias,
        bn.running_mean,
        bn.running_var,
        bn.eps,
        bn.weight,
        bn.bias,
        transpose,
    )
    return fused


def fuse_conv_bn_weights(
    conv_w: Tensor,
    conv_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor | None,
    bn_b: Tensor | None,
    transpose: bool = False,
) -> tuple[Any, Any]:
    """The folded convolution's (weight, bias) as new Parameters, in the conv's dtypes."""
    from glassgrad.creation import ones_like, zeros_like
    from glassgrad.nn.parameter import Parameter

    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    with no_grad():
        bias = zeros_like(bn_rm) if conv_b is None else conv_b
        scale = (ones_like(bn_rm) if bn_w is None else bn_w) * (bn_rv + bn_eps).rsqrt()
        shift = zeros_like(bn_rm) if bn_b is None else bn_b
        rest = [1] * (conv_w.ndim - 2)
        shape = [1, -1, *rest] if transpose else [-1, 1, *rest]
        weight = (conv_w * scale.reshape(shape)).to(dtype=w_dtype)
        bias = ((bias - bn_rm) * scale + shift).to(dtype=b_dtype)
    requires_grad = conv_b.requires_grad if conv_b is not None else False
    return Parameter(weight, conv_w.requires_grad), Parameter(bias, requires_grad)


def fuse_linear_bn_eval(linear: Any, bn: Any) -> Any:
    """A copy of ``linear`` computing ``bn(linear(x))`` (both in eval mode); the BatchNorm has
    ``linear.out_features`` features, or one."""
    _check_eval("fuse_linear_bn_eval", linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            "To fuse, linear.out_features == bn.num_features or bn.num_features == 1, "
            f"got linear.out_features={linear.out_features} and bn.num_features={bn.num_features}"
        )
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight,
        fused.bias,
        bn.running_mean,
        bn.running_var,
        bn.eps,
        bn.weight,
        bn.bias,
    )
    return fused


def fuse_linear_bn_weights(
    linear_w: Tensor,
    linear_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor,
    bn_b: Tensor,
) -> tuple[Any, Any]:
    """The folded linear layer's (weight, bias) as new Parameters, in the layer's dtypes."""
    from glassgrad.creation import zeros_like
    from glassgrad.nn.parameter import Parameter

    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    with no_grad():
        bias = zeros_like(bn_rm) if linear_b is None else linear_b
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        weight = linear_w * scale.unsqueeze(-1).to(dtype=w_dtype)
        bias = ((bias - bn_rm) * scale + bn_b).to(dtype=b_dtype)
    requires_grad = linear_b.requires_grad if linear_b is not None else False
    return Parameter(weight, linear_w.requires_grad), Parameter(bias, requires_grad)
