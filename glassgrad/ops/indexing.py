"""Indexing: ``t[...]`` with ints, slices, None, Ellipsis, index tensors and masks, and its inverse.

An index is first rewritten into a NumPy index with PyTorch's meaning (``_normalize``), tagged with
a *mode*: 0 basic (ints, slices, None, Ellipsis: the result is a view), 1 advanced with one boolean
mask (no element is picked twice), 2 other advanced indexing (elements may repeat). The backward of
picking is scattering into zeros: plain assignment for modes 0 and 1, accumulation for mode 2, where
repeated indices add up. Each rule's inverse is itself an op here, so second derivatives work:
getitem <-> index-add-into-zeros, index_put <-> getitem.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np

from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim
from glassgrad.ops.registry import op
from glassgrad.ops.scatter import (
    add_at,
)

BASIC, MASK, ADVANCED = 0, 1, 2
_BAD_ENTRY = (
    "only integers, slices (`:`), ellipsis (`...`), None and long or byte tensors are valid"
)


def view_of(out: Tensor, x: Tensor) -> Tensor:
    """Mark ``out`` as a view of ``x`` when it shares ``x``'s memory: one version counter for both.

    NumPy keeps ``.base`` pointing at the array that owns the memory, so comparing owners is exact.
    """
    base = out._data.base
    if base is not None and (base is x._data or base is x._data.base):
        out._vc = x._vc
        out._base = x if x._base is None else x._base
    return out


# ---- turning a PyTorch index into a NumPy index --------------------------------------------------


def _is_int(e: Any) -> bool:
    """An int entry: Python's, or a subclass (not bool, which is a mask)."""
    return type(e) is int or (isinstance(e, int) and not isinstance(e, bool))


def _entry(e: Any) -> Any:
    """One entry of an index, as NumPy should read it (int, slice, None, Ellipsis or an array)."""
    if e is None or e is Ellipsis or type(e) is slice:
        return e
    if isinstance(e, Tensor):
        e = e._data
    elif isinstance(e, (list, tuple, range)):  # a range is a sequence of indices, as in PyTorch
        e = np.asarray(e)
        if e.size == 0:
            e = e.astype(np.int64)
    elif type(e) is bool or isinstance(e, np.bool_):
        return None if e else np.zeros((), bool)  # x[True] adds a dim (a view), x[False] empties
    elif isinstance(e, np.integer):
        return int(e)
    elif isinstance(e, int):  # an int subclass (glassgrad.compile's traced .item()): as it is
        return e
    elif not isinstance(e, np.ndarray):
        raise IndexError(f"{_BAD_ENTRY} indices (got {type(e).__name__})")
    kind = e.dtype.kind
    if kind == "b":
        return e
    if kind in "iu":
        if e.dtype == np.uint8:  # PyTorch reads byte tensors as masks
            warnings.warn(
                "indexing with dtype uint8 is deprecated, use a bool mask instead",
                UserWarning,
                stacklevel=5,
            )
            return e.astype(bool)
        return int(e) if e.ndim == 0 else e  # a 0-d integer tensor acts as an int (a view)
    raise IndexError(
        f"tensors used as indices must be long, int, byte or bool tensors (got dtype {e.dtype})"
    )


def _as_tuple(index: Any) -> tuple[Any, ...]:
    if type(index) is tuple:
        return index
    # PyTorch (still) reads x[[a, b]] as x[a, b] when the list holds sequences, slices or None.
    if (
        type(index) is list
        and len(index) < 32
        and any(isinstance(e, (list, tuple, slice, Tensor, np.ndarray)) or e is None for e in index)
    ):
        warnings.warn(
            "Using a non-tuple sequence for multidimensional indexing is deprecated; use "
            "x[tuple(seq)] instead of x[seq]",
            UserWarning,
            stacklevel=4,
        )
        return tuple(index)
    return (index,)


