"""Depthwise convolutions (one input channel per group, one output channel per group, stride 1).

A depthwise convolution has no matrix product worth BLAS's time (a kernel of 9 numbers per
channel), and im2col would copy the input nine times for it. Here each kernel is a sum over
kernel offsets of elementwise products with a strided view of the flattened padded image (the
weight gradient one ``einsum``): each output row is computed full padded width ("wide"), so
the spatial axes merge into one long axis that NumPy's inner loops run along, and the few extra
columns are cut off after. The input gradient is the same correlation of the output gradient,
placed in a zero image, with the flipped kernel.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from numpy.lib import stride_tricks


def fits(win: Any, groups: int, c_in: int, og: int) -> bool:
    """The case these kernels handle: one channel per group and per output, stride 1, and a
    padding no wider than the dilated kernel (the flipped correlation needs lo >= 0)."""
    return (
        groups == c_in
        and groups > 1
        and og == 1
        and max(win.stride) == 1
        and all(p <= dl * (k - 1) for (p, _), dl, k in zip(win.pads, win.dilation, win.kernel))
    )


def _wide(win: Any, padded: tuple[int, ...], x: np.ndarray, lo: tuple[int, ...]) -> np.ndarray:
    """x (N, C, *sizes) at offset ``lo`` in a zero (N, C, *padded) image, flattened to
    (N*C*prod(padded) + tail,): the tail keeps the last wide row's overhang inside the array."""
    n, c = x.shape[:2]
    plane = math.prod(padded)
    tail = sum(dl * (k - 1) * st for dl, k, st in zip(win.dilation, win.kernel, _strides(padded)))
    flat = np.zeros(n * c * plane + tail, x.dtype)
    img = flat[: n * c * plane].reshape((n, c, *padded))
    img[(slice(None), slice(None), *(slice(a, a + s) for a, s in zip(lo, x.shape[2:])))] = x
    return flat


def _strides(padded: tuple[int, ...]) -> tuple[int, ...]:
    """Element strides of a C-ordered array of shape ``padded``."""
    return tuple(math.prod(padded[i + 1 :]) for i in range(len(padded)))


def _windows(win: Any, flat: np.ndarray, lead: tuple[int, int], padded: tuple[int, ...]) -> Any:
    """(*kernel, N, C, L_wide) view: L_wide = out[0] * prod(padded[1:]) positions, full rows."""
    n, c = lead
    es, item = _strides(padded), flat.itemsize
    plane = math.prod(padded)
    wide = win.out_shape[0] * es[0]
    shape = (*win.kernel, n, c, wide)
    strides = (*(dl * s * item for dl, s in zip(win.dilation, es)), c * plane * item, plane * item)
    return stride_tricks.as_strided(flat, shape, (*strides, item), writeable=False)


def _cut(wide: np.ndarray, lead: tuple[int, int], out: tuple[int, ...], padded: Any) -> Any:
    """The wide result (N, C, L_wide) cut to (N, C, *out), contiguous."""
    full = wide.reshape((*lead, out[0], *padded[1:]))
    return np.ascontiguousarray(full[(slice(None), slice(None), *(slice(0, o) for o in out))])


def im2col(spec: Any, x: np.ndarray) -> np.ndarray:
    win = spec.win
    return _wide(win, win.padded_shape, x, tuple(lo for lo, _ in win.pads))


def _correlate(view: Any, w: Any) -> np.ndarray:
    """Sum over kernel offsets k of view[k] (N, C, L_wide) times w[:, k], one offset a call.

    NOTE: an einsum of the whole view does the same in one call but runs 4x slower here: its
    iterator puts a kernel axis (stride one element) innermost instead of the long row."""
    c, kernel = w.shape[0], w.shape[1:]
    offsets = itertools.product(*(range(k) for k in kernel))
    first = next(offsets)
    out = view[first] * w[(slice(None), *first)].reshape(c, 1)
    tmp = np.empty_like(out)
    for k in offsets:
        np.multiply(view[k], w[(slice(None), *k)].reshape(c, 1), out=tmp)
        out += tmp
    return out


def forward(spec: Any, flat: np.ndarray, w: np.ndarray, b: Any, n: int) -> np.ndarray:
    win, c = spec.win, spec.c_in
    view = _windows(win, flat, (n, c), win.padded_shape)
    wide = _correlate(view, w.reshape((c, *win.kernel)))
    out = _cut(wide, (n, c), win.out_shape, win.padded_shape)
    if b is not None:
        out += b.reshape((c,) + (1,) * len(win.kernel))
    return out


def weight_grad(spec: Any, flat: np.ndarray, g: np.ndarray) -> np.ndarray:
    win, c, n = spec.win, spec.c_in, g.shape[0]
    k = "xyz"[: len(win.kernel)]  # the kernel axes' einsum letters (n, c, l are taken)
    view = _windows(win, flat, (n, c), win.padded_shape)
    wide = (win.out_shape[0], *win.padded_shape[1:])
    gw = np.zeros((n, c, *wide), g.dtype)
    gw[(slice(None), slice(None), *(slice(0, o) for o in win.out_shape))] = g
    out = np.einsum(f"{k}ncl,ncl->c{k}", view, gw.reshape(n, c, math.prod(wide)))
    return out.reshape(spec.w_shape)


def input_grad(spec: Any, g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Stride 1: the input gradient is the correlation of the output gradient, placed at
    dl*(k-1) - pad in a zero image, with the flipped kernel."""
    win, c, n = spec.win, spec.c_in, g.shape[0]
    d = len(win.kernel)
    lo = tuple(dl * (k - 1) - p for dl, k, (p, _) in zip(win.dilation, win.kernel, win.pads))
    span = tuple(dl * (k - 1) for dl, k in zip(win.dilation, win.kernel))
    padded = tuple(a + s for a, s in zip(span, win.in_shape))
    # gradient positions at or past in + span, which only the far padding reads, add nothing
    fits = g[(slice(None), slice(None), *(slice(0, s - a) for s, a in zip(padded, lo)))]
    flat = _wide(win, padded, fits, lo)
    mirror = type(win)(padded, win.kernel, win.stride, win.dilation, ((0, 0),) * d, win.in_shape)
    view = _windows(mirror, flat, (n, c), padded)
    flipped = w.reshape((c, *win.kernel))[(slice(None), *(slice(None, None, -1),) * d)]
    wide = _correlate(view, flipped)
    return _cut(wide, (n, c), win.in_shape, padded)
