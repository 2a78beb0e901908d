"""Gather and scatter along a dim: ``gather``, ``scatter``, ``scatter_add``, ``index_select``...

Each op's gradient is another op of this module, so gradients of gradients work: the backward of
``gather`` is a ``scatter_add`` into zeros and the backward of ``scatter_add``'s source is a
``gather``; ``index_select`` and ``index_add`` pair up the same way. ``glassgrad.ops.indexing``
re-exports everything here (this is the second half of the indexing family).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim
from glassgrad.ops.registry import op

# ---- accumulation: out[index] += src with repeated indices adding up -----------------------------

_ROWS_MIN = 4096  # below this many elements np.add.at is fastest; above, sort and sum runs of rows
_BINCOUNT_MIN = 1024


def add_at(out: np.ndarray, index: Any, src: Any) -> None:
    """``out[index] += src`` where repeated indices add up (``out`` is ours to write)."""
    if (
        type(index) is tuple
        and len(index) == 1
        and index[0].ndim == 1
        and index[0].dtype != np.bool_
        and out.ndim > 1
        and np.size(src) >= _ROWS_MIN
    ):
        _add_rows(out, index[0], src)
    else:
        np.add.at(out, index, src)


def _add_rows(out: np.ndarray, rows: np.ndarray, src: Any) -> None:
    """``out[rows[i]] += src[i]``: sort the rows and sum each run (much faster than np.add.at)."""
    src = np.broadcast_to(src, rows.shape + out.shape[1:])
    if rows.min() < 0:
        rows = np.where(rows < 0, rows + out.shape[0], rows)
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    out[ordered[starts]] += np.add.reduceat(src[order], starts, axis=0)


def _along(index: np.ndarray, dim: int) -> tuple[np.ndarray, ...]:
    """NumPy index for ``x[i][index[i][j][k]][k]`` (dim=1): ``index`` at dim, ranges elsewhere."""
    nd = index.ndim
    parts = [np.arange(n).reshape((n,) + (1,) * (nd - d - 1)) for d, n in enumerate(index.shape)]
    parts[dim] = index
    return tuple(parts)


def _scatter_add_into(out: np.ndarray, dim: int, index: np.ndarray, src: Any) -> None:
    pos = _along(index, dim)
    if np.size(src) >= _BINCOUNT_MIN and out.dtype.kind == "f":
        # NOTE: bincount over flat positions is 2-3x faster than np.add.at for big scatters
        flat = np.ravel_multi_index(pos, out.shape).reshape(-1)
        sums = np.bincount(flat, np.broadcast_to(src, index.shape).reshape(-1), out.size)
        out += sums.reshape(out.shape).astype(out.dtype, copy=False)
    else:
        np.add.at(out, pos, src)


def _add_along(out: np.ndarray, dim: int, index: np.ndarray, src: Any) -> None:
    """``out.index_add_(dim, index, src)`` on arrays."""
    add_at(np.moveaxis(out, dim, 0), (index,), np.moveaxis(src, dim, 0))


# ---- gather, scatter, scatter_add ----------------------------------------------------------------


class Gather(Node):
    __slots__ = ("dim", "in_shape", "index")

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, index: Any) -> Any:
        ctx.dim, ctx.index, ctx.in_shape = dim, index, x.shape
        return x[_along(index, dim)]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _gather_grad(g, ctx.in_shape, ctx.dim, ctx.index), None, None


class Scatter(Node):
    __slots__ = ("dim", "index")

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, index: Any, src: Any) -> Any:
        ctx.dim, ctx.index = dim, index
        out = x.copy()
        out[_along(index, dim)] = src
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        nx, _, _, ns = ctx.next
        dim, index = ctx.dim, ctx.index
        gx = _zero_along(g, dim, index) if nx is not None else None
        return gx, None, None, (_gather(g, dim, index) if ns is not None else None)


class ScatterValue(Scatter):
    """``scatter`` of a number: PyTorch's ``value`` overload, ``ScatterBackward1``."""

    __slots__ = ()
    op_name = "Scatter"
    variant = 1


