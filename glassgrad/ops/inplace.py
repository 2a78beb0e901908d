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
from glassgrad.ops._common import Tensor, state
from glassgrad.ops.elementwise import add, div, mul, sub
from glassgrad.ops.registry import fast_inplace
from glassgrad.ops.shape import expand


def _requires(v: Any) -> bool:
    return isinstance(v, Tensor) and v.requires_grad


def _check_leaf(t: Tensor, op: str) -> None:
    if t.requires_grad and t.grad_fn is None and state.grad_enabled:
        raise RuntimeError(
            f"{op}: a leaf Variable that requires grad (shape {tuple(t.shape)}) is being used in "
            "an in-place operation. Wrap it in `with glassgrad.no_grad():` (e.g. for a parameter "
            "update) or use the out-of-place op."
        )


def _bump(t: Tensor) -> Tensor:
    bump_version(t)
    return t


def apply_inplace(t: Tensor, op: str, fn: Callable[..., Tensor], *args: Any, **kw: Any) -> Tensor:
    """Run out-of-place ``fn(t, *args)`` and write the result into ``t``, recording if needed."""
    _check_leaf(t, op)
    record = state.grad_enabled and (t.requires_grad or any(_requires(a) for a in args))
    if not record:
        with grad_mode(False):
            out = fn(t, *args, **kw)
        np.copyto(t._data, out._data, casting="same_kind")
        return _bump(t)
    base = getattr(t, "_base", None)
    if base is not None and (base.requires_grad or t.requires_grad):
        raise RuntimeError(
            f"{op}: in-place ops on a view of a tensor that is part of the graph are not "
            f"supported (view of shape {tuple(t.shape)}); use the out-of-place op or clone()"
        )
    snap = Tensor._make(t._data.copy())
    snap.grad_fn, snap.requires_grad = t.grad_fn, t.requires_grad
    out = fn(snap, *args, **kw)
    if out.dtype != t.dtype:
        raise RuntimeError(
            f"{op}: result type {out.dtype} can't be cast to the desired output type {t.dtype}"
        )
    np.copyto(t._data, out._data)
    t.grad_fn, t.requires_grad = out.grad_fn, True
    return _bump(t)


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


@fast_inplace("zero_")
def zero_(self: Tensor) -> Tensor:
    """Set every element to 0 (cuts the history: the values no longer depend on anything)."""
    return fill_(self, 0)


@fast_inplace("fill_")
def fill_(self: Tensor, value: Any) -> Tensor:
    """Set every element to ``value``."""
    _check_leaf(self, "fill_")
    if _requires(value) and state.grad_enabled:
        return apply_inplace(self, "fill_", lambda s, v: expand(v.to(s.dtype), *s.shape), value)
    self._data[...] = _data(value)
    if state.grad_enabled and self.grad_fn is not None:
        self.grad_fn, self.requires_grad = None, False
    return _bump(self)


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
        except (IndexError, ValueError) as e:
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
