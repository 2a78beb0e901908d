"""In-place ops (``add_``, ``mul_``, ``zero_``, ``t[i] = v`` ...) and their version counters.

Each in-place op bumps the tensor's version counter (shared with its views), so a backward rule
that saved the old value finds out and raises instead of using the new one. When the op must be
recorded, the result is computed out of place from a snapshot, written back into the same memory,
and the tensor's ``grad_fn`` is moved to the new node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np

from glassgrad import dtypes
from glassgrad._convert import as_shape
from glassgrad._errors import reword
from glassgrad.autograd.grad_mode import grad_mode
from glassgrad.autograd.state import bump_version
from glassgrad.ops import indexing
from glassgrad.ops._common import Node, Tensor, state
from glassgrad.ops.elementwise import add, div, mul, sub
from glassgrad.ops.registry import fast_inplace
from glassgrad.ops.shape import AsStrided, expand


def _requires(v: Any) -> bool:
    return isinstance(v, Tensor) and v.requires_grad


def _check_leaf(t: Tensor, op: str, view_of: Tensor | None = None) -> None:
    if t.requires_grad and t.grad_fn is None and state.grad_enabled:
        what = "a leaf Variable" if view_of is None else "a view of a leaf Variable"
        shape = tuple(t.shape if view_of is None else view_of.shape)
        raise RuntimeError(
            f"{op}: {what} that requires grad (shape {shape}) is being used in "
            "an in-place operation. Wrap it in `with glassgrad.no_grad():` (e.g. for a parameter "
            "update) or use the out-of-place op."
        )


def _bump(t: Tensor) -> Tensor:
    bump_version(t)
    return t


def apply_inplace(t: Tensor, op: str, fn: Callable[..., Tensor], *args: Any, **kw: Any) -> Tensor:
    """Run out-of-place ``fn(t, *args)`` and write the result into ``t``, recording if needed.

    Recorded, the op's node takes ``t``'s place in the graph; when ``t`` is a view, its base's
    graph gets a ``CopySlices`` node instead (the base, with the view's elements now the op's
    result), as in PyTorch. Either way every other live view of the memory is re-derived from
    the base's new graph, so no tensor keeps a history its values no longer have."""
    _check_leaf(t, op)
    base = t._base
    record = state.grad_enabled and (
        t.requires_grad
        or any(_requires(a) for a in args)
        or (base is not None and base.requires_grad)
    )
    if not record:
        with grad_mode(False):
            out = fn(t, *args, **kw)
        try:
            np.copyto(t._data, out._data, casting="same_kind")
        except TypeError:
            raise RuntimeError(
                f"{op}: result type {out.dtype} can't be cast to the desired output type "
                f"{t.dtype} (a tensor of shape {tuple(t.shape)})"
            ) from None
        return _bump(t)
    if base is not None:
        _check_leaf(base, op, view_of=t)
        positions = _positions(t._data, base._data, op)
    snap = Tensor._make(t._data.copy())
    snap.grad_fn, snap.requires_grad = t.grad_fn, t.requires_grad
    out = fn(snap, *args, **kw)
    if out.dtype != t.dtype:
        raise RuntimeError(
            f"{op}: result type {out.dtype} can't be cast to the desired output type {t.dtype}"
        )
    np.copyto(t._data, out._data)
    if base is None:
        t.grad_fn, t.requires_grad = out.grad_fn, out.requires_grad
        _bump(t)
        rebase_views(t)
        return t
    before = Tensor._make(base._data)  # (CopySlices reads only what lies outside the view)
    before.grad_fn, before.requires_grad = base.grad_fn, base.requires_grad
    after = CopySlices.apply(before, out, positions)
    base.grad_fn, base.requires_grad = after.grad_fn, after.requires_grad
    _bump(t)
    rebase_views(base)
    return t


# ---- views and in-place ops: PyTorch's CopySlices and view rebasing -----------------------------


