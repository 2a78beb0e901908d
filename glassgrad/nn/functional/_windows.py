"""Sliding-window geometry shared by convolution and pooling (no graph code here).

A ``Window`` holds the numbers of one sliding window over the ``d`` trailing (spatial) dims of an
(N, C, *spatial) array: kernel, stride, dilation, padding and the resulting output size, plus
the strided slices that ``im2col`` / ``col2im`` walk. Everything runs on NumPy arrays: windows
are strided views (``as_strided``), never Python loops over pixels; only the kernel offsets
are looped over, and only where an accumulation cannot be a single vectorised call.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from numpy.lib import stride_tricks


def ntuple(op: str, name: str, value: Any, d: int) -> tuple[int, ...]:
    """An int or a sequence of ``d`` ints (a 1-sequence is repeated) as a tuple of ``d`` ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * d
    try:
        vals = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or {d} ints, got {value!r}") from None
    if len(vals) == 1:
        return vals * d
    if len(vals) != d:
        raise RuntimeError(
            f"{op}: expected {name} to be a single integer value or a list of {d} values to match "
            f"the {d} spatial dimensions, but got {name}={list(vals)}"
        )
    return vals


def hashable(value: Any) -> Any:
    """Lists in arguments become tuples, so argument sets can key a cache."""
    return tuple(value) if isinstance(value, list) else value


def pooled_size(size: int, k: int, s: int, pad: int, dil: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size; in ceil mode the last window must start inside the input."""
    span = dil * (k - 1) + 1
    out = (size + 2 * pad - span + ((s - 1) if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + pad:
        out -= 1
    return out


class Window:
    """One sliding window: the output size and the views and slices that realise it."""

    __slots__ = (
        "dilation",
        "in_shape",
        "inner",
        "kernel",
        "offsets",
        "out_shape",
        "padded_shape",
        "pads",
        "stride",
    )

    def __init__(
        self,
        in_shape: tuple[int, ...],
        kernel: tuple[int, ...],
        stride: tuple[int, ...],
        dilation: tuple[int, ...],
        pads: tuple[tuple[int, int], ...],
        out_shape: tuple[int, ...],
    ) -> None:
        self.in_shape, self.kernel, self.stride = in_shape, kernel, stride
        self.dilation, self.pads, self.out_shape = dilation, pads, out_shape
        # For kernel offset k, the positions of the padded input it touches across all outputs.
        self.offsets = [
            (
                k,
                tuple(
                    slice(ki * di, ki * di + si * (oi - 1) + 1, si)
                    for ki, di, si, oi in zip(k, dilation, stride, out_shape)
                ),
            )
            for k in itertools.product(*(range(n) for n in kernel))
        ]
        # the spatial shape every window fits into (padding, and the ceil-mode overhang)
        self.padded_shape = tuple(
            max(lo + n + hi, s * (o - 1) + d * (k - 1) + 1)
            for n, (lo, hi), s, o, d, k in zip(in_shape, pads, stride, out_shape, dilation, kernel)
        )
        # where the unpadded input sits inside the padded one
        self.inner = (slice(None), slice(None)) + tuple(
            slice(lo, lo + n) for (lo, _), n in zip(pads, in_shape)
        )

    @property
    def size(self) -> int:
        return math.prod(self.kernel)

    def pad(self, x: np.ndarray, value: Any = 0) -> np.ndarray:
        """``x`` inside a border of ``value`` (or ``x`` itself when there is no border)."""
        padded = self.padded_shape
        if padded == x.shape[2:]:
            return x
        xp = np.full(x.shape[:2] + padded, value, dtype=x.dtype)
        xp[self.inner] = x
        return xp

    def view(self, xp: np.ndarray, kernel_first: bool) -> np.ndarray:
        """All windows of a padded array as a read-only strided view, no copy.

        Shape (N, C, *kernel, *out) with ``kernel_first`` (im2col order: one row per kernel
        element), else (N, C, *out, *kernel) (one window per output position).
        """
        sp = xp.strides[2:]
        ks = tuple(s * d for s, d in zip(sp, self.dilation))
        os = tuple(s * st for s, st in zip(sp, self.stride))
        if kernel_first:
            shape, strides = self.kernel + self.out_shape, ks + os
        else:
            shape, strides = self.out_shape + self.kernel, os + ks
        return stride_tricks.as_strided(
            xp, xp.shape[:2] + shape, xp.strides[:2] + strides, writeable=False
        )

    def fold(
        self, cols: np.ndarray, lead: tuple[int, int], dtype: Any, out: Any = None
    ) -> np.ndarray:
        """col2im: add each kernel offset's (N, C, *out) block into the input it came from.

        ``cols`` has shape (N, C, *kernel, *out) (or broadcasts to it); overlapping windows add up.
        With ``out`` (a zeroed (N, C, *padded_shape) array, or part of one), the blocks are added
        there and ``out`` is returned whole, padding included.
        """
        padded = out is not None
        if out is None:
            out = np.zeros(lead + self.padded_shape, dtype)
        everything = (slice(None), slice(None))
        for k, where in self.offsets:
            block = cols[everything + k] if cols.ndim > 2 + len(self.out_shape) else cols
            out[everything + where] += block
        return out if padded else out[self.inner]
