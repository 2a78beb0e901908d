"""Helpers every op family shares: argument conversion, PyTorch's type promotion, dims."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad._convert import as_array
from glassgrad.autograd.node import Node
from glassgrad.autograd.state import state
from glassgrad.tensor import Tensor

__all__ = [
    "Node",
    "Tensor",
    "as_tensor",
    "binary_operands",
    "check_dim",
    "floating_input",
    "normalize_dims",
    "return_type",
    "state",
    "to_default_float",
]

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def return_type(name: str, fields: tuple[str, ...], module: str) -> type:
    """A named result (``values, indices = x.max(1)``; ``.values``) that prints as PyTorch's
    ``torch.return_types.max(\nvalues=...,\nindices=...)``, under glassgrad's name. ``module``:
    the family module whose ``return_types`` class holds it (so it pickles)."""

    def __repr__(self: Any) -> str:
        items = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self, strict=True))
        return f"glassgrad.return_types.{name}(\n{items})"

    base = namedtuple(name, fields)  # type: ignore[misc]  # (a name known only here)
    namespace = {"__slots__": (), "__repr__": __repr__, "__module__": module}
    cls = type(name, (base,), namespace)
    cls.__qualname__ = f"return_types.{name}"
    return cls


_SCALAR_TYPES = (bool, int, float, complex)


def as_tensor(x: Any, op: str = "tensor()") -> Tensor:
    """A Tensor for ``x`` (no copy for arrays; Python scalars follow ``glassgrad.tensor``)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._make(x)
    return Tensor._make(as_array(x, op=op))


def _scalar(v: Any) -> Any:
    """NumPy scalars become Python scalars, so they don't upcast float32 (NEP 50 'weak' scalars)."""
    if isinstance(v, np.generic):
        return v.item()
    return v


def binary_operands(op: str, a: Any, b: Any) -> tuple[Any, Any]:
    """Bring two operands to PyTorch's result dtype; Python scalars stay weak scalars.

    Dimensioned tensors decide the dtype within a category (bool < int < float); a 0-d tensor
    or a Python number only decides it when it is of a higher category. ``float32 * np.float64``
    therefore stays float32, as in PyTorch.
    """
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        da, db = a._data.dtype, b._data.dtype
        if da is db or da == db:
            return a, b
        target = _promote_tensors(a._data, b._data)
        return _cast(a, target), _cast(b, target)
    if ta:
        b = _other(op, a, b)
        return (_for_scalar(a, b) if type(b) in _WIDENING else a), b
    if tb:
        a = _other(op, b, a)
        return a, (_for_scalar(b, a) if type(a) in _WIDENING else b)
    return as_tensor(a, op), b


_WIDENING = (float, complex)


def _for_scalar(t: Tensor, v: Any) -> Tensor:
    """``t`` promoted for a Python float or complex operand ``v`` (PyTorch: ``int * 1.5`` is
    float32, ``float64 * 1j`` complex128, ``int * 1j`` complex64)."""
    if isinstance(v, float):  # (a number glassgrad.compile traces is a float subclass)
        return to_default_float(t)
    kind = t._data.dtype.kind
    if kind == "c":
        return t
    target = dtypes.complex_of(t._data.dtype) if kind == "f" else dtypes.default_complex()
    return t.to(target)


def to_default_float(t: Tensor) -> Tensor:
    """An int/bool tensor in the default float dtype (PyTorch's promotion for ``int / int``,
    ``int * 1.5``, ``logsumexp(int)``); float tensors as they are."""
    if t._data.dtype.kind in "iub":
        return Tensor._make(t._data.astype(dtypes.default_float()))
    return t


def floating_input(op: str, input: Any, error: type[Exception] = RuntimeError) -> Tensor:
    """``input`` as a Tensor, refusing integer and bool tensors as PyTorch does (``error`` is
    the exception type PyTorch raises for this op)."""
    x = as_tensor(input, op)
    if x._data.dtype.kind not in "fc":
        raise error(
            f"{op}: expected a floating-point tensor, got dtype {dtypes.name(x._data.dtype)} "
            f"(shape {tuple(x.shape)})"
        )
    return x


def _other(op: str, t: Tensor, v: Any) -> Any:
    v = _scalar(v)
    if isinstance(v, _SCALAR_TYPES):
        return v
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (np.ndarray, list, tuple)):
        arr = v if isinstance(v, np.ndarray) else _numbers(op, v)
        if arr.dtype.kind not in "fiubc":
            raise TypeError(
                f"{op}: unsupported operand, an array of {dtypes.name(arr.dtype)}, with a tensor "
                f"of dtype {dtypes.name(t._data.dtype)}"
            )
        mixed = arr.dtype.kind == "f" and t._data.dtype.kind == "f" and arr.dtype != t._data.dtype
        if mixed and (arr.ndim == 0 or t._data.ndim == 0):
            arr = arr.astype(_promote_tensors(t._data, arr))
        return Tensor._make(arr)
    raise TypeError(
        f"{op}: unsupported operand of type {type(v).__name__} with a tensor of dtype "
        f"{dtypes.name(t._data.dtype)}"
    )


def _numbers(op: str, v: Any) -> np.ndarray:
    """A list operand as NumPy reads it (float64 stays float64), or ``as_array``'s error."""
    try:
        arr = np.asarray(v)
    except (ValueError, TypeError, OverflowError, RecursionError):
        arr = None
    if arr is None or arr.dtype.kind not in "fiubc":
        as_array(v, op=op)  # raises, saying what is wrong and where
        raise TypeError(f"{op}: cannot use {type(v).__name__} as an operand")
    return arr


def _promote_tensors(x: np.ndarray, y: np.ndarray) -> np.dtype:
    cx, cy = _CATEGORY[x.dtype.kind], _CATEGORY[y.dtype.kind]
    if (x.ndim == 0) == (y.ndim == 0):
        if cx == cy:
            return np.promote_types(x.dtype, y.dtype)
        if max(cx, cy) == 3 and min(cx, cy) == 2:  # complex64 with float64: complex128
            return np.promote_types(x.dtype, y.dtype)
        return x.dtype if cx > cy else y.dtype
    dimmed, zero = (x, y) if y.ndim == 0 else (y, x)
    if _CATEGORY[zero.dtype.kind] > _CATEGORY[dimmed.dtype.kind]:
        if zero.dtype.kind == "c" and dimmed.dtype.kind == "f":  # the float's precision wins
            return dtypes.complex_of(dimmed.dtype)
        return zero.dtype
    return dimmed.dtype


def _cast(t: Tensor, dtype: np.dtype) -> Tensor:
    if t._data.dtype == dtype:
        return t
    return t.to(dtype)


def check_dim(op: str, dim: int, ndim: int) -> int:
    """Wrap a negative ``dim`` and raise PyTorch's IndexError when it is out of range."""
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if dim < lo or dim > hi:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{lo}, {hi}], but got "
            f"{dim}) for a tensor with {ndim} dimensions"
        )
    return dim % ndim if ndim else 0


def normalize_dims(op: str, dim: Any, ndim: int) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative axes; None means every axis."""
    if dim is None:
        return tuple(range(ndim))
    if ndim == 0:  # a 0-d tensor accepts dim 0 / -1 (PyTorch), and has no axis to reduce
        for d in dim if isinstance(dim, (list, tuple)) else (dim,):
            check_dim(op, d, 0)
        return ()
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return tuple(range(ndim))
        axes = tuple(sorted(check_dim(op, d, ndim) for d in dim))
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
        return axes
    return (check_dim(op, dim, ndim),)
