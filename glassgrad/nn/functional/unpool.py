"""Max-unpooling (``max_unpool1d/2d/3d``), Lp pooling (``lp_pool1d/2d/3d``) and ``pdist``.

Unpooling writes each value at the flat position ``max_pool`` reported for it, in a zero
output of the requested size: its gradient gathers from those positions (a gather whose own
gradient is the scatter again). Lp pooling is PyTorch's composite: ``avg_pool`` of x**p, times
the window size, to the power 1/p.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad.nn.functional._windows import ntuple
from glassgrad.nn.functional.pooling import avg_pool1d, avg_pool2d, avg_pool3d
from glassgrad.ops._common import Node, Tensor, as_tensor, floating_input
from glassgrad.ops.registry import FUNCTIONAL, TORCH, functional


class MaxUnpool(Node):
    # out.reshape(N*C, plane)[row, idx] = x: positions are distinct (max_pool's winners)
    __slots__ = ("flat", "out_shape")

    @staticmethod
    def forward(ctx: Any, x: Any, flat: Any, shape: Any) -> Any:
        if ctx is not None:  # (None: called as a plain function by UnpoolGather's rule)
            ctx.flat, ctx.out_shape = flat, shape
        out = np.zeros(math.prod(shape), x.dtype)
        out[flat.reshape(-1)] = x.reshape(-1)
        return out.reshape(shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if isinstance(g, Tensor):
            return UnpoolGather.apply(g, ctx.flat, ctx.out_shape), None, None
        return g.reshape(-1)[ctx.flat], None, None


class UnpoolGather(Node):
    __slots__ = ("flat", "out_shape")

    @staticmethod
    def forward(ctx: Any, g: Any, flat: Any, shape: Any) -> Any:
        ctx.flat, ctx.out_shape = flat, shape
        return g.reshape(-1)[flat]

    @staticmethod
    def backward(ctx: Any, gg: Any) -> Any:
        if isinstance(gg, Tensor):
            return MaxUnpool.apply(gg, ctx.flat, ctx.out_shape), None, None
        return MaxUnpool.forward(None, gg, ctx.flat, ctx.out_shape), None, None


class MaxUnpool2D(MaxUnpool):
    __slots__ = ()


class MaxUnpool3D(MaxUnpool):
    __slots__ = ()


def _max_unpool(
    op: str,
    d: int,
    input: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    output_size: Any,
) -> Tensor:
    x = floating_input(op, input)
    idx = as_tensor(indices)._data
    if idx.dtype.kind not in "iu" or tuple(idx.shape) != tuple(x.shape):
        raise RuntimeError(
            f"{op}: expected integer indices of the input's shape {tuple(x.shape)}, got "
            f"{tuple(idx.shape)} of dtype {idx.dtype}"
        )
    if x.ndim not in (d + 1, d + 2):
        raise RuntimeError(
            f"{op}: expected a {d + 1}-D (unbatched) or {d + 2}-D input, got shape {tuple(x.shape)}"
        )
    k = ntuple(op, "kernel_size", kernel_size, d)
    s = k if stride is None else ntuple(op, "stride", stride, d)
    p = ntuple(op, "padding", padding, d)
    spatial_in = tuple(x.shape[-d:])
    default = tuple((n - 1) * si - 2 * pi + ki for n, si, pi, ki in zip(spatial_in, s, p, k))
    if output_size is None:
        size = default
    else:
        size = tuple(int(v) for v in output_size)
        if len(size) == d + 2 or len(size) == d + 1:
            size = size[-d:]
        if len(size) != d:
            raise ValueError(
                f"{op}: output_size must have {d} or {d + 2} elements, got {list(output_size)}"
            )
        for n, lo in zip(size, default):
            if not lo - max(s) < n < lo + max(s):
                raise ValueError(
                    f"{op}: invalid output_size {list(size)} (the default is {list(default)}; "
                    f"each size must be within a stride of it)"
                )
    plane = math.prod(size)
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise RuntimeError(
            f"{op}: Found an invalid max index {int(idx.max())} (output volumes are of size "
            f"{'x'.join(map(str, size))})"
        )
    lead = tuple(x.shape[: x.ndim - d])
    rows = np.arange(math.prod(lead), dtype=np.int64).reshape(lead + (1,) * d) * plane
    flat = idx + rows
    node = {2: MaxUnpool2D, 3: MaxUnpool3D}.get(d, MaxUnpool)
    return node.apply(x, flat, lead + size)


@functional
def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of ``max_pool1d``: each value back at its index, zeros elsewhere."""
    args = (kernel_size, stride, padding, output_size)
    return _max_unpool("max_unpool1d", 1, input, indices, *args)


