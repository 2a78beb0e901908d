"""Structure: triangles, diagonals, blocks, rotations, repeats, windows, grids, products of
shapes, distances and histograms (``tril``, ``diag``, ``block_diag``, ``rot90``,
``repeat_interleave``, ``Tensor.unfold``, ``meshgrid``, ``kron``, ``cdist``, ``cross``, ...).

Most of these ops pick or place elements, so each gradient places or picks them back: the
gradient of taking a diagonal is writing it into zeros, and the other way round. Where PyTorch
builds an op from others (``kron`` is a product then a view, ``diff`` a subtraction), it is built
the same way here, so the graph shows PyTorch's node names.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import namedtuple
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from glassgrad import dtypes
from glassgrad.ops._common import (
    Node,
    Tensor,
    _promote_tensors,
    as_tensor,
    check_dim,
    to_default_float,
)
from glassgrad.ops.comparison import logical_xor
from glassgrad.ops.indexing import view_of
from glassgrad.ops.joining import cat, narrow, stack
from glassgrad.ops.registry import op
from glassgrad.ops.scatter import index_select
from glassgrad.ops.shape import Clone, UnsafeView, clone, expand, reshape

# ---- triangles -----------------------------------------------------------------------------------


class Tril(Node):
    __slots__ = ("k",)

    @staticmethod
    def forward(ctx: Any, x: Any, k: int) -> Any:
        ctx.k = k
        return np.tril(x, k)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.tril(g, ctx.k), None


class Triu(Node):
    __slots__ = ("k",)

    @staticmethod
    def forward(ctx: Any, x: Any, k: int) -> Any:
        ctx.k = k
        return np.triu(x, k)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.triu(g, ctx.k), None


def _matrices(op: str, input: Any) -> Tensor:
    x = as_tensor(input)
    if x._data.ndim < 2:
        raise RuntimeError(
            f"{op}: input tensor must have at least 2 dimensions (got shape {tuple(x.shape)})"
        )
    return x


@op(inplace=True, numpy={np.tril: lambda m, k=0: tril(m, k)})
def tril(input: Any, diagonal: int = 0) -> Tensor:
    """The lower triangle of each matrix (the last two dims): elements above ``diagonal`` zeroed.

    >>> import glassgrad as gg
    >>> gg.tril(gg.ones(2, 2))
    tensor([[1., 0.],
            [1., 1.]])
    """
    return Tril.apply(_matrices("tril", input), int(diagonal))


@op(inplace=True, numpy={np.triu: lambda m, k=0: triu(m, k)})
def triu(input: Any, diagonal: int = 0) -> Tensor:
    """The upper triangle of each matrix (the last two dims): elements below ``diagonal`` zeroed."""
    return Triu.apply(_matrices("triu", input), int(diagonal))


def _triangle_indices(which: Any, row: int, col: int, offset: int, dtype: Any) -> Tensor:
    rows, cols = which(int(row), int(offset), int(col))
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.np_int64
    return Tensor._make(np.stack([rows, cols]).astype(d).reshape(2, -1))


@op(method=False, differentiable=False)
def tril_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None, **kw: Any
) -> Tensor:
    """The (row, column) coordinates of a ``row`` x ``col`` lower triangle, as a 2 x N tensor."""
    return _triangle_indices(np.tril_indices, row, col, offset, dtype)


@op(method=False, differentiable=False)
def triu_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None, **kw: Any
) -> Tensor:
    """The (row, column) coordinates of a ``row`` x ``col`` upper triangle, as a 2 x N tensor."""
    return _triangle_indices(np.triu_indices, row, col, offset, dtype)


# ---- diagonals -----------------------------------------------------------------------------------


def _diagonal_view(a: np.ndarray, offset: int, d1: int, d2: int) -> np.ndarray:
    """A writable view of the diagonal (NumPy's is read-only): dims d1, d2 gone, the diagonal
    last, as ``torch.diagonal`` returns it."""
    view = np.diagonal(a, offset, d1, d2)
    if a.flags.writeable:
        view.flags.writeable = True
    return view


def _embed(values: np.ndarray, shape: tuple[int, ...], offset: int, d1: int, d2: int) -> Any:
    """Zeros of ``shape`` with ``values`` written on its diagonal (``offset``, dims d1 and d2)."""
    out = np.zeros(shape, values.dtype)
    _diagonal_view(out, offset, d1, d2)[...] = values
    return out


class Diagonal(Node):
    __slots__ = ("d1", "d2", "in_shape", "offset")

    @staticmethod
    def forward(ctx: Any, x: Any, offset: int, d1: int, d2: int) -> Any:
        ctx.offset, ctx.d1, ctx.d2, ctx.in_shape = offset, d1, d2, x.shape
        return _diagonal_view(x, offset, d1, d2)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        args = (ctx.in_shape, ctx.offset, ctx.d1, ctx.d2)
        if isinstance(g, Tensor):  # create_graph: record the placing, whose gradient is a diagonal
            return DiagonalBackward.apply(g, *args), None, None, None
        return _embed(g, *args), None, None, None


class DiagonalBackward(Node):
    """The gradient of ``diagonal``: ``g`` written on the diagonal of zeros (second order)."""

    __slots__ = ("d1", "d2", "offset")

    @staticmethod
    def forward(ctx: Any, g: Any, shape: Any, offset: int, d1: int, d2: int) -> Any:
        ctx.offset, ctx.d1, ctx.d2 = offset, d1, d2
        return _embed(g, shape, offset, d1, d2)

    @staticmethod
    def backward(ctx: Any, gg: Any) -> Any:
        return diagonal(gg, ctx.offset, ctx.d1, ctx.d2), None, None, None, None


class DiagonalCopy(Diagonal):
    """``diag`` of a matrix: a copy of its diagonal (PyTorch: ``DiagonalBackward0_copy``)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, offset: int, d1: int, d2: int) -> Any:
        return Diagonal.forward(ctx, x, offset, d1, d2).copy()

    def name(self) -> str:
        return "DiagonalBackward0_copy"


