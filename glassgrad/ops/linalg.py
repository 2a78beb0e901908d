"""Linear algebra: matmul in its 1-D, 2-D and batched forms, and the fused ``linear`` op."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Function, Tensor, as_tensor

__all__ = ["matmul"]


def _mT(a: Any) -> Any:
    return np.swapaxes(a, -1, -2)


class Matmul(Function):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return np.matmul(x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.next
        if x.ndim >= 2 and y.ndim >= 2:  # batch dims that broadcast are summed by the engine
            gx = np.matmul(g, _mT(y)) if nx is not None else None
            gy = np.matmul(_mT(x), g) if ny is not None else None
            return gx, gy
        if x.ndim == 1 and y.ndim == 1:  # dot product
            return (g * y if nx is not None else None), (g * x if ny is not None else None)
        # a 1-D operand is a row (left) or column (right) vector that matmul drops again
        x2 = np.expand_dims(x, 0) if x.ndim == 1 else x
        y2 = np.expand_dims(y, -1) if y.ndim == 1 else y
        g2 = np.expand_dims(g, -2) if x.ndim == 1 else g
        g2 = np.expand_dims(g2, -1) if y.ndim == 1 else g2
        gx = gy = None
        if nx is not None:
            gx = np.matmul(g2, _mT(y2))
            if x.ndim == 1:
                gx = np.sum(gx.reshape(-1, x.shape[0]), axis=0)
        if ny is not None:
            gy = np.matmul(_mT(x2), g2)
            if y.ndim == 1:
                gy = np.sum(gy.reshape(-1, y.shape[0]), axis=0)
        return gx, gy


def matmul(input: Any, other: Any) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: vectors, matrices and broadcast batches.

    >>> import glassgrad as gg
    >>> (gg.ones(2, 3) @ gg.ones(3)).tolist()
    [3.0, 3.0]
    """
    x, y = as_tensor(input), as_tensor(other)
    if x.ndim == 0 or y.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dimension, got shapes {tuple(x.shape)} "
            f"and {tuple(y.shape)}"
        )
    kx = x.shape[-1]
    ky = y.shape[-2] if y.ndim >= 2 else y.shape[0]
    if kx != ky:
        raise RuntimeError(
            f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be multiplied "
            f"(inner dimensions {kx} and {ky} differ)"
        )
    if x.dtype != y.dtype:
        raise RuntimeError(
            f"matmul: expected both operands to have the same dtype, but got {x.dtype} and "
            f"{y.dtype} (shapes {tuple(x.shape)} and {tuple(y.shape)})"
        )
    try:
        return Matmul.apply(x, y)
    except ValueError as e:
        raise RuntimeError(
            f"matmul: batch dimensions of {tuple(x.shape)} and {tuple(y.shape)} do not "
            f"broadcast ({e})"
        ) from None


class Linear(Function):
    # NOTE: fused x @ W.T + b: one node instead of three, and no transposed copy of W is kept.
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, w: Any, b: Any) -> Any:
        ctx.save_for_backward(x, w)
        out = np.matmul(x, w.T)
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.next
        gx = np.matmul(g, w) if nx is not None else None
        gw = gb = None
        if nw is not None:
            if g.ndim == 2:
                gw = np.matmul(g.T, x)
            elif g.ndim == 1:
                gw = np.multiply.outer(g, x) if not isinstance(g, Tensor) else _outer(g, x)
            else:
                gw = np.matmul(g.reshape(-1, g.shape[-1]).T, x.reshape(-1, x.shape[-1]))
        if nb is not None:
            gb = np.sum(g.reshape(-1, g.shape[-1]), axis=0) if g.ndim != 1 else g
        return gx, gw, gb


def _outer(a: Any, b: Any) -> Any:
    return np.expand_dims(a, -1) * np.expand_dims(b, 0)


def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:
    """y = x Wᵀ + b, with W of shape (out_features, in_features) as in ``torch.nn.Linear``."""
    x, w = as_tensor(input), as_tensor(weight)
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise RuntimeError(
            f"linear: input of shape {tuple(x.shape)} does not match weight of shape "
            f"{tuple(w.shape)} (expected input[..., {w.shape[1] if w.ndim == 2 else '?'}] and "
            "a 2-D weight (out_features, in_features))"
        )
    if bias is not None:
        b = as_tensor(bias)
        if b.shape != (w.shape[0],):
            raise RuntimeError(
                f"linear: bias of shape {tuple(b.shape)} does not match weight of shape "
                f"{tuple(w.shape)} (expected ({w.shape[0]},))"
            )
        bias = b
    if x.dtype != w.dtype:
        raise RuntimeError(f"linear: input dtype {x.dtype} and weight dtype {w.dtype} differ")
    return Linear.apply(x, w, bias)


METHODS = {"matmul": matmul}
NUMPY_UFUNCS = {np.matmul: matmul}
