"""Pooling: max, average and adaptive average over 1 or 2 spatial dims, PyTorch's semantics.

Max pooling picks each window's first maximum (as PyTorch) without recording anything, then
*gathers* those input elements: the gradient scatters back to them (adding where windows
overlap) and the gradient of that scatter is the same gather, so every order is exact.
Average pooling is linear: its gradient is its adjoint (col2im of g / divisor) and the
adjoint's gradient is average pooling again. Adaptive average pooling is a product with a
constant averaging matrix per dimension, so it is built from differentiable ops.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from glassgrad.nn.functional._windows import Window, hashable, ntuple, pooled_size
from glassgrad.ops._common import Node, Tensor, as_tensor
from glassgrad.ops.comparison import where
from glassgrad.ops.elementwise import MulScalar, mul
from glassgrad.ops.linalg import Matmul, matmul
from glassgrad.ops.reductions import MeanDim
from glassgrad.ops.registry import FUNCTIONAL, TORCH, functional
from glassgrad.ops.shape import reshape


@functools.lru_cache(maxsize=256)
def _window(
    op: str,
    d: int,
    x_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
) -> Window:
    k = ntuple(op, "kernel_size", kernel_size, d)
    s = k if stride is None or stride == () else ntuple(op, "stride", stride, d)
    p = ntuple(op, "padding", padding, d)
    dl = ntuple(op, "dilation", dilation, d)
    if min(k) <= 0:
        raise RuntimeError(f"{op}: kernel_size must be greater than zero, but got {k}")
    if min(s) <= 0:
        raise RuntimeError(f"{op}: stride should not be zero or negative, but got {s}")
    if min(dl) <= 0:
        raise RuntimeError(f"{op}: dilation must be greater than zero, but got {dl}")
    if min(p) < 0:
        raise RuntimeError(f"{op}: pad must be non-negative, but got {p}")
    for pi, ki in zip(p, k):
        if pi > ki // 2:  # PyTorch's bound: the kernel size itself, whatever the dilation
            raise RuntimeError(
                f"{op}: pad should be at most half of kernel size, but got pad={pi} and "
                f"kernel_size={ki}"
            )
    spatial = x_shape[2:]
    out = tuple(pooled_size(*a, ceil_mode) for a in zip(spatial, k, s, p, dl))
    if min(out) < 1:
        raise RuntimeError(
            f"{op}: Given input size: ({'x'.join(map(str, x_shape[1:]))}). Calculated output "
            f"size: ({'x'.join(map(str, (x_shape[1], *out)))}). Output size is too small"
        )
    return Window(spatial, k, s, dl, tuple((q, q) for q in p), out)


def _window_for(op: str, d: int, shape: tuple[int, ...], *args: Any) -> Window:
    try:
        return _window(op, d, shape, *args)
    except TypeError:  # unhashable arguments (lists): same checks, uncached
        return _window(op, d, shape, *(hashable(a) for a in args))


def _batched(op: str, d: int, input: Any) -> tuple[Tensor, bool]:
    """The input as (N, C, *spatial), and whether it came without the batch dim."""
    x = as_tensor(input)
    if x.ndim not in (d + 1, d + 2) or 0 in x.shape[-d - 1 :]:
        raise RuntimeError(
            f"{op}: non-empty {d + 1}D or {d + 2}D (batch mode) tensor expected for input, but "
            f"got input of size {list(x.shape)}"
        )
    if x.ndim == d + 1:
        return reshape(x, (1, *x.shape)), True
    return x, False


def _unbatched(t: Tensor) -> Tensor:
    return reshape(t, t.shape[1:])


# ---- max pooling: a gather at the argmax, whose gradient is a scatter (and back) ----------------


class PoolGather(Node):
    __slots__ = ("idx", "in_shape")
    idx: np.ndarray
    in_shape: tuple[int, ...]

    @staticmethod
    def forward(ctx: Any, x: Any, idx: Any) -> Any:
        if isinstance(ctx, PoolGather):  # (not the shared no-grad context)
            ctx.idx, ctx.in_shape = idx, x.shape
        return x.reshape(-1)[idx]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _scatter(g, ctx.idx, ctx.in_shape), None


class MaxPool2DWithIndices(PoolGather):
    """max_pool2d's gather: PyTorch's ``MaxPool2DWithIndicesBackward0``."""

    __slots__ = ()


class MaxPool3DWithIndices(PoolGather):
    """max_pool3d's gather: PyTorch's ``MaxPool3DWithIndicesBackward0``."""

    __slots__ = ()


class PoolScatter(Node):
    __slots__ = ("idx",)
    idx: np.ndarray

    @staticmethod
    def forward(ctx: Any, g: Any, idx: Any, shape: Any) -> Any:
        if type(ctx) is PoolScatter:
            ctx.idx = idx
        out = np.zeros(math.prod(shape), g.dtype)
        np.add.at(out, idx.reshape(-1), g.reshape(-1))  # windows may share their maximum
        return out.reshape(shape)

    @staticmethod
    def backward(ctx: Any, gg: Any) -> Any:
        return _gather(gg, ctx.idx), None, None


def _gather(x: Any, idx: np.ndarray) -> Any:
    if isinstance(x, Tensor):
        return PoolGather.apply(x, idx)
    return x.reshape(-1)[idx]


def _scatter(g: Any, idx: np.ndarray, shape: tuple[int, ...]) -> Any:
    if isinstance(g, Tensor):
        return PoolScatter.apply(g, idx, shape)
    return PoolScatter.forward(None, g, idx, shape)


def _argmax_index(x: np.ndarray, win: Window) -> np.ndarray:
    """For each window, the flat index within its (H*W) plane of its first maximum."""
    low = np.iinfo(x.dtype).min if x.dtype.kind in "iub" else -np.inf
    views = win.view(win.pad(x, low), kernel_first=False)  # (N, C, *out, *kernel)
    arg = np.argmax(views.reshape(views.shape[: -len(win.kernel)] + (win.size,)), axis=-1)
    index = np.zeros(arg.shape, np.int64)
    plane = 1
    d = len(win.kernel)
    for i in reversed(range(d)):  # window offset -> coordinate along dim i -> flat plane index
        k, arg = arg % win.kernel[i], arg // win.kernel[i]
        start = np.arange(win.out_shape[i]) * win.stride[i] - win.pads[i][0]
        pos = start.reshape((-1,) + (1,) * (d - 1 - i)) + k * win.dilation[i]
        index += pos * plane
        plane *= win.in_shape[i]
    return index


@functools.lru_cache(maxsize=256)
def _empty_windows(win: Window) -> Any:
    """Windows holding padding only (possible with dilation): a mask, and PyTorch's index for them.

    PyTorch reports -inf there, with the index of the window's first non-negative position.
    None when every window sees part of the input (the usual case).
    """
    masks, firsts = [], []
    for n, k, s, dl, (lo, _), o in zip(
        win.in_shape, win.kernel, win.stride, win.dilation, win.pads, win.out_shape
    ):
        pos = (np.arange(o) * s - lo)[:, None] + np.arange(k) * dl  # (out, kernel) positions
        masks.append(~np.any((pos >= 0) & (pos < n), axis=1))
        start = pos[:, 0]
        firsts.append(np.where(start < 0, start + (-start + dl - 1) // dl * dl, start))
    empty = functools.reduce(np.logical_or.outer, masks)
    if not empty.any():
        return None
    index = np.zeros(win.out_shape, np.int64)
    plane = 1
    for i in reversed(range(len(win.kernel))):
        index += firsts[i].reshape((-1,) + (1,) * (len(win.kernel) - 1 - i)) * plane
        plane *= win.in_shape[i]
    return empty, index


def _max_pool(
    op: str,
    d: int,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    x, unbatched = _batched(op, d, input)
    win = _window_for(op, d, x.shape, kernel_size, stride, padding, dilation, bool(ceil_mode))
    index = _argmax_index(x._data, win)
    n, c = x.shape[:2]
    plane = math.prod(win.in_shape)
    offset = (np.arange(n * c, dtype=np.int64) * plane).reshape((n, c) + (1,) * d)
    empty = _empty_windows(win)
    gather = {2: MaxPool2DWithIndices, 3: MaxPool3DWithIndices}.get(d, PoolGather)
    flat = index + offset if empty is None else np.where(empty[0], offset, index + offset)
    if unbatched:  # the same flat positions in the (C, *spatial) input: no reshape after
        out = gather.apply(as_tensor(input), flat[0])
    else:
        out = gather.apply(x, flat)
    if empty is not None:  # gathered somewhere harmless: put -inf (and no gradient) there
        mask, torch_index = empty
        out = where(mask[0] if unbatched else mask, Tensor._make(np.array(-np.inf, x.dtype)), out)
        index = np.where(mask, torch_index, index)
    if unbatched:
        index = index[0]
    return (out, Tensor._make(index)) if return_indices else out


@functional(namespaces=(TORCH, FUNCTIONAL))
def max_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Maximum over sliding windows of (N, C, L); the gradient goes to each window's argmax."""
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return _max_pool("max_pool1d", 1, input, *args)


