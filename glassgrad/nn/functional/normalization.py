"""More normalisations: ``group_norm``, ``instance_norm``, ``rms_norm``, ``local_response_norm``.

``group_norm`` is one node (PyTorch's ``NativeGroupNormBackward0``) whose rule, like
``layer_norm``'s, recomputes the group statistics from the saved input, so it also holds under
``create_graph``. ``instance_norm`` is ``batch_norm`` of the input viewed as one sample of
N x C channels, as in PyTorch; ``rms_norm`` and ``local_response_norm`` are compositions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.autograd.state import bump_version
from glassgrad.nn.functional.norm import (
    _mean_over,
    _param,
    _sum_over,
    batch_norm,
    half_with_float_params,
    pad,
)
from glassgrad.ops._common import Node, Tensor, floating_input
from glassgrad.ops.elementwise import rsqrt
from glassgrad.ops.reductions import mean
from glassgrad.ops.registry import FUNCTIONAL, TORCH, functional


def _grouped(x: Any, groups: int) -> Any:
    return x.reshape(x.shape[0], groups, -1)


class NativeGroupNorm(Node):
    # NOTE: statistics over (C/G, *spatial) per sample and group, affine per channel.
    __slots__ = ("eps", "groups", "pshape", "red")

    @staticmethod
    def forward(ctx: Any, x: Any, w: Any, b: Any, groups: int, eps: float) -> Any:
        ctx.groups, ctx.eps = groups, eps
        ctx.pshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        ctx.red = (0, *range(2, x.ndim))
        ctx.save_for_backward(x, w)
        xr = _grouped(x, groups)
        xc = xr - _mean_over(xr, -1)
        out = xc / np.sqrt(_mean_over(xc * xc, -1) + eps)
        out = out.reshape(x.shape)
        if w is not None:
            out *= w.reshape(ctx.pshape)
        if b is not None:
            out += b.reshape(ctx.pshape)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.next[:3]
        xr = _grouped(x, ctx.groups)
        xc = xr - _mean_over(xr, -1)
        rstd = 1 / np.sqrt(_mean_over(xc * xc, -1) + ctx.eps)
        xhat = xc * rstd  # (N, G, M)
        gx = gw = gb = None
        if nw is not None:
            gw = _sum_over(g * xhat.reshape(x.shape), ctx.red)
        if nb is not None:
            gb = _sum_over(g, ctx.red)
        if nx is not None:
            gh = _grouped(g if w is None else g * w.reshape(ctx.pshape), ctx.groups)
            gx = rstd * (gh - _mean_over(gh, -1) - xhat * _mean_over(gh * xhat, -1))
            gx = gx.reshape(x.shape)
        return gx, gw, gb, None, None


@functional(
    torch_function=lambda input, num_groups, weight=None, bias=None, eps=1e-5, *_: group_norm(
        input, num_groups, weight, bias, eps
    )
)
def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each sample's channels in ``num_groups`` groups (over the group's channels and
    the spatial dims), then scale and shift per channel.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.group_norm(gg.tensor([[1.0, 3.0, 5.0, 9.0]]), 2)
    tensor([[-1.0000,  1.0000, -1.0000,  1.0000]])
    """
    x = floating_input("group_norm", input)
    if half_with_float_params(x, weight, bias):
        return group_norm(x.float(), num_groups, weight, bias, eps).to(x.dtype)
    if x.ndim < 2:
        raise RuntimeError(
            f"group_norm: Expected at least 2 dimensions for input tensor but received {x.ndim}"
        )
    c = x.shape[1]
    if not isinstance(num_groups, (int, np.integer)) or num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(x.shape)} and num_groups={num_groups}"
        )
    if x.shape[0] * (c // num_groups) * int(np.prod(x.shape[2:])) == 1:
        raise ValueError(
            "Expected more than 1 value per channel when training, got input size "
            f"{[x.shape[0] * c // num_groups, int(num_groups), *x.shape[2:]]}"
        )
    w = _param("group_norm", "weight", weight, (c,), x._data.dtype)
    b = _param("group_norm", "bias", bias, (c,), x._data.dtype)
    return NativeGroupNorm.apply(x, w, b, int(num_groups), float(eps))


def _torch_instance_norm(
    input: Tensor, weight: Any, bias: Any, running_mean: Any, running_var: Any, *args: Any
) -> Tensor:
    """``torch.instance_norm``'s argument order: weight and bias first."""
    use_input_stats, momentum, eps = args[:3]
    return instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


@functional(torch_function=_torch_instance_norm)
def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each sample over its spatial dims (``batch_norm`` of the input
    viewed as (1, N C, *spatial), as PyTorch computes it); running statistics, when given, are
    updated with the mean over the batch of the per-sample statistics."""
    x = floating_input("instance_norm", input)
    if x.ndim < 3:
        raise ValueError(
            f"instance_norm: expected an input of shape (N, C, *spatial), got {list(x.shape)}"
        )
    n, c = x.shape[0], x.shape[1]
    if use_input_stats and int(np.prod(x.shape[2:])) <= 1:
        raise ValueError(
            f"Expected more than 1 spatial element when training, got input size {list(x.shape)}"
        )
    w = _param("instance_norm", "weight", weight, (c,), x._data.dtype)
    b = _param("instance_norm", "bias", bias, (c,), x._data.dtype)
    stats = []
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t._data.size != c:
            raise RuntimeError(
                f"instance_norm: {name} should contain {c} elements not {t._data.size}"
            )
        stats.append(None if t is None else Tensor._make(np.tile(t._data, n)))
    out = batch_norm(
        x.reshape(1, n * c, *x.shape[2:]),
        stats[0],
        stats[1],
        None if w is None else w.repeat(n),
        None if b is None else b.repeat(n),
        use_input_stats,
        momentum,
        eps,
    )
    if use_input_stats:
        for t, s in ((running_mean, stats[0]), (running_var, stats[1])):
            if t is not None and s is not None:
                t._data[...] = s._data.reshape(n, c).mean(0)
                bump_version(t)
    return out.view(x.shape)


@functional(namespaces=(TORCH, FUNCTIONAL))
def rms_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """x / sqrt(mean(x², trailing ``normalized_shape`` dims) + eps) [* weight]; ``eps``
    defaults to the dtype's machine epsilon, as in PyTorch."""
    x = floating_input("rms_norm", input)
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(ns)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k :]) != ns:
        raise RuntimeError(
            f"rms_norm: Given normalized_shape={list(ns)}, expected input with shape "
            f"[*, {', '.join(map(str, ns))}], but got input of size {list(x.shape)}"
        )
    w = _param("rms_norm", "weight", weight, ns, x._data.dtype)
    if eps is None:
        eps = float(np.finfo(x._data.dtype).eps)
    dims = tuple(range(x.ndim - k, x.ndim))
    out = x * rsqrt(mean(x * x, dims, True) + eps)
    return out if w is None else out * w


@functional
def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """x / (k + alpha / size * sum of x² over ``size`` neighbouring channels) ** beta (AlexNet's
    normalisation across channels, zero-padded at the ends as in PyTorch)."""
    x = floating_input("local_response_norm", input)
    if x.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {x.ndim} dimensions)")
    if x.numel() == 0:
        return x * 1.0
    c = x.shape[1]
    sq = pad(x * x, (0, 0) * (x.ndim - 2) + (size // 2, (size - 1) // 2))
    acc = sq[:, 0:c]
    for j in range(1, size):
        acc = acc + sq[:, j : j + c]
    div = (acc * (alpha / size) + k) ** beta
    return x / div
