"""Let NumPy functions run on Tensors as differentiable glassgrad ops.

``np.exp(t)``, ``np.sum(t, axis=0)`` and ``ndarray * t`` all land here through NumPy's
``__array_ufunc__`` / ``__array_function__`` protocols. This is what lets backward rules, written
with NumPy, run on Tensors under ``create_graph=True``; it also lets users differentiate plain
NumPy-style code. A function with no differentiable counterpart raises a clear TypeError.
"""

from __future__ import annotations

from typing import Any

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


def _tensors_in(values: Any) -> list[Tensor]:
    """Tensors among the arguments, one level into lists and tuples."""
    found = []
    for v in values:
        if isinstance(v, Tensor):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found.extend(x for x in v if isinstance(x, Tensor))
    return found


def _as_arrays(values: Any) -> Any:
    if isinstance(values, Tensor):
        return values._data
    if isinstance(values, (list, tuple)):
        return type(values)(_as_arrays(v) for v in values)
    return values


def function(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    op = _FUNCTIONS.get(func)
    if op is None:
        tensors = _tensors_in([*args, *kwargs.values()])
        if not any(t.requires_grad for t in tensors):
            # Nothing to differentiate (np.allclose(t.grad, ...), np.histogram(t)): plain NumPy
            # on the values, as for a PyTorch tensor, whose result is NumPy's too.
            return func(*_as_arrays(args), **{k: _as_arrays(v) for k, v in kwargs.items()})
        raise TypeError(
            f"glassgrad: np.{func.__name__} has no differentiable glassgrad counterpart; "
            "convert with .detach().numpy() or use a glassgrad op"
        )
    return op(*args, **kwargs)
