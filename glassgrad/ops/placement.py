"""Writing into a copy: ``index_copy``, ``index_fill``, ``scatter_reduce``, ``index_reduce``,
``masked_scatter``, ``put``, ``select_scatter``, ``slice_scatter``, ``diagonal_scatter`` and
``fill_diagonal_``.

Each forward writes with NumPy into a copy of the input. Each backward is written with the public
ops (``gather``, ``index_select``, ``masked_fill``...) on Tensors, so the same rule records under
``create_graph`` and second derivatives work; ``_lift``/``_unlift`` carry plain arrays across.
These are the third part of the indexing family (``indexing.py``, ``scatter.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim
from glassgrad.ops.comparison import where
from glassgrad.ops.indexing import getitem, masked_fill, masked_select, select, take
from glassgrad.ops.inplace import apply_inplace
from glassgrad.ops.joining import cat
from glassgrad.ops.registry import fast_inplace, op
from glassgrad.ops.scatter import (
    _along,
    _dim_args,
    _index_array,
    _src,
    _vector_index,
    gather,
    index_select,
    scatter,
)
from glassgrad.ops.shape import expand, reshape
from glassgrad.ops.structure import _diagonal_view, _two_dims, diagonal


def _lift(v: Any) -> Any:
    """An array as a constant Tensor (Tensors and None as they are), for rules written once."""
    return v if v is None or isinstance(v, Tensor) else Tensor._make(np.asarray(v))


def _unlift(g: Any, *grads: Any) -> tuple[Any, ...]:
    """The rule's results as the engine expects them: arrays unless ``g`` was a Tensor."""
    if isinstance(g, Tensor):
        return grads
    return tuple(t._data if isinstance(t, Tensor) else t for t in grads)


def _moved(a: np.ndarray, dim: int) -> np.ndarray:
    return np.moveaxis(a, dim, 0)


# ---- index_copy, index_fill ----------------------------------------------------------------------


class IndexCopy(Node):
    __slots__ = ("dim", "index")

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, index: Any, src: Any) -> Any:
        ctx.dim, ctx.index = dim, index
        out = x.copy()
        _moved(out, dim)[index] = _moved(src, dim)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        nx, _, _, ns = ctx.next
        G, d, i = _lift(g), ctx.dim, ctx.index
        gx = index_fill(G, d, i, 0) if nx is not None else None
        gs = index_select(G, d, i) if ns is not None else None
        return (*_unlift(g, gx, None, None, gs),)


class IndexFill(Node):
    __slots__ = ("dim", "index")

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, index: Any, value: Any) -> Any:
        ctx.dim, ctx.index = dim, index
        out = x.copy()
        _moved(out, dim)[index] = value
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        nx, _, _, nv = ctx.next
        G, d, i = _lift(g), ctx.dim, ctx.index
        gx = index_fill(G, d, i, 0) if nx is not None else None
        gv = index_select(G, d, np.unique(i)).sum() if nv is not None else None
        return (*_unlift(g, gx, None, None, gv),)


class IndexFillTensor(IndexFill):
    """``index_fill`` with a 0-d tensor value: PyTorch's ``IndexFillBackward1``."""

    __slots__ = ()
    op_name = "IndexFill"
    variant = 1


def _index_and_source(op: str, x: Tensor, dim: int, index: Any, source: Any) -> tuple:
    """(dim, index vector, source in x's dtype) checked as PyTorch's ``index_*`` ops check them."""
    d, a = _vector_index(op, x, dim, index)
    s = source if isinstance(source, Tensor) else as_tensor(np.asarray(source, x.dtype))
    expect = x.shape[:d] + (a.size,) + x.shape[d + 1 :]
    if tuple(s.shape) != expect:
        raise RuntimeError(
            f"{op}(): source tensor shape must match self tensor shape, excluding the specified "
            f"dimension, and have {a.size} elements along it (one per index). Got self.shape = "
            f"{list(x.shape)} source.shape = {list(s.shape)}"
        )
    if s.dtype != x.dtype:
        raise RuntimeError(
            f"{op}(): self ({x.dtype}) and source ({s.dtype}) must have the same scalar type"
        )
    return d, a, s


@op(inplace=True)
def index_copy(input: Any, dim: int, index: Any, source: Any) -> Tensor:
    """A copy of ``input`` whose slices at ``index`` along ``dim`` are the slices of ``source``."""
    x = as_tensor(input)
    if x.ndim == 0:
        src = as_tensor(source).reshape(-1)
        return index_copy(x.reshape(1), 0, np.reshape(_index_array("index_copy", index), -1), src)[
            0
        ]
    d, a, s = _index_and_source("index_copy", x, dim, index, source)
    return IndexCopy.apply(x, d, a, s)