class ScatterAdd(Node):
    __slots__ = ("dim", "index")

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, index: Any, src: Any) -> Any:
        ctx.dim, ctx.index = dim, index
        out = x.copy()
        _scatter_add_into(out, dim, index, src)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        ns = ctx.next[3]
        return g, None, None, (_gather(g, ctx.dim, ctx.index) if ns is not None else None)


def _gather(g: Any, dim: int, index: np.ndarray) -> Any:
    if isinstance(g, Tensor):
        return Gather.apply(g, dim, index)
    return g[_along(index, dim)]


def _gather_grad(g: Any, shape: tuple[int, ...], dim: int, index: np.ndarray) -> Any:
    if isinstance(g, Tensor):
        return ScatterAdd.apply(Tensor._make(np.zeros(shape, g.dtype)), dim, index, g)
    out = np.zeros(shape, g.dtype)
    _scatter_add_into(out, dim, index, g)
    return out


def _zero_along(g: Any, dim: int, index: np.ndarray) -> Any:
    if isinstance(g, Tensor):
        return Scatter.apply(g, dim, index, 0)
    out = g.copy()
    out[_along(index, dim)] = 0
    return out


def _index_array(op: str, index: Any) -> np.ndarray:
    a = index._data if isinstance(index, Tensor) else np.asarray(index)
    if a.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {a.dtype}")
    return a


def _check_bounds(op: str, a: np.ndarray, dim: int, n: int, wrap: bool = False) -> None:
    """PyTorch's error for an index outside [0, n) (or [-n, n) where negatives wrap)."""
    if a.size:
        lo, hi, low = a.min(), a.max(), (-n if wrap else 0)
        if lo < low or hi >= n:
            raise RuntimeError(
                f"{op}(): index {lo if lo < low else hi} is out of bounds for dimension {dim} "
                f"with size {n}"
            )


def _dim_args(op: str, x: Tensor, dim: int, index: Any, src_shape: Any = None) -> tuple:
    """Validate (dim, index) as PyTorch does; returns the wrapped dim and the index array."""
    d = check_dim(op, dim, x.ndim)
    a = _index_array(op, index)
    if a.ndim != x.ndim:
        raise RuntimeError(
            f"{op}(): Index tensor must have the same number of dimensions as input tensor "
            f"(index has {a.ndim}, input has shape {tuple(x.shape)})"
        )
    for k, (i, s) in enumerate(zip(a.shape, x.shape)):
        if k != d and i > s:
            raise RuntimeError(
                f"{op}(): Size does not match at dimension {k}: expected index {list(a.shape)} to "
                f"be no larger than self {list(x.shape)} apart from dimension {d}"
            )
    if src_shape is not None and any(i > s for i, s in zip(a.shape, src_shape)):
        raise RuntimeError(
            f"{op}(): Expected index {list(a.shape)} to be no larger size than src "
            f"{list(src_shape)}"
        )
    if a.size and a.min() < 0:  # NumPy would wrap these; too-large ones it reports itself
        _check_bounds(op, a, d, x.shape[d] if x.ndim else 1)
    return d, a


def _run(op: str, fn: Any, x: Tensor, d: int, a: np.ndarray, *rest: Any) -> Tensor:
    """``fn.apply(x, d, a, *rest)``, turning NumPy's out-of-range errors into PyTorch's."""
    try:
        return fn.apply(x, d, a, *rest)
    except (IndexError, ValueError):
        _check_bounds(op, a, d, x.shape[d] if x.ndim else 1)
        raise


def _zero_d(fn: Any, x: Tensor, dim: int, index: Any, *rest: Any) -> Tensor:
    """0-d input and index: run the op on 1-element vectors and give back a 0-d result."""
    one = lambda t: t.reshape(1) if isinstance(t, Tensor) else np.reshape(t, 1)  # noqa: E731
    return fn(x.reshape(1), dim, one(index), *(one(r) for r in rest)).reshape(())


