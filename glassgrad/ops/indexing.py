"""Indexing: ``t[...]`` with ints, slices, None, Ellipsis, integer and boolean index tensors.

(Being filled in: basic and advanced getitem, index_put, gather/scatter families.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Function, Tensor, as_tensor

__all__ = []


def normalize_index(x: Tensor, index: Any) -> Any:
    """Turn Tensors inside an index into arrays NumPy understands."""
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index.data if isinstance(index, Tensor) else index


class GetItem(Function):
    __slots__ = ("in_shape", "index")

    @staticmethod
    def forward(ctx: Any, x: Any, index: Any) -> Any:
        ctx.index, ctx.in_shape = index, x.shape
        return x[index]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return index_add_zeros(g, ctx.in_shape, ctx.index), None


def index_add_zeros(g: Any, shape: tuple[int, ...], index: Any) -> Any:
    """zeros(shape) with ``g`` added at ``index`` (repeated indices add up)."""
    if isinstance(g, Tensor):
        return IndexPutZeros.apply(g, shape, index)
    out = np.zeros(shape, g.dtype)
    np.add.at(out, index, g)
    return out


class IndexPutZeros(Function):
    __slots__ = ("index",)

    @staticmethod
    def forward(ctx: Any, g: Any, shape: Any, index: Any) -> Any:
        ctx.index = index
        out = np.zeros(shape, g.dtype)
        np.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx: Any, gg: Any) -> Any:
        return gg[ctx.index], None, None


def getitem(input: Tensor, index: Any) -> Tensor:
    x = as_tensor(input)
    idx = normalize_index(x, index)
    try:
        return GetItem.apply(x, idx)
    except IndexError as e:
        raise IndexError(
            f"index {index!r} is out of range for a tensor of shape {tuple(x.shape)}: {e}"
        ) from None


class IndexPut(Function):
    __slots__ = ("index",)

    @staticmethod
    def forward(ctx: Any, x: Any, index: Any, v: Any) -> Any:
        ctx.index = index
        out = x.copy()
        out[index] = v
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        keep = np.ones(np.shape(g), bool)
        keep[ctx.index] = False
        return np.where(keep, g, 0), None, g[ctx.index]


def index_put(input: Tensor, index: Any, values: Any) -> Tensor:
    """Out-of-place ``t[index] = values``; gradients: ``t`` outside index, ``values`` inside."""
    return IndexPut.apply(
        input, index, values if isinstance(values, Tensor) else np.asarray(values, input.dtype)
    )


METHODS = {"__getitem__": getitem}
