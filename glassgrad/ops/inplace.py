"""In-place ops (``add_``, ``mul_``, ``zero_``, ``t[i] = v`` ...) and their version counters.

Each in-place op bumps the tensor's version counter (shared with its views), so a backward rule
that saved the old value finds out and raises instead of using the new one. When the op must be
recorded, the result is computed out of place from a snapshot, written back into the same memory,
and the tensor's ``grad_fn`` is moved to the new node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad.autograd.engine import bump_version
from glassgrad.ops._common import Tensor, state


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
        with _no_grad():
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


class _no_grad:  # local, to avoid importing the public context managers here
    def __enter__(self) -> None:
        self.prev = state.grad_enabled
        state.grad_enabled = False

    def __exit__(self, *exc: Any) -> None:
        state.grad_enabled = self.prev


def _data(v: Any) -> Any:
    return v._data if isinstance(v, Tensor) else v


def _fast(t: Tensor, *args: Any) -> bool:
    """Nothing to record: compute straight into ``t``'s memory."""
    return not state.grad_enabled or not (t.requires_grad or any(_requires(a) for a in args))


def _accumulate_(self: Tensor, op: str, ufunc: Any, other: Any, alpha: Any) -> Tensor:
    """self = ufunc(self, alpha * other) in place: add_ and sub_."""
    if _fast(self, other):
        _check_leaf(self, op)
        o = _data(other)
        if alpha != 1:
            o = o * alpha
        ufunc(self._data, o, out=self._data, casting="same_kind")
        return _bump(self)
    from glassgrad.ops.elementwise import add, sub

    return apply_inplace(self, op, add if ufunc is np.add else sub, other, alpha=alpha)


def add_(self: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """self += alpha * other, in place."""
    return _accumulate_(self, "add_", np.add, other, alpha)


def sub_(self: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """self -= alpha * other, in place."""
    return _accumulate_(self, "sub_", np.subtract, other, alpha)


def mul_(self: Tensor, other: Any) -> Tensor:
    """self *= other, in place."""
    from glassgrad.ops.elementwise import mul

    if _fast(self, other):
        _check_leaf(self, "mul_")
        np.multiply(self._data, _data(other), out=self._data, casting="same_kind")
        return _bump(self)
    return apply_inplace(self, "mul_", mul, other)


def div_(self: Tensor, other: Any) -> Tensor:
    """self /= other, in place."""
    from glassgrad.ops.elementwise import div

    if _fast(self, other):
        _check_leaf(self, "div_")
        np.divide(self._data, _data(other), out=self._data, casting="same_kind")
        return _bump(self)
    return apply_inplace(self, "div_", div, other)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    from glassgrad.ops.elementwise import clamp

    return apply_inplace(self, "clamp_", clamp, min, max)


def zero_(self: Tensor) -> Tensor:
    """Set every element to 0 (cuts the history: the values no longer depend on anything)."""
    return fill_(self, 0)


def fill_(self: Tensor, value: Any) -> Tensor:
    """Set every element to ``value``."""
    _check_leaf(self, "fill_")
    if _requires(value) and state.grad_enabled:
        from glassgrad.ops.shape import expand

        return apply_inplace(self, "fill_", lambda s, v: expand(v.to(s.dtype), *s.shape), value)
    self._data[...] = _data(value)
    if state.grad_enabled and self.grad_fn is not None:
        self.grad_fn, self.requires_grad = None, False
    return _bump(self)


def copy_(self: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to this shape) into this tensor's memory."""
    from glassgrad.ops.shape import expand

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


def setitem(self: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value``; differentiable with respect to ``t``'s other elements and ``value``."""
    from glassgrad.ops import indexing

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


METHODS = {
    "add_": add_,
    "sub_": sub_,
    "mul_": mul_,
    "div_": div_,
    "clamp_": clamp_,
    "clip_": clamp_,
    "zero_": zero_,
    "fill_": fill_,
    "copy_": copy_,
    "__setitem__": setitem,
    "__iadd__": add_,
    "__isub__": sub_,
    "__imul__": mul_,
    "__itruediv__": div_,
}
