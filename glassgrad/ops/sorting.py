"""Sorting and searching: ``sort``, ``argsort``, ``topk``, ``kthvalue``, ``mode``, ``msort``,
``unique``, ``unique_consecutive``, ``searchsorted``, ``bucketize``.

The values these ops return are elements of the input picked by an index, so every rule is the
same: the gradient goes back to the picked positions (``Gather``'s rule, under PyTorch's node
name). Indices, counts and bucket numbers carry no gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad._convert import int_or_given
from glassgrad.ops._common import Tensor, as_tensor, check_dim, return_type
from glassgrad.ops.registry import op
from glassgrad.ops.scatter import Gather
from glassgrad.ops.selection import _Select


class return_types:
    """(values, indices) results with PyTorch's field names (``torch.return_types.sort``)."""

    sort = return_type("sort", ("values", "indices"), __name__)
    topk = return_type("topk", ("values", "indices"), __name__)
    kthvalue = return_type("kthvalue", ("values", "indices"), __name__)
    mode = return_type("mode", ("values", "indices"), __name__)


class Sort(Gather):  # values = x gathered at the sorting permutation
    __slots__ = ()


class SortStable(Sort):  # PyTorch's sort(stable=...) overload
    __slots__ = ()
    op_name = "Sort"
    variant = 1


class Topk(Gather):
    __slots__ = ()


class Kthvalue(_Select):  # one picked value per slice (keepdim handled by _Select)
    __slots__ = ()


class Mode(_Select):
    __slots__ = ()


def _order(a: np.ndarray, d: int, descending: bool) -> np.ndarray:
    """A stable sorting permutation along ``d``; NaN counts as the largest value, as in PyTorch.

    Descending keeps equal elements in their original order: sort the reversed array stably,
    then reverse the result and map positions back.
    """
    if not descending:
        return np.argsort(a, axis=d, kind="stable")
    n = a.shape[d]
    flipped = np.argsort(np.flip(a, d), axis=d, kind="stable")
    return (n - 1) - np.flip(flipped, d)


def _sortable(op: str, input: Any, dim: int) -> tuple[Tensor, int]:
    x = as_tensor(input)
    if x._data.dtype.kind not in "biuf":
        raise TypeError(f"{op}(): can't sort a tensor of dtype {x._data.dtype}")
    return x, check_dim(op, dim, x._data.ndim)


def _gathered(node: Any, x: Tensor, d: int, index: np.ndarray) -> Tensor:
    """Values at ``index`` along ``d``: a recorded ``node`` for floats, a plain copy for ints."""
    if x._data.ndim == 0:
        return node.apply(x.reshape(1), 0, index.reshape(1)).reshape(())
    return node.apply(x, d, index)


@op
def sort(input: Any, dim: int = -1, descending: bool = False, stable: bool | None = False) -> Any:
    """(values, indices) sorted along ``dim``; the gradient flows back to where each value was.

    >>> import glassgrad as gg
    >>> gg.sort(gg.tensor([3.0, 1.0, 2.0]))
    glassgrad.return_types.sort(
    values=tensor([1., 2., 3.]),
    indices=tensor([1, 2, 0]))
    """
    x, d = _sortable("sort", input, dim)
    index = _order(x._data, d, descending) if x._data.ndim else np.zeros((), np.int64)
    node = Sort if stable is False else SortStable
    return return_types.sort(_gathered(node, x, d, index), Tensor._make(index.astype(np.int64)))


