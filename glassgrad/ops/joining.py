"""Joining, splitting and rearranging copies: ``cat``, ``stack``, ``split``, ``repeat``, ``flip``...

``cat`` and ``stack`` are one node each whose backward slices the gradient back into pieces.
Splits return a tuple of views, each its own node (a basic slice whose backward pads with zeros),
since the engine gives every node one output. ``repeat`` sums the gradient over the copies;
``flip`` and ``roll`` undo themselves. ``glassgrad.ops.shape`` re-exports this module.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from glassgrad._convert import int_or_given
from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim, normalize_dims
from glassgrad.ops.indexing import BASIC, GetItem, Slice, select
from glassgrad.ops.registry import op

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _result_dtype(arrays: Sequence[np.ndarray]) -> np.dtype:
    """PyTorch's promotion across a list of tensors: the highest category wins (int < float)."""
    dt = arrays[0].dtype
    for a in arrays[1:]:
        d = a.dtype
        if d != dt:
            cd, ct = _CATEGORY[d.kind], _CATEGORY[dt.kind]
            dt = np.promote_types(dt, d) if cd == ct else (d if cd > ct else dt)
    return dt


def _tensors(op: str, tensors: Any) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{op}(): argument 'tensors' must be a tuple or list of Tensors, not "
            f"{type(tensors).__name__}"
        )
    ts = [t if isinstance(t, Tensor) else as_tensor(t) for t in tensors]
    if ts:
        first = ts[0]._data.dtype
        for t in ts:
            if t._data.dtype != first:
                dt = _result_dtype([t._data for t in ts])
                return [t if t._data.dtype == dt else t.to(dt) for t in ts]
    return ts


def _shape_arg(shape: Any) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the shape (2, 3)."""
    if len(shape) == 1 and type(shape[0]) is not int:
        s = shape[0]
        if isinstance(s, (tuple, list, np.ndarray)):
            return tuple(s)
    return shape


def _named_shape(op: str, name: str, given: tuple[Any, ...], value: Any) -> tuple[Any, ...]:
    """A shape passed by its PyTorch keyword (``x.view(size=(2, 3))``, ``x.flip(dims=(1,))``)
    in place of the positional ``*given``."""
    if given:
        raise TypeError(f"{op}() got multiple values for argument '{name}'")
    return (value,)


def _torch_layout(out: np.ndarray) -> np.ndarray:
    """``out`` row-major, as PyTorch's cat/stack give it (unless it is 4-d channels-last, which
    PyTorch keeps for channels-last inputs): NumPy keeps its inputs' order, so joining transposed
    arrays would give a result that ``view`` refuses where PyTorch's works."""
    if out.flags.c_contiguous or (out.ndim == 4 and out.transpose(0, 2, 3, 1).flags.c_contiguous):
        return out
    return np.ascontiguousarray(out)


class Cat(Node):
    __slots__ = ("dim", "sizes", "skip")

    @staticmethod
    def forward(ctx: Any, dim: int, skip: Any, *xs: Any) -> Any:
        if skip:
            xs = tuple(x for x, s in zip(xs, skip) if not s)
        ctx.dim, ctx.skip = dim, skip
        ctx.sizes = [x.shape[dim] for x in xs]
        return _torch_layout(np.concatenate(xs, axis=dim))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        lead = (slice(None),) * ctx.dim
        grads: list[Any] = [None, None]
        sizes = iter(ctx.sizes)
        start = 0
        for k, e in enumerate(ctx.next[2:]):
            if ctx.skip and ctx.skip[k]:  # a skipped empty 1-D tensor: an empty gradient
                grads.append(g.reshape(-1)[:0] if e is not None else None)
                continue
            n = next(sizes)
            grads.append(g[(*lead, slice(start, start + n), ...)] if e is not None else None)
            start += n
        return tuple(grads)


