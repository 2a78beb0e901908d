"""Reductions over ``dim`` (an int, a tuple, or None for all) with ``keepdim``, as in PyTorch.

Every rule first restores the reduced axes of the incoming gradient (and of the saved output) so
they broadcast against the input. This module holds the sums and products and what is built on
them (var, std, logsumexp, norm); ops that pick elements (max, min, median) are in
``glassgrad.ops.selection`` and scans (cumsum, cumprod) in ``glassgrad.ops.scans``.
"""

from __future__ import annotations

import builtins
import math
import warnings
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.ops._common import (
    Node,
    Tensor,
    as_tensor,
    check_dim,
    floating_input,
    to_default_float,
)
from glassgrad.ops._reduce import (
    NO_DIM,
    add_reduce,
    axes_of,
    expand_back,
    max_reduce,
    min_reduce,
    mul_reduce,
    numel,
    unsqueeze,
)
from glassgrad.ops.registry import SPECIAL, TORCH, op
from glassgrad.ops.shape import to

# ---- sum, mean, prod ----------------------------------------------------------------------------


class Sum(Node):
    __slots__ = ("axes", "in_shape", "keepdim")

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim, ctx.in_shape = axes, keepdim, x.shape
        return add_reduce(x, axes, x.dtype, None, keepdim)  # dtype given: int32 stays int32

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return expand_back(g, ctx.axes, ctx.keepdim, ctx.in_shape), None, None


class Mean(Node):
    __slots__ = ("axes", "in_shape", "keepdim")

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim, ctx.in_shape = axes, keepdim, x.shape
        total = add_reduce(x, axes, None, None, keepdim)
        n = numel(x.shape, axes)
        return total / n if n else np.full(np.shape(total), np.nan, x.dtype)  # PyTorch: NaN

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        n = numel(ctx.in_shape, ctx.axes)
        if n:
            g = g * (1.0 / n)
        return expand_back(g, ctx.axes, ctx.keepdim, ctx.in_shape), None, None


class SumDim(Sum):
    """``sum(dim)``: PyTorch names the dim overload ``SumBackward1``."""

    __slots__ = ()
    op_name = "Sum"
    variant = 1


class MeanDim(Mean):
    __slots__ = ()
    op_name = "Mean"
    variant = 1


class Prod(Node):
    __slots__ = ("axes", "keepdim")

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim = axes, keepdim
        out = mul_reduce(x, axes, x.dtype, None, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        g, out = unsqueeze(g, ctx.axes, ctx.keepdim), unsqueeze(out, ctx.axes, ctx.keepdim)
        zero = x == 0
        if not np.any(zero):
            return g * (out / x), None, None
        return g * _prod_of_others(x, out, zero, ctx.axes), None, None


class ProdDim(Prod):
    __slots__ = ()
    op_name = "Prod"
    variant = 1


def _prod_of_others(x: Any, out: Any, zero: Any, axes: tuple[int, ...]) -> Any:
    """d prod / d x_i (the product of every other element of its slice) when zeros occur.

    Away from zeros it is out / x (0 in a slice holding a zero). At a zero it is the product of
    the non-zeros when that zero is alone, and 0 otherwise; with exactly two zeros the factor is
    written as "the other zero" (value 0, slope 1) so that second derivatives stay right too.
    """
    # (scalars go last in np.where: a Tensor rule keeps its dtype that way)
    count = np.sum(zero, axis=axes, keepdims=True)
    x1 = np.where(~zero, x, 1)  # the zeros replaced by ones
    nonzero_prod = np.prod(x1, axis=axes, keepdims=True)
    other_zero = np.sum(np.where(zero, x, 0), axis=axes, keepdims=True) - x
    factor = np.where(count == 2, other_zero, np.where(count == 1, np.ones((), x.dtype), 0))
    return np.where(zero, nonzero_prod * factor, out / x1)


def _int_to_long(x: Tensor, dtype: Any) -> Tensor:
    """PyTorch sums and multiplies bools and integers in int64 unless told another dtype."""
    if dtype is not None:
        return to(x, dtype)
    if x._data.dtype.kind in "bui" and x._data.dtype != np.int64:
        return Tensor._make(x._data.astype(np.int64))
    return x


@op(
    numpy={
        np.sum: lambda a, axis=None, dtype=None, out=None, keepdims=False, **kw: sum(
            a, axis, keepdims, dtype
        )
    }
)
def sum(input: Any, dim: Any = NO_DIM, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Sum over ``dim``; each input element receives the gradient of the sum it fed.

    >>> import glassgrad as gg
    >>> gg.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0)
    tensor([4., 6.])
    """
    x = _int_to_long(as_tensor(input), dtype)
    if dim is NO_DIM:
        return Sum.apply(x, tuple(range(x._data.ndim)), keepdim)
    return SumDim.apply(x, axes_of("sum", dim, x._data.ndim), keepdim)


@op(
    numpy={
        np.mean: lambda a, axis=None, dtype=None, out=None, keepdims=False, **kw: mean(
            a, axis, keepdims, dtype
        )
    }
)
def mean(input: Any, dim: Any = NO_DIM, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Average over ``dim`` (floating-point tensors only, as in PyTorch)."""
    x = as_tensor(input)
    if dtype is not None:
        x = to(x, dtype)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {dtypes.name(x._data.dtype)} (shape {tuple(x.shape)})"
        )
    if dim is NO_DIM:
        return Mean.apply(x, tuple(range(x._data.ndim)), keepdim)
    return MeanDim.apply(x, axes_of("mean", dim, x._data.ndim), keepdim)