class CopySlices(Node):
    """The base of a view written in place: its elements, with the view's replaced by the op's
    result. The gradient outside the view goes to the base as it was, inside it to the op."""

    __slots__ = ("keep", "positions")

    def name(self) -> str:
        return "torch::autograd::CopySlices"  # (PyTorch's name, as its ``name()`` gives it)

    @staticmethod
    def forward(ctx: Any, base: Any, values: Any, positions: Any) -> Any:
        out = base.copy()
        out.reshape(-1)[positions.reshape(-1)] = values.reshape(-1)
        keep = np.ones(base.shape, bool)
        keep.reshape(-1)[positions.reshape(-1)] = False
        ctx.keep, ctx.positions = keep, positions
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.where(ctx.keep, g, 0), g.reshape(-1)[ctx.positions], None


def rebase_views(base: Tensor) -> None:
    """Give every live view of ``base`` the graph its values now have: picked from the base."""
    for view in base._live_views():
        if not np.shares_memory(view._data, base._data):
            continue  # (it took other memory since: ``squeeze_`` and friends)
        if not base.requires_grad:
            view.grad_fn, view.requires_grad = None, False
            continue
        picked = AsStrided.apply(base, _positions(view._data, base._data, "view", False))
        view.grad_fn, view.requires_grad = picked.grad_fn, True