@functional
def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of ``max_pool2d``: each value back at its index, zeros elsewhere."""
    args = (kernel_size, stride, padding, output_size)
    return _max_unpool("max_unpool2d", 2, input, indices, *args)


@functional
def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of ``max_pool3d``: each value back at its index, zeros elsewhere."""
    args = (kernel_size, stride, padding, output_size)
    return _max_unpool("max_unpool3d", 3, input, indices, *args)


# ---- power-average (Lp) pooling -----------------------------------------------------------------


def _lp_pool(
    op: str, d: int, input: Any, norm_type: float, kernel_size: Any, stride: Any, ceil_mode: bool
) -> Tensor:
    """PyTorch's formula: (sign(a) relu(|a|) * window size) ** (1/p), a = avg_pool(x ** p)."""
    from glassgrad.ops.elementwise import abs as _abs
    from glassgrad.ops.elementwise import relu, sign

    x = floating_input(op, input)
    k = ntuple(op, "kernel_size", kernel_size, d)
    pool = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}[d]
    if stride is None:
        stride = k
    a = pool(x**norm_type, k, stride, 0, ceil_mode)
    return (sign(a) * relu(_abs(a))).mul(math.prod(k)).pow(1.0 / norm_type)


@functional
def lp_pool1d(
    input: Tensor, norm_type: float, kernel_size: int, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """(sum of x**p over each window) ** (1/p) of (N, C, L): max pooling as p -> inf."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


@functional
def lp_pool2d(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """(sum of x**p over each window) ** (1/p) of (N, C, H, W)."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


@functional
def lp_pool3d(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """(sum of x**p over each window) ** (1/p) of (N, C, D, H, W)."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


# ---- pdist --------------------------------------------------------------------------------------


class Pdist(Node):
    # the upper triangle (i < j) of ||x_i - x_j||_p; the rule recomputes the differences
    __slots__ = ("p", "pairs")

    @staticmethod
    def forward(ctx: Any, x: Any, p: float, pairs: Any) -> Any:
        ctx.p, ctx.pairs = p, pairs
        i, j = pairs
        diff = x[i] - x[j]
        out = _pnorm(diff, p)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        i, j = ctx.pairs
        diff = x[i] - x[j]
        gd = g[:, None] * _pnorm_grad(diff, out[:, None], ctx.p)
        n = x.shape[0]
        onehot = np.zeros((n, len(i)), x.dtype)
        onehot[i, np.arange(len(i))] += 1
        onehot[j, np.arange(len(i))] -= 1
        return onehot @ gd, None, None


def _pnorm(diff: Any, p: float) -> Any:
    if p == 0:
        return np.sum(diff != 0, axis=-1).astype(diff.dtype)
    if p == math.inf:
        return np.max(np.abs(diff), axis=-1) if diff.shape[-1] else np.zeros(diff.shape[:-1])
    if p == 1:
        return np.sum(np.abs(diff), axis=-1)
    if p == 2:
        return np.sqrt(np.sum(diff * diff, axis=-1))
    return np.sum(np.abs(diff) ** p, axis=-1) ** (1.0 / p)


def _pnorm_grad(diff: Any, norm: Any, p: float) -> Any:
    """d||diff||_p / d diff, zero where the norm is zero (PyTorch's pdist_backward)."""
    safe = np.where(norm == 0, 1, norm)
    zero = norm == 0
    if p == 0:
        return diff * 0
    if p == 1:
        return np.sign(diff)
    if p == 2:
        return np.where(zero, 0 * diff, diff / safe)
    if p == math.inf:
        a = np.abs(diff)
        return np.where(zero, 0 * diff, np.sign(diff) * (a == norm))
    a = np.abs(diff)
    return np.where(zero, 0 * diff, np.sign(diff) * a ** (p - 1) / safe ** (p - 1))


@functional(namespaces=(TORCH, FUNCTIONAL))
def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The p-norm distance between each pair of rows of an (N, M) input: N(N-1)/2 values, in
    the order of the upper triangle (row 0 with rows 1.., then row 1 with rows 2.., ...)."""
    x = floating_input("pdist", input)
    if x.ndim != 2:
        raise RuntimeError(
            f"pdist only supports 2D tensors, got: {x.ndim}D (shape {tuple(x.shape)})"
        )
    if p < 0:
        raise RuntimeError(f"pdist only supports non-negative p values, got {p}")
    pairs = np.triu_indices(x.shape[0], 1)
    return Pdist.apply(x, float(p), pairs)