@op(inplace=True)
def index_fill(input: Any, dim: int, index: Any, value: Any) -> Tensor:
    """A copy of ``input`` with ``value`` (a number or 0-d tensor) at ``index`` along ``dim``."""
    x = as_tensor(input)
    if x.ndim == 0:
        a = np.reshape(_index_array("index_fill", index), -1)
        return index_fill(x.reshape(1), 0, a, value).reshape(())
    d, a = _vector_index("index_fill", x, dim, index)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        if value.dtype != x.dtype:
            value = value.to(x.dtype)
        return IndexFillTensor.apply(x, d, a, value)
    return IndexFill.apply(x, d, a, np.asarray(value).astype(x.dtype).item())


# ---- scatter_reduce, index_reduce ----------------------------------------------------------------

_REDUCE_AT = {
    "sum": np.add,
    "mean": np.add,
    "prod": np.multiply,
    "amax": np.maximum,
    "amin": np.minimum,
}


def _identity(reduce: str, dtype: np.dtype) -> Any:
    """The value a position starts from when ``include_self=False``."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    return info.min if reduce == "amax" else info.max


def _counts(shape: tuple[int, ...], pos: Any, include_self: bool) -> np.ndarray:
    """How many values each position of the result averages (at least 1)."""
    n = np.full(shape, 1 if include_self else 0, np.int64)
    np.add.at(n, pos, 1)
    return np.maximum(n, 1)


def _reduce_into(x: Any, dim: int, index: Any, src: Any, reduce: str, include_self: bool) -> Any:
    out = x.copy()
    pos = _along(index, dim)
    if not include_self:
        out[pos] = _identity(reduce, out.dtype)
    _REDUCE_AT[reduce].at(out, pos, src)
    if reduce == "mean":
        n = _counts(x.shape, pos, include_self)
        if out.dtype.kind in "fc":
            out = (out / n).astype(out.dtype, copy=False)
        else:
            out = np.floor_divide(out, n).astype(out.dtype, copy=False)
    return out


class ScatterReduce(Node):
    __slots__ = ("dim", "include_self", "index", "reduce")

    @staticmethod
    def forward(
        ctx: Any, x: Any, dim: int, index: Any, src: Any, reduce: str, include_self: bool
    ) -> Any:
        ctx.dim, ctx.index, ctx.reduce, ctx.include_self = dim, index, reduce, include_self
        out = _reduce_into(x, dim, index, src, reduce, include_self)
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, src, out = ctx.saved_tensors
        gx, gs = _scatter_reduce_grads(
            _lift(g), _lift(x), _lift(src), _lift(out), ctx.dim, ctx.index, ctx.reduce,
            ctx.include_self,
        )  # fmt: skip
        return (*_unlift(g, gx, None, None, gs, None, None),)


class IndexReduce(ScatterReduce):
    """``index_reduce``: ``scatter_reduce`` with the index vector spread over the source's shape."""

    __slots__ = ()


def _scatter_reduce_grads(
    G: Tensor, X: Tensor, S: Tensor, R: Tensor, d: int, idx: Any, reduce: str, include_self: bool
) -> tuple[Tensor, Tensor]:
    """PyTorch's ``scatter_reduce_backward``: gradients for self and src."""
    x, s = X._data, S._data
    if reduce == "sum":
        gx, gs = G, gather(G, d, idx)
    elif reduce == "mean":
        n = _counts(x.shape, _along(idx, d), include_self).astype(x.dtype)
        gx, gs = G / n, gather(G, d, idx) / n[_along(idx, d)]
    elif reduce == "prod":
        masked_self = masked_fill(X, x == 0, 1)
        gx = G * scatter_reduce(masked_self, d, idx, S, "prod", include_self=include_self)
        gx = gx / masked_self
        src_zero = s == 0
        zeros = np.zeros(x.shape, x.dtype)
        np.add.at(zeros, _along(idx, d), src_zero.astype(x.dtype))
        single_zero = src_zero & (zeros[_along(idx, d)] == 1)
        masked_src = masked_fill(S, single_zero, 1)
        masked_result = scatter_reduce(X, d, idx, masked_src, "prod", include_self=include_self)
        gs = where(
            single_zero,
            gather(G * masked_result, d, idx),
            gather(G * R, d, idx) / masked_fill(S, src_zero, 1),
        )
    else:  # amax, amin: ties share the gradient evenly
        r = R._data
        self_is = (x == r).astype(x.dtype)
        src_is = (s == r[_along(idx, d)]).astype(x.dtype)
        n = self_is.copy()
        np.add.at(n, _along(idx, d), src_is)
        share = G / n
        gx, gs = share * self_is, gather(share, d, idx) * src_is
    if not include_self:
        gx = scatter(gx, d, idx, 0)
    return gx, gs


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _check_reduce(op: str, reduce: str, allowed: tuple[str, ...]) -> None:
    if reduce not in allowed:
        raise RuntimeError(
            f"{op}(): reduce argument must be one of {', '.join(allowed)}, but got {reduce!r}"
        )