def _positions(view: np.ndarray, base: np.ndarray, op: str, written: bool = True) -> np.ndarray:
    """For each element of ``view`` (which lies in ``base``'s memory), its row-major position
    in ``base``: where an in-place op on the view lands in the base (``written``: refused where
    two elements share a memory location; a view only read, ``as_strided`` windows, may)."""
    size = base.itemsize
    if view.itemsize != size or any(st % size for st in (*view.strides, *base.strides)):
        raise NotImplementedError(
            f"{op}: an in-place op on a view that reinterprets its base's memory (dtype "
            f"{view.dtype} over {base.dtype}) is not supported"
        )
    start = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // size
    at = np.full(view.shape, start, np.intp)
    for d, (n, st) in enumerate(zip(view.shape, view.strides)):
        at += (np.arange(n, dtype=np.intp) * (st // size)).reshape(
            (n,) + (1,) * (view.ndim - d - 1)
        )
    if not base.flags.c_contiguous:  # memory order is not row-major order: map one to the other
        lo = sum((n - 1) * st for n, st in zip(base.shape, base.strides) if st < 0) // size
        hi = sum((n - 1) * st for n, st in zip(base.shape, base.strides) if st > 0) // size
        order = np.full(hi - lo + 1, -1, np.intp)
        strides = tuple(st // size * order.itemsize for st in base.strides)
        laid = np.ndarray(base.shape, np.intp, order, -lo * order.itemsize, strides)
        laid[...] = np.arange(base.size).reshape(base.shape)
        at = order[at - lo]
    if written and at.size > 1 and len(np.unique(at)) < at.size:
        raise RuntimeError(
            f"{op}: unsupported operation: more than one element of the written-to tensor "
            f"(a view of shape {view.shape} with strides {view.strides}) refers to a single "
            "memory location. Please clone() the tensor before performing the operation."
        )
    return at


def apply_inplace_view(
    t: Tensor, op: str, fn: Callable[..., Tensor], *args: Any, **kw: Any
) -> Tensor:
    """In-place shape ops (``squeeze_``, ``t_``): ``t`` becomes the view ``fn(t)`` returns."""
    _check_leaf(t, op)
    out = fn(t, *args, **kw)
    t._data = out._data
    if state.grad_enabled and t.requires_grad:
        t.grad_fn = out.grad_fn
    return _bump(t)


def _data(v: Any) -> Any:
    return v._data if isinstance(v, Tensor) else v


def _reraise(op: str, e: Exception, t: Tensor, other: Any) -> NoReturn:
    """Raise ``e`` from the in-place ``op`` in the user's words (NumPy's, reworded)."""
    # NumPy's output-casting error: PyTorch's words for it
    to, source = getattr(e, "to", None), getattr(e, "from_", None)
    if isinstance(e, TypeError) and to is not None and source is not None:
        kind = {"f": "floating-point", "c": "complex", "i": "integer", "u": "integer"}
        result = kind.get(np.dtype(source).kind, "wider")
        raise RuntimeError(
            f"{op}: the result is {result} and can't be cast to the desired output type "
            f"{dtypes.name(np.dtype(to))} (a tensor of shape {tuple(t.shape)} changed in place)"
        ) from None
    new = reword(op, e, (t, other), {})
    if new is None:
        raise e
    raise new from None


def _fast(t: Tensor, other: Any) -> bool:
    """Nothing to record: compute straight into ``t``'s memory. (Then no leaf check is needed
    either: it refuses only a leaf that requires grad while grad mode is on.)"""
    return not state.grad_enabled or not (
        t.requires_grad or (isinstance(other, Tensor) and other.requires_grad)
    )


def _accumulate_(self: Tensor, op: str, ufunc: Any, other: Any, alpha: Any) -> Tensor:
    """self = ufunc(self, alpha * other) in place: add_ and sub_."""
    if isinstance(alpha, Tensor) and not isinstance(other, Tensor):
        other, alpha = alpha, other  # the old ``p.data.add_(-lr, grad)`` order PyTorch still takes
    if _fast(self, other):
        try:
            o = other._data if isinstance(other, Tensor) else other
            if alpha != 1:
                o = o * alpha
            ufunc(self._data, o, out=self._data, casting="same_kind")
        except Exception as e:
            _reraise(op, e, self, other)
        bump_version(self)
        return self
    return apply_inplace(self, op, add if ufunc is np.add else sub, other, alpha=alpha)


@fast_inplace("add_", operators=("__iadd__",), raw_operators=True)
def add_(self: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """self += alpha * other, in place."""
    return _accumulate_(self, "add_", np.add, other, alpha)


@fast_inplace("sub_", operators=("__isub__",), raw_operators=True)
def sub_(self: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """self -= alpha * other, in place."""
    return _accumulate_(self, "sub_", np.subtract, other, alpha)


@fast_inplace("mul_", operators=("__imul__",), raw_operators=True)
def mul_(self: Tensor, other: Any) -> Tensor:
    """self *= other, in place."""
    if _fast(self, other):
        try:
            np.multiply(self._data, _data(other), out=self._data, casting="same_kind")
        except Exception as e:
            _reraise("mul_", e, self, other)
        return _bump(self)
    return apply_inplace(self, "mul_", mul, other)


@fast_inplace("div_", operators=("__itruediv__",), raw_operators=True)
def div_(self: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """self /= other, in place (``rounding_mode``: ``'floor'`` or ``'trunc'``, as ``div``)."""
    if rounding_mode is not None:
        return apply_inplace(self, "div_", div, other, rounding_mode=rounding_mode)
    if _fast(self, other):
        try:
            np.divide(self._data, _data(other), out=self._data, casting="same_kind")
        except Exception as e:
            _reraise("div_", e, self, other)
        return _bump(self)
    return apply_inplace(self, "div_", div, other)


class Fill(Node):
    """Every element set to one number: the old values get no gradient (``FillBackward2``)."""

    __slots__ = ()
    variant = 2

    @staticmethod
    def forward(ctx: Any, x: Any, value: Any) -> Any:
        return np.full(x.shape, value, x.dtype)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return (g * 0 if isinstance(g, Tensor) else np.zeros_like(g)), None


class Zero(Fill):
    """``zero_()``: PyTorch's ``ZeroBackward0``."""

    __slots__ = ()
    variant = 0


@fast_inplace("zero_")
def zero_(self: Tensor) -> Tensor:
    """Set every element to 0 (the old values get no gradient)."""
    return _fill(self, 0, "zero_", Zero)


@fast_inplace("fill_")
def fill_(self: Tensor, value: Any) -> Tensor:
    """Set every element to ``value``."""
    return _fill(self, value, "fill_", Fill)


def _fill(self: Tensor, value: Any, op: str, node: type[Fill]) -> Tensor:
    _check_leaf(self, op)
    base = self._base
    if state.grad_enabled and (
        _requires(value) or self.requires_grad or (base is not None and base.requires_grad)
    ):  # recorded, as PyTorch records it: the tensor stays in the graph with a zero gradient
        return apply_inplace(self, op, lambda s, v: _filled(s, v, node), value)
    self._data[...] = _data(value)
    return _bump(self)


def _filled(s: Tensor, value: Any, node: type[Fill]) -> Tensor:
    if _requires(value):
        return expand(value.to(s.dtype), *s.shape)
    return node.apply(s, _data(value).item() if isinstance(value, Tensor) else value)


@fast_inplace("copy_")
def copy_(self: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to this shape) into this tensor's memory."""
    src_t = src if isinstance(src, Tensor) else Tensor._make(np.asarray(src))
    if _fast(self, src_t):
        _check_leaf(self, "copy_")
        try:
            np.copyto(self._data, src_t._data, casting="unsafe")
        except ValueError:
            raise RuntimeError(
                f"copy_: source of shape {tuple(src_t.shape)} can't be broadcast to the "
                f"destination shape {tuple(self.shape)}"
            ) from None
        if state.grad_enabled and self.grad_fn is not None:
            self.grad_fn, self.requires_grad = None, False
        return _bump(self)
    return apply_inplace(self, "copy_", lambda s, v: expand(v.to(s.dtype), *s.shape), src_t)


@fast_inplace("__setitem__")
def setitem(self: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value``; differentiable with respect to ``t``'s other elements and ``value``."""
    idx = indexing.normalize_index(self, index)
    if _fast(self, value):
        _check_leaf(self, "__setitem__")
        try:
            self._data[idx] = _data(value)
        except IndexError as e:  # (index tensors whose shapes don't broadcast)
            raise IndexError(indexing.index_message(e, self.shape, index)) from None
        except ValueError as e:
            raise type(e)(
                f"__setitem__: {e} (tensor of shape {tuple(self.shape)}, value of shape "
                f"{tuple(np.shape(_data(value)))})"
            ) from None
        _bump(self)
        return
    apply_inplace(self, "__setitem__", indexing.index_put, idx, value)


@fast_inplace("resize_")
def resize_(self: Tensor, *sizes: Any, memory_format: Any = None) -> Tensor:
    """Give this tensor the shape ``sizes``, keeping its first elements in order (the old
    DCGAN's ``label.resize_(batch_size).fill_(1)``). Grown elements are zeros here (PyTorch
    leaves them uninitialised); when it does not grow it stays in its memory (views see it)."""
    shape = as_shape("resize_", sizes)
    if self.requires_grad:
        raise RuntimeError(
            f"resize_: cannot resize variables that require grad (shape {tuple(self.shape)}); "
            "resize a detached tensor or use reshape()"
        )
    old, n = self._data, int(np.prod(shape))
    if n <= old.size and old.flags.c_contiguous:  # in its memory, as PyTorch's storage
        self._data = old.reshape(-1)[:n].reshape(shape)
    else:
        new = np.zeros(shape, old.dtype)
        n = min(new.size, old.size)
        new.reshape(-1)[:n] = old.reshape(-1)[:n]
        self._data = new
    return _bump(self)


@fast_inplace("resize_as_")
def resize_as_(self: Tensor, the_template: Any, memory_format: Any = None) -> Tensor:
    """``resize_`` to ``the_template``'s shape."""
    if not isinstance(the_template, Tensor):
        raise TypeError(
            f"resize_as_: the template must be a Tensor, got {type(the_template).__name__}"
        )
    return resize_(self, *the_template.shape)