class DiagEmbed(Node):
    __slots__ = ("d1", "d2", "offset")

    @staticmethod
    def forward(ctx: Any, x: Any, offset: int, d1: int, d2: int) -> Any:
        ctx.offset, ctx.d1, ctx.d2 = offset, d1, d2
        n = x.shape[-1] + abs(offset) if x.ndim else 1 + abs(offset)
        rest = list(x.shape[:-1])
        for d in sorted((d1, d2)):
            rest.insert(d, n)
        return _embed(x, tuple(rest), offset, d1, d2)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return diagonal(g, ctx.offset, ctx.d1, ctx.d2), None, None, None


def _two_dims(op: str, dim1: int, dim2: int, ndim: int) -> tuple[int, int]:
    d1, d2 = check_dim(op, dim1, ndim), check_dim(op, dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"{op}: diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


@op(
    numpy={
        np.diagonal: lambda a, offset=0, axis1=0, axis2=1: diagonal(a, offset, axis1, axis2),
    }
)
def diagonal(input: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal of dims ``dim1``, ``dim2`` (``offset`` > 0: above it), moved last.

    >>> import glassgrad as gg
    >>> gg.arange(9.0).reshape(3, 3).diagonal(1)
    tensor([1., 5.])
    """
    x = as_tensor(input)
    if x._data.ndim < 2:
        raise RuntimeError(
            f"diagonal: expected a tensor with at least 2 dimensions, got shape {tuple(x.shape)}"
        )
    d1, d2 = _two_dims("diagonal", dim1, dim2, x._data.ndim)
    return view_of(Diagonal.apply(x, int(offset), d1, d2), x)


@op
def diag_embed(input: Any, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (dims ``dim1``, ``dim2`` of the result) whose diagonal is the last dim of input."""
    x = as_tensor(input)
    d1, d2 = _two_dims("diag_embed", dim1, dim2, x._data.ndim + 1)
    return DiagEmbed.apply(x, int(offset), d1, d2)


@op(numpy={np.diag: lambda v, k=0: diag(v, k)})
def diag(input: Any, diagonal: int = 0) -> Tensor:
    """A vector becomes a square matrix with it on diagonal ``diagonal``; a matrix gives a copy of
    its diagonal ``diagonal``."""
    x = as_tensor(input)
    if x._data.ndim == 1:
        return DiagEmbed.apply(x, int(diagonal), 0, 1)
    if x._data.ndim == 2:
        return DiagonalCopy.apply(x, int(diagonal), 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x._data.ndim}D")


class Trace(Node):
    __slots__ = ("in_shape",)

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.in_shape = x.shape
        return np.asarray(np.trace(x))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g * np.eye(*ctx.in_shape, dtype=g.dtype)


@op
def trace(input: Any) -> Tensor:
    """The sum of a matrix's diagonal (integers sum in int64, as in PyTorch)."""
    x = as_tensor(input)
    if x._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x._data.ndim}")
    if x._data.dtype.kind in "bui":
        return Tensor._make(np.asarray(np.trace(x._data), np.int64))
    return Trace.apply(x)


# ---- blocks and rotations --------------------------------------------------------------------


class BlockDiag(Node):
    __slots__ = ("blocks",)

    @staticmethod
    def forward(ctx: Any, *xs: Any) -> Any:
        mats = [x.reshape(1, -1) if x.ndim < 2 else x for x in xs]
        rows, cols = sum(m.shape[0] for m in mats), sum(m.shape[1] for m in mats)
        out = np.zeros((rows, cols), mats[0].dtype if mats else np.float32)
        r = c = 0
        blocks = []
        for x, m in zip(xs, mats):
            out[r : r + m.shape[0], c : c + m.shape[1]] = m
            blocks.append((r, c, m.shape, x.shape))
            r, c = r + m.shape[0], c + m.shape[1]
        ctx.blocks = blocks
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return tuple(g[r : r + h, c : c + w].reshape(s) for r, c, (h, w), s in ctx.blocks)


@op(method=False)
def block_diag(*tensors: Any) -> Tensor:
    """A block-diagonal matrix of the given matrices (vectors are 1 x n, scalars 1 x 1)."""
    ts = [as_tensor(t) for t in tensors]
    for i, t in enumerate(ts):
        if t._data.ndim > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} "
                f"has {t._data.ndim} dimensions"
            )
    if not ts:
        return Tensor._make(np.zeros((1, 0), dtypes.default_float()))
    target = ts[0]._data.dtype
    for t in ts[1:]:
        target = _promote_tensors(np.empty((1,), target), np.empty((1,), t._data.dtype))
    ts = [t if t._data.dtype == target else t.to(target) for t in ts]
    return BlockDiag.apply(*ts)