@op(
    method=False,
    aliases=("concat", "concatenate"),
    numpy={
        np.concatenate: lambda arrays, axis=0, **kw: (
            cat(arrays, axis)
            if axis is not None
            else cat([as_tensor(a).reshape(-1) for a in arrays])
        )
    },
)
def cat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join tensors along an existing ``dim``; each gets back its slice of the gradient.

    >>> import glassgrad as gg
    >>> gg.cat([gg.tensor([[1.0, 2.0]]), gg.tensor([[3.0, 4.0]])], dim=1)
    tensor([[1., 2., 3., 4.]])
    """
    ts = _tensors("cat", tensors)
    if not ts:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    shape = ts[0]._data.shape
    nd = len(shape)
    if nd and -nd <= dim < nd:  # the common case: same dims, sizes differ only along dim
        d = dim % nd
        lead, tail = shape[:d], shape[d + 1 :]
        for t in ts:
            s = t._data.shape
            if len(s) != nd or s[:d] != lead or s[d + 1 :] != tail:
                break
        else:
            return Cat.apply(d, (), *ts)
    return _cat_checked(ts, dim)


def _cat_checked(ts: list[Tensor], dim: int) -> Tensor:
    """``cat`` with PyTorch's checks and its legacy skipping of empty 1-D tensors."""
    for i, t in enumerate(ts):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    # PyTorch still skips 1-D empty tensors (legacy) when the others have more dims
    ref = next((t for t in ts if t.shape != (0,)), ts[0])
    skip = tuple(t.shape == (0,) and ref.ndim != 1 for t in ts) if ref.ndim != 1 else ()
    d = check_dim("cat", dim, ref.ndim)
    for i, t in enumerate(ts):
        if skip and skip[i]:
            continue
        if t.ndim != ref.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}"
            )
        for k, (a, b) in enumerate(zip(ref.shape, t.shape)):
            if k != d and a != b:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {a} but "
                    f"got size {b} for tensor number {i} in the list (shapes {tuple(ref.shape)} "
                    f"and {tuple(t.shape)})."
                )
    return Cat.apply(d, skip if any(skip) else (), *ts)


class Stack(Node):
    __slots__ = ("dim",)

    @staticmethod
    def forward(ctx: Any, dim: int, *xs: Any) -> Any:
        ctx.dim = dim
        return _torch_layout(np.stack(xs, axis=dim))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        lead = (slice(None),) * ctx.dim
        return (None,) + tuple(
            g[(*lead, i, ...)] if e is not None else None for i, e in enumerate(ctx.next[1:])
        )