@op(
    numpy={
        np.prod: lambda a, axis=None, dtype=None, out=None, keepdims=False, **kw: prod(
            a, axis, keepdims, dtype
        )
    }
)
def prod(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Product over ``dim`` (None for all); the gradient is right with zeros in the input too.

    >>> import glassgrad as gg
    >>> x = gg.tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> x.prod().backward()
    >>> x.grad
    tensor([0., 6., 0.])
    """
    x = _int_to_long(as_tensor(input), dtype)
    cls = Prod if dim is None else ProdDim
    return cls.apply(x, axes_of("prod", dim, x._data.ndim), keepdim)


# ---- variance, standard deviation ---------------------------------------------------------------


class Var(Node):
    __slots__ = ("axes", "dof", "keepdim")

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, correction: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.dof = numel(x.shape, axes) - correction
        ctx.save_for_backward(x)
        return _var(x, axes, ctx.dof, keepdim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        axes = ctx.axes
        g = unsqueeze(g, axes, ctx.keepdim)
        if np.size(x) == 0:  # (np.size: x is a Tensor under create_graph)
            return np.broadcast_to(g, x.shape), None, None, None
        centered = x - np.sum(x, axis=axes, keepdims=True) / numel(x.shape, axes)
        if ctx.dof > 0:
            return g * centered * (2.0 / ctx.dof), None, None, None
        with np.errstate(all="ignore"):  # N <= correction: inf / NaN, as in PyTorch
            return g * centered * (2.0 / ctx.dof if ctx.dof else math.inf), None, None, None


class Std(Node):
    __slots__ = ("axes", "dof", "keepdim")

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, correction: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.dof = numel(x.shape, axes) - correction
        out = np.sqrt(_var(x, axes, ctx.dof, keepdim))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        axes, keepdim = ctx.axes, ctx.keepdim
        g, out = unsqueeze(g, axes, keepdim), unsqueeze(out, axes, keepdim)
        if np.size(x) == 0:  # (np.size: x is a Tensor under create_graph)
            return np.broadcast_to(g, x.shape), None, None, None
        centered = x - np.sum(x, axis=axes, keepdims=True) / numel(x.shape, axes)
        # 0 where the std is 0 (PyTorch's masked division), not 0/0
        gvar = _safe_div(g, out * (2 * ctx.dof))
        if ctx.dof > 0:
            return 2 * gvar * centered, None, None, None
        with np.errstate(all="ignore"):  # N <= correction: inf / NaN, as in PyTorch
            return 2 * gvar * centered, None, None, None


def _var(x: np.ndarray, axes: tuple[int, ...], dof: Any, keepdim: bool) -> Any:
    """Two-pass variance (mean first, then squared deviations): accurate for large offsets."""
    centered = x - add_reduce(x, axes, None, None, True) / numel(x.shape, axes)
    return add_reduce(centered * centered, axes, None, None, keepdim) / builtins.max(dof, 0)


def _correction(op: str, dim: Any, unbiased: Any, correction: Any) -> tuple[Any, Any]:
    """PyTorch's overloads: ``var(x, True)``, ``var(x, dim, unbiased)``, ``correction=``."""
    if isinstance(dim, bool):  # var(input, unbiased)
        dim, unbiased = None, dim
    if correction is None:
        return dim, (0 if unbiased is False else 1)
    if unbiased is not None:
        raise TypeError(f"{op}(): pass either unbiased or correction, not both")
    return dim, correction


def _var_std(op: str, cls: Any, input: Any, dim: Any, unbiased: Any, keepdim: Any, corr: Any):
    x = as_tensor(input)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"{op}(): std and var only support floating point and complex dtypes, got "
            f"{dtypes.name(x._data.dtype)} (shape {tuple(x.shape)})"
        )
    dim, corr = _correction(op, dim, unbiased, corr)
    axes = axes_of(op, dim, x._data.ndim)
    if numel(x.shape, axes) - corr > 0:
        return cls.apply(x, axes, corr, keepdim)
    warnings.warn(
        f"{op}(): degrees of freedom is <= 0 (input of shape {tuple(x.shape)}, correction "
        f"{corr}). Correction should be strictly less than the reduction factor.",
        UserWarning,
        stacklevel=3,
    )
    with warnings.catch_warnings(), np.errstate(all="ignore"):  # inf / NaN, like PyTorch
        warnings.simplefilter("ignore", RuntimeWarning)
        return cls.apply(x, axes, corr, keepdim)