def _normalize(index: Any, shape: tuple[int, ...]) -> tuple[tuple[Any, ...], int]:
    """(NumPy index, mode) for a PyTorch index on a tensor of ``shape``."""
    t = type(index)
    if t is int:
        return (index, ...), BASIC  # the Ellipsis keeps NumPy returning views, never scalars
    if t is slice and (index.step is None or index.step > 0):
        return (index, ...), BASIC
    entries: list[Any] = [
        e if type(e) is int or (type(e) is slice and (e.step is None or e.step > 0)) else _entry(e)
        for e in _as_tuple(index)
    ]
    n_adv = n_mask = 0
    has_int = has_ellipsis = False
    for e in entries:
        te = type(e)
        if isinstance(e, np.ndarray):  # (a subclass too: glassgrad.compile records with one)
            n_adv += 1
            n_mask += e.dtype == np.bool_
        elif te is int or _is_int(e):
            has_int = True
        elif e is Ellipsis:
            has_ellipsis = True
        elif te is slice and e.step is not None and e.step <= 0:
            raise ValueError("step must be greater than zero")
    if n_adv == 0:
        if not has_ellipsis:
            entries.append(Ellipsis)
        return tuple(entries), BASIC
    if has_int and _numpy_order_differs(entries):
        return _torch_order(entries, shape), ADVANCED
    return tuple(entries), (MASK if n_adv == 1 and n_mask == 1 else ADVANCED)


def _numpy_order_differs(entries: list[Any]) -> bool:
    """Would NumPy place the indexed dims elsewhere than PyTorch does?

    NumPy counts ints as advanced indices, PyTorch applies them first (as ``select``). The two
    disagree when ints and index arrays are separated by a slice/None/Ellipsis while the arrays
    themselves are adjacent: NumPy then moves the indexed dims to the front, PyTorch keeps them.
    """
    kinds = ["a" if isinstance(e, np.ndarray) else "i" if _is_int(e) else "s" for e in entries]
    adv = [k for k, c in enumerate(kinds) if c != "s"]
    if adv[-1] - adv[0] + 1 == len(adv):
        return False  # NumPy keeps them in place too
    arrays = [k for k, c in enumerate(kinds) if c == "a"]
    if "s" in kinds[arrays[0] : arrays[-1]]:
        return False  # both move them to the front
    return "s" in kinds[: arrays[0]]


def _torch_order(entries: list[Any], shape: tuple[int, ...]) -> tuple[Any, ...]:
    """PyTorch's two steps (ints and slices, then arrays) as one all-array NumPy index (rare)."""
    first: list[Any] = []
    then: list[Any] = []
    for e in entries:
        if _is_int(e):
            first.append(e)
        elif isinstance(e, np.ndarray):
            first.extend([slice(None)] * (e.ndim if e.dtype == np.bool_ else 1))
            then.append(e)
        else:
            first.append(e)
            then.append(Ellipsis if e is Ellipsis else slice(None))
    flat = np.arange(int(np.prod(shape)), dtype=np.intp).reshape(shape)
    return np.unravel_index(flat[tuple(first)][tuple(then)], shape)


def normalize_index(x: Tensor, index: Any) -> tuple[Any, ...]:
    """The NumPy index with PyTorch's meaning for ``x[index]`` (also used by ``x[index] = v``)."""
    try:
        return _normalize(index, x.shape)[0]
    except IndexError as e:
        raise IndexError(index_message(e, x.shape, index)) from None


def _describe(index: Any) -> str:
    def one(e: Any) -> str:
        if isinstance(e, (Tensor, np.ndarray)):
            return f"<{e.dtype} tensor of shape {tuple(e.shape)}>"
        if type(e) is slice:
            parts = ["" if p is None else str(p) for p in (e.start, e.stop, e.step)]
            return ":".join(parts[:2] if e.step is None else parts)
        return "..." if e is Ellipsis else repr(e)

    if type(index) is tuple:
        return "[" + ", ".join(one(e) for e in index) + "]"
    return "[" + one(index) + "]"


def index_message(e: Exception, shape: tuple[int, ...], index: Any) -> str:
    msg = str(e).replace("axis", "dimension").replace("array", "tensor")
    if not shape and "too many indices" in msg:  # ``loss.data[0]`` in PyTorch 0.3-era code
        msg = "invalid index of a 0-dim tensor. Use `tensor.item()` to convert it to a number"
    if "could not be broadcast" in msg:  # NumPy's words for index tensors of unequal shapes
        shapes = " and ".join(re.findall(r"\([\d, ]*\)", msg))
        msg = f"shape mismatch: the index tensors' shapes {shapes} do not broadcast together"
    return f"{msg} (indexing a tensor of shape {tuple(shape)} with {_describe(index)})"


# ---- getitem and its inverse ---------------------------------------------------------------------


