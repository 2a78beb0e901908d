"""Shape ops: they move or view elements without changing them, so each backward undoes the move."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.ops._common import Function, Tensor, as_tensor, check_dim

__all__ = [
    "broadcast_to",
    "expand",
    "expand_as",
    "permute",
    "reshape",
    "swapaxes",
    "swapdims",
    "t",
    "transpose",
    "unsqueeze",
]


def _view_of(out: Tensor, x: Any) -> Tensor:
    """Results that share memory with ``x`` share its version counter (in-place checks)."""
    if isinstance(x, Tensor) and out.data.base is not None:
        out._vc = x._vc
        out._base = x if x._base is None else x._base
    return out


class Reshape(Function):
    __slots__ = ("in_shape",)

    @staticmethod
    def forward(ctx: Any, x: Any, shape: Any) -> Any:
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g.reshape(ctx.in_shape), None


def _shape_arg(shape: Any) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def reshape(input: Any, *shape: Any) -> Tensor:
    """The same elements in a new shape (-1 infers one size)."""
    x = as_tensor(input)
    shape = _shape_arg(shape)
    try:
        out = Reshape.apply(x, shape)
    except ValueError:
        raise RuntimeError(
            f"reshape: shape {list(shape)} is invalid for input of size {x.data.size} "
            f"(shape {tuple(x.shape)})"
        ) from None
    return _view_of(out, x)


view = reshape


class Permute(Function):
    __slots__ = ("dims",)

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any) -> Any:
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.transpose(g, np.argsort(ctx.dims)), None


def permute(input: Any, *dims: Any) -> Tensor:
    """Reorder dimensions; the gradient is permuted back by the inverse permutation."""
    x = as_tensor(input)
    dims = _shape_arg(dims)
    if sorted(check_dim("permute", d, x.ndim) for d in dims) != list(range(x.ndim)):
        raise RuntimeError(
            f"permute: dims {dims} are not a permutation of the {x.ndim} dims of a tensor of "
            f"shape {tuple(x.shape)}"
        )
    return _view_of(Permute.apply(x, tuple(d % max(x.ndim, 1) for d in dims)), x)


def transpose(input: Any, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    x = as_tensor(input)
    n = x.data.ndim
    if n == 0:
        return x
    d0, d1 = check_dim("transpose", dim0, n), check_dim("transpose", dim1, n)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return _view_of(Permute.apply(x, tuple(dims)), x)


swapaxes = swapdims = transpose


def t(input: Any) -> Tensor:
    """Transpose of a matrix (0-d and 1-d tensors are returned as they are)."""
    x = as_tensor(input)
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return transpose(x, 0, 1) if x.ndim == 2 else x


class Expand(Function):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, shape: Any) -> Any:
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, None  # the engine sums the gradient back to the input's shape


def expand(input: Any, *sizes: Any) -> Tensor:
    """A broadcast view to ``sizes`` (-1 keeps a size); the gradient sums over the copies."""
    x = as_tensor(input)
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({x.ndim})"
        )
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    try:
        return Expand.apply(x, shape)
    except ValueError:
        raise RuntimeError(
            f"expand: the shape {tuple(x.shape)} cannot be expanded to {shape}: a dimension of "
            "size != 1 can only be expanded to its own size"
        ) from None


def broadcast_to(input: Any, size: Any) -> Tensor:
    return expand(input, *size)


def expand_as(input: Any, other: Any) -> Tensor:
    return expand(input, *other.shape)


def unsqueeze(input: Any, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    x = as_tensor(input)
    d = check_dim("unsqueeze", dim, x.ndim + 1)
    shape = x.shape[:d] + (1,) + x.shape[d:]
    return reshape(x, shape)


class Cast(Function):
    __slots__ = ("in_dtype",)

    @staticmethod
    def forward(ctx: Any, x: Any, dtype: Any) -> Any:
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g.astype(ctx.in_dtype), None


def to(input: Any, *args: Any, dtype: Any = None, copy: bool = False, **kwargs: Any) -> Tensor:
    """Convert dtype (``t.to(glassgrad.float64)``); devices other than 'cpu' are refused."""
    x = as_tensor(input)
    for a in args:
        if isinstance(a, str) and a.startswith(("cpu", "cuda", "mps")):
            if a != "cpu":
                raise RuntimeError(f"to(): glassgrad runs on the CPU only, got device {a!r}")
        elif isinstance(a, Tensor):
            dtype = a.dtype
        else:
            dtype = a
    if dtype is None:
        return x
    d = dtypes.as_dtype(dtype)
    if d == x.data.dtype and not copy:
        return x
    if d.kind not in "fc" or x.data.dtype.kind not in "fc":
        return Tensor._make(x.data.astype(d))
    return Cast.apply(x, d)


def float_(x: Any) -> Tensor:
    return to(x, dtypes.float32)


def double(x: Any) -> Tensor:
    return to(x, dtypes.float64)


def long(x: Any) -> Tensor:
    return to(x, dtypes.int64)


def int_(x: Any) -> Tensor:
    return to(x, dtypes.int32)


def bool_(x: Any) -> Tensor:
    return to(x, dtypes.bool_)


def half(x: Any) -> Tensor:
    return to(x, dtypes.float16)


def type_as(x: Any, other: Any) -> Tensor:
    return to(x, other.dtype)


METHODS = {
    "reshape": reshape,
    "view": view,
    "permute": permute,
    "transpose": transpose,
    "swapaxes": swapaxes,
    "swapdims": swapdims,
    "t": t,
    "expand": expand,
    "expand_as": expand_as,
    "broadcast_to": broadcast_to,
    "unsqueeze": unsqueeze,
    "to": to,
    "float": float_,
    "double": double,
    "long": long,
    "int": int_,
    "bool": bool_,
    "half": half,
    "type_as": type_as,
}


def _np_expand_dims(a: Any, axis: Any) -> Tensor:
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    n = a.ndim + len(axes)
    axes = sorted(ax % n for ax in axes)
    shape = list(a.shape)
    for ax in axes:
        shape.insert(ax, 1)
    return reshape(a, tuple(shape))


NUMPY_FUNCTIONS = {
    np.shape: lambda a: a.shape,
    np.ndim: lambda a: a.ndim,
    np.size: lambda a, axis=None: a.data.size if axis is None else a.shape[axis],
    np.reshape: lambda a, shape=None, **kw: reshape(
        a, shape if shape is not None else kw["newshape"]
    ),
    np.transpose: lambda a, axes=None: permute(
        a, axes if axes is not None else tuple(reversed(range(a.ndim)))
    ),
    np.swapaxes: lambda a, axis1, axis2: transpose(a, axis1, axis2),
    np.expand_dims: _np_expand_dims,
    np.broadcast_to: lambda a, shape, **kw: expand(a, *shape),
    np.astype: lambda a, dtype, **kw: to(a, dtype),
}
