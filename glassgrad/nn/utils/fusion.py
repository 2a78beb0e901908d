"""``torch.nn.utils.fusion``: fold an eval-mode BatchNorm into the convolution or linear layer
before it, for inference: ``bn(conv(x)) == fused(x)`` with one op fewer.

BatchNorm in eval mode is an affine map per channel, ``y = (x - mean) / sqrt(var + eps) *
gamma + beta``, so it folds into the layer's weight (scaled per output channel) and bias.
"""

from __future__ import annotations

import copy
from typing import Any

from glassgrad.autograd.grad_mode import no_grad
from glassgrad.nn.parameter import Parameter
from glassgrad.tensor import Tensor

__all__ = [
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
]


def fuse_conv_bn_eval(conv: Any, bn: Any, transpose: bool = False) -> Any:
    """A copy of ``conv`` computing ``bn(conv(x))`` (both in eval mode)."""
    if conv.training or bn.training:
        raise AssertionError("fuse_conv_bn_eval: fusion only works in eval mode (call .eval())")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("fuse_conv_bn_eval: the BatchNorm keeps no running statistics")
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
) -> tuple[Parameter, Parameter]:
    """The fused convolution's weight and bias (``transpose``: the weight is a transposed
    convolution's, output channels in dim 1)."""
    with no_grad():
        dtype = conv_w.dtype
        bn_w = bn_w if bn_w is not None else bn_rm.new_ones(bn_rm.shape)
        bn_b = bn_b if bn_b is not None else bn_rm.new_zeros(bn_rm.shape)
        conv_b = conv_b if conv_b is not None else bn_rm.new_zeros(bn_rm.shape)
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        shape = [1] * conv_w.ndim
        shape[1 if transpose else 0] = -1
        weight = (conv_w * scale.reshape(shape)).to(dtype)
        bias = ((conv_b - bn_rm) * scale + bn_b).to(dtype)
    return Parameter(weight, conv_w.requires_grad), Parameter(bias, conv_w.requires_grad)


def fuse_linear_bn_eval(linear: Any, bn: Any) -> Any:
    """A copy of ``linear`` computing ``bn(linear(x))`` (both in eval mode)."""
    if linear.training or bn.training:
        raise AssertionError("fuse_linear_bn_eval: fusion only works in eval mode (call .eval())")
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            f"fuse_linear_bn_eval: the Linear has {linear.out_features} outputs but the "
            f"BatchNorm {bn.num_features} features: they must match (or the BatchNorm have 1)"
        )
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("fuse_linear_bn_eval: the BatchNorm keeps no running statistics")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
    )
    return fused


def fuse_linear_bn_weights(
    linear_w: Tensor,
    linear_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor | None,
    bn_b: Tensor | None,
) -> tuple[Parameter, Parameter]:
    """The fused linear layer's weight and bias."""
    with no_grad():
        bn_w = bn_w if bn_w is not None else bn_rm.new_ones(bn_rm.shape)
        bn_b = bn_b if bn_b is not None else bn_rm.new_zeros(bn_rm.shape)
        linear_b = linear_b if linear_b is not None else bn_rm.new_zeros(bn_rm.shape)
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        weight = linear_w * scale.unsqueeze(-1)
        bias = (linear_b - bn_rm) * scale + bn_b
    return Parameter(weight, linear_w.requires_grad), Parameter(bias, linear_b.requires_grad)