class GetItem(Node):
    __slots__ = ("in_shape", "index", "mode")

    @staticmethod
    def forward(ctx: Any, x: Any, index: Any, mode: int) -> Any:
        ctx.index, ctx.mode, ctx.in_shape = index, mode, x.shape
        out = x[index]
        # PyTorch's advanced-indexing results are contiguous, NumPy's often not (view() needs it)
        return out if mode == BASIC else np.ascontiguousarray(out)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _into_zeros(g, ctx.in_shape, ctx.index, ctx.mode), None, None


class IntoZeros(Node):
    """zeros(shape) with ``g`` written (modes 0, 1) or added (mode 2) at ``index``."""

    __slots__ = ("index", "mode")

    @staticmethod
    def forward(ctx: Any, g: Any, shape: Any, index: Any, mode: int) -> Any:
        ctx.index, ctx.mode = index, mode
        return _zeros_with(g, shape, index, mode)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _pick(g, ctx.index, ctx.mode), None, None, None


def _zeros_with(g: np.ndarray, shape: tuple[int, ...], index: Any, mode: int) -> np.ndarray:
    out = np.zeros(shape, g.dtype)
    if mode == ADVANCED:
        add_at(out, index, g)
    else:  # no position is picked twice: plain assignment, far faster than np.add.at
        out[index] = g
    return out


def _into_zeros(g: Any, shape: tuple[int, ...], index: Any, mode: int) -> Any:
    if isinstance(g, Tensor):
        return IntoZeros.apply(g, shape, index, mode)
    return _zeros_with(g, shape, index, mode)


def _pick(g: Any, index: Any, mode: int) -> Any:
    """``g[index]`` for an already normalized index (arrays, or Tensors under create_graph)."""
    if isinstance(g, Tensor):
        return GetItem.apply(g, index, mode)
    return g[index]


def index_add_zeros(g: Any, shape: tuple[int, ...], index: Any) -> Any:
    """zeros(shape) with ``g`` added at ``index`` (repeated indices add up); differentiable."""
    idx, mode = _normalize(index, shape)
    return _into_zeros(g, shape, idx, mode)


# The node PyTorch records for ``x[index]``: ``IndexBackward0`` for advanced indexing, else the
# last view it applies (ints select, slices slice, None unsqueezes; nothing at all: an alias).
# They compute what GetItem computes; only the name differs.


class Index(GetItem):
    __slots__ = ()


class Select(GetItem):
    __slots__ = ()


class Slice(GetItem):
    __slots__ = ()


class UnsqueezeView(GetItem):
    __slots__ = ()
    op_name = "Unsqueeze"


class Alias(GetItem):
    __slots__ = ()


class MaskedSelect(GetItem):
    __slots__ = ()


class Take(GetItem):
    __slots__ = ()


def _basic_node(index: Any, shape: tuple[int, ...]) -> type[GetItem]:
    """The node class of a basic index with PyTorch's meaning (see above)."""
    t = type(index)
    entries = index if t is tuple else tuple(index) if t is list else (index,)
    for e in entries:
        if e is True or e is False or isinstance(e, np.bool_):
            return Index  # PyTorch indexes with a 0-d mask
    used = sum(1 for e in entries if e is not None and e is not Ellipsis)
    node: type[GetItem] = Alias
    dim = 0
    for e in entries:
        if e is None:
            node = UnsqueezeView
        elif e is Ellipsis:
            dim += len(shape) - used
        elif type(e) is slice:
            n = shape[dim] if dim < len(shape) else 0
            start, stop, step = e.start, e.stop, e.step
            if start or (step is not None and step != 1) or (stop is not None and stop < n):
                node = Slice  # PyTorch skips [0:] [:n] [::1] (as written, not wrapped)
            dim += 1
        else:
            node = Select
            dim += 1
    return node


@op(method="__getitem__", namespaces=())
def getitem(input: Any, index: Any) -> Tensor:
    """``input[index]`` with PyTorch's rules; basic indexing gives a view sharing the version.

    >>> import glassgrad as gg
    >>> x = gg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> x[1, ::2], x[:, [2, 0]], x[x > 4]
    (tensor([4., 6.]), tensor([[3., 1.],
            [6., 4.]]), tensor([5., 6.]))
    """
    x = input if isinstance(input, Tensor) else as_tensor(input)
    try:
        idx, mode = _normalize(index, x._data.shape)
        t = type(index)
        if mode != BASIC:
            cls: type[GetItem] = Index
        elif t is int:
            cls = Select
        elif t is slice:
            cls = Slice
        else:
            cls = _basic_node(index, x._data.shape)
        out = cls.apply(x, idx, mode)
    except IndexError as e:
        raise IndexError(index_message(e, x.shape, index)) from None
    if mode == BASIC:
        out._vc = x._vc
        out._base = x if x._base is None else x._base
    return out


