"""Adaptive max pooling (``adaptive_max_pool1d/2d/3d``): the max of each of PyTorch's adaptive bins.

Bin i of n inputs into o outputs is [floor(i n / o), ceil((i + 1) n / o)). The winners are found
without recording anything (reducing the last dim first, so each bin's first maximum in
row-major order wins, as in PyTorch), then gathered: the gradient scatters back to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Tensor, as_tensor
from glassgrad.ops.indexing import ADVANCED, GetItem
from glassgrad.ops.registry import functional


class AdaptiveMaxPool2D(GetItem):
    __slots__ = ()


class AdaptiveMaxPool3D(GetItem):
    __slots__ = ()


def _bins(n: int, o: int) -> list[tuple[int, int]]:
    return [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]


def _argmax_last(x: np.ndarray, o: int) -> tuple[np.ndarray, np.ndarray]:
    """Max and first argmax of each adaptive bin of the last dim: shapes (..., o)."""
    vals, idx = [], []
    for s, e in _bins(x.shape[-1], o):
        i = np.argmax(x[..., s:e], axis=-1)
        idx.append(i + s)
        vals.append(np.take_along_axis(x[..., s:e], i[..., None], -1)[..., 0])
    return np.stack(vals, -1), np.stack(idx, -1)


def _adaptive_max_pool2d(op: str, x: Tensor, sizes: tuple[int, ...], indices: bool) -> Any:
    if x.ndim not in (3, 4) or min(x.shape[-2:], default=0) == 0:
        raise RuntimeError(
            f"{op}: Expected 3D or 4D tensor with non-zero spatial sizes, but got {list(x.shape)}"
        )
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    oh, ow = sizes
    if oh < 0 or ow < 0:
        raise RuntimeError(f"{op}: output_size must be non-negative, got {list(sizes)}")
    d = x._data
    w = d.shape[-1]
    if oh == 0 or ow == 0:
        rows = np.zeros(d.shape[:-2] + (oh, ow), np.int64)
        cols = rows
    else:
        v, wi = _argmax_last(d, ow)  # (..., H, OW): each row's winner per column bin
        _, hi = _argmax_last(np.swapaxes(v, -1, -2), oh)  # (..., OW, OH)
        rows = np.swapaxes(hi, -1, -2)  # (..., OH, OW)
        cols = np.take_along_axis(wi, rows, axis=-2)
    lead = np.ix_(*(np.arange(n) for n in d.shape[:-2]))
    lead = tuple(i[..., None, None] for i in lead)
    out = AdaptiveMaxPool2D.apply(x, (*lead, rows, cols), ADVANCED)
    if not indices:
        return out
    return out, Tensor._make(rows * w + cols)


def _sizes(op: str, d: int, output_size: Any, spatial: tuple[int, ...]) -> tuple[int, ...]:
    sizes = (output_size,) * d if isinstance(output_size, (int, np.integer)) else output_size
    sizes = tuple(sizes)
    if len(sizes) != d:
        raise RuntimeError(f"{op}: output_size must be {d} ints, got {output_size!r}")
    return tuple(n if s is None else int(s) for s, n in zip(sizes, spatial))


@functional
def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max of (N, C, H, W) over an ``output_size`` grid of adaptive bins; with
    ``return_indices`` also each winner's flat position in its H x W plane."""
    x = as_tensor(input)
    sizes = _sizes("adaptive_max_pool2d", 2, output_size, tuple(x.shape[-2:]))
    return _adaptive_max_pool2d("adaptive_max_pool2d", x, sizes, return_indices)


@functional(torch_function=lambda input, output_size: adaptive_max_pool1d(input, output_size, True))
def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max of (N, C, L) over ``output_size`` adaptive bins (2-d pooling of a 1-row image, as
    in PyTorch)."""
    op = "adaptive_max_pool1d"
    x = as_tensor(input)
    if x.ndim not in (2, 3):
        raise RuntimeError(f"{op}: Expected 2D or 3D tensor, but got {list(x.shape)}")
    (size,) = _sizes(op, 1, output_size, tuple(x.shape[-1:]))
    res = _adaptive_max_pool2d(op, x.unsqueeze(-2), (1, size), return_indices)
    if not return_indices:
        return res.squeeze(-2)
    return res[0].squeeze(-2), res[1].squeeze(-2)


@functional
def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max of (N, C, D, H, W) over an ``output_size`` grid of adaptive bins; with
    ``return_indices`` also each winner's flat position in its D x H x W volume."""
    op = "adaptive_max_pool3d"
    x = as_tensor(input)
    if x.ndim not in (4, 5) or min(x.shape[-3:], default=0) == 0:
        raise RuntimeError(
            f"{op}: Expected 4D or 5D tensor with non-zero spatial sizes, but got {list(x.shape)}"
        )
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    sizes = _sizes(op, 3, output_size, tuple(x.shape[-3:]))
    if min(sizes) < 0:
        raise RuntimeError(f"{op}: output_size must be non-negative, got {list(sizes)}")
    d = x._data
    lead_shape, (n_d, n_h, n_w) = d.shape[:-3], d.shape[-3:]
    flat = np.zeros(lead_shape + sizes, np.int64)
    # one bin at a time: argmax of the flattened bin is its first maximum in row-major order
    for i, (ds, de) in enumerate(_bins(n_d, sizes[0])):
        for j, (hs, he) in enumerate(_bins(n_h, sizes[1])):
            for k, (ws, we) in enumerate(_bins(n_w, sizes[2])):
                box = d[..., ds:de, hs:he, ws:we]
                size = (de - ds) * (he - hs) * (we - ws)
                a = np.argmax(box.reshape(lead_shape + (size,)), axis=-1)
                bd, rest = np.divmod(a, (he - hs) * (we - ws))
                bh, bw = np.divmod(rest, we - ws)
                flat[..., i, j, k] = ((bd + ds) * n_h + bh + hs) * n_w + bw + ws
    di, rest = np.divmod(flat, n_h * n_w)
    hi, wi = np.divmod(rest, n_w)
    lead = np.ix_(*(np.arange(n) for n in lead_shape))
    lead = tuple(i[..., None, None, None] for i in lead)
    out = AdaptiveMaxPool3D.apply(x, (*lead, di, hi, wi), ADVANCED)
    if not return_indices:
        return out
    return out, Tensor._make(flat)


def _adaptive_with_indices(d: int) -> Any:
    pools = {1: adaptive_max_pool1d, 2: adaptive_max_pool2d, 3: adaptive_max_pool3d}

    def pool(input: Tensor, output_size: Any, return_indices: bool = True) -> Any:
        return pools[d](input, output_size, True)

    pool.__name__ = pool.__qualname__ = f"adaptive_max_pool{d}d_with_indices"
    pool.__doc__ = f"``adaptive_max_pool{d}d`` returning (output, indices)."
    return pool


for _d in (1, 2, 3):
    functional(_adaptive_with_indices(_d), name=f"adaptive_max_pool{_d}d_with_indices")
globals().update(
    {f"adaptive_max_pool{d}d_with_indices": _adaptive_with_indices(d) for d in (1, 2, 3)}
)