@op(
    numpy={
        np.var: lambda a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw: var(
            a, axis, None, keepdims, correction=kw.get("correction", ddof)
        )
    }
)
def var(
    input: Any,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """Variance over ``dim``, dividing by N - ``correction`` (1 by default: Bessel's correction).

    >>> import glassgrad as gg
    >>> gg.tensor([1.0, 2.0, 3.0, 4.0]).var()
    tensor(1.6667)
    """
    return _var_std("var", Var, input, dim, unbiased, keepdim, correction)


@op(
    numpy={
        np.std: lambda a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw: std(
            a, axis, None, keepdims, correction=kw.get("correction", ddof)
        )
    }
)
def std(
    input: Any,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> Tensor:
    """Standard deviation, sqrt(var); its gradient is 0 where the std is 0, as in PyTorch."""
    return _var_std("std", Std, input, dim, unbiased, keepdim, correction)


@op(method=False)
def var_mean(
    input: Any,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple[Tensor, Tensor]:
    """(var, mean) over the same ``dim``."""
    d, _ = _correction("var_mean", dim, unbiased, correction)
    v = var(input, dim, unbiased, keepdim, correction=correction)
    return v, mean(input, d, keepdim)


@op(method=False)
def std_mean(
    input: Any,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: Any = None,
) -> tuple[Tensor, Tensor]:
    """(std, mean) over the same ``dim``."""
    d, _ = _correction("std_mean", dim, unbiased, correction)
    s = std(input, dim, unbiased, keepdim, correction=correction)
    return s, mean(input, d, keepdim)


# ---- logsumexp, norm ----------------------------------------------------------------------------


class Logsumexp(Node):
    # NOTE: fused for stability: the max is subtracted before exp, and the backward
    # exp(x - out) is the softmax without ever forming exp(x).
    __slots__ = ("axes", "keepdim")

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim = axes, keepdim
        if x.size == 0:
            out = np.full(add_reduce(x, axes, None, None, keepdim).shape, -np.inf, x.dtype)
        else:
            m = max_reduce(x, axes, None, None, True)
            m = np.where(np.isinf(m), 0, m)  # all -inf (or an inf) in a slice: shift by 0
            with np.errstate(divide="ignore"):  # log(0) = -inf for all -inf slices
                s = np.log(add_reduce(np.exp(x - m), axes, None, None, keepdim))
            out = s + (m if keepdim else m.reshape(s.shape))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        axes, keepdim = ctx.axes, ctx.keepdim
        g, out = unsqueeze(g, axes, keepdim), unsqueeze(out, axes, keepdim)
        return g * np.exp(x - out), None, None


@op(namespaces=(TORCH, SPECIAL))
def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``, computed without overflow; its gradient is the softmax.

    >>> import glassgrad as gg
    >>> gg.logsumexp(gg.tensor([0.0, 1000.0]), dim=0)  # exp(1000) would overflow
    tensor(1000.)
    """
    x = to_default_float(as_tensor(input))
    return Logsumexp.apply(x, axes_of("logsumexp", dim, x._data.ndim), keepdim)


class Norm(Node):
    __slots__ = ("axes", "keepdim", "p")
    op_name = "LinalgVectorNorm"  # PyTorch computes norm() with linalg.vector_norm

    @staticmethod
    def forward(ctx: Any, x: Any, p: float, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim, ctx.p = axes, keepdim, p
        if p == 2:
            out = np.sqrt(add_reduce(x * x, axes, None, None, keepdim))
        elif p == 1:
            out = add_reduce(np.abs(x), axes, None, None, keepdim)
        elif p == math.inf:
            out = max_reduce(np.abs(x), axes, None, None, keepdim)
        elif p == -math.inf:
            out = min_reduce(np.abs(x), axes, None, None, keepdim)
        elif p == 0:
            out = add_reduce(x != 0, axes, x.dtype, None, keepdim)
        else:
            out = add_reduce(np.abs(x) ** p, axes, None, None, keepdim) ** (1.0 / p)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        axes, keepdim, p = ctx.axes, ctx.keepdim, ctx.p
        g, out = unsqueeze(g, axes, keepdim), unsqueeze(out, axes, keepdim)
        return _norm_grad(g, x, out, p, axes), None, None, None


def _safe_div(g: Any, d: Any, power: float = 1) -> Any:
    """g / d**power, and 0 where d == 0 (PyTorch's masked division in norm backward).

    The power is taken of the masked ``d``, so no inf appears in second derivatives either.
    """
    live = d != 0
    safe = np.where(live, d, 1)
    return np.where(live, g / (safe if power == 1 else safe**power), 0)


def _norm_grad(g: Any, x: Any, out: Any, p: float, axes: tuple[int, ...]) -> Any:
    """d ||x||_p / dx times g, written as PyTorch's ``linalg_vector_norm_backward``."""
    if p == 2:
        return x * _safe_div(g, out)
    if p == 1:
        return g * np.sign(x)
    if p == 0:
        return x * 0
    if p in (math.inf, -math.inf):  # like amax(|x|): tied elements share the gradient
        hit = np.abs(x) == out
        count = np.sum(hit, axis=axes, keepdims=True, dtype=g.dtype)
        return np.sign(x) * np.where(hit, g / count, 0)
    if p < 1:
        nonzero = x != 0
        scaled = np.where(nonzero, np.sign(x) * np.abs(np.where(nonzero, x, 1)) ** (p - 1), 0)
        return scaled * _safe_div(g, out, p - 1)  # g * out**(1 - p), 0 where out == 0
    if p < 2:
        return np.sign(x) * np.abs(x) ** (p - 1) * _safe_div(g, out, p - 1)
    return x * np.abs(x) ** (p - 2) * _safe_div(g, out, p - 1)


@op
def norm(
    input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default): p = 2/'fro', 1, inf, -inf, 0, floats.

    As in PyTorch the gradient of the 2-norm at 0 is 0, not NaN.

    >>> import glassgrad as gg
    >>> gg.norm(gg.tensor([3.0, 4.0]))
    tensor(5.)
    """
    x = as_tensor(input)
    if dtype is not None:
        x = to(x, dtype)
    floating_input("norm()", x)
    ndim = x._data.ndim
    if p is None or p == "fro":
        if p == "fro" and isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise RuntimeError(f"norm(): the 'fro' norm takes at most 2 dims, got dim={dim}")
        p = 2.0
    elif isinstance(p, str):
        raise NotImplementedError(f"norm(): p={p!r} is not supported (use a number or 'fro')")
    axes = axes_of("norm", dim, ndim)
    if p in (math.inf, -math.inf) and x._data.size == 0 and numel(x.shape, axes) == 0:
        raise RuntimeError(
            f"norm(): cannot compute the {p} norm over an empty dimension of a tensor of shape "
            f"{tuple(x.shape)}: the operation has no identity"
        )
    return Norm.apply(x, builtins.float(p), axes, keepdim)


# ---- all, any, count_nonzero (no gradient) ------------------------------------------------------


@op(
    numpy={np.all: lambda a, axis=None, out=None, keepdims=False, **kw: all(a, axis, keepdims)},
    differentiable=False,
)
def all(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where every element over ``dim`` is non-zero (uint8 in gives uint8, like PyTorch)."""
    x = as_tensor(input)
    if isinstance(dim, (tuple, list)) and len(dim) == 0:  # dim=(): no reduction (PyTorch)
        out = x._data.astype(bool)
        return Tensor._make(out.astype(np.uint8) if x._data.dtype == np.uint8 else out)
    out = np.all(x._data, axis=axes_of("all", dim, x._data.ndim), keepdims=keepdim)
    return Tensor._make(out.astype(np.uint8) if x._data.dtype == np.uint8 else out)


@op(
    numpy={np.any: lambda a, axis=None, out=None, keepdims=False, **kw: any(a, axis, keepdims)},
    differentiable=False,
)
def any(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where some element over ``dim`` is non-zero (uint8 in gives uint8, like PyTorch)."""
    x = as_tensor(input)
    if isinstance(dim, (tuple, list)) and len(dim) == 0:  # dim=(): no reduction (PyTorch)
        out = x._data.astype(bool)
        return Tensor._make(out.astype(np.uint8) if x._data.dtype == np.uint8 else out)
    out = np.any(x._data, axis=axes_of("any", dim, x._data.ndim), keepdims=keepdim)
    return Tensor._make(out.astype(np.uint8) if x._data.dtype == np.uint8 else out)


@op(
    numpy={
        np.count_nonzero: lambda a, axis=None, *, keepdims=False: (
            sum(as_tensor(a) != 0, () if axis is None else axis, True)
            if keepdims
            else count_nonzero(a, axis)
        )
    },
    differentiable=False,
)
def count_nonzero(input: Any, dim: Any = None) -> Tensor:
    """Number of non-zero elements over ``dim`` (int64)."""
    x = as_tensor(input)
    axes = axes_of("count_nonzero", dim, x._data.ndim)
    return Tensor._make(np.asarray(np.count_nonzero(x._data, axis=axes), np.int64))


# ---- renorm, sum_to_size -------------------------------------------------------------------------


class Renorm(Node):
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` is scaled down to it; the scale
    depends on the slice, so the gradient has PyTorch's two terms (``renorm_backward``)."""

    __slots__ = ("dim", "maxnorm", "p")

    @staticmethod
    def forward(ctx: Any, x: Any, p: float, dim: int, maxnorm: float) -> Any:
        ctx.p, ctx.dim, ctx.maxnorm = p, dim, maxnorm
        ctx.save_for_backward(x)
        norm = _slice_norm(x, p, dim)
        factor = np.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
        return (x * factor).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        p, dim, maxnorm = ctx.p, ctx.dim, ctx.maxnorm
        axes = tuple(k for k in range(x.ndim) if k != dim)
        norm = _slice_norm(x, p, dim)
        inner = np.sum(x * g, axis=axes, keepdims=True)
        nb = inner * _norm_derivative(x, p, norm, axes)
        invnorm = 1 / (norm + 1e-7)
        factor = invnorm * maxnorm
        return np.where(norm > maxnorm, factor * g - (factor * invnorm) * nb, g), None, None, None


def _slice_norm(x: Any, p: float, dim: int) -> Any:
    """The p-norm of each slice along ``dim`` (kept as a size-1 dim everywhere else)."""
    axes = tuple(k for k in range(x.ndim) if k != dim)
    a = np.abs(x)
    if p == math.inf:
        return np.max(a, axis=axes, keepdims=True)
    if p == 1:
        return np.sum(a, axis=axes, keepdims=True)
    if p == 2:
        return np.sqrt(np.sum(x * x, axis=axes, keepdims=True))
    return np.sum(a**p, axis=axes, keepdims=True) ** (1.0 / p)


def _norm_derivative(x: Any, p: float, norm: Any, axes: tuple[int, ...]) -> Any:
    """d norm / d x for the slice norms (zero where the norm is zero)."""
    safe = np.where(norm == 0, 1.0, norm)
    if p == math.inf:
        top = np.abs(x) == norm
        return np.sign(x) * top / np.sum(top, axis=axes, keepdims=True)
    if p == 1:
        return np.sign(x)
    if p == 2:
        return x / safe
    return np.sign(x) * np.abs(x) ** (p - 1) / safe ** (p - 1)


@op(inplace=True)
def renorm(input: Any, p: Any, dim: int, maxnorm: Any) -> Tensor:
    """``input`` with each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` rescaled to
    norm ``maxnorm`` (``nn.Embedding(max_norm=...)`` does this)."""
    x = floating_input("renorm", input)
    if x.ndim <= 1:
        raise RuntimeError(
            f"renorm: input needs at least 2 dimensions, got {x.ndim} dimensions (shape "
            f"{tuple(x.shape)})"
        )
    if not p > 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported, got p={p}")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = check_dim("renorm", dim, x.ndim)
    return Renorm.apply(x, float(p), d, float(maxnorm))


@op(namespaces=())
def sum_to_size(input: Any, *size: Any) -> Tensor:
    """The sum of ``input`` down to ``size`` (a shape it broadcasts to from), as the gradient of
    a broadcast is summed."""
    x = as_tensor(input)
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    shape = tuple(int(n) for n in shape)
    lead = x.ndim - len(shape)
    if lead < 0 or builtins.any(n != 1 and n != m for n, m in zip(shape, x.shape[lead:])):
        raise RuntimeError(
            f"sum_to_size: size {list(shape)} is not expandable to size {list(x.shape)}"
        )
    if not shape:  # (PyTorch sums everything, even a 0-d tensor)
        return sum(x)
    if tuple(x.shape) == shape:
        return x
    dims = [*range(lead)] + [
        lead + k for k, n in enumerate(shape) if n == 1 and x.shape[lead + k] != 1
    ]
    out = sum(x, dims, keepdim=True)
    return out.view(shape) if lead else out