@op
def select(input: Any, dim: int, index: int) -> Tensor:
    """The slice at position ``index`` along ``dim`` (that dim removed); a view."""
    x = as_tensor(input)
    d = check_dim("select", dim, x.ndim)
    if x.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    n = x.shape[d]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(x.shape)} at "
            f"dimension {dim}"
        )
    out = Select.apply(x, (slice(None),) * d + (int(index), ...), BASIC)
    out._vc, out._base = x._vc, (x if x._base is None else x._base)
    return out


# ---- index_put: out-of-place t[index] = values ---------------------------------------------------


class IndexPut(Node):
    __slots__ = ("accumulate", "index", "mode", "vshape")

    @staticmethod
    def forward(ctx: Any, x: Any, index: Any, mode: int, v: Any, accumulate: bool) -> Any:
        ctx.index, ctx.mode, ctx.accumulate, ctx.vshape = index, mode, accumulate, np.shape(v)
        out = x.copy()
        if not accumulate:
            out[index] = v
        elif mode == ADVANCED:  # (np.add.at mis-broadcasts values against 2-D index arrays)
            add_at(out, index, np.broadcast_to(v, out[index].shape))
        else:
            out[index] += v
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        nx, _, _, nv, _ = ctx.next
        gx = gv = None
        if nx is not None:  # written positions no longer depend on x (unless accumulating)
            gx = g if ctx.accumulate else _zero_at(g, ctx.index, ctx.mode)
        if nv is not None:  # every pick of a repeated index gets its gradient, as in PyTorch
            gv = _pick(g, ctx.index, ctx.mode)
            extra = len(ctx.vshape) - np.ndim(gv)
            if extra > 0:  # values had leading size-1 dims that assignment drops
                gv = gv.reshape((1,) * extra + tuple(gv.shape))
        return gx, None, None, gv, None


def _zero_at(g: Any, index: Any, mode: int) -> Any:
    if isinstance(g, Tensor):
        return IndexPut.apply(g, index, mode, 0, False)
    out = g.copy()
    out[index] = 0
    return out


