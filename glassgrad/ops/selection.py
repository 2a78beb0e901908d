"""Reductions that pick elements: max, min, median, their indices, and how gradients follow.

As in PyTorch, ``amax``/``amin`` and the full ``max()``/``min()``/``median()`` share the gradient
evenly among tied elements, while ``max(dim)``/``min(dim)``/``median(dim)`` send all of it to the
one index they return (the first occurrence for max and min).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim, return_type
from glassgrad.ops._reduce import axes_of, check_nonempty, max_reduce, min_reduce, unsqueeze
from glassgrad.ops.comparison import maximum, minimum
from glassgrad.ops.registry import op
from glassgrad.ops.shape import reshape


class return_types:
    """What max/min/median(dim) return: (values, indices) tuples, like ``torch.return_types``."""

    max = return_type("max", ("values", "indices"), __name__)
    min = return_type("min", ("values", "indices"), __name__)
    median = return_type("median", ("values", "indices"), __name__)


class _TiesShare(Node):
    """A reduction to one of the input's values; tied elements share the gradient evenly.

    A NaN result takes its gradient from the NaNs, as PyTorch's full max()/min()/median() do
    (PyTorch's amax/amin give NaN gradients to the whole slice instead).
    """

    __slots__ = ("axes", "keepdim")

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        axes, keepdim = ctx.axes, ctx.keepdim
        g, out = unsqueeze(g, axes, keepdim), unsqueeze(out, axes, keepdim)
        hit = x == out
        nan_out = out != out
        if np.any(nan_out):
            hit = hit | ((x != x) & nan_out)
        count = np.sum(hit, axis=axes, keepdims=True, dtype=g.dtype)
        return np.where(hit, g / count, 0), None, None


class Amax(_TiesShare):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim = axes, keepdim
        out = max_reduce(x, axes, None, None, keepdim)
        ctx.save_for_backward(x, out)
        return out


class Amin(_TiesShare):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim = axes, keepdim
        out = min_reduce(x, axes, None, None, keepdim)
        ctx.save_for_backward(x, out)
        return out


class MaxAll(Amax):
    """Full ``max()``: PyTorch's ``MaxBackward1`` (amax stays ``AmaxBackward0``)."""

    __slots__ = ()
    op_name = "Max"
    variant = 1


class MinAll(Amin):
    __slots__ = ()
    op_name = "Min"
    variant = 1


class Median(_TiesShare):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim = axes, keepdim
        flat, n = x.reshape(-1), x.size
        if n == 0:
            out = np.array(np.nan, x.dtype)
        else:  # the lower of the two middles, as PyTorch; NaN sorts last and wins, as PyTorch
            part = np.partition(flat, ((n - 1) // 2, n - 1))
            out = part[n - 1] if part[n - 1] != part[n - 1] else part[(n - 1) // 2]
        ctx.save_for_backward(x, out)
        return out


class _Select(Node):
    """Values picked by ``index`` along ``dim``; the gradient goes to exactly those positions."""

    __slots__ = ("dim", "in_shape", "keepdim")

    @staticmethod
    def forward(ctx: Any, x: Any, index: Any, dim: int, keepdim: bool) -> Any:
        ctx.dim, ctx.keepdim, ctx.in_shape = dim, keepdim, x.shape
        ctx.save_for_backward(index)
        out = np.take_along_axis(x, index, axis=dim)
        return out if keepdim else np.squeeze(out, dim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (index,) = ctx.saved_tensors
        dim, shape = ctx.dim, ctx.in_shape
        if not ctx.keepdim:
            g = np.expand_dims(g, dim)
        n = shape[dim]
        picked = np.arange(n).reshape((n,) + (1,) * (len(shape) - dim - 1)) == index
        return np.where(picked, g, 0), None, None, None


class Max(_Select):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, index: Any, dim: int, keepdim: bool) -> Any:
        ctx.dim, ctx.keepdim, ctx.in_shape = dim, keepdim, x.shape
        ctx.save_for_backward(index)
        return max_reduce(x, dim, None, None, keepdim)  # x at index, without a gather


class Min(_Select):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, index: Any, dim: int, keepdim: bool) -> Any:
        ctx.dim, ctx.keepdim, ctx.in_shape = dim, keepdim, x.shape
        ctx.save_for_backward(index)
        return min_reduce(x, dim, None, None, keepdim)


class MedianDim(_Select):
    __slots__ = ()
    op_name = "Median"
    variant = 1


def _extreme(op: str, cls: Any, x: Tensor, dim: Any, keepdim: bool) -> Tensor:
    axes = axes_of(op, dim, x._data.ndim)
    check_nonempty(op, x, axes, dim)
    return cls.apply(x, axes, keepdim)


def _select(op: str, cls: Any, pick: Any, result: Any, x: Tensor, dim: Any, keepdim: bool) -> Any:
    """(values, indices) along one ``dim``; ``pick(data, d)`` gives indices with keepdims."""
    d = check_dim(op, dim, x._data.ndim)
    if x._data.ndim == 0:  # a 0-d tensor is its own max, at index 0
        values = cls.apply(reshape(x, 1), np.zeros(1, np.int64), 0, False)
        return result(values, Tensor._make(np.zeros((), np.int64)))
    if x.shape[d] == 0:
        raise IndexError(
            f"{op}(): Expected reduction dim {d} to have non-zero size (input of shape "
            f"{tuple(x.shape)})."
        )
    index = pick(x._data, d)
    values = cls.apply(x, index, d, keepdim)
    return result(values, Tensor._make(index if keepdim else np.squeeze(index, d)))


def _argmax_keep(a: np.ndarray, d: int) -> np.ndarray:
    return np.argmax(a, axis=d, keepdims=True)


def _argmin_keep(a: np.ndarray, d: int) -> np.ndarray:
    return np.argmin(a, axis=d, keepdims=True)


def _median_keep(a: np.ndarray, d: int) -> np.ndarray:
    k = (a.shape[d] - 1) // 2
    index = np.take(np.argsort(a, axis=d, kind="stable"), [k], axis=d)
    if a.dtype.kind == "f":  # a slice with NaN has median NaN, at its first NaN (PyTorch)
        nan = np.isnan(a)
        has_nan = np.any(nan, axis=d, keepdims=True)
        if np.any(has_nan):
            index = np.where(has_nan, np.argmax(nan, axis=d, keepdims=True), index)
    return index


@op(
    numpy={
        np.max: lambda a, axis=None, out=None, keepdims=False, **kw: amax(
            a, _np_axes(axis), keepdims
        ),
        np.amax: lambda a, axis=None, out=None, keepdims=False, **kw: amax(
            a, _np_axes(axis), keepdims
        ),
    }
)
def amax(input: Any, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Largest value over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _extreme("amax", Amax, as_tensor(input), dim, keepdim)


@op(
    numpy={
        np.min: lambda a, axis=None, out=None, keepdims=False, **kw: amin(
            a, _np_axes(axis), keepdims
        ),
        np.amin: lambda a, axis=None, out=None, keepdims=False, **kw: amin(
            a, _np_axes(axis), keepdims
        ),
    }
)
def amin(input: Any, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Smallest value over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _extreme("amin", Amin, as_tensor(input), dim, keepdim)


def _max_min(op: str, input: Any, dim: Any, keepdim: bool, other: Any) -> Any:
    if other is not None or isinstance(dim, Tensor):
        pair = maximum if op == "max" else minimum
        return pair(input, dim if other is None else other)
    x = as_tensor(input)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}(): keepdim=True needs a dim; use {op}(input, dim, keepdim)")
        return _extreme(op, MaxAll if op == "max" else MinAll, x, None, False)
    if op == "max":
        return _select(op, Max, _argmax_keep, return_types.max, x, dim, keepdim)
    return _select(op, Min, _argmin_keep, return_types.min, x, dim, keepdim)


@op
def max(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices); ``max(x, y)``: maximum.

    The full reduction shares the gradient among ties; ``max(x, dim)`` gives it all to the index
    it returns (the first occurrence).

    >>> import glassgrad as gg
    >>> values, indices = gg.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    >>> values, indices
    (tensor([5., 7.]), tensor([1, 0]))
    """
    return _max_min("max", input, dim, keepdim, other)


@op
def min(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
    """``min(x)``, ``min(x, dim)`` -> (values, indices), or ``min(x, y)``: like ``max``."""
    return _max_min("min", input, dim, keepdim, other)


@op
def median(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median: of all elements (a 0-d tensor), or along ``dim`` as (values, indices).

    NaN inputs are not treated specially (PyTorch propagates them).
    """
    x = as_tensor(input)
    if dim is None:
        return Median.apply(x, tuple(range(x._data.ndim)), False)
    return _select("median", MedianDim, _median_keep, return_types.median, x, dim, keepdim)


def _arg(op: str, f: Any, input: Any, dim: Any, keepdim: bool) -> Tensor:
    x = as_tensor(input)
    if x._data.dtype == np.bool_:
        raise RuntimeError(f"{op}(): does not support bool input (shape {tuple(x.shape)})")
    if dim is None:
        check_nonempty(op, x, (), None, IndexError)  # PyTorch's argmax raises IndexError here
        return Tensor._make(np.asarray(f(x._data, axis=None, keepdims=keepdim), np.int64))
    d = check_dim(op, dim, x._data.ndim)
    if x._data.ndim == 0:
        return Tensor._make(np.zeros((), np.int64))
    check_nonempty(op, x, (d,), dim)
    return Tensor._make(f(x._data, axis=d, keepdims=keepdim))


@op(
    numpy={np.argmax: lambda a, axis=None, out=None, *, keepdims=False: argmax(a, axis, keepdims)},
    differentiable=False,
)
def argmax(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (of the flattened tensor when ``dim`` is None); no gradient."""
    return _arg("argmax", np.argmax, input, dim, keepdim)


@op(
    numpy={np.argmin: lambda a, axis=None, out=None, *, keepdims=False: argmin(a, axis, keepdims)},
    differentiable=False,
)
def argmin(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest value (of the flattened tensor when ``dim`` is None); no gradient."""
    return _arg("argmin", np.argmin, input, dim, keepdim)


def _np_axes(axis: Any) -> Any:
    return () if axis is None else axis