@op(method=False, numpy={np.stack: lambda arrays, axis=0, **kw: stack(arrays, axis)})
def stack(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new ``dim``."""
    ts = _tensors("stack", tensors)
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = ts[0].shape
    for i, t in enumerate(ts[1:], 1):
        if t.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                f"and {list(t.shape)} at entry {i}"
            )
    return Stack.apply(check_dim("stack", dim, len(shape) + 1), *ts)


@op(method=False)
def atleast_1d(*tensors: Any) -> Any:
    """Tensors with at least 1 dim (0-d becomes shape (1,)); one tensor in, one out."""
    out = tuple(_atleast(t, 1) for t in _unpack(tensors))
    return out[0] if len(out) == 1 else out


@op(method=False)
def atleast_2d(*tensors: Any) -> Any:
    """At least 2 dims: a vector (n,) becomes a row (1, n)."""
    out = tuple(_atleast(t, 2) for t in _unpack(tensors))
    return out[0] if len(out) == 1 else out


@op(method=False)
def atleast_3d(*tensors: Any) -> Any:
    """At least 3 dims: (n,) becomes (1, n, 1) and (m, n) becomes (m, n, 1), as in NumPy."""
    out = tuple(_atleast(t, 3) for t in _unpack(tensors))
    return out[0] if len(out) == 1 else out


def _unpack(tensors: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(tensors[0])
    return tensors


def _atleast(t: Any, n: int) -> Tensor:
    """As PyTorch: a 0-d tensor is reshaped, others get size-1 dims by ``unsqueeze``."""
    t = as_tensor(t)
    if t.ndim >= n:
        return t
    if t.ndim == 0:
        return t.reshape((1,) * n)
    if t.ndim == 1:
        t = t.unsqueeze(0)
    return t.unsqueeze(-1) if n == 3 else t


@op(method=False)
def hstack(tensors: Sequence[Any]) -> Tensor:
    """Concatenate column-wise: along dim 1, or dim 0 for 1-D tensors."""
    ts = [_atleast(t, 1) for t in tensors]
    return cat(ts, 0 if ts and ts[0].ndim == 1 else 1)


@op(method=False, aliases=("row_stack",))
def vstack(tensors: Sequence[Any]) -> Tensor:
    """Concatenate row-wise (1-D tensors become rows)."""
    return cat([_atleast(t, 2) for t in tensors], 0)


@op(method=False)
def dstack(tensors: Sequence[Any]) -> Tensor:
    """Concatenate depth-wise, along dim 2."""
    return cat([_atleast(t, 3) for t in tensors], 2)


@op(method=False)
def column_stack(tensors: Sequence[Any]) -> Tensor:
    """Stack 1-D tensors as columns (others are concatenated along dim 1)."""
    ts = [as_tensor(t) for t in tensors]
    return hstack([t.reshape(-1, 1) if t.ndim <= 1 else t for t in ts])


# ---- splitting: tuples of views ---------------------------------------------------------------


def _slice(x: Tensor, dim: int, start: int, stop: int, cls: Any = GetItem) -> Tensor:
    """``x`` narrowed to [start, stop) along ``dim`` (non-negative, in range): a view."""
    out = cls.apply(x, (*((slice(None),) * dim), slice(start, stop), ...), BASIC)
    out._vc, out._base = x._vc, (x if x._base is None else x._base)
    return out


@op
def narrow(input: Any, dim: int, start: int, length: int) -> Tensor:
    """The ``length`` elements from ``start`` along ``dim``, as a view."""
    x = as_tensor(input)
    if x.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = check_dim("narrow", dim, x.ndim)
    n = x.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(
            f"start out of range (expected to be in range of [{-n}, {n}], but got {start})"
        )
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise RuntimeError(
            f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({n})."
            if length >= 0
            else f"narrow(): length must be non-negative, got {length}."
        )
    return _slice(x, d, start, start + length, Slice)


def _split_method(self: Any, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """``t.split(split_size, dim)``: PyTorch names the method's argument ``split_size``, not
    ``split_size_or_sections`` as ``torch.split``'s (mamba-minimal passes it by keyword)."""
    return split(self, split_size, dim)


@op(method=_split_method)
def split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of ``split_size`` elements along ``dim`` (the last may be smaller), or given sizes."""
    x = as_tensor(tensor)
    split_size_or_sections = int_or_given(split_size_or_sections)
    d = check_dim("split", dim, x.ndim)
    n = x.shape[d] if x.ndim else 0
    if x.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
                if size == 0
                else f"split expects split_size be non-negative, but got split_size={size}"
            )
        bounds = list(range(0, n, size)) if n else [0]
        return tuple(_slice(x, d, s, min(s + size, n)) for s in bounds)
    sizes = [int(s) for s in split_size_or_sections]
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
            f"dimension {d}), but got split_sizes={sizes}"
        )
    starts = np.cumsum([0, *sizes]).tolist()
    return tuple(_slice(x, d, a, b) for a, b in itertools.pairwise(starts))


@op
def chunk(input: Any, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` equal views (the last may be smaller; there may be fewer)."""
    chunks = int_or_given(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    x = as_tensor(input)
    if x.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = check_dim("chunk", dim, x.ndim)
    n = x.shape[d]
    if n == 0:
        return tuple(_slice(x, d, 0, 0) for _ in range(chunks))
    return split(x, math.ceil(n / chunks), d)


@op
def tensor_split(input: Any, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``sections`` near-equal views, or at ``indices`` (NumPy's array_split)."""
    x = as_tensor(input)
    if x.ndim == 0:
        raise RuntimeError("tensor_split expects at least a 1-dimensional tensor")
    d = check_dim("tensor_split", dim, x.ndim)
    n = x.shape[d]
    s = indices_or_sections
    if isinstance(s, Tensor):
        s = s.tolist()
    if isinstance(s, (int, np.integer)):
        if s <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {s}")
        q, r = divmod(n, int(s))
        bounds = np.cumsum([0] + [q + 1] * r + [q] * (int(s) - r)).tolist()
    else:
        bounds = [0] + [min(max(int(i) + (n if i < 0 else 0), 0), n) for i in s] + [n]
    return tuple(_slice(x, d, a, max(a, b)) for a, b in itertools.pairwise(bounds))


@op
def hsplit(input: Any, indices_or_sections: Any) -> tuple[Tensor, ...]:
    x = as_tensor(input)
    return tensor_split(x, indices_or_sections, 1 if x.ndim > 1 else 0)


@op
def vsplit(input: Any, indices_or_sections: Any) -> tuple[Tensor, ...]:
    return tensor_split(input, indices_or_sections, 0)


@op
def dsplit(input: Any, indices_or_sections: Any) -> tuple[Tensor, ...]:
    """Split along the third dim (depth), as NumPy's ``dsplit``: views."""
    x = as_tensor(input)
    if x.ndim < 3:
        raise RuntimeError(
            "torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with "
            f"{x.ndim} dimensions!"
        )
    if isinstance(indices_or_sections, (int, np.integer)) and x.shape[2] % indices_or_sections:
        raise RuntimeError(
            "torch.dsplit attempted to split along dimension 2, but the size of the dimension "
            f"{x.shape[2]} is not divisible by the split_size {indices_or_sections}!"
        )
    return tensor_split(x, indices_or_sections, 2)


@op
def unbind(input: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, that dim removed: one view per position."""
    x = as_tensor(input)
    d = check_dim("unbind", dim, x.ndim)
    if x.ndim == 0:
        raise IndexError("unbind: Dimension specified as 0 but tensor has no dimensions")
    return tuple(select(x, d, i) for i in range(x.shape[d]))


# ---- repeating, flipping, rolling: rearranging copies --------------------------------------


class Repeat(Node):
    __slots__ = ("in_shape", "reps")

    @staticmethod
    def forward(ctx: Any, x: Any, reps: Any) -> Any:
        ctx.in_shape, ctx.reps = x.shape, reps
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # view g as (r0, s0, r1, s1, ...) and sum over the repeats r_i
        reps, shape = ctx.reps, ctx.in_shape
        padded = (1,) * (len(reps) - len(shape)) + shape
        pairs = tuple(v for r, s in zip(reps, padded) for v in (r, s))
        summed = np.sum(g.reshape(pairs), axis=tuple(range(0, 2 * len(reps), 2)))
        return summed.reshape(shape), None


@op(namespaces=())
def repeat(input: Any, *sizes: Any, repeats: Any = None) -> Tensor:
    """Tile ``input`` ``sizes[i]`` times along dim i (extra leading sizes add dims)."""
    x = as_tensor(input)
    if repeats is not None:
        sizes = _named_shape("repeat", "repeats", sizes, repeats)
    reps = _shape_arg(sizes)
    if len(reps) < x.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
            f"tensor (repeats {list(reps)} for a tensor of shape {tuple(x.shape)})"
        )
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {list(reps)}")
    return Repeat.apply(x, reps)


@op(numpy={np.tile: lambda A, reps: tile(A, reps)})
def tile(input: Any, dims: Any) -> Tensor:
    """Like ``repeat``, but ``dims`` shorter than the tensor's dims is padded with ones in front."""
    x = as_tensor(input)
    reps = _shape_arg((dims,))
    return repeat(x, (1,) * (x.ndim - len(reps)) + reps)


# ---- flip, roll ---------------------------------------------------------------------------------


class Flip(Node):
    __slots__ = ("axes",)

    @staticmethod
    def forward(ctx: Any, x: Any, axes: Any) -> Any:
        ctx.axes = axes
        return np.flip(x, axes).copy()  # PyTorch's flip copies; a NumPy view would alias x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.flip(g, ctx.axes), None


@op(numpy={np.flip: lambda m, axis=None: flip(m, tuple(range(m.ndim)) if axis is None else axis)})
def flip(input: Any, *args: Any, dims: Any = None) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy)."""
    x = as_tensor(input)
    if dims is not None:
        args = _named_shape("flip", "dims", args, dims)
    dims = _shape_arg(args)
    axes = normalize_dims("flip", dims, x.ndim) if dims and x.ndim else ()
    return Flip.apply(x, axes)


@op
def fliplr(input: Any) -> Tensor:
    """Flip left-right: along dim 1 (needs at least 2 dims)."""
    x = as_tensor(input)
    if x.ndim < 2:
        raise RuntimeError(f"fliplr: Input must be >= 2-d, got shape {tuple(x.shape)}.")
    return flip(x, 1)


@op
def flipud(input: Any) -> Tensor:
    """Flip up-down: along dim 0 (needs at least 1 dim)."""
    x = as_tensor(input)
    if x.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d.")
    return flip(x, 0)


class Roll(Node):
    __slots__ = ("axes", "shifts")

    @staticmethod
    def forward(ctx: Any, x: Any, shifts: Any, axes: Any) -> Any:
        ctx.shifts, ctx.axes = shifts, axes
        return np.roll(x, shifts, axes)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        s = ctx.shifts
        back = -s if isinstance(s, int) else tuple(-v for v in s)
        return np.roll(g, back, ctx.axes), None, None


@op(numpy={np.roll: lambda a, shift, axis=None: roll(a, shift, axis)})
def roll(input: Any, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements cyclically along ``dims`` (over the flattened tensor if None)."""
    x = as_tensor(input)
    one = isinstance(shifts, (int, np.integer))
    s: Any = int(shifts) if one else tuple(int(v) for v in shifts)
    if dims is None:
        if not one and len(s) != 1:
            raise RuntimeError(f"roll: shifts {list(s)} need matching dims, got dims=None")
        return Roll.apply(x, s if one else s[0], None)
    d = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(d) != (1 if one else len(s)):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {1 if one else len(s)}, dims:{len(d)}"
        )
    axes = tuple(check_dim("roll", a, x.ndim) for a in d)
    if x.ndim == 0:
        return Roll.apply(x, s if one else s[0], None)
    return Roll.apply(x, s, axes[0] if one else axes)


@op
def split_with_sizes(input: Any, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Views of the given sizes along ``dim`` (they must add up to its length)."""
    if isinstance(split_sizes, (int, np.integer)):
        raise TypeError(
            f"split_with_sizes(): argument 'split_sizes' must be a sequence of ints, not "
            f"{type(split_sizes).__name__}"
        )
    return split(input, list(split_sizes), dim)