@op(differentiable=False)
def argsort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (ties keep their order)."""
    x, d = _sortable("argsort", input, dim)
    if x._data.ndim == 0:
        return Tensor._make(np.zeros((), np.int64))
    return Tensor._make(_order(x._data, d, descending).astype(np.int64))


@op
def msort(input: Any) -> Tensor:
    """Sorted along the first dimension: ``sort(input, dim=0).values``."""
    return sort(input, 0).values


@op
def topk(input: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    x, d = _sortable("topk", input, dim)
    k = int_or_given(k)
    n = x.shape[d] if x._data.ndim else 1
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k <= n:
        raise RuntimeError(
            f"topk(): k ({k!r}) must be an int in [0, {n}] for dimension {d} of a tensor of "
            f"shape {tuple(x.shape)}"
        )
    if x._data.ndim == 0:
        index = np.zeros((), np.int64)
    else:
        index = np.take(_order(x._data, d, largest), np.arange(k), axis=d)
    return return_types.topk(_gathered(Topk, x, d, index), Tensor._make(index.astype(np.int64)))


def _pick_per_slice(op: str, node: Any, result: Any, x: Tensor, d: int, index: Any, keep: bool):
    """(values, indices) from one index per slice along ``d`` (``index`` with keepdims)."""
    if x._data.ndim == 0:
        return result(x * 1, Tensor._make(np.zeros((), np.int64)))
    values = node.apply(x, index, d, keep)
    return result(values, Tensor._make(index if keep else np.squeeze(index, d)))


@op
def kthvalue(input: Any, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """The ``k``-th smallest value along ``dim`` (``k`` counts from 1) and its index."""
    x, d = _sortable("kthvalue", input, dim)
    k = int_or_given(k)
    n = x.shape[d] if x._data.ndim else 1
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise RuntimeError(
            f"kthvalue(): k ({k!r}) must be in [1, {n}] for dimension {d} of a tensor of "
            f"shape {tuple(x.shape)}"
        )
    index = None
    if x._data.ndim:
        index = np.take(_order(x._data, d, False), [k - 1], axis=d).astype(np.int64)
    return _pick_per_slice("kthvalue", Kthvalue, return_types.kthvalue, x, d, index, keepdim)


def _mode_index(a: np.ndarray, d: int) -> np.ndarray:
    """Per slice along ``d``: the index of the last occurrence of the most frequent value
    (the smallest such value on ties), as PyTorch's CPU kernel picks."""
    moved = np.moveaxis(a, d, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    out = np.empty(flat.shape[0], np.int64)
    for row, values in enumerate(flat):
        _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
        winner = int(np.argmax(counts))  # first maximum: the smallest value among ties
        out[row] = np.flatnonzero(inverse == winner)[-1]
    return np.expand_dims(out.reshape(moved.shape[:-1]), d)


@op
def mode(input: Any, dim: int = -1, keepdim: bool = False) -> Any:
    """The most frequent value along ``dim`` (the smallest on ties) and an index of it."""
    x, d = _sortable("mode", input, dim)
    if x._data.ndim and x.shape[d] == 0:
        raise IndexError(f"mode(): dimension {d} of a tensor of shape {tuple(x.shape)} is empty")
    index = _mode_index(x._data, d) if x._data.ndim else None
    return _pick_per_slice("mode", Mode, return_types.mode, x, d, index, keepdim)


@op(differentiable=False)
def unique(
    input: Any,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct values (or distinct slices along ``dim``), sorted; optionally where each
    input element went (``return_inverse``) and how often each value occurs (``return_counts``)."""
    x = as_tensor(input)
    axis = None if dim is None else check_dim("unique", dim, x._data.ndim)
    values, inverse, counts = np.unique(x._data, return_inverse=True, return_counts=True, axis=axis)
    if axis is None:
        inverse = inverse.reshape(x.shape)
    return _with_extras(values, inverse, counts, return_inverse, return_counts)


def _with_extras(values, inverse, counts, return_inverse: bool, return_counts: bool) -> Any:
    out = [Tensor._make(values)]
    if return_inverse:
        out.append(Tensor._make(np.asarray(inverse, np.int64)))
    if return_counts:
        out.append(Tensor._make(np.asarray(counts, np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@op(differentiable=False)
def unique_consecutive(
    input: Any, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Any:
    """Collapse runs of equal consecutive values (or slices along ``dim``) to one."""
    x = as_tensor(input)
    a = x._data
    if dim is None:
        flat = a.reshape(-1)
        starts = np.concatenate(([True], flat[1:] != flat[:-1])) if flat.size else flat != flat
        values = flat[starts]
    else:
        d = check_dim("unique_consecutive", dim, a.ndim)
        moved = np.moveaxis(a, d, 0).reshape(a.shape[d], -1)
        change = np.any(moved[1:] != moved[:-1], axis=1)
        starts = np.concatenate(([True], change)) if a.shape[d] else np.zeros(0, bool)
        values = np.compress(starts, a, axis=d)
    run = np.cumsum(starts) - 1
    inverse = run.reshape(a.shape) if dim is None else run
    counts = np.diff(np.append(np.flatnonzero(starts), len(starts)))
    return _with_extras(values, inverse, counts, return_inverse, return_counts)


def _index_dtype(out_int32: bool) -> type:
    return np.int32 if out_int32 else np.int64


@op(method=False, differentiable=False)
def searchsorted(
    sorted_sequence: Any,
    input: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Any = None,
) -> Tensor:
    """Where each value of ``input`` would be inserted to keep the innermost rows of
    ``sorted_sequence`` sorted (leading dimensions are matched row by row)."""
    seq = as_tensor(sorted_sequence)._data
    vals = input._data if isinstance(input, Tensor) else np.asarray(input)
    if side not in (None, "left", "right") or (side == "left" and right):
        raise RuntimeError(
            f"searchsorted(): side must be 'left' or 'right' (got {side!r}, right={right})"
        )
    how: Any = "right" if right or side == "right" else "left"
    if sorter is not None:
        order = as_tensor(sorter)._data
        seq = np.take_along_axis(seq, order, axis=-1)
    if seq.ndim <= 1:
        out = np.searchsorted(seq.reshape(-1), vals, side=how)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError(
                f"searchsorted(): the leading dimensions of sorted_sequence {tuple(seq.shape)} "
                f"and input {tuple(vals.shape)} must match"
            )
        rows = seq.reshape(-1, seq.shape[-1])
        wanted = vals.reshape(rows.shape[0], vals.shape[-1])
        out = np.array([np.searchsorted(r, v, side=how) for r, v in zip(rows, wanted)])
        out = out.reshape(vals.shape)
    return Tensor._make(np.asarray(out, _index_dtype(out_int32)))


@op(method=False, differentiable=False)
def bucketize(
    input: Any, boundaries: Any, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    """The bucket of each value: i such that boundaries[i-1] < x <= boundaries[i]
    (``right=True``: boundaries[i-1] <= x < boundaries[i])."""
    b = as_tensor(boundaries)._data
    if b.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries must be 1-D, got shape {tuple(b.shape)}")
    vals = input._data if isinstance(input, Tensor) else np.asarray(input)
    out = np.searchsorted(b, vals, side="right" if right else "left")
    return Tensor._make(np.asarray(out, _index_dtype(out_int32)))