@op(inplace=True)
def scatter_reduce(
    input: Any, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True
) -> Tensor:
    """``input`` with the values of ``src`` reduced (sum, prod, mean, amax, amin) into the
    positions ``index`` along ``dim``; ``include_self=False`` leaves the old values out."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # (PyTorch's older spellings)
    _check_reduce("scatter_reduce", reduce, _REDUCES)
    x = as_tensor(input)
    s = as_tensor(src)
    if s.dtype != x.dtype:
        raise RuntimeError(
            f"scatter_reduce(): Expected self.dtype to be equal to src.dtype, got {x.dtype} and "
            f"{s.dtype}"
        )
    if x.ndim == 0 and np.ndim(index) == 0:
        a = np.reshape(_index_array("scatter_reduce", index), 1)
        out = scatter_reduce(x.reshape(1), 0, a, s.reshape(1), reduce, include_self=include_self)
        return out.reshape(())
    d, a = _dim_args("scatter_reduce", x, dim, index, s.shape)
    return _checked(ScatterReduce, "scatter_reduce", x, d, a, _src(s, x, a), reduce, include_self)


def _checked(cls: Any, op: str, x: Tensor, d: int, a: np.ndarray, *rest: Any) -> Tensor:
    n = x.shape[d] if x.ndim else 1
    if a.size and (a.min() < -n or a.max() >= n):
        bad = a.max() if a.max() >= n else a.min()
        raise RuntimeError(
            f"{op}(): index {bad} is out of bounds for dimension {d} with size {n} (input of "
            f"shape {tuple(x.shape)})"
        )
    return cls.apply(x, d, a, *rest)


@op(inplace=True)
def index_reduce(
    input: Any, dim: int, index: Any, source: Any, reduce: str, *, include_self: bool = True
) -> Tensor:
    """``input`` with the slices of ``source`` reduced (prod, mean, amax, amin) into the slices at
    ``index`` along ``dim``; ``include_self=False`` leaves the old values out."""
    _check_reduce("index_reduce", reduce, ("prod", "mean", "amax", "amin"))
    x = as_tensor(input)
    if x.ndim == 0:
        a = np.reshape(_index_array("index_reduce", index), -1)
        s = as_tensor(source).reshape(-1)
        return index_reduce(x.reshape(1), 0, a, s, reduce, include_self=include_self)[0]
    d, a, s = _index_and_source("index_reduce", x, dim, index, source)
    spread = np.broadcast_to(a.reshape((-1,) + (1,) * (x.ndim - d - 1)), s.shape)
    return IndexReduce.apply(x, d, np.ascontiguousarray(spread), s, reduce, include_self)


# ---- masked_scatter, put -------------------------------------------------------------------------


class MaskedScatter(Node):
    __slots__ = ("mask", "src_shape")

    @staticmethod
    def forward(ctx: Any, x: Any, mask: Any, src: Any) -> Any:
        ctx.mask, ctx.src_shape = mask, src.shape
        out = x.copy()
        out[mask] = src.reshape(-1)[: int(np.count_nonzero(mask))]
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        nx, _, ns = ctx.next
        G, m = _lift(g), ctx.mask
        gx = masked_fill(G, m, 0) if nx is not None else None
        gs = None
        if ns is not None:
            picked = masked_select(G, m)
            rest = int(np.prod(ctx.src_shape)) - picked.shape[0]
            if rest:
                picked = cat([picked, Tensor._make(np.zeros(rest, G.dtype))])
            gs = reshape(picked, ctx.src_shape)
        return (*_unlift(g, gx, None, gs),)


@op(inplace=True)
def masked_scatter(input: Any, mask: Any, source: Any) -> Tensor:
    """A copy of ``input`` whose positions where ``mask`` is True take ``source``'s elements, in
    order (``source`` needs at least as many elements as ``mask`` has True values)."""
    x, s = as_tensor(input), as_tensor(source)
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(
            f"masked_scatter_ only supports boolean masks, but got mask with dtype {m.dtype}"
        )
    if s.dtype != x.dtype:
        raise RuntimeError(
            f"masked_scatter: expected self and source to have same dtypes but got {x.dtype} "
            f"and {s.dtype}"
        )
    try:
        shape = np.broadcast_shapes(x._data.shape, m.shape)
    except ValueError:
        raise RuntimeError(
            f"masked_scatter: the mask of shape {tuple(m.shape)} does not broadcast with the "
            f"tensor of shape {tuple(x.shape)}"
        ) from None
    if x._data.shape != shape:
        x = expand(x, *shape)
    m = np.broadcast_to(m, shape)
    n = int(np.count_nonzero(m))
    if s._data.size < n:
        raise RuntimeError(
            f"masked_scatter: expected source to have at least {n} elements (the True values of "
            f"the mask), got source of shape {tuple(s.shape)}"
        )
    return MaskedScatter.apply(x, m, s)


class Put(Node):
    __slots__ = ("accumulate", "index", "src_shape")

    @staticmethod
    def forward(ctx: Any, x: Any, index: Any, src: Any, accumulate: bool) -> Any:
        ctx.index, ctx.accumulate, ctx.src_shape = index, accumulate, src.shape
        out = x.copy()
        flat = out.reshape(-1)  # (a view: out is contiguous)
        if accumulate:
            np.add.at(flat, index, src.reshape(-1))
        else:
            flat[index] = src.reshape(-1)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        nx, _, ns, _ = ctx.next
        G, i = _lift(g), ctx.index
        gx = gs = None
        if nx is not None:
            gx = G if ctx.accumulate else put(G, i, Tensor._make(np.zeros(i.shape, G.dtype)))
        if ns is not None:
            gs = reshape(take(G, i), ctx.src_shape)
        return (*_unlift(g, gx, None, gs, None),)


@op(inplace=True)
def put(input: Any, index: Any, source: Any, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written (or added) at the flat positions ``index``."""
    x, s = as_tensor(input), as_tensor(source)
    a = _index_array("put", index).reshape(-1)
    if s._data.size != a.size:
        raise RuntimeError(
            f"put(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {s._data.size}, index.numel() = {a.size}"
        )
    if s.dtype != x.dtype:
        raise RuntimeError(
            f"put(): self ({x.dtype}) and source ({s.dtype}) must have the same scalar type"
        )
    n = x._data.size
    if a.size and (a.min() < -n or a.max() >= n):
        bad = a.max() if a.max() >= n else a.min()
        raise IndexError(
            f"put(): index {bad} out of range for tensor of size {list(x.shape)} ({n} elements)"
        )
    return Put.apply(x, np.where(a < 0, a + n, a), s, bool(accumulate))


