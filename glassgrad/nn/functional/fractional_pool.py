"""Fractional max pooling (Graham, "Fractional Max-Pooling", 2014): ``fractional_max_pool2d/3d``.

Each plane's windows start at pseudo-random, increasing offsets: along a dim of ``n`` inputs, ``o``
outputs and window ``k``, output ``i < o - 1`` starts at ``int((i + u) a) - int(u a)`` with
``a = (n - k) / (o - 1)`` computed in the input's dtype (as PyTorch does), the last at ``n - k``;
``u`` is the plane's sample in [0, 1) (``_random_samples``, drawn when not given). The winners
are found without recording anything (each window's first maximum in row-major order, the last
NaN if there is one, as in PyTorch), then gathered: the gradient scatters back to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Tensor, as_tensor
from glassgrad.ops.indexing import ADVANCED, GetItem
from glassgrad.ops.registry import functional


class FractionalMaxPool2D(GetItem):
    __slots__ = ()


class FractionalMaxPool3D(GetItem):
    __slots__ = ()


def _starts(u: np.ndarray, n: int, o: int, k: int) -> np.ndarray:
    """Window starts along one dim for samples ``u`` (any shape): shape ``u.shape + (o,)``."""
    out = np.full(u.shape + (o,), n - k, np.int64)
    if o > 1:
        alpha = u.dtype.type(n - k) / u.dtype.type(o - 1)
        i = np.arange(o - 1, dtype=u.dtype)
        out[..., :-1] = (
            np.trunc((i + u[..., None]) * alpha) - np.trunc(u * alpha)[..., None]
        ).astype(np.int64)
    return out


def _tuple(op: str, name: str, value: Any, d: int) -> tuple[Any, ...]:
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (value,) * d
    value = tuple(value)
    if len(value) == 1:
        return value * d
    if len(value) != d:
        raise ValueError(f"{op}: {name} must be one number or {d} numbers, got {value!r}")
    return value


def _fractional_max_pool(
    d: int,
    input: Any,
    kernel_size: Any,
    output_size: Any,
    output_ratio: Any,
    return_indices: bool,
    samples: Any,
) -> Any:
    op = f"fractional_max_pool{d}d"
    x = as_tensor(input)
    if x.ndim not in (d + 1, d + 2) or 0 in x.shape[-d - 1 :]:
        raise RuntimeError(
            f"{op}: expected a {d + 1}D or {d + 2}D input with non-zero sizes except the batch "
            f"dimension, got shape {list(x.shape)}"
        )
    if x.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")
    spatial = tuple(x.shape[-d:])
    kernel = tuple(int(k) for k in _tuple(op, "kernel_size", kernel_size, d))
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
        ratios = _tuple(op, "output_ratio", output_ratio, d)
        sizes = tuple(int(n * r) for n, r in zip(spatial, ratios))
    else:
        sizes = tuple(int(s) for s in _tuple(op, "output_size", output_size, d))
    for name, n, o, k in zip(("depth", "height", "width")[-d:], spatial, sizes, kernel):
        if k <= 0 or o < 0:
            raise RuntimeError(
                f"{op}: kernel_size must be positive and output_size non-negative, got "
                f"kernel_size {list(kernel)} and output_size {list(sizes)}"
            )
        # PyTorch's 3-d op wants the last window to end before the input does
        if o + k - 1 > n or (d == 3 and o + k - 1 == n):
            need = "<=" if d == 2 else "<"
            raise RuntimeError(
                f"{op}(): pool {name} {k} too large relative to input {name} {n} "
                f"(output {name} {o}: needs output + pool - 1 {need} input)"
            )
    batched = x.ndim == d + 2
    data = x._data if batched else x._data[None]
    n_batch, planes = data.shape[:2]
    if samples is None:
        from glassgrad.creation import rand

        samples = rand(n_batch, planes, d, dtype=x.dtype)
    u = np.asarray(getattr(samples, "_data", samples))
    if u.shape != (n_batch, planes, d):
        raise RuntimeError(
            f"{op}: _random_samples must have shape {[n_batch, planes, d]} (batch, planes, one "
            f"per spatial dim), got {list(u.shape)}"
        )
    u = u.astype(x.dtype, copy=False)
    # PyTorch's sample order: 2d takes width's from sample 0 and height's from 1; 3d takes
    # depth, height, width from samples 0, 1, 2
    order = (1, 0) if d == 2 else (0, 1, 2)
    starts = [_starts(u[..., s], n, o, k) for s, n, o, k in zip(order, spatial, sizes, kernel)]
    # every window's input positions per dim: (N, C, o_1.., o_d.., k_1.., k_d)
    pos = []
    for j, (st, k) in enumerate(zip(starts, kernel)):
        shape = [n_batch, planes] + [1] * (2 * d)
        shape[2 + j] = st.shape[-1]
        at = st.reshape(shape)
        offset = [1] * (2 + 2 * d)
        offset[2 + d + j] = k
        pos.append(at + np.arange(k).reshape(offset))
    lead = (
        np.arange(n_batch).reshape([-1] + [1] * (1 + 2 * d)),
        np.arange(planes).reshape([1, -1] + [1] * (2 * d)),
    )
    windows = data[(*lead, *pos)].reshape((n_batch, planes, *sizes, int(np.prod(kernel))))
    win = np.argmax(windows, axis=-1)
    nan = np.isnan(windows)
    if nan.any():  # PyTorch keeps the last NaN of a window
        last = windows.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
        win = np.where(nan.any(axis=-1), last, win)
    full = (n_batch, planes, *sizes, *kernel)
    chosen = [  # the winners' positions per dim: (N, C, o_1.., o_d)
        np.take_along_axis(np.broadcast_to(p, full).reshape(windows.shape), win[..., None], -1)
        for p in pos
    ]
    chosen = [c[..., 0] for c in chosen]
    planes_at = np.arange(planes).reshape((-1,) + (1,) * d)
    if batched:
        index = (np.arange(n_batch).reshape((-1, 1) + (1,) * d), planes_at, *chosen)
    else:  # the planes were pooled as a batch of one
        chosen = [c[0] for c in chosen]
        index = (planes_at, *chosen)
    node = FractionalMaxPool2D if d == 2 else FractionalMaxPool3D
    out = node.apply(x, index, ADVANCED)
    if not return_indices:
        return out
    flat = chosen[0]
    for c, n in zip(chosen[1:], spatial[1:]):
        flat = flat * n + c
    return out, Tensor._make(flat)


@functional
def fractional_max_pool2d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Any = None,
) -> Any:
    """Max of (N, C, H, W) over ``kernel_size`` windows at pseudo-random steps giving
    ``output_size`` (or ``output_ratio`` of the input's); with ``return_indices`` also each
    winner's flat position in its H x W plane."""
    return _fractional_max_pool(
        2, input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )


@functional
def fractional_max_pool3d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Any = None,
) -> Any:
    """``fractional_max_pool2d`` over (N, C, D, H, W): windows at pseudo-random steps along the
    three spatial dims; indices are flat positions in the D x H x W volume."""
    return _fractional_max_pool(
        3, input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )


def _with_indices(d: int) -> Any:
    pools = {2: fractional_max_pool2d, 3: fractional_max_pool3d}

    def pool(
        input: Tensor,
        kernel_size: Any,
        output_size: Any = None,
        output_ratio: Any = None,
        return_indices: bool = False,
        _random_samples: Any = None,
    ) -> Any:
        return pools[d](input, kernel_size, output_size, output_ratio, True, _random_samples)

    pool.__name__ = pool.__qualname__ = f"fractional_max_pool{d}d_with_indices"
    pool.__doc__ = f"``fractional_max_pool{d}d`` returning (output, indices)."
    return pool


for _d in (2, 3):
    functional(_with_indices(_d), name=f"fractional_max_pool{_d}d_with_indices")
globals().update({f"fractional_max_pool{d}d_with_indices": _with_indices(d) for d in (2, 3)})
