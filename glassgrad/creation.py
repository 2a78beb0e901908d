"""Making tensors: ``tensor``, ``zeros``, ``randn``... with PyTorch's dtype rules, one RNG."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.tensor import Tensor

_rng = [np.random.default_rng()]


def manual_seed(seed: int) -> np.random.Generator:
    """Seed glassgrad's random number generator (rand, randn, dropout, init...)."""
    _rng[0] = np.random.default_rng(seed)
    return _rng[0]


def generator() -> np.random.Generator:
    """The generator every random op draws from."""
    return _rng[0]


def _has_float(data: Any) -> bool:
    if isinstance(data, float):
        return True
    if isinstance(data, (list, tuple)):
        return any(_has_float(d) for d in data)
    return False


def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` as ``torch.tensor`` does (Python floats become the default dtype)."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        return np.array(data, dtype=dtypes.as_dtype(dtype))
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data)
    else:
        arr = np.array(data)
        if arr.dtype.kind == "f" and arr.dtype != dtypes.get_default_dtype():
            arr = arr.astype(dtypes.get_default_dtype())
        elif arr.dtype == np.dtype("O"):
            raise TypeError(f"tensor(): could not convert {type(data).__name__} to numbers")
    if arr.dtype.kind in "iu" and arr.dtype != np.int64 and not isinstance(data, np.ndarray):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"tensor(): unsupported dtype {arr.dtype}")
    return arr


def tensor(
    data: Any, dtype: Any = None, requires_grad: bool = False, name: str | None = None
) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    >>> tensor([1.0, 2.0]).dtype  # Python floats become the default dtype
    dtype('float32')
    """
    t = Tensor(data, requires_grad=requires_grad, dtype=dtype)
    t.name = name
    return t


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (its dtype is kept, float64 stays float64)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an np.ndarray, got {type(array).__name__}")
    return Tensor._make(array)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtypes.as_dtype(dtype)):
        return data
    if isinstance(data, np.ndarray) and dtype is None:
        return Tensor._make(data)
    return Tensor(data, dtype=dtype)


def _shape(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _leaf(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.zeros(_shape(size), dtypes.as_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.ones(_shape(size), dtypes.as_dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.empty(_shape(size), dtypes.as_dtype(dtype)), requires_grad)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, requires_grad: bool = False):
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = dtypes.bool_
        elif isinstance(fill_value, int):
            dtype = dtypes.int64
    return _leaf(np.full(_shape((size,)), fill_value, dtypes.as_dtype(dtype)), requires_grad)


def _like_dtype(t: Any, dtype: Any) -> np.dtype:
    return dtypes.as_dtype(dtype) if dtype is not None else np.asarray(t).dtype


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.zeros(np.shape(t), _like_dtype(t, dtype)), requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.ones(np.shape(t), _like_dtype(t, dtype)), requires_grad)


def empty_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.empty(np.shape(t), _like_dtype(t, dtype)), requires_grad)


def full_like(t: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.full(np.shape(t), fill_value, _like_dtype(t, dtype)), requires_grad)


def rand_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(*np.shape(t), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def randn_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(*np.shape(t), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def arange(
    start: Any, end: Any = None, step: Any = 1, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """Like ``torch.arange``: integers give int64, any float argument gives the default dtype."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = dtypes.get_default_dtype() if is_float else dtypes.int64
    return _leaf(np.arange(start, end, step, dtype=dtypes.as_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False):
    return _leaf(np.linspace(start, end, steps, dtype=dtypes.as_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.eye(n, m, dtype=dtypes.as_dtype(dtype)), requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    d = dtypes.as_dtype(dtype)
    return _leaf(_rng[0].random(_shape(size), dtype=d), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    d = dtypes.as_dtype(dtype)
    return _leaf(_rng[0].standard_normal(_shape(size), dtype=d), requires_grad)


def randint(low: int, high: Any = None, size: Any = None, dtype: Any = None) -> Tensor:
    """``randint(high, size)`` or ``randint(low, high, size)``, as in PyTorch."""
    if size is None:
        low, high, size = 0, low, high
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    return Tensor._make(_rng[0].integers(low, high, size=tuple(size)).astype(d))


def randperm(n: int, dtype: Any = None) -> Tensor:
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    return Tensor._make(_rng[0].permutation(n).astype(d))