@functional(namespaces=(TORCH, FUNCTIONAL))
def max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Maximum over sliding windows of (N, C, H, W) (stride defaults to the kernel size).

    The gradient goes to each window's first maximum, as in PyTorch; ``return_indices`` also
    returns where each maximum sits, as a flat index into its H*W plane.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.max_pool2d(gg.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return _max_pool("max_pool2d", 2, input, *args)


@functional(namespaces=(TORCH, FUNCTIONAL))
def max_pool3d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Maximum over sliding windows of (N, C, D, H, W) (stride defaults to the kernel size)."""
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return _max_pool("max_pool3d", 3, input, *args)


def _with_indices(d: int) -> Any:
    def pool(
        input: Any,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        ceil_mode: bool = False,
        return_indices: bool = True,
    ) -> Any:
        args = (kernel_size, stride, padding, dilation, ceil_mode, True)
        return _max_pool(f"max_pool{d}d_with_indices", d, input, *args)

    pool.__name__ = pool.__qualname__ = f"max_pool{d}d_with_indices"
    pool.__doc__ = f"``max_pool{d}d`` returning (output, indices)."
    return pool


max_pool1d_with_indices = functional(
    _with_indices(1), namespaces=(TORCH, FUNCTIONAL), name="max_pool1d_with_indices"
)
max_pool2d_with_indices = functional(_with_indices(2), name="max_pool2d_with_indices")
max_pool3d_with_indices = functional(_with_indices(3), name="max_pool3d_with_indices")


# ---- average pooling: linear, its gradient is its adjoint ---------------------------------------


class AvgSpec:
    __slots__ = ("scale", "win")

    def __init__(self, win: Window, scale: np.ndarray) -> None:
        self.win, self.scale = win, scale  # scale: 1 / divisor per output position

    def forward(self, x: np.ndarray) -> np.ndarray:
        xp = self.win.pad(x)
        everything = (slice(None), slice(None))
        out = None
        for _, at in self.win.offsets:  # sum of the shifted inputs, one kernel offset at a time
            block = xp[everything + at]
            out = block.copy() if out is None else np.add(out, block, out=out)
        out *= self.scale
        return out

    def adjoint(self, g: np.ndarray) -> np.ndarray:
        return self.win.fold(g * self.scale, g.shape[:2], g.dtype)


@functools.lru_cache(maxsize=256)
def _avg_spec(win: Window, include_pad: bool, divisor: Any, dtype: Any) -> AvgSpec:
    if divisor is not None:
        if divisor == 0:
            raise RuntimeError("avg_pool2d: divisor must be not zero")
        return AvgSpec(win, np.full(win.out_shape, 1.0 / divisor, dtype))
    counts = []
    for n, k, s, (lo, _), o in zip(win.in_shape, win.kernel, win.stride, win.pads, win.out_shape):
        start = np.arange(o) * s - lo
        end = np.minimum(start + k, n + lo)  # windows are clipped at the padded border
        if not include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    size = functools.reduce(np.multiply.outer, counts)
    return AvgSpec(win, (1.0 / size).astype(dtype))


class _UnbatchedAvgSpec:
    """An ``AvgSpec`` for one (C, *spatial) sample: it is pooled as a batch of one."""

    __slots__ = ("spec",)

    def __init__(self, spec: AvgSpec) -> None:
        self.spec = spec

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.spec.forward(x[None])[0]

    def adjoint(self, g: np.ndarray) -> np.ndarray:
        return self.spec.adjoint(g[None])[0]


class AvgPool(Node):
    __slots__ = ("spec",)

    @staticmethod
    def forward(ctx: Any, x: Any, spec: AvgSpec) -> Any:
        ctx.spec = spec
        return spec.forward(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if isinstance(g, Tensor):
            return AvgPoolAdjoint.apply(g, ctx.spec), None
        return ctx.spec.adjoint(g), None


class AvgPool2D(AvgPool):
    __slots__ = ()


class AvgPoolAdjoint(Node):
    __slots__ = ("spec",)

    @staticmethod
    def forward(ctx: Any, g: Any, spec: AvgSpec) -> Any:
        ctx.spec = spec
        return spec.adjoint(g)

    @staticmethod
    def backward(ctx: Any, gg: Any) -> Any:
        if isinstance(gg, Tensor):
            return AvgPool.apply(gg, ctx.spec), None
        return ctx.spec.forward(gg), None


def _avg_pool(
    op: str,
    d: int,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Any,
) -> Tensor:
    x, unbatched = _batched(op, d, input)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    win = _window_for(op, d, x.shape, kernel_size, stride, padding, 1, bool(ceil_mode))
    spec: Any = _avg_spec(win, bool(count_include_pad), divisor_override, x.dtype)
    if d == 3:
        if unbatched:
            return AvgPool3D.apply(as_tensor(input), _UnbatchedAvgSpec(spec))
        return AvgPool3D.apply(x, spec)
    if d != 2:
        out = AvgPool.apply(x, spec)
        return _unbatched(out) if unbatched else out
    if unbatched:  # pooled as it is, so the result's node is the pool's, as in PyTorch
        return AvgPool2D.apply(as_tensor(input), _UnbatchedAvgSpec(spec))
    return AvgPool2D.apply(x, spec)


@functional(namespaces=(TORCH, FUNCTIONAL))
def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over sliding windows of (N, C, L)."""
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, None)
    return _avg_pool("avg_pool1d", 1, input, *args)


