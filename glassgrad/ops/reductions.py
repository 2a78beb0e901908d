"""Reductions over ``dim`` (an int, a tuple, or None for all) with ``keepdim``, as in PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Function, Tensor, as_tensor, normalize_dims

__all__ = ["mean", "sum"]


def _expand_back(g: Any, axes: tuple[int, ...], keepdim: bool, shape: tuple[int, ...]) -> Any:
    """Broadcast a reduced gradient back over the reduced axes (a view: no copy)."""
    if not keepdim and axes:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


class Sum(Function):
    __slots__ = ("axes", "in_shape", "keepdim")

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim, ctx.in_shape = axes, keepdim, x.shape
        return np.sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _expand_back(g, ctx.axes, ctx.keepdim, ctx.in_shape), None, None


class Mean(Function):
    __slots__ = ("axes", "in_shape", "keepdim", "n")

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim, ctx.in_shape = axes, keepdim, x.shape
        ctx.n = int(np.prod([x.shape[a] for a in axes])) if axes else 1
        return np.mean(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _expand_back(g / ctx.n, ctx.axes, ctx.keepdim, ctx.in_shape), None, None


def sum(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Sum over ``dim``; each input element receives the gradient of the sum it fed.

    >>> import glassgrad as gg
    >>> gg.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0)
    tensor([4., 6.])
    """
    x = as_tensor(input)
    if dtype is not None:
        x = x.to(dtype)
    elif x.data.dtype.kind in "bui" and x.data.dtype != np.int64:
        x = x.to(np.int64)
    if x.data.dtype.kind not in "fc":
        return Tensor._make(
            np.sum(x.data, axis=normalize_dims("sum", dim, x.ndim), keepdims=keepdim)
        )
    return Sum.apply(x, normalize_dims("sum", dim, x.data.ndim), keepdim)


def mean(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Average over ``dim`` (floating-point tensors only, as in PyTorch)."""
    x = as_tensor(input)
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind not in "fc":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {x.data.dtype}"
        )
    return Mean.apply(x, normalize_dims("mean", dim, x.data.ndim), keepdim)


METHODS = {"sum": sum, "mean": mean}
NUMPY_FUNCTIONS = {
    np.sum: lambda a, axis=None, dtype=None, keepdims=False, **kw: sum(a, axis, keepdims, dtype),
    np.mean: lambda a, axis=None, dtype=None, keepdims=False, **kw: mean(a, axis, keepdims, dtype),
}