class Rot90(Node):
    __slots__ = ("dims", "k")

    @staticmethod
    def forward(ctx: Any, x: Any, k: int, dims: tuple[int, int]) -> Any:
        ctx.k, ctx.dims = k, dims
        return np.rot90(x, k, dims).copy()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.rot90(g, -ctx.k, ctx.dims), None, None


@op(numpy={np.rot90: lambda m, k=1, axes=(0, 1): rot90(m, k, axes)})
def rot90(input: Any, k: int = 1, dims: Any = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, first dim toward the second."""
    x = as_tensor(input)
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if x._data.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {x._data.ndim}")
    d = (check_dim("rot90", dims[0], x._data.ndim), check_dim("rot90", dims[1], x._data.ndim))
    if d[0] == d[1]:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got {dims}")
    return Rot90.apply(x, int(k) % 4, d)


# ---- repeats, windows, grids -------------------------------------------------------------------


@op
def repeat_interleave(
    input: Any, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Repeat each element (each slice along ``dim``; the flattened input when ``dim`` is None)
    ``repeats`` times: an int, or a tensor with one count per element.
    ``repeat_interleave(counts)`` alone gives each index ``i`` repeated ``counts[i]`` times.

    >>> import glassgrad as gg
    >>> gg.tensor([1, 2]).repeat_interleave(2)
    tensor([1, 1, 2, 2])
    """
    if repeats is None:  # torch.repeat_interleave(repeats)
        counts = _counts(input, None)
        return Tensor._make(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    x = as_tensor(input)
    if dim is None:
        x, d = reshape(x, (-1,)), 0
    else:
        d = check_dim("repeat_interleave", dim, x._data.ndim)
        if x._data.ndim == 0:
            x = reshape(x, (1,))
    n = x.shape[d]
    if isinstance(repeats, Tensor) and repeats.numel() != 1:
        counts = _counts(repeats, n)
        index = np.repeat(np.arange(n, dtype=np.int64), counts)
        _check_output_size(index.size, output_size)
        return index_select(x, d, Tensor._make(index))
    r = int(repeats.item() if isinstance(repeats, Tensor) else repeats)
    if r < 0:
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    _check_output_size(n * r, output_size)
    if isinstance(repeats, Tensor):  # PyTorch broadcasts a one-element tensor, then selects
        return index_select(x, d, Tensor._make(np.repeat(np.arange(n, dtype=np.int64), r)))
    shape = x.shape
    wide = expand(
        reshape(x, (*shape[: d + 1], 1, *shape[d + 1 :])), *shape[: d + 1], r, *shape[d + 1 :]
    )
    return reshape(clone(wide), (*shape[:d], n * r, *shape[d + 1 :]))


def _counts(repeats: Any, n: int | None) -> np.ndarray:
    a = as_tensor(repeats)._data
    if a.dtype.kind not in "iu" or a.ndim > 1:
        raise RuntimeError(
            f"repeat_interleave: repeats must be a 0-d or 1-d tensor of integers, got dtype "
            f"{a.dtype} and shape {a.shape}"
        )
    a = a.reshape(-1)
    if np.any(a < 0):
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    if n is not None and a.size != n:
        raise RuntimeError(
            f"repeat_interleave: repeats must have the same size as input along dim, but got "
            f"repeats.size(0) = {a.size} and input.size({n}) = {n}"
        )
    return a


def _check_output_size(total: int, output_size: int | None) -> None:
    if output_size is not None and int(output_size) != total:
        raise RuntimeError(
            f"repeat_interleave: allocated size does not match required size: output_size="
            f"{output_size}, but the repeats add up to {total}"
        )


def _windows(a: Any, d: int, size: int, step: int) -> Any:
    """Windows of ``size`` every ``step`` along ``d``: that dim counts windows, a new last dim
    holds each window (a writable view)."""
    w = sliding_window_view(a, size, axis=d, writeable=a.flags.writeable)
    return w[(slice(None),) * d + (slice(None, None, step),)]


class Unfold(Node):
    __slots__ = ("dim", "in_shape", "size", "step")

    @staticmethod
    def forward(ctx: Any, x: Any, d: int, size: int, step: int) -> Any:
        ctx.dim, ctx.size, ctx.step, ctx.in_shape = d, size, step, x.shape
        if x.ndim == 0:
            return x.reshape(1)
        return _windows(x, d, size, step)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        args = (ctx.in_shape, ctx.dim, ctx.size, ctx.step)
        if isinstance(g, Tensor):
            return UnfoldBackward.apply(g, *args), None, None, None
        return _fold(g, *args), None, None, None


def _fold(g: np.ndarray, shape: tuple[int, ...], d: int, size: int, step: int) -> np.ndarray:
    """Sum each window of ``g`` back to where it came from (windows may overlap)."""
    out = np.zeros(shape, g.dtype)
    if not shape:
        return g.reshape(())
    target = _windows(out, d, size, step)
    if size <= step:  # windows don't overlap: one write
        target[...] = g
        return out
    for k in range(g.shape[d]):  # overlapping windows: add one window position at a time
        at = (slice(None),) * d + (k,)
        target[at] += g[at]
    return out


class UnfoldBackward(Node):
    """The gradient of ``unfold`` (second order): windows summed back; its gradient unfolds."""

    __slots__ = ("dim", "size", "step")

    @staticmethod
    def forward(ctx: Any, g: Any, shape: Any, d: int, size: int, step: int) -> Any:
        ctx.dim, ctx.size, ctx.step = d, size, step
        return _fold(g, shape, d, size, step)

    @staticmethod
    def backward(ctx: Any, gg: Any) -> Any:
        return Unfold.apply(gg, ctx.dim, ctx.size, ctx.step), None, None, None, None


@op(name="tensor_unfold", method="unfold", namespaces=())  # not F.unfold (im2col): its own op
def unfold(input: Any, dimension: int, size: int, step: int) -> Tensor:
    """``t.unfold(dim, size, step)``: every window of ``size`` elements along ``dim``, ``step``
    apart, as a new last dimension (a view)."""
    x = as_tensor(input)
    nd = x._data.ndim
    d = check_dim("unfold", dimension, nd)
    n = x.shape[d] if nd else 1
    if int(size) > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if int(step) <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    out = Unfold.apply(x, d, int(size), int(step))
    out._vc = x._vc  # a view of x's memory: one version counter (NumPy hides the base)
    out._base = x if x._base is None else x._base
    return out


def _grid_inputs(op: str, tensors: tuple[Any, ...], min_dims: int = 0) -> list[Tensor]:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = [as_tensor(t) for t in tensors]
    for i, t in enumerate(ts):
        if t._data.ndim > 1 or t._data.ndim < min_dims:
            raise RuntimeError(
                f"{op}: Expected {'1D' if min_dims else '0D or 1D'} tensors in the tensor list "
                f"but got tensor {i} of shape {tuple(t.shape)}"
            )
    return ts


@op(method=False)
def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids of 1-d tensors: ``indexing='ij'`` (matrix, the default) or ``'xy'``
    (Cartesian: the first two dims swapped). Each output is a broadcast view of its input."""
    ts = _grid_inputs("torch.meshgrid", tensors)
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    sizes = [t._data.size for t in ts]
    order = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        order[0], order[1] = 1, 0
    shape = [sizes[i] for i in order]
    out = []
    for i, t in enumerate(ts):
        pos = order.index(i)
        lined = reshape(t, tuple(-1 if j == pos else 1 for j in range(len(ts))))
        out.append(expand(lined, *shape))
    return tuple(out)


@op(method=False)
def cartesian_prod(*tensors: Any) -> Tensor:
    """Every combination of one element from each 1-d tensor, one per row (itertools.product)."""
    ts = _grid_inputs("cartesian_prod", tensors, 1)
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


@op(method=False)
def combinations(input: Any, r: int = 2, with_replacement: bool = False) -> Tensor:
    """Every ``r``-element combination of a 1-d tensor's elements, one per row, in
    ``itertools.combinations`` order (``with_replacement``: ``combinations_with_replacement``);
    each column gathered from the input, then stacked, as PyTorch records it."""
    x = as_tensor(input)
    if x._data.ndim != 1:
        raise RuntimeError(
            f"combinations: expected a 1-d tensor, got shape {tuple(x.shape)} "
            f"(dtype {dtypes.name(x._data.dtype)})"
        )
    if isinstance(r, bool) or not isinstance(r, int | np.integer) or r < 0:
        raise RuntimeError(f"combinations: r must be a non-negative int, got {r!r}")
    if r == 0:
        return Tensor._make(np.zeros(0, x._data.dtype))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(len(x._data)), int(r))), np.int64).reshape(-1, int(r))
    return stack([index_select(x, 0, Tensor._make(rows[:, k].copy())) for k in range(r)], 1)


# ---- products, distances ----------------------------------------------------------------------


@op
def kron(input: Any, other: Any) -> Tensor:
    """The Kronecker product: every element of ``input`` times the whole of ``other``, in blocks."""
    a, b = as_tensor(input), as_tensor(other)
    n = max(a._data.ndim, b._data.ndim)
    sa = (1,) * (n - a._data.ndim) + tuple(a.shape)
    sb = (1,) * (n - b._data.ndim) + tuple(b.shape)
    ea = reshape(a, tuple(v for s in sa for v in (s, 1)))
    eb = reshape(b, tuple(v for s in sb for v in (1, s)))
    prod = ea * eb
    return UnsafeView.apply(prod, tuple(x * y for x, y in zip(sa, sb)))


class Cdist(Node):
    __slots__ = ("p",)

    @staticmethod
    def forward(ctx: Any, x1: Any, x2: Any, p: float) -> Any:
        ctx.p = p
        diff = x1[..., :, None, :] - x2[..., None, :, :]
        out = _pnorm(np.abs(diff), p)
        ctx.save_for_backward(x1, x2, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x1, x2, out = ctx.saved_tensors
        diff = np.expand_dims(x1, -2) - np.expand_dims(x2, -3)
        dist = np.expand_dims(out, -1)
        gd = np.expand_dims(g, -1) * _pnorm_grad(diff, dist, ctx.p)  # d out / d diff, times g
        return np.sum(gd, axis=-2), -np.sum(gd, axis=-3), None


class CdistMM(Cdist):
    """Euclidean distances PyTorch computes through a matrix product (its last node: a view)."""

    __slots__ = ()
    op_name = "View"


def _pnorm(a: np.ndarray, p: float) -> np.ndarray:
    if p == 0:
        return np.sum(a != 0, axis=-1).astype(a.dtype)
    if p == 1:
        return np.sum(a, axis=-1)
    if p == 2:
        return np.sqrt(np.sum(a * a, axis=-1))
    if math.isinf(p):
        return np.max(a, axis=-1, initial=0)
    return np.sum(a**p, axis=-1) ** (1 / p)


def _pnorm_grad(diff: Any, dist: Any, p: float) -> Any:
    """d ||diff||_p / d diff (0 where the distance is 0, as PyTorch takes it)."""
    zero = dist == 0
    if p == 0:
        return diff * 0
    if p == 1:
        return np.sign(diff)
    if p == 2:
        return np.where(zero, 0, diff / np.where(zero, 1, dist))
    if math.isinf(p):
        return np.where(np.abs(diff) == dist, np.sign(diff), 0)
    safe = np.where(zero, 1, dist)
    ratio = np.abs(diff) / safe
    return np.where(zero, 0, np.sign(diff) * ratio ** (p - 1))


_CDIST_MODES = (
    "use_mm_for_euclid_dist_if_necessary",
    "use_mm_for_euclid_dist",
    "donot_use_mm_for_euclid_dist",
)


@op(method=False)
def cdist(
    x1: Any, x2: Any, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary"
) -> Tensor:
    """The p-norm distance between each row of ``x1`` (..., P, M) and each of ``x2`` (..., R, M):
    shape (..., P, R); batch dims broadcast. ``p`` may be 0, any positive number or inf."""
    a, b = as_tensor(x1), as_tensor(x2)
    for name, t in (("x1", a), ("x2", b)):
        if t._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
        if t._data.dtype.kind != "f":
            raise RuntimeError(
                f"cdist only supports floating-point dtypes, {name} got: {t._data.dtype}"
            )
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}"
        )
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if a._data.dtype != b._data.dtype:
        target = np.promote_types(a._data.dtype, b._data.dtype)
        a, b = a.to(target), b.to(target)
    big = a.shape[-2] > 25 or b.shape[-2] > 25
    mm = p == 2 and (compute_mode == _CDIST_MODES[1] or (compute_mode == _CDIST_MODES[0] and big))
    return (CdistMM if mm else Cdist).apply(a, b, float(p))


class DiffCopy(Clone):
    """``diff(x, n=0)``: PyTorch returns a copy made by ``copy_``."""

    __slots__ = ()

    def name(self) -> str:
        return "torch::autograd::CopyBackwards"


@op
def diff(input: Any, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``prepend``/``append`` join first)."""
    x = as_tensor(input)
    if x._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = check_dim("diff", dim, x._data.ndim)
    parts = [as_tensor(p) for p in (prepend,) if p is not None]
    parts += [x] + [as_tensor(a) for a in (append,) if a is not None]
    if len(parts) > 1:
        x = cat(parts, d)
    if int(n) < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    if int(n) == 0:
        return DiffCopy.apply(x)
    for _ in range(int(n)):
        m = x.shape[d]
        if m == 0:
            break
        hi, lo = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        x = logical_xor(hi, lo) if x._data.dtype == np.bool_ else hi - lo
    return x


@op(method=False)
def gradient(
    input: Any, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1
) -> tuple[Tensor, ...]:
    """The derivative estimated from samples along each of ``dim`` (every dim by default), as
    ``numpy.gradient``: central differences inside, one-sided ones at the ends, accurate to
    first or second order (``edge_order``). ``spacing``: one step for every dim, one per dim,
    or each dim's sample coordinates (1-D tensors, unevenly spaced allowed)."""
    x = to_default_float(as_tensor(input))
    ndim = x._data.ndim
    if dim is None:
        dims: tuple[int, ...] = tuple(range(ndim))
    else:
        given = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(check_dim("gradient", d, ndim) for d in given)
    if edge_order not in (1, 2):
        raise RuntimeError(
            f"gradient: edge_order must be 1 or 2 (one-sided differences of that order at the "
            f"ends), got {edge_order!r}"
        )
    if isinstance(spacing, (list, tuple)):
        steps = list(spacing)
        if len(steps) != len(dims):
            raise RuntimeError(
                f"gradient: spacing has {len(steps)} entries but there are {len(dims)} dims to "
                f"differentiate along ({list(dims)}): give one step or one coordinate tensor "
                "per dim, or a single number"
            )
    else:
        steps = [spacing] * len(dims)
    results = []
    for d, h in zip(dims, steps):
        n = x.shape[d]
        if n < edge_order + 1:
            raise RuntimeError(
                f"gradient: dim {d} has {n} samples; edge_order={edge_order} needs at least "
                f"{edge_order + 1} along each dim differentiated"
            )
        results.append(_gradient_along(x, d, n, h, edge_order))
    return tuple(results)


def _gradient_along(x: Tensor, d: int, n: int, h: Any, edge_order: int) -> Tensor:
    def f(start: int, length: int) -> Tensor:
        return narrow(x, d, start, length)

    if isinstance(h, Tensor) and h._data.ndim == 1:  # coordinates: uneven steps
        if h.shape[0] != n:
            raise RuntimeError(
                f"gradient: the coordinates along dim {d} have {h.shape[0]} entries for {n} samples"
            )
        along = [1] * x._data.ndim
        along[d] = -1
        dx = h[1:] - h[:-1]
        dx1, dx2 = dx[:-1].reshape(along), dx[1:].reshape(along)
        inner = (
            f(0, n - 2) * (-dx2 / (dx1 * (dx1 + dx2)))
            + f(1, n - 2) * ((dx2 - dx1) / (dx1 * dx2))
            + f(2, n - 2) * (dx1 / (dx2 * (dx1 + dx2)))
        )
        if edge_order == 1:
            first = (f(1, 1) - f(0, 1)) / dx[0]
            last = (f(n - 1, 1) - f(n - 2, 1)) / dx[-1]
        else:
            a, b = dx[0], dx[1]
            first = (
                f(0, 1) * (-(2 * a + b) / (a * (a + b)))
                + f(1, 1) * ((a + b) / (a * b))
                + f(2, 1) * (-a / (b * (a + b)))
            )
            a, b = dx[-2], dx[-1]
            last = (
                f(n - 3, 1) * (b / (a * (a + b)))
                + f(n - 2, 1) * (-(a + b) / (a * b))
                + f(n - 1, 1) * ((2 * b + a) / (b * (a + b)))
            )
        return cat([first, inner, last], d)
    step = h.item() if isinstance(h, Tensor) else h
    inner = (f(2, n - 2) - f(0, n - 2)) / (2 * step)
    if edge_order == 1:
        first = (f(1, 1) - f(0, 1)) / step
        last = (f(n - 1, 1) - f(n - 2, 1)) / step
    else:
        first = (f(0, 1) * -1.5 + f(1, 1) * 2.0 - f(2, 1) * 0.5) / step
        last = (f(n - 3, 1) * 0.5 - f(n - 2, 1) * 2.0 + f(n - 1, 1) * 1.5) / step
    return cat([first, inner, last], d)


# ---- counting (no gradient) ---------------------------------------------------------------------


@op(differentiable=False)
def histc(input: Any, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts of ``input`` in ``bins`` equal bins over [min, max] (the data's range when both are
    0); values outside are ignored. The counts have the input's float dtype."""
    x = as_tensor(input)
    a = x._data
    if a.dtype.kind != "f":
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{dtypes.name(a.dtype)}'")
    if int(bins) <= 0:
        raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins}")
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"torch.histc: max must be larger than min ({lo} > {hi})")
    counts, _ = np.histogram(a.reshape(-1), int(bins), (lo, hi))
    return Tensor._make(counts.astype(a.dtype))


class return_types:
    """Named results, like ``torch.return_types``."""

    histogram = namedtuple("histogram", ("hist", "bin_edges"))


@op(differentiable=False)
def histogram(
    input: Any, bins: Any = 100, *, range: Any = None, weight: Any = None, density: bool = False
) -> Any:
    """(hist, bin_edges): counts (or summed ``weight``) of ``input``'s elements in ``bins`` equal
    bins over ``range`` (the data's min and max by default), or in the bins between the edges of
    a 1-d tensor ``bins``; each bin holds its left edge, the last one its right edge too.
    ``density``: counts divided by their total and the bin widths.

    >>> import glassgrad as gg
    >>> hist, bin_edges = gg.histogram(gg.tensor([1.0, 2.0, 1.0]), bins=4, range=(0.0, 3.0))
    >>> hist, bin_edges
    (tensor([0., 2., 1., 0.]), tensor([0.0000, 0.7500, 1.5000, 2.2500, 3.0000]))
    """
    x = as_tensor(input)
    a = x._data
    if a.dtype.kind != "f":
        raise RuntimeError(
            f"histogram: input must be a float tensor, got dtype {dtypes.name(a.dtype)}"
        )
    if isinstance(bins, Tensor | np.ndarray):
        edges = as_tensor(bins)._data
        if edges.ndim != 1 or edges.dtype != a.dtype:
            raise RuntimeError(
                f"histogram: a bins tensor must be 1-d with the input's dtype "
                f"{dtypes.name(a.dtype)}, got shape {edges.shape} and dtype "
                f"{dtypes.name(edges.dtype)}"
            )
        if edges.size < 2:
            raise RuntimeError("histogram: bins must be > 0 (a bins tensor needs two edges)")
    else:
        edges = _histogram_edges(a, int(bins), range)
    flat = a.reshape(-1)
    w = None
    if weight is not None:
        w = as_tensor(weight)._data
        if w.shape != a.shape or w.dtype != a.dtype:
            raise RuntimeError(
                f"histogram: weight must have the input's shape {a.shape} and dtype "
                f"{dtypes.name(a.dtype)}, got shape {w.shape} and dtype {dtypes.name(w.dtype)}"
            )
        w = w.reshape(-1)
    # each value falls in the last bin whose left edge it reaches; the last bin is closed
    where = np.searchsorted(edges, flat, side="right") - 1
    where[flat == edges[-1]] = edges.size - 2
    inside = (flat >= edges[0]) & (flat <= edges[-1])
    if w is None:
        hist = np.bincount(where[inside], minlength=edges.size - 1).astype(a.dtype)
    else:  # summed in order in the input's dtype, as PyTorch sums them
        hist = np.zeros(edges.size - 1, a.dtype)
        np.add.at(hist, where[inside], w[inside])
    if density:
        with np.errstate(divide="ignore", invalid="ignore"):  # no data: NaN, as in PyTorch
            hist = (hist / hist.sum() / np.diff(edges)).astype(a.dtype)  # (PyTorch's order)
    return return_types.histogram(Tensor._make(hist), Tensor._make(edges.copy()))


def _histogram_edges(a: np.ndarray, bins: int, range: Any) -> np.ndarray:
    """``bins + 1`` equally spaced edges over ``range`` or the data's min and max (widened by
    0.5 each way when they are equal), spaced as ``torch.linspace`` spaces them."""
    from glassgrad.creation import linspace

    if bins <= 0:
        raise RuntimeError(f"histogram: bins must be > 0, but got {bins}")
    if range is not None:
        lo, hi = (float(v) for v in range)
    elif a.size:
        lo, hi = float(a.min()), float(a.max())
    else:
        lo, hi = 0.0, 1.0
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"histogram: the range [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"histogram: min should not exceed max, but got min {lo} max {hi}")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return linspace(lo, hi, bins + 1, dtype=a.dtype)._data


@op(differentiable=False)
def bincount(input: Any, weights: Any = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in a 1-d tensor of non-negative ints (the sum of
    ``weights`` at its positions, when given)."""
    a = as_tensor(input)._data
    if a.ndim != 1 or a.dtype.kind not in "iub":
        raise RuntimeError(
            f"bincount only supports 1-d non-negative integral inputs (got dtype {a.dtype}, "
            f"shape {a.shape})"
        )
    if a.size and a.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return Tensor._make(np.bincount(a, minlength=int(minlength)).astype(np.int64))
    w = as_tensor(weights)._data
    if w.shape != a.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dtype = w.dtype if w.dtype.kind == "f" else np.float64
    return Tensor._make(np.bincount(a, w, minlength=int(minlength)).astype(out_dtype))


@op
def diagflat(input: Any, offset: int = 0) -> Tensor:
    """A square matrix with the flattened ``input`` on diagonal ``offset``."""
    x = as_tensor(input)
    flat = x if x._data.ndim == 1 else reshape(x, (-1,))
    return DiagEmbed.apply(flat, int(offset), 0, 1)
