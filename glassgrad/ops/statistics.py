"""Statistics: NaN-ignoring reductions, quantiles, covariance, distances, integration.

``nansum``/``nanmedian``/``quantile``/``dist`` are nodes of their own (forward beside the
derivative); ``nanmean``, ``cov``, ``corrcoef``, ``aminmax`` and the trapezoid rules are composed
of other ops exactly as PyTorch composes them, so their gradients (and mostly their last node)
are PyTorch's.
"""

from __future__ import annotations

import builtins
import math
import warnings
from typing import Any

import numpy as np

from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim, return_type, to_default_float
from glassgrad.ops._reduce import NO_DIM, axes_of, expand_back
from glassgrad.ops.registry import op
from glassgrad.ops.selection import _Select, _select, _TiesShare, amax, amin
from glassgrad.ops.shape import reshape, to

# ---- nansum, nanmean ----------------------------------------------------------------------------


class Nansum(Node):
    __slots__ = ("axes", "in_shape", "keepdim")

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim, ctx.in_shape = axes, keepdim, x.shape
        ctx.save_for_backward(x)
        return np.asarray(np.nansum(x, axis=axes, keepdims=keepdim, dtype=x.dtype))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors  # each non-NaN element gets the gradient of its sum
        g = expand_back(g, ctx.axes, ctx.keepdim, ctx.in_shape)
        return g * ~np.isnan(x), None, None  # (a product, as PyTorch: inf * 0 is NaN)


def _nan_dims(op: str, x: Tensor, dim: Any) -> tuple[int, ...]:
    if isinstance(dim, (list, tuple)) and len(dim) == 0:
        return tuple(range(x._data.ndim))
    return axes_of(op, None if dim is NO_DIM else dim, x._data.ndim)