@functional
def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows of (N, C, H, W); zero padding counts unless told otherwise."""
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return _avg_pool("avg_pool2d", 2, input, *args)


class AvgPool3D(AvgPool):
    __slots__ = ()


@functional
def avg_pool3d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows of (N, C, D, H, W); zero padding counts unless told otherwise."""
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return _avg_pool("avg_pool3d", 3, input, *args)


# ---- adaptive average pooling: one constant averaging matrix per spatial dim ---------------------


@functools.lru_cache(maxsize=256)
def _averaging_matrix(n_in: int, n_out: int, dtype: Any) -> np.ndarray:
    """Row i averages input[start_i:end_i], PyTorch's floor/ceil split of n_in into n_out bins."""
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)
    cols = np.arange(n_in)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    m = (inside / (end - start)[:, None]).astype(dtype)
    m.flags.writeable = False  # cached and shared: nobody may change it
    return m


def _adaptive_avg_pool(op: str, d: int, input: Any, output_size: Any) -> Tensor:
    x = as_tensor(input)
    if x.ndim not in (d + 1, d + 2):
        raise RuntimeError(f"{op}: Expected {d + 1}D or {d + 2}D tensor, but got {list(x.shape)}")
    sizes = (output_size,) * d if isinstance(output_size, (int, np.integer)) else output_size
    sizes = tuple(sizes)
    if len(sizes) != d:
        raise RuntimeError(f"{op}: output_size must be {d}, got {output_size!r}")
    spatial = x.shape[-d:]
    sizes = tuple(n if s is None else int(s) for s, n in zip(sizes, spatial))
    if min(sizes) < 0:
        raise RuntimeError(f"{op}: output_size must be non-negative, got {sizes}")
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    # PyTorch's 2-d pool is one node: here the last step is recorded under its name
    if d in (2, 3) and sizes == (1,) * d:  # a global pool: PyTorch takes the mean over them
        return MeanDim.apply(x, tuple(range(x.ndim - d, x.ndim)), True)
    named = d in (2, 3)
    name = f"AdaptiveAvgPool{d}D"
    steps = [(x.ndim - d + i, n_in, n_out) for i, (n_in, n_out) in enumerate(zip(spatial, sizes))]
    steps = [s for s in steps if s[1] != s[2]]
    out = x
    for k, (axis, n_in, n_out) in enumerate(steps):
        last = named and k == len(steps) - 1
        if n_out and n_in % n_out == 0:  # equal bins: a reshape and a mean
            shape = out.shape
            out = reshape(out, shape[:axis] + (n_out, n_in // n_out) + shape[axis + 1 :])
            out = (_pool_node(_PoolMean, name) if last else MeanDim).apply(out, (axis + 1,), False)
            continue
        m = as_tensor(_averaging_matrix(n_in, n_out, x.dtype))
        product = _pool_node(_PoolMatmul, name).apply if last else matmul
        if axis == x.ndim - 1:
            out = product(out, m.T)
        elif axis == x.ndim - 2:  # the second-to-last dim: (n_out, n_in) @ (..., n_in, W)
            out = product(m, out)
        else:  # the depth of a 3-d pool: (n_out, n_in) @ (..., n_in, H * W), reshaped back
            shape = out.shape
            flat = reshape(out, shape[: axis + 1] + (shape[axis + 1] * shape[axis + 2],))
            out = reshape(matmul(m, flat), shape[:axis] + (n_out,) + shape[axis + 1 :])
            if last:
                out = _pool_node(_PoolCopy, name).apply(out, 1)
    if out is x:  # a new tensor, as in PyTorch
        return _pool_node(_PoolCopy, name).apply(x, 1) if named else mul(x, 1)
    return out


@functools.cache
def _pool_node(base: Any, name: str) -> Any:
    """``base`` shown under the pool's PyTorch name (AdaptiveAvgPool2D or ...3D)."""
    if name == base.op_name:
        return base
    return type(base.__name__ + "3D", (base,), {"__slots__": (), "op_name": name})


class _PoolMean(MeanDim):
    """The last step of adaptive_avg_pool2d: PyTorch's ``AdaptiveAvgPool2DBackward0``."""

    __slots__ = ()
    op_name = "AdaptiveAvgPool2D"
    variant = 0


class _PoolMatmul(Matmul):
    __slots__ = ()
    op_name = "AdaptiveAvgPool2D"


class _PoolCopy(MulScalar):
    __slots__ = ()
    op_name = "AdaptiveAvgPool2D"


@functional(namespaces=(TORCH, FUNCTIONAL))
def adaptive_avg_pool1d(input: Any, output_size: Any) -> Tensor:
    """Average of (N, C, L) into ``output_size`` bins: bin i is [floor(iL/n), ceil((i+1)L/n))."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


@functional
def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """Average of (N, C, H, W) into an ``output_size`` grid of bins, whatever the input size.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.adaptive_avg_pool2d(gg.arange(9.0).reshape(1, 1, 3, 3), 1).tolist()
    [[[[4.0]]]]
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


@functional
def adaptive_avg_pool3d(input: Any, output_size: Any) -> Tensor:
    """Average of (N, C, D, H, W) into an ``output_size`` grid of bins, whatever the input size."""
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)