@op(inplace=True)
def index_put(input: Any, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """Out-of-place ``input[indices] = values`` (or ``+=`` with ``accumulate``).

    ``input`` keeps its gradient where nothing was written; ``values`` gets ``g[indices]``.
    """
    x = as_tensor(input)
    try:
        idx, mode = _normalize(indices, x._data.shape)
    except IndexError as e:
        raise IndexError(index_message(e, x.shape, indices)) from None
    if isinstance(values, Tensor):
        if values.dtype != x.dtype:
            values = values.to(x.dtype)
    elif not isinstance(values, (int, float, bool)):
        values = np.asarray(values, x.dtype)
    try:
        return IndexPut.apply(x, idx, mode, values, bool(accumulate))
    except IndexError as e:
        raise IndexError(index_message(e, x.shape, indices)) from None
    except ValueError as e:
        raise RuntimeError(
            f"index_put: {e} (values of shape {tuple(np.shape(values))} into a tensor of shape "
            f"{tuple(x.shape)} at {_describe(indices)})"
        ) from None


# ---- masks ---------------------------------------------------------------------------------------


class MaskedFill(Node):
    __slots__ = ("mask",)

    @staticmethod
    def forward(ctx: Any, x: Any, mask: Any, value: Any) -> Any:
        ctx.mask = mask
        return np.where(mask, value, x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        nx, _, nv = ctx.next
        mask = ctx.mask
        gx = _masked_zero(g, mask) if nx is not None else None
        gv = _masked_zero(g, ~mask) if nv is not None else None  # the engine sums it to 0-d
        return gx, None, gv


class MaskedFillTensor(MaskedFill):
    """``masked_fill`` with a 0-d tensor value: PyTorch's ``MaskedFillBackward1``."""

    __slots__ = ()
    op_name = "MaskedFill"
    variant = 1


def _masked_zero(g: Any, mask: np.ndarray) -> Any:
    if isinstance(g, Tensor):
        return MaskedFill.apply(g, mask, 0)
    return np.where(mask, 0, g)


def _mask_array(op: str, mask: Any) -> np.ndarray:
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype {m.dtype}")
    return m


@op(inplace=True)
def masked_fill(input: Any, mask: Any, value: Any) -> Tensor:
    """``value`` where ``mask`` is True, else ``input`` (a 0-d tensor ``value`` gets a gradient)."""
    x = as_tensor(input)
    m = _mask_array("masked_fill", mask)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        if value.dtype != x.dtype:
            value = value.to(x.dtype)
    elif x._data.dtype.kind != "f" or type(value) not in (int, float):
        value = np.asarray(value, x._data.dtype)  # (a NumPy double would make the result float64)
    try:
        return (MaskedFillTensor if isinstance(value, Tensor) else MaskedFill).apply(x, m, value)
    except ValueError:
        raise RuntimeError(
            f"masked_fill: the mask of shape {tuple(m.shape)} does not broadcast with the "
            f"tensor of shape {tuple(x.shape)}"
        ) from None


@op
def masked_select(input: Any, mask: Any) -> Tensor:
    """The elements where ``mask`` (broadcast with ``input``) is True, as a 1-D tensor."""
    x = as_tensor(input)
    m = _mask_array("masked_select", mask)
    if m.shape != x.shape:
        try:
            shape = np.broadcast_shapes(x.shape, m.shape)
        except ValueError:
            raise RuntimeError(
                f"masked_select: the mask of shape {tuple(m.shape)} does not broadcast with the "
                f"tensor of shape {tuple(x.shape)}"
            ) from None
        if x.shape != shape:
            x = x.expand(*shape)
        m = np.broadcast_to(m, shape)
    return MaskedSelect.apply(x, (m,), MASK)


@op
def take(input: Any, index: Any) -> Tensor:
    """Elements of the flattened ``input`` at ``index`` (the result has ``index``'s shape)."""
    x = as_tensor(input)
    flat = x.reshape(-1)
    index = index if isinstance(index, Tensor) else np.asarray(index)
    try:
        idx, mode = _normalize((index,), flat._data.shape)
        out = Take.apply(flat, idx, mode)
    except IndexError as e:
        raise IndexError(index_message(e, flat.shape, (index,))) from None
    if mode == BASIC:  # a 0-d index: NumPy hands back a view
        out._vc, out._base = flat._vc, (flat if flat._base is None else flat._base)
    return out


@op(numpy={np.nonzero: lambda a: nonzero(a, as_tuple=True)}, differentiable=False)
def nonzero(input: Any, *, as_tuple: bool = False) -> Any:
    """Indices of the nonzero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    a = input._data if isinstance(input, Tensor) else np.asarray(input)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(a)))
    return Tensor._make(np.argwhere(a).astype(np.int64))


@op(numpy=np.argwhere, differentiable=False)
def argwhere(input: Any) -> Tensor:
    """Same as ``nonzero(input)``."""
    return nonzero(input)


@op(differentiable=False)
def nonzero_static(input: Any, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero(input)`` cut or padded with ``fill_value`` to exactly ``size`` rows."""
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    a = input._data if isinstance(input, Tensor) else np.asarray(input)
    found = np.argwhere(a).astype(np.int64)[:size]
    out = np.full((size, a.ndim), fill_value, np.int64)
    out[: len(found)] = found
    return Tensor._make(out)


@op(method=False, differentiable=False)
def unravel_index(indices: Any, shape: Any) -> tuple[Tensor, ...]:
    """The coordinates in ``shape`` of flat ``indices``: one int64 tensor per dim."""
    a = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if a.dtype.kind not in "iu":
        raise TypeError(
            f"unravel_index: expected 'indices' to be an integer tensor, but got {a.dtype}"
        )
    dims = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    if any(n < 0 for n in dims):
        raise ValueError(f"unravel_index: 'shape' cannot have negative values, got {dims}")
    n = int(np.prod(dims))
    if a.size and (a.min() < -n or a.max() >= n):
        raise RuntimeError(
            f"unravel_index: index out of bounds for a tensor of shape {dims} (got indices in "
            f"[{a.min()}, {a.max()}])"
        )
    flat = np.where(a < 0, a + n, a)
    return tuple(Tensor._make(c.astype(np.int64)) for c in np.unravel_index(flat, dims))
