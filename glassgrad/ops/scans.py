"""Scans: running sums and products along one ``dim`` (``cumsum``, ``cumprod``), as in PyTorch.

The gradient of a running sum is the running sum of the gradient taken from the other end; the
running product needs care at zeros, where ``out / x`` is undefined.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim, return_type
from glassgrad.ops.registry import op
from glassgrad.ops.scatter import Gather
from glassgrad.ops.shape import Clone, reshape, to


def _reverse_cumsum(a: Any, axis: int) -> Any:
    """out[i] = sum of a[j] for j >= i along ``axis`` (np.flip is a view on arrays)."""
    return np.flip(np.cumsum(np.flip(a, axis), axis=axis), axis)


class Cumsum(Node):
    __slots__ = ("axis",)

    @staticmethod
    def forward(ctx: Any, x: Any, axis: int) -> Any:
        ctx.axis = axis
        return np.add.accumulate(x, axis, x.dtype)  # dtype given: int32 stays int32

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _reverse_cumsum(g, ctx.axis), None


class CumsumScalar(Clone):
    """A scan of a 0-d tensor is the tensor itself; PyTorch still records ``CumsumBackward0``."""

    __slots__ = ()
    op_name = "Cumsum"


class CumprodScalar(Clone):
    __slots__ = ()
    op_name = "Cumprod"


class Cumprod(Node):
    __slots__ = ("axis",)

    @staticmethod
    def forward(ctx: Any, x: Any, axis: int) -> Any:
        ctx.axis = axis
        out = np.multiply.accumulate(x, axis, x.dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        axis = ctx.axis
        zero = x == 0
        if not np.any(zero):
            return _reverse_cumsum(g * out, axis) / x, None
        if isinstance(g, Tensor):  # create_graph: a formula whose own derivative is right too
            return _cumprod_grad_omitting(g, x, axis), None
        return _cumprod_grad_with_zeros(g, x, out, zero, axis), None


def _cumprod_grad_with_zeros(g: Any, x: Any, out: Any, zero: Any, axis: int) -> Any:
    """The cumprod gradient in O(n) when some slices hold zeros (PyTorch's case analysis).

    Let k be the first zero of a slice. Before it, out / x is still exact. At k, d out_j / d x_k
    is the running product with x_k taken as 1. After k every out_j already holds x_k = 0, so the
    gradient there is 0 (but not its derivative: see ``_cumprod_grad_omitting``).
    """
    zeros_so_far = np.cumsum(zero, axis=axis)
    before = zeros_so_far == 0
    first = zero & (zeros_so_far == 1)
    at_first = _reverse_cumsum(g * np.cumprod(np.where(first, 1, x), axis=axis), axis)
    before_first = _reverse_cumsum(g * out, axis) / np.where(before, x, 1)
    return np.where(before, before_first, np.where(first, at_first, 0))


def _cumprod_grad_omitting(g: Any, x: Any, axis: int) -> Any:
    """grad_i = sum over j >= i of g_j times the running product up to j with x_i left out.

    O(n^2) in the scanned length, like PyTorch's double-backward path, but built from
    differentiable ops only, so second derivatives through zeros come out right.
    """
    n = x.shape[axis]
    keep = ~np.eye(n, dtype=bool)  # row i: every x but x_i
    xs = np.expand_dims(np.swapaxes(x, axis, -1), -2)
    omitted = np.cumprod(np.where(keep, xs, np.ones((), x.dtype)), axis=-1)  # [..., i, j]
    later = np.triu(np.ones((n, n), bool))  # j >= i
    gs = np.expand_dims(np.swapaxes(g, axis, -1), -2)
    return np.swapaxes(np.sum(np.where(later, omitted * gs, 0), axis=-1), axis, -1)


def _scan_input(op: str, input: Any, dim: Any, dtype: Any) -> tuple[Tensor, int]:
    x = as_tensor(input)
    if dtype is not None:
        x = to(x, dtype)
    elif x._data.dtype.kind in "bui" and x._data.dtype != np.int64:
        x = Tensor._make(x._data.astype(np.int64))  # PyTorch scans integers in int64
    return x, check_dim(op, dim, x._data.ndim)


@op(
    inplace=True,
    numpy={
        np.cumsum: lambda a, axis=None, dtype=None, out=None: cumsum(
            *_np_flat(a, axis), dtype=dtype
        )
    },
)
def cumsum(input: Any, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim``: out[i] = x[0] + ... + x[i].

    >>> import glassgrad as gg
    >>> gg.cumsum(gg.tensor([1.0, 2.0, 3.0]), dim=0)
    tensor([1., 3., 6.])
    """
    x, axis = _scan_input("cumsum", input, dim, dtype)
    if x._data.ndim == 0:
        return CumsumScalar.apply(x)
    return Cumsum.apply(x, axis)


@op(
    inplace=True,
    numpy={
        np.cumprod: lambda a, axis=None, dtype=None, out=None: cumprod(
            *_np_flat(a, axis), dtype=dtype
        )
    },
)
def cumprod(input: Any, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along ``dim``; the gradient is exact with zeros in the input too."""
    x, axis = _scan_input("cumprod", input, dim, dtype)
    if x._data.ndim == 0:
        return CumprodScalar.apply(x)
    return Cumprod.apply(x, axis)


def _np_flat(a: Any, axis: Any) -> tuple[Any, int]:
    """NumPy scans run over the flattened array when ``axis`` is None."""
    return (reshape(a, -1), 0) if axis is None else (a, axis)


# ---- log-sum-exp scans and running extremes -----------------------------------------------------


class Logcumsumexp(Node):
    __slots__ = ("axis",)

    @staticmethod
    def forward(ctx: Any, x: Any, axis: int) -> Any:
        ctx.axis = axis
        out = np.logaddexp.accumulate(x, axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        axis = ctx.axis  # d out_i / d x_j = exp(x_j - out_i) for j <= i
        values = out._data if isinstance(out, Tensor) else out
        c = np.max(values, axis=axis, keepdims=True) if values.size else 0  # keeps exp in range
        return np.exp(x - c) * _reverse_cumsum(g * np.exp(c - out), axis), None


@op
def logcumsumexp(input: Any, dim: int) -> Tensor:
    """Running log-sum-exp along ``dim``: out[i] = log(exp(x[0]) + ... + exp(x[i])), stably."""
    x = as_tensor(input)
    if x._data.dtype.kind != "f":
        raise RuntimeError(
            f'"logcumsumexp_out_cpu" not implemented for a tensor of dtype {x._data.dtype}'
        )
    axis = check_dim("logcumsumexp", dim, x._data.ndim)
    if x._data.ndim == 0:
        return LogcumsumexpScalar.apply(x)
    return Logcumsumexp.apply(x, axis)


class LogcumsumexpScalar(Clone):
    __slots__ = ()
    op_name = "Logcumsumexp"


class return_types:
    """(values, indices) results with PyTorch's field names (``torch.return_types.cummax``)."""

    cummax = return_type("cummax", ("values", "indices"), __name__)
    cummin = return_type("cummin", ("values", "indices"), __name__)


class Cummax(Gather):  # values = x gathered where each running maximum was last reached
    __slots__ = ()


class Cummin(Gather):
    __slots__ = ()


class CummaxScalar(Clone):
    __slots__ = ()
    op_name = "Cummax"


class CumminScalar(Clone):
    __slots__ = ()
    op_name = "Cummin"


def _running_index(a: np.ndarray, axis: int, accumulate: Any) -> np.ndarray:
    """Where the running extreme along ``axis`` was last reached (ties: the latest; after a NaN,
    the NaN's), as PyTorch's kernel picks."""
    run = accumulate(a, axis)
    at = np.arange(a.shape[axis]).reshape((-1,) + (1,) * (a.ndim - axis - 1))
    hit = a == run
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        hit |= nan & (np.cumsum(nan, axis=axis) == 1)
    return np.maximum.accumulate(np.where(hit, at, 0), axis).astype(np.int64)


def _running(op: str, input: Any, dim: int, ufunc: Any, nodes: Any, result: Any) -> Any:
    x = as_tensor(input)
    axis = check_dim(op, dim, x._data.ndim)
    if x._data.ndim == 0:
        return result(nodes[1].apply(x), Tensor._make(np.zeros((), np.int64)))
    index = _running_index(x._data, axis, ufunc.accumulate)
    return result(nodes[0].apply(x, axis, index), Tensor._make(index))


@op
def cummax(input: Any, dim: int) -> Any:
    """(values, indices): the running maximum along ``dim`` and where it was last reached."""
    return _running("cummax", input, dim, np.maximum, (Cummax, CummaxScalar), return_types.cummax)


@op
def cummin(input: Any, dim: int) -> Any:
    """(values, indices): the running minimum along ``dim`` and where it was last reached."""
    return _running("cummin", input, dim, np.minimum, (Cummin, CumminScalar), return_types.cummin)
