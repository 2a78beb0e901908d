"""Helpers the reduction modules share: ``dim`` handling and restoring reduced axes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad.ops._common import Tensor, normalize_dims

# Forwards call NumPy's ufunc reductions directly, with positional arguments (x, axis, dtype, out,
# keepdims): np.sum's Python wrapper costs about 2 µs more per call. Typed Any because NumPy's
# stubs only accept keepdims as a keyword literal.
add_reduce: Any = np.add.reduce
mul_reduce: Any = np.multiply.reduce
max_reduce: Any = np.maximum.reduce
min_reduce: Any = np.minimum.reduce


class _NoDim:
    """``sum``/``mean``'s default ``dim``: none given, every axis (shown as None).

    PyTorch records ``x.sum()`` as ``SumBackward0`` but ``x.sum(dim=None)`` as ``SumBackward1``
    (the dim overload), so "no dim" and "dim=None" must be told apart.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "None"


NO_DIM: Any = _NoDim()


def axes_of(op: str, dim: Any, ndim: int) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of axes; None or () mean every axis. A 0-d tensor has none."""
    if dim is None:
        return tuple(range(ndim))
    if type(dim) is int and -ndim <= dim < ndim:  # the common case, without the general checks
        return (dim + ndim if dim < 0 else dim,)
    axes = normalize_dims(op, dim, ndim)
    return axes if ndim else ()


def unsqueeze(a: Any, axes: tuple[int, ...], keepdim: bool) -> Any:
    """Put the reduced axes back (as size 1) so a reduced value broadcasts against the input."""
    return a if keepdim or not axes else np.expand_dims(a, axes)


def expand_back(g: Any, axes: tuple[int, ...], keepdim: bool, shape: tuple[int, ...]) -> Any:
    """Broadcast a reduced gradient back over the reduced axes (a view: no copy)."""
    return np.broadcast_to(unsqueeze(g, axes, keepdim), shape)


def numel(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    return math.prod(shape[a] for a in axes)


def check_nonempty(
    op: str, x: Tensor, axes: tuple[int, ...], dim: Any, unspecified: type = RuntimeError
) -> None:
    """Reductions without an identity (max, min...) refuse empty slices, as PyTorch does."""
    if x._data.size:
        return
    if dim is None or dim == ():
        raise unspecified(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0 (input of "
            f"shape {tuple(x.shape)}). Specify the reduction dim with the 'dim' argument."
        )
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(
                f"{op}(): Expected reduction dim {a} to have non-zero size (input of shape "
                f"{tuple(x.shape)})."
            )