# ---- select_scatter, slice_scatter, diagonal_scatter --------------------------------------------


class _ViewScatter(Node):
    """``src`` written into a copy of ``x`` through a view (``key`` says which); the input gets
    ``g`` with that view zeroed, ``src`` gets the view of ``g``."""

    __slots__ = ("key",)

    @staticmethod
    def view(a: np.ndarray, key: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def pick(g: Tensor, key: Any) -> Tensor:
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx: Any, x: Any, src: Any, key: Any) -> Any:
        ctx.key = key
        out = np.array(x, copy=True)
        cls.view(out, key)[...] = src
        return out

    @classmethod
    def backward(cls, ctx: Any, g: Any) -> Any:
        nx, ns, _ = ctx.next
        G, key = _lift(g), ctx.key
        gs = cls.pick(G, key)
        gx = None
        if nx is not None:
            gx = cls.apply(G, Tensor._make(np.zeros(gs.shape, G.dtype)), key)
        return (*_unlift(g, gx, gs if ns is not None else None, None),)


class SelectScatter(_ViewScatter):
    __slots__ = ()

    @staticmethod
    def view(a: np.ndarray, key: Any) -> np.ndarray:
        return a[key]

    @staticmethod
    def pick(g: Tensor, key: Any) -> Tensor:
        return getitem(g, key)


class SliceScatter(SelectScatter):
    __slots__ = ()