@op
def nansum(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` treating NaN as zero; NaN elements get no gradient."""
    x = as_tensor(input, "nansum")
    if dtype is not None:
        x = to(x, dtype)
    elif x._data.dtype.kind in "bui":
        x = Tensor._make(x._data.astype(np.int64))
    if x._data.dtype.kind == "c":
        raise RuntimeError(f"nansum(): does not support complex inputs (shape {tuple(x.shape)})")
    return Nansum.apply(x, _nan_dims("nansum", x, dim), keepdim)


@op
def nanmean(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Mean over ``dim`` of the non-NaN elements: nansum / their count (as PyTorch computes it)."""
    x = as_tensor(input, "nanmean")
    if dtype is not None:
        x = to(x, dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError(
            f"nanmean(): expected input to have floating point dtype but got {x.dtype} "
            f"(shape {tuple(x.shape)})"
        )
    axes = _nan_dims("nanmean", x, dim)
    count = np.sum(~np.isnan(x._data), axis=axes, keepdims=keepdim).astype(x._data.dtype)
    count = np.where(count == 0, np.nan, count)  # an all-NaN slice: NaN, without 0 / 0
    return nansum(x, axes, keepdim) / Tensor._make(np.asarray(count))


# ---- nanmedian ----------------------------------------------------------------------------------


class return_types:
    """(values, indices) results, like ``torch.return_types``."""

    nanmedian = return_type("nanmedian", ("values", "indices"), __name__)
    aminmax = return_type("aminmax", ("min", "max"), __name__)


class Nanmedian(_TiesShare):
    """The lower median of the non-NaN elements (NaN when there are none); ties share."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any, keepdim: bool) -> Any:
        ctx.axes, ctx.keepdim = axes, keepdim
        flat = x.reshape(-1)
        flat = flat[~np.isnan(flat)]
        k = flat.size
        out = (
            np.array(np.nan, x.dtype) if k == 0 else np.partition(flat, (k - 1) // 2)[(k - 1) // 2]
        )
        out = np.asarray(out, x.dtype)
        ctx.save_for_backward(x, out)
        return out


class NanmedianDim(_Select):
    """``nanmedian(dim)``: the gradient goes to the index returned (NanmedianBackward1)."""

    __slots__ = ()
    op_name = "Nanmedian"
    variant = 1


def _nanmedian_keep(a: np.ndarray, d: int) -> np.ndarray:
    """Index of the lower median of the non-NaN values along ``d`` (the first NaN if all are)."""
    order = np.argsort(a, axis=d, kind="stable")  # NaN sorts last
    count = np.sum(~np.isnan(a), axis=d, keepdims=True) if a.dtype.kind == "f" else None
    if count is None:
        k = np.full_like(np.take(order, [0], axis=d), (a.shape[d] - 1) // 2)
    else:
        k = np.maximum((count - 1) // 2, 0)
    return np.take_along_axis(order, k, axis=d)


@op
def nanmedian(input: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median ignoring NaN: of all elements, or along ``dim`` as (values, indices)."""
    x = as_tensor(input, "nanmedian")
    if dim is None:
        return Nanmedian.apply(x, tuple(range(x._data.ndim)), False)
    result = return_types.nanmedian
    return _select("nanmedian", NanmedianDim, _nanmedian_keep, result, x, dim, keepdim)


# ---- quantile, nanquantile ----------------------------------------------------------------------

_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


class Quantile(Node):
    """Quantiles by sorting and interpolating between neighbours, as PyTorch computes them:
    the gradient goes to the two sorted neighbours of each quantile, weighted like ``lerp``
    (the first occurrence wins among ties: a stable sort), and (linear mode) to ``q`` through
    the interpolation weight q (n - 1) - floor(q (n - 1))."""

    __slots__ = ("below", "gshape", "q0", "red", "slope", "step", "w")

    @staticmethod
    def forward(ctx: Any, x: Any, q: Any, out: Any, consts: tuple) -> Any:
        ctx.below, ctx.step, ctx.w, ctx.slope, ctx.q0, ctx.red, ctx.gshape = consts
        ctx.save_for_backward(x, q)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, q = ctx.saved_tensors
        g = g.reshape(ctx.gshape)
        lead = (-1,) + (1,) * (len(ctx.gshape) - 1)
        w = ctx.w if q is None else ctx.w + (q.reshape(lead) - ctx.q0) * ctx.slope  # (Q, *keep)
        gx = (g * (ctx.below + w * ctx.step)).sum(0)
        if q is None:
            return gx, None, None, None
        xr = np.where(ctx.step != 0, x.reshape((1,) + tuple(x.shape)), 0)  # (NaN * 0 = NaN)
        spread = np.sum(xr * ctx.step, axis=ctx.red, keepdims=True)
        gq = g * ctx.slope * spread  # d out / d q = (above - below) d w / d q
        rest = tuple(range(1, len(ctx.gshape)))
        if rest:
            gq = gq.sum(rest)
        return gx, gq.reshape(q.shape), None, None


def _quantile(
    op: str, input: Any, q: Any, dim: Any, keepdim: bool, interpolation: str, ignore_nan: bool
) -> Tensor:
    x = as_tensor(input, op)
    data = x._data
    if data.dtype.kind != "f":
        raise RuntimeError(
            f"{op}() input tensor must be either float or double dtype, got "
            f"{x.dtype} (shape {tuple(x.shape)})"
        )
    if interpolation not in _MODES:
        raise ValueError(
            f"{op}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
            f"Got {interpolation}"
        )
    scalar_q = not isinstance(q, Tensor) or q._data.ndim == 0
    if isinstance(q, Tensor):
        if q._data.ndim > 1:
            raise RuntimeError(
                f"{op}() q must be a scalar or 1D tensor, got shape {tuple(q.shape)}"
            )
        if q._data.dtype != data.dtype:
            raise RuntimeError(
                f"{op}() q tensor must be same dtype as the input tensor, got {q.dtype} and "
                f"{x.dtype}"
            )
        qs = q._data.reshape(-1)
    elif isinstance(q, (int, float)) and not isinstance(q, bool):
        qs = np.asarray([q], data.dtype)
    else:
        raise TypeError(f"{op}(): q must be a number or a tensor, got {type(q).__name__}")
    if np.any((qs < 0) | (qs > 1)) or np.any(np.isnan(qs)):
        bad = qs[(qs < 0) | (qs > 1) | np.isnan(qs)][0]
        raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {float(bad)}")
    if data.size == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty (shape {tuple(x.shape)})")
    zero_d = data.ndim == 0
    if zero_d:  # a 0-d input is a 1-element vector here
        x, data = reshape(x, (1,)), data.reshape(1)
        dim = None if dim is None else check_dim(op, dim, 0)
    if dim is None:
        moved = data.reshape(-1)
        keep = (1,) * data.ndim
        reduced = (keep if keepdim else ()) if not zero_d else ()
        red = tuple(range(1, data.ndim + 1))
    else:
        d = check_dim(op, dim, data.ndim)
        moved = np.moveaxis(data, d, -1)
        keep = tuple(1 if i == d else s for i, s in enumerate(data.shape))
        reduced = keep if keepdim else tuple(s for i, s in enumerate(data.shape) if i != d)
        reduced = () if zero_d else reduced
        red = (d + 1,)
    n = moved.shape[-1]
    order = np.argsort(moved, axis=-1, kind="stable")  # NaN last
    srt = np.take_along_axis(moved, order, axis=-1)
    nan = np.isnan(srt)
    qb = np.broadcast_to(qs, srt.shape[:-1] + qs.shape)
    if ignore_nan:
        mult = np.broadcast_to(
            (np.sum(~nan, axis=-1, keepdims=True) - 1).astype(data.dtype), qb.shape
        )
        ranks = qb * mult
        mult = np.where(ranks < 0, 0, mult)
        ranks = np.where(ranks < 0, 0, ranks)
    else:
        mult = np.where(np.any(nan, axis=-1, keepdims=True), 0, np.full(qb.shape, n - 1.0))
        ranks = np.where(mult == 0, n - 1, qb * data.dtype.type(n - 1))
    ranks = ranks.astype(data.dtype, copy=False)
    if interpolation == "lower":
        ranks = np.floor(ranks)
    elif interpolation == "higher":
        ranks = np.ceil(ranks)
    elif interpolation == "nearest":
        ranks = np.round(ranks)  # half to even, as PyTorch
    below = ranks.astype(np.int64)
    if interpolation in ("linear", "midpoint"):
        w = np.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - below
        above = np.ceil(ranks).astype(np.int64)
    else:
        w, above = np.zeros_like(ranks), below
    if interpolation != "linear":
        mult = np.zeros_like(mult)
    vb, va = np.take_along_axis(srt, below, -1), np.take_along_axis(srt, above, -1)
    with np.errstate(invalid="ignore"):
        diff = va - vb
        vals = np.where(np.abs(w) < 0.5, vb + w * diff, va - diff * (1 - w))  # lerp
    out = np.moveaxis(vals, -1, 0).reshape((qs.size,) + reduced).astype(data.dtype, copy=False)
    out = np.array(out[0] if scalar_q else out)
    q_grad = isinstance(q, Tensor) and q.requires_grad and interpolation == "linear"
    if not (x.requires_grad or q_grad):
        return Tensor._make(out)

    def layout(a: np.ndarray) -> np.ndarray:
        """(..., Q, n) in the moved layout -> (Q, *input shape)."""
        a = np.moveaxis(a, -2, 0).astype(data.dtype)
        return a.reshape((qs.size,) + data.shape) if dim is None else np.moveaxis(a, -1, d + 1)

    def per_q(a: np.ndarray) -> np.ndarray:
        """(..., Q) in the moved layout -> (Q, *keep)."""
        return np.moveaxis(a, -1, 0).reshape((qs.size,) + keep).astype(data.dtype)

    positions = np.arange(n)
    ob = (positions == np.take_along_axis(order, below, -1)[..., None]).astype(data.dtype)
    oa = (positions == np.take_along_axis(order, above, -1)[..., None]).astype(data.dtype)
    consts = (
        layout(ob),
        layout(oa - ob),
        per_q(w),
        per_q(mult),
        qs.reshape((-1,) + (1,) * len(keep)),
        red,
        (qs.size,) + keep,
    )
    return Quantile.apply(x, q if q_grad else None, out, consts)


@op
def quantile(
    input: Any,
    q: Any,
    dim: Any = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """The q-th quantiles over ``dim`` (all elements by default); ``q`` a number or a 1-d tensor
    (its quantiles come first in the result). NaN in a slice gives NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@op
def nanquantile(
    input: Any,
    q: Any,
    dim: Any = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """``quantile`` of the non-NaN elements (NaN only for an all-NaN slice)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# ---- aminmax, dist ------------------------------------------------------------------------------


@op
def aminmax(input: Any, *, dim: Any = None, keepdim: bool = False) -> Any:
    """(min, max) over ``dim`` (all elements by default); tied elements share each gradient."""
    x = as_tensor(input, "aminmax")
    if x._data.size == 0 and (dim is None or x._data.ndim == 0 or x.shape[dim] == 0):
        raise RuntimeError(
            f"aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
            f"identity (input of shape {tuple(x.shape)})"
        )
    if dim is None:
        lo, hi = amin(x, (), False), amax(x, (), False)
        if keepdim:
            lo, hi = reshape(lo, (1,) * x._data.ndim), reshape(hi, (1,) * x._data.ndim)
        return return_types.aminmax(lo, hi)
    d = check_dim("aminmax", dim, x._data.ndim)
    return return_types.aminmax(amin(x, d, keepdim), amax(x, d, keepdim))


def _vector_norm_np(d: Any, p: float) -> Any:
    a = np.abs(d)
    if p == 2:
        return np.sqrt(np.sum(a * a))
    if p == 1:
        return np.sum(a)
    if p == math.inf:
        return np.max(a) if a.size else np.zeros((), d.dtype)
    if p == -math.inf:
        return np.min(a) if a.size else np.zeros((), d.dtype)
    if p == 0:
        return np.asarray(np.count_nonzero(d), d.dtype)
    return np.sum(a**p) ** (1.0 / p)


class Dist(Node):  # ||x - y||_p
    __slots__ = ("p",)
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any, p: float) -> Any:
        ctx.p = p
        out = np.asarray(_vector_norm_np(x - y, p), np.result_type(x, y))
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        from glassgrad.ops.reductions import _norm_grad

        x, y, out = ctx.saved_tensors
        diff = x - y
        gd = _norm_grad(g, diff, out, ctx.p, tuple(range(np.ndim(diff))))
        return gd, -gd, None


@op
def dist(input: Any, other: Any, p: float = 2) -> Tensor:
    """The p-norm of input - other (broadcast), as ``norm(input - other, p)``."""
    from glassgrad.ops._common import binary_operands

    a, b = binary_operands("dist", input, other)
    a, b = as_tensor(a, "dist"), as_tensor(b, "dist")
    if a._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"dist(): expected floating point tensors, got {a.dtype} {tuple(a.shape)} and "
            f"{b.dtype} {tuple(b.shape)}"
        )
    return Dist.apply(a, b, builtins.float(p))


# ---- cov, corrcoef ------------------------------------------------------------------------------


def _check_weights(name: str, w: Any, n: int, integral: bool) -> Tensor:
    w = as_tensor(w, "cov")
    if w._data.ndim > 1:
        raise RuntimeError(
            f"cov(): expected {name} to have one or fewer dimensions, got shape {tuple(w.shape)}"
        )
    if w._data.size != n:
        raise RuntimeError(
            f"cov(): expected {name} to have the same numel as there are observations in the "
            f"input, but got {w._data.size} != {n}"
        )
    if integral and w._data.dtype.kind not in "iu":
        raise RuntimeError(f"cov(): expected fweights to have integral dtype, got {w.dtype}")
    if not integral and w._data.dtype.kind != "f":
        raise RuntimeError(f"cov(): expected aweights to have floating point dtype, got {w.dtype}")
    if np.any(w._data < 0):
        raise RuntimeError(f"cov(): {name} cannot be negative")
    return w


@op
def cov(input: Any, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in columns),
    with frequency and/or observation weights; composed as PyTorch composes it."""
    from glassgrad.ops.linalg import mm

    x = as_tensor(input, "cov")
    if x._data.ndim > 2:
        raise RuntimeError(
            f"cov(): expected input to have two or fewer dimensions but got an input with "
            f"{x._data.ndim} dimensions (shape {tuple(x.shape)})"
        )
    if x._data.ndim < 2:
        x = reshape(x, (1, -1))
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = _check_weights("fweights", fweights, n, True)
    if aweights is not None:
        aw = _check_weights("aweights", aweights, n, False)
        w = aw if w is None else w * aw
    w_sum: Any = n if w is None else w.sum()
    if w is not None and correction != 0 and aweights is not None:
        norm_factor: Any = w_sum - correction * (w * aw).sum() / w_sum
    else:
        norm_factor = w_sum - correction
    if (norm_factor._data if isinstance(norm_factor, Tensor) else norm_factor) <= 0:
        warnings.warn(
            "cov(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "number of observations.",
            UserWarning,
            stacklevel=3,
        )
        norm_factor = norm_factor * 0
    x = to_default_float(x) if x._data.dtype.kind in "bui" else x
    avg = (x if w is None else x * w).sum(1) / w_sum
    xm = x - avg.unsqueeze(1)
    c = mm(xm, (xm if w is None else xm * w).t().conj())
    with np.errstate(divide="ignore", invalid="ignore"):
        return (c / norm_factor).squeeze()


@op
def corrcoef(input: Any) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input``, clipped to [-1, 1]."""
    from glassgrad.ops.comparison import clamp
    from glassgrad.ops.elementwise import sqrt

    c = cov(input)
    if c._data.ndim == 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            return c / c
    d = c.diagonal()
    std = sqrt(d.real if d._data.dtype.kind == "c" else d)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = c / reshape(std, (-1, 1))
        c = c / reshape(std, (1, -1))
    return clamp(c, -1, 1)


# ---- trapezoid, cumulative_trapezoid ------------------------------------------------------------


def _trapezoid_dx(op: str, y: Tensor, x: Any, dx: Any, d: int) -> Any:
    """The spacing: a number, or the differences of ``x`` laid along ``d`` (a tensor)."""
    from glassgrad.ops.joining import narrow

    if x is None:
        return 1 if dx is None else dx
    if dx is not None:
        raise TypeError(f"{op}(): pass either x or dx, not both")
    x = as_tensor(x, op)
    n = y.shape[d]
    if x._data.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError(
                f"{op}(): There must be one `x` value for each sample point, got x of shape "
                f"{tuple(x.shape)} and y of shape {tuple(y.shape)} along dim {d}"
            )
        x = reshape(x, tuple(n if i == d else 1 for i in range(y._data.ndim)))
    elif x._data.ndim != y._data.ndim or x.shape[d] != n:
        raise RuntimeError(
            f"{op}(): x of shape {tuple(x.shape)} doesn't match y of shape {tuple(y.shape)} "
            f"along dim {d}"
        )
    return narrow(x, d, 1, n - 1) - narrow(x, d, 0, n - 1)


@op(method=False, aliases=("trapz",))
def trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: sample points ``x``, or a constant spacing ``dx``."""
    from glassgrad.ops.indexing import select
    from glassgrad.ops.joining import narrow

    y = as_tensor(y, "trapezoid")
    d = check_dim("trapezoid", dim, y._data.ndim)
    n = y.shape[d] if y._data.ndim else 1
    spacing = _trapezoid_dx("trapezoid", y, x, dx, d)
    if n == 0:  # PyTorch: zeros, outside the graph
        return Tensor._make(np.zeros(to_default_float(y).sum(d).shape, y.sum(d).dtype))
    if isinstance(spacing, Tensor):
        ends = narrow(y, d, 1, n - 1) + narrow(y, d, 0, n - 1)
        return (spacing * ends).sum(d) / 2.0
    return (y.sum(d) - (select(y, d, 0) + select(y, d, -1)) * 0.5) * spacing


@op(method=False)
def cumulative_trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one element fewer than ``y`` there)."""
    from glassgrad.ops.joining import narrow
    from glassgrad.ops.scans import cumsum

    y = as_tensor(y, "cumulative_trapezoid")
    d = check_dim("cumulative_trapezoid", dim, y._data.ndim)
    n = y.shape[d]
    spacing = _trapezoid_dx("cumulative_trapezoid", y, x, dx, d)
    ends = narrow(y, d, 0, max(n - 1, 0)) + narrow(y, d, min(n, 1), max(n - 1, 0))
    if isinstance(spacing, Tensor):
        return cumsum(spacing * ends, d) / 2.0
    return cumsum(ends * (spacing / 2.0), d)