@op
def gather(input: Any, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` for dim=1; the gradient is scattered back with adds.

    >>> import glassgrad as gg
    >>> gg.gather(gg.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, gg.tensor([[1, 1], [0, 1]]))
    tensor([[2., 2.],
            [3., 4.]])
    """
    x = as_tensor(input)
    if x.ndim == 0 and np.ndim(index) == 0:
        return _zero_d(gather, x, dim, index)
    d, a = _dim_args("gather", x, dim, index)
    return _run("gather", Gather, x, d, a)


def _src(src: Any, x: Tensor, a: np.ndarray) -> Any:
    """``src`` cut to the index's shape (PyTorch reads only that corner) in ``x``'s dtype."""
    if not isinstance(src, Tensor):
        return np.asarray(src, x.dtype)
    if src.dtype != x.dtype:
        src = src.to(x.dtype)
    if src.shape != a.shape:
        src = src[tuple(slice(0, n) for n in a.shape)]
    return src


@op(inplace=True)
def scatter(
    input: Any,
    dim: int,
    index: Any,
    src: Any = None,
    value: Any = None,
    *,
    reduce: str | None = None,
) -> Tensor:
    """A copy of ``input`` with ``src`` (or the number ``value``) written at ``index`` along dim.

    Written positions take their gradient from ``src``; elsewhere it flows to ``input``.
    """
    if src is None:
        src = value
    if reduce is not None:
        if reduce != "add":
            raise NotImplementedError(f"scatter: reduce={reduce!r} is not supported (only 'add')")
        if not isinstance(src, Tensor):
            src = np.full(np.shape(index), src, as_tensor(input).dtype)
        return scatter_add(input, dim, index, src)
    x = as_tensor(input)
    if x.ndim == 0 and np.ndim(index) == 0:
        return _zero_d(scatter, x, dim, index, src)
    is_tensor = isinstance(src, Tensor)
    d, a = _dim_args("scatter", x, dim, index, src.shape if is_tensor else None)
    if not is_tensor:  # a number: written as it is (NumPy casts it to x's dtype)
        if np.ndim(src) != 0:
            raise TypeError(f"scatter(): src must be a tensor or a number, got {type(src)}")
        v = src.item() if isinstance(src, np.ndarray) else src
        return _run("scatter", ScatterValue, x, d, a, v)
    return _run("scatter", Scatter, x, d, a, _src(src, x, a))


@op(inplace=True)
def scatter_add(input: Any, dim: int, index: Any, src: Any) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats add up)."""
    x = as_tensor(input)
    if x.ndim == 0 and np.ndim(index) == 0:
        return _zero_d(scatter_add, x, dim, index, src)
    d, a = _dim_args("scatter_add", x, dim, index, np.shape(src))
    return _run("scatter_add", ScatterAdd, x, d, a, _src(src, x, a))


@op(numpy={np.take_along_axis: lambda arr, indices, axis=-1: take_along_dim(arr, indices, axis)})
def take_along_dim(input: Any, indices: Any, dim: int | None = None) -> Tensor:
    """Pick along ``dim`` at ``indices``, broadcasting the other dims (flattened if dim is None)."""
    x = as_tensor(input)
    a = _index_array("take_along_dim", indices)
    if dim is None:
        a = a.reshape(-1)
        _check_bounds("take_along_dim", a, 0, x._data.size)
        return Gather.apply(x.reshape(-1), 0, a)
    if a.ndim != x.ndim:
        raise RuntimeError(
            "take_along_dim(): input and indices should have the same number of dimensions, "
            f"but got {x.ndim} dimensions for input, and {a.ndim} dimensions for indices"
        )
    d = check_dim("take_along_dim", dim, x.ndim)
    if x.ndim == 0:
        return _zero_d(gather, x, 0, a)
    n = x.shape[d]
    rest = np.broadcast_shapes(_without(x.shape, d), _without(a.shape, d))
    if _without(x.shape, d) != rest:
        x = x.expand(*(rest[:d] + (n,) + rest[d:]))
    a = np.broadcast_to(a, rest[:d] + (a.shape[d],) + rest[d:])
    _check_bounds("take_along_dim", a, d, n, wrap=True)
    return Gather.apply(x, d, np.where(a < 0, a + n, a))


def _without(shape: tuple[int, ...], d: int) -> tuple[int, ...]:
    return shape[:d] + shape[d + 1 :]


# ---- index_select, index_add ---------------------------------------------------------------------


class IndexSelect(Node):
    __slots__ = ("dim", "in_shape", "index")

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, index: Any) -> Any:
        ctx.dim, ctx.index, ctx.in_shape = dim, index, x.shape
        return np.take(x, index, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        dim, index = ctx.dim, ctx.index
        if isinstance(g, Tensor):
            zeros = Tensor._make(np.zeros(ctx.in_shape, g.dtype))
            return IndexAdd.apply(zeros, dim, index, g, 1), None, None
        out = np.zeros(ctx.in_shape, g.dtype)
        _add_along(out, dim, index, g)
        return out, None, None


class IndexAdd(Node):
    __slots__ = ("alpha", "dim", "index")

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, index: Any, src: Any, alpha: Any) -> Any:
        ctx.dim, ctx.index, ctx.alpha = dim, index, alpha
        out = x.copy()
        _add_along(out, dim, index, src if alpha == 1 else src * alpha)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        gs = None
        if ctx.next[3] is not None:
            gs = _index_select(g, ctx.dim, ctx.index)
            if ctx.alpha != 1:
                gs = gs * ctx.alpha
        return g, None, None, gs, None


def _index_select(g: Any, dim: int, index: np.ndarray) -> Any:
    if isinstance(g, Tensor):
        return IndexSelect.apply(g, dim, index)
    return np.take(g, index, axis=dim)


def _vector_index(op: str, x: Tensor, dim: int, index: Any) -> tuple[int, np.ndarray]:
    d = check_dim(op, dim, x.ndim)
    a = _index_array(op, index)
    if a.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, got shape {tuple(a.shape)}")
    a = a.reshape(-1)
    n = x.shape[d] if x.ndim else 1
    if a.size and (a.min() < 0 or a.max() >= n):
        bad = a[(a < 0) | (a >= n)][0]
        raise IndexError(
            f"{op}(): index {bad} is out of range for dimension {d} with size {n} (tensor of "
            f"shape {tuple(x.shape)})"
        )
    return d, a


@op
def index_select(input: Any, dim: int, index: Any) -> Tensor:
    """The slices of ``input`` at the positions ``index`` (a vector) along ``dim``."""
    x = as_tensor(input)
    if x.ndim == 0:
        return _zero_d(index_select, x, dim, np.reshape(_index_array("index_select", index), ()))
    d, a = _vector_index("index_select", x, dim, index)
    return IndexSelect.apply(x, d, a)


@op(inplace=True)
def index_add(input: Any, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at positions ``index`` along ``dim``."""
    x = as_tensor(input)
    d, a = _vector_index("index_add", x, dim, index)
    s = source if isinstance(source, Tensor) else as_tensor(np.asarray(source, x.dtype))
    expect = x.shape[:d] + (a.size,) + x.shape[d + 1 :] if x.ndim else ()
    if tuple(s.shape) != expect and not (x.ndim == 0 and s.shape == (a.size,)):
        raise RuntimeError(
            "index_add(): source tensor shape must match self tensor shape, excluding the "
            f"specified dimension, and have {a.size} elements along it (one per index). Got "
            f"self.shape = {list(x.shape)} source.shape = {list(s.shape)}"
        )
    if s.dtype != x.dtype:
        s = s.to(x.dtype)
    if x.ndim == 0:
        return IndexAdd.apply(x.reshape(1), 0, a, s.reshape(a.size), alpha).reshape(())
    return IndexAdd.apply(x, d, a, s, alpha)