class DiagonalScatter(_ViewScatter):
    __slots__ = ()

    @staticmethod
    def view(a: np.ndarray, key: Any) -> np.ndarray:
        return _diagonal_view(a, *key)

    @staticmethod
    def pick(g: Tensor, key: Any) -> Tensor:
        return diagonal(g, *key)


def _scatter_src(op: str, x: Tensor, src: Any, expect: tuple[int, ...]) -> Tensor:
    s = as_tensor(src)
    if tuple(s.shape) != tuple(expect):
        raise RuntimeError(
            f"{op}(): expected src to have a size equal to the slice of self. src size = "
            f"{list(s.shape)}, slice size = {list(expect)} (self of shape {tuple(x.shape)})"
        )
    if s.dtype != x.dtype:
        raise RuntimeError(f"{op}(): self ({x.dtype}) and src ({s.dtype}) have different dtypes")
    return s


@op
def select_scatter(input: Any, src: Any, dim: int, index: int) -> Tensor:
    """A copy of ``input`` whose slice ``select(dim, index)`` is ``src``."""
    x = as_tensor(input)
    shape = select(Tensor._make(x._data), dim, index).shape  # (checks dim and index)
    d = check_dim("select_scatter", dim, x.ndim)
    s = _scatter_src("select_scatter", x, src, shape)
    key = (slice(None),) * d + (int(index), ...)
    return SelectScatter.apply(x, s, key)


@op
def slice_scatter(
    input: Any, src: Any, dim: int = 0, start: Any = None, end: Any = None, step: int = 1
) -> Tensor:
    """A copy of ``input`` whose slice ``[start:end:step]`` along ``dim`` is ``src``."""
    x = as_tensor(input)
    d = check_dim("slice_scatter", dim, x.ndim)
    if step <= 0:
        raise RuntimeError("slice_scatter(): slice step must be positive")
    key = (slice(None),) * d + (slice(start, end, step),)
    s = _scatter_src("slice_scatter", x, src, x._data[key].shape)
    return SliceScatter.apply(x, s, key)


@op
def diagonal_scatter(input: Any, src: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A copy of ``input`` whose diagonal (``offset``, dims ``dim1`` and ``dim2``) is ``src``."""
    x = as_tensor(input)
    d1, d2 = _two_dims("diagonal_scatter", dim1, dim2, x.ndim)
    key = (int(offset), d1, d2)
    s = _scatter_src("diagonal_scatter", x, src, np.diagonal(x._data, *key).shape)
    return DiagonalScatter.apply(x, s, key)


# ---- fill_diagonal_ ------------------------------------------------------------------------------


class FillDiagonal(Node):
    """What ``fill_diagonal_`` records (PyTorch writes through a view: ``CopySlices``)."""

    __slots__ = ("index",)

    @staticmethod
    def forward(ctx: Any, x: Any, index: Any, value: Any) -> Any:
        ctx.index = index
        out = x.copy()
        out.reshape(-1)[index] = value
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        G = _lift(g)
        gx = put(G, ctx.index, Tensor._make(np.zeros(ctx.index.shape, G.dtype)))
        return (*_unlift(g, gx, None, None),)


def _diagonal_positions(shape: tuple[int, ...], wrap: bool) -> np.ndarray:
    """Flat positions of the main diagonal, as ``fill_diagonal_`` fills it."""
    if len(shape) == 2:
        rows, cols = shape
        step = cols + 1
        end = rows * cols if wrap and rows > cols else min(rows, cols) * cols
        return np.arange(0, end, step, dtype=np.int64)[: rows * cols]
    n = shape[0]
    step = sum(n**k for k in range(len(shape)))
    return np.arange(n, dtype=np.int64) * step


def _filled_diagonal(input: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    shape = tuple(input._data.shape)
    if len(shape) < 2:
        raise RuntimeError(
            f"fill_diagonal_: dimensions must larger than 1, got a tensor of shape {shape}"
        )
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError(
            f"fill_diagonal_: all dimensions of input must be of equal length, got shape {shape}"
        )
    positions = _diagonal_positions(shape, wrap)
    value = np.asarray(fill_value).astype(input.dtype).item()
    return FillDiagonal.apply(input, positions, value)


@fast_inplace("fill_diagonal_")
def fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Fill the main diagonal in place (``wrap``: tall matrices restart it every ``cols + 1``
    rows, as NumPy's ``fill_diagonal`` does)."""
    return apply_inplace(self, "fill_diagonal_", _filled_diagonal, fill_value, wrap)
