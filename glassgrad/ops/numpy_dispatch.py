"""Let NumPy functions run on Tensors as differentiable glassgrad ops.

``np.exp(t)``, ``np.sum(t, axis=0)`` and ``ndarray * t`` all land here through NumPy's
``__array_ufunc__`` / ``__array_function__`` protocols. This is what lets backward rules, written
with NumPy, run on Tensors under ``create_graph=True``; it also lets users differentiate plain
NumPy-style code. A function with no differentiable counterpart raises a clear TypeError.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.tensor import Tensor

_UFUNCS: dict[Any, Any] = {}
_FUNCTIONS: dict[Any, Any] = {}


def register(ufuncs: dict[Any, Any], functions: dict[Any, Any]) -> None:
    """Called by each op family with its NumPy-name -> glassgrad-op tables."""
    _UFUNCS.update(ufuncs)
    _FUNCTIONS.update(functions)


def _unwrap_out(kwargs: dict[str, Any]) -> None:
    if kwargs.get("out") is not None:
        raise TypeError("glassgrad: NumPy functions with out= are not supported on Tensors")
    kwargs.pop("out", None)


_REDUCERS = {"add": "sum", "multiply": "prod", "maximum": "amax", "minimum": "amin"}


def ufunc(uf: Any, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    _unwrap_out(kwargs)
    if method == "reduce" and uf.__name__ in _REDUCERS:  # np.add.reduce(t, axis) -> sum
        (x,) = inputs
        axis = kwargs.get("axis", 0)
        return getattr(x, _REDUCERS[uf.__name__])(
            tuple(range(x.ndim)) if axis is None else axis, kwargs.get("keepdims", False)
        )
    if method != "__call__":
        raise TypeError(f"glassgrad: np.{uf.__name__}.{method} is not supported on Tensors")
    op = _UFUNCS.get(uf)
    if op is None:
        raise TypeError(
            f"glassgrad: np.{uf.__name__} has no differentiable glassgrad counterpart; "
            "convert with .detach().numpy() or use a glassgrad op"
        )
    kwargs.pop("dtype", None)
    kwargs.pop("casting", None)
    return op(*inputs, **kwargs)


def function(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    op = _FUNCTIONS.get(func)
    if op is None:
        raise TypeError(
            f"glassgrad: np.{func.__name__} has no differentiable glassgrad counterpart; "
            "convert with .detach().numpy() or use a glassgrad op"
        )
    return op(*args, **kwargs)


def numpy_of(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


_ = np
