"""Resampling and rearranging images: ``interpolate`` (``upsample``, ``upsample_nearest``,
``upsample_bilinear``), ``pixel_shuffle``/``pixel_unshuffle``, ``unfold``/``fold``.

Every interpolation mode is linear in the input and separable: along each spatial dim it is a
product with a constant (out, in) matrix whose rows hold PyTorch's source weights (one 1 for
nearest, two for linear, four for cubic). ``Resample`` applies those matrices; its gradient
applies their transposes, so it is closed under differentiation. ``unfold`` is a gather of the
(zero-padded) input and ``fold`` the matching scatter-add: each is the other's gradient.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from glassgrad.nn.functional._windows import ntuple
from glassgrad.nn.functional.pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
from glassgrad.ops._common import Node, Tensor, as_tensor
from glassgrad.ops.indexing import ADVANCED, GetItem, IntoZeros
from glassgrad.ops.registry import FUNCTIONAL, TORCH, functional

# ---- interpolation --------------------------------------------------------------------------


def _map(x: np.ndarray, mats: tuple[tuple[int, np.ndarray], ...]) -> np.ndarray:
    for axis, m in mats:
        x = np.moveaxis(np.matmul(np.moveaxis(x, axis, -1), m.T), -1, axis)
    return np.ascontiguousarray(x)


class Resample(Node):
    """x with dim ``axis`` mapped through the (out, in) matrix ``m``, for each (axis, m)."""

    __slots__ = ("mats",)

    @staticmethod
    def forward(ctx: Any, x: Any, mats: Any) -> Any:
        ctx.mats = mats
        return _map(x, mats)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        back = tuple((axis, m.T) for axis, m in ctx.mats)
        if isinstance(g, Tensor):
            return Resample.apply(g, back), None
        return _map(g, back), None


# PyTorch's node names: UpsampleNearest2DBackward0, UpsampleBilinear2DBackward0, ...
_NODES: dict[tuple[str, int], type[Resample]] = {
    (mode, d): type(f"Upsample{kind}{d}D", (Resample,), {"__slots__": ()})
    for mode, kind, dims in (
        ("nearest", "Nearest", (1, 2, 3)),
        ("nearest-exact", "NearestExact", (1, 2, 3)),
        ("linear", "Linear", (1,)),
        ("bilinear", "Bilinear", (2,)),
        ("trilinear", "Trilinear", (3,)),
        ("bicubic", "Bicubic", (2,)),
    )
    for d in dims
}
_NODES[("area", 3)] = type("AdaptiveAvgPool3D", (Resample,), {"__slots__": ()})


def _scale(n_in: int, n_out: int, align_corners: bool, scale: float | None) -> float:
    """PyTorch's ``area_pixel_compute_scale``: source step per output position."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _cubic(t: np.ndarray) -> list[np.ndarray]:
    a = -0.75  # PyTorch's (and Keys') cubic convolution coefficient

    def near(x: np.ndarray) -> np.ndarray:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


@functools.lru_cache(maxsize=256)
def _matrix(
    mode: str, n_in: int, n_out: int, align_corners: bool, scale: float | None, dtype: Any
) -> np.ndarray:
    """Row j: the weights output position j gives each input position (PyTorch's kernels)."""
    m = np.zeros((n_out, n_in), np.float64)
    j = np.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        s32 = np.float32(_scale(n_in, n_out, False, scale))  # PyTorch computes these in float
        off = np.float32(0.5 if mode == "nearest-exact" else 0.0)
        src = np.floor((j.astype(np.float32) + off) * s32).astype(np.int64)
        if mode == "nearest" and n_out == n_in:
            src = j
        elif mode == "nearest" and n_out == 2 * n_in:
            src = j >> 1
        m[j, np.minimum(src, n_in - 1)] = 1.0
    elif mode in ("linear", "bilinear", "trilinear"):
        s = _scale(n_in, n_out, align_corners, scale)
        src = s * j if align_corners else np.maximum(s * (j + 0.5) - 0.5, 0.0)
        i0 = src.astype(np.int64)
        i1 = i0 + (i0 < n_in - 1)
        lam = np.clip(src - i0, 0.0, 1.0)
        np.add.at(m, (j, i0), 1.0 - lam)
        np.add.at(m, (j, i1), lam)
    else:  # bicubic: four taps, clamped at the borders
        s = _scale(n_in, n_out, align_corners, scale)
        src = s * j if align_corners else s * (j + 0.5) - 0.5
        i0 = np.floor(src).astype(np.int64)
        for k, w in enumerate(_cubic(src - i0)):
            np.add.at(m, (j, np.clip(i0 - 1 + k, 0, n_in - 1)), w)
    out = m.astype(dtype)
    out.flags.writeable = False  # cached and shared
    return out


_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")


def _sizes(
    d: int, spatial: tuple[int, ...], size: Any, scale_factor: Any, recompute: Any
) -> tuple[tuple[int, ...], tuple[float | None, ...]]:
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "interpolate: only one of size or scale_factor should be defined"
            if size is not None
            else "interpolate: either size or scale_factor should be defined"
        )
    if size is not None:
        sizes = ntuple("interpolate", "size", size, d)
        if isinstance(size, (tuple, list)) and len(size) != d:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got input "
                f"with spatial dimensions of {list(spatial)} and output size of {list(size)}. "
                "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size "
                "in (o1, o2, ...,oK) format."
            )
        return sizes, (None,) * d
    if isinstance(scale_factor, (tuple, list)):
        if len(scale_factor) != d:
            raise ValueError(
                f"Input and scale_factor must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(spatial)} and scale_factor of shape "
                f"{list(scale_factor)}."
            )
        scales = tuple(float(s) for s in scale_factor)
    else:
        scales = (float(scale_factor),) * d
    sizes = tuple(math.floor(n * s) for n, s in zip(spatial, scales))
    return sizes, ((None,) * d if recompute else scales)


@functional
def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of (N, C, *spatial) to ``size`` or by ``scale_factor``.

    ``mode``: 'nearest', 'nearest-exact', 'linear' (3-D input), 'bilinear' / 'bicubic' (4-D),
    'trilinear' (5-D) or 'area' (adaptive average pooling); ``align_corners`` as in PyTorch.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.interpolate(gg.tensor([[[1.0, 2.0]]]), scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0]]]
    """
    x = as_tensor(input)
    if mode not in _MODES:
        raise NotImplementedError(
            f"interpolate: unknown mode {mode!r}: expected one of {', '.join(_MODES)}"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if align_corners is not None and mode not in _DIMS:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    d = x.ndim - 2
    if d not in (1, 2, 3) or (mode in _DIMS and _DIMS[mode] != d):
        want = f"{_DIMS[mode] + 2}D" if mode in _DIMS else "3D, 4D or 5D"
        raise NotImplementedError(
            f"interpolate: input of {x.ndim}D (shape {list(x.shape)}) is not supported in mode "
            f"{mode!r}: it expects {want} input (N, C, *spatial)"
        )
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"interpolate: expected a floating-point input, got dtype {x.dtype}")
    spatial = tuple(x.shape[2:])
    sizes, scales = _sizes(d, spatial, size, scale_factor, recompute_scale_factor)
    if min(sizes) <= 0 or min(spatial) <= 0:
        raise RuntimeError(
            f"interpolate: input {list(spatial)} and output {list(sizes)} sizes should be "
            "greater than 0"
        )
    if mode == "area" and d < 3:
        return (adaptive_avg_pool1d if d == 1 else adaptive_avg_pool2d)(x, sizes)
    corners = bool(align_corners)
    mats = tuple(
        (2 + i, _matrix(mode, n_in, n_out, corners, sc, x.dtype))
        for i, (n_in, n_out, sc) in enumerate(zip(spatial, sizes, scales))
    )
    if mode == "area":
        from glassgrad.nn.functional.pooling import _averaging_matrix

        mats = tuple(
            (a, _averaging_matrix(n, o, x.dtype)) for (a, _), n, o in zip(mats, spatial, sizes)
        )
    return _NODES[(mode, d)].apply(x, mats)


@functional
def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """The older name of ``interpolate`` (deprecated in PyTorch, still there)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


@functional
def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """``interpolate(mode='nearest')`` (deprecated in PyTorch, still there)."""
    return interpolate(input, size, scale_factor, mode="nearest")


@functional
def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """``interpolate(mode='bilinear', align_corners=True)`` (deprecated in PyTorch)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- pixel shuffle --------------------------------------------------------------------------


def _shuffle(x: np.ndarray, r: int) -> np.ndarray:
    *lead, c, h, w = x.shape
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    n = len(lead)
    y = y.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return np.ascontiguousarray(y).reshape(*lead, c // (r * r), h * r, w * r)


def _unshuffle(x: np.ndarray, r: int) -> np.ndarray:
    *lead, c, h, w = x.shape
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    n = len(lead)
    y = y.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return np.ascontiguousarray(y).reshape(*lead, c * r * r, h // r, w // r)


class PixelShuffle(Node):
    __slots__ = ("r",)

    @staticmethod
    def forward(ctx: Any, x: Any, r: int) -> Any:
        ctx.r = r
        return _shuffle(x, r)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if isinstance(g, Tensor):
            return PixelUnshuffle.apply(g, ctx.r), None
        return _unshuffle(g, ctx.r), None


class PixelUnshuffle(Node):
    __slots__ = ("r",)

    @staticmethod
    def forward(ctx: Any, x: Any, r: int) -> Any:
        ctx.r = r
        return _unshuffle(x, r)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if isinstance(g, Tensor):
            return PixelShuffle.apply(g, ctx.r), None
        return _shuffle(g, ctx.r), None


def _factor(op: str, x: Tensor, r: Any) -> int:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r <= 0:
        raise RuntimeError(f"{op}: the factor must be a positive integer, got {r!r}")
    if x.ndim < 3:
        raise RuntimeError(
            f"{op} expects input to have at least 3 dimensions, but got input with {x.ndim} "
            "dimension(s)"
        )
    return int(r)


@functional(namespaces=(TORCH, FUNCTIONAL))
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r², H, W) -> (*, C, H r, W r): channels become r x r blocks of pixels."""
    x = as_tensor(input)
    r = _factor("pixel_shuffle", x, upscale_factor)
    if x.shape[-3] % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={x.shape[-3]} is not divisible by "
            f"{r * r}"
        )
    return PixelShuffle.apply(x, r)


@functional(namespaces=(TORCH, FUNCTIONAL))
def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r², H, W): the inverse of ``pixel_shuffle``."""
    x = as_tensor(input)
    r = _factor("pixel_unshuffle", x, downscale_factor)
    if x.shape[-2] % r or x.shape[-1] % r:
        raise RuntimeError(
            "pixel_unshuffle expects height and width to be divisible by downscale_factor, but "
            f"input.size(-2)={x.shape[-2]}, input.size(-1)={x.shape[-1]}, downscale_factor={r}"
        )
    return PixelUnshuffle.apply(x, r)


# ---- unfold / fold (im2col / col2im) ----------------------------------------------------------


class Im2Col(GetItem):
    """The windows of a (padded) image as columns: a gather (its gradient scatters back)."""

    __slots__ = ()


class Col2Im(IntoZeros):
    """Columns added back into an image: a scatter-add (its gradient is the gather)."""

    __slots__ = ()


def _geometry(op: str, args: dict[str, Any]) -> tuple[tuple[int, ...], ...]:
    vals = []
    for name in ("kernel_size", "dilation", "padding", "stride"):
        v = ntuple(op, name, args[name], 2)
        low = 0 if name == "padding" else 1
        if min(v) < low:
            raise RuntimeError(
                f"{op}: {name} should be {'non-negative' if low == 0 else 'greater than zero'}, "
                f"but got {name}: {v}"
            )
        vals.append(v)
    return tuple(vals)


def _blocks(size: Any, k: Any, dl: Any, p: Any, s: Any) -> tuple[int, ...]:
    return tuple(
        (n + 2 * pi - di * (ki - 1) - 1) // si + 1 for n, ki, di, pi, si in zip(size, k, dl, p, s)
    )


@functools.lru_cache(maxsize=128)
def _columns(c: int, k: Any, dl: Any, s: Any, blocks: Any) -> tuple[np.ndarray, ...]:
    """(channel, row, col) of the padded image each column entry (c*kh*kw, L) reads."""
    kh, kw = np.meshgrid(np.arange(k[0]), np.arange(k[1]), indexing="ij")
    bh, bw = np.meshgrid(np.arange(blocks[0]), np.arange(blocks[1]), indexing="ij")
    rows = kh.reshape(-1, 1) * dl[0] + bh.reshape(1, -1) * s[0]  # (K, L)
    cols = kw.reshape(-1, 1) * dl[1] + bw.reshape(1, -1) * s[1]
    kk = rows.shape[0]
    ch = np.repeat(np.arange(c), kk)[:, None]
    return ch, np.tile(rows, (c, 1)), np.tile(cols, (c, 1))


@functional  # Tensor.unfold (windows along a dim) is a different op: ops/structure.py
def unfold(
    input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """Sliding blocks of (N, C, H, W) as columns: (N, C kh kw, L), L the number of blocks."""
    from glassgrad.nn.functional.norm import pad

    op = "unfold"
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise RuntimeError(
            f"{op}: Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other "
            f"non-zero dimensions for input, but got: {list(x.shape)}"
        )
    k, dl, p, s = _geometry(
        op, dict(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    )
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    blocks = _blocks(x.shape[2:], k, dl, p, s)
    if min(blocks) < 1:
        raise RuntimeError(
            f"{op}: Given input with spatial size {list(x.shape[2:])}, kernel_size={k}, "
            f"dilation={dl}, padding={p}, calculated shape of the array of sliding blocks as "
            f"{list(blocks)}, but its components must be at least one."
        )
    xp = pad(x, (p[1], p[1], p[0], p[0])) if max(p) else x
    ch, rows, cols = _columns(x.shape[1], k, dl, s, blocks)
    n = np.arange(x.shape[0]).reshape(-1, 1, 1)
    out = Im2Col.apply(xp, (n, ch[None], rows[None], cols[None]), ADVANCED)
    return out.squeeze(0) if unbatched else out


@functional
def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """Columns (N, C kh kw, L) summed back into an (N, C, H, W) image: ``unfold``'s adjoint."""
    op = "fold"
    x = as_tensor(input)
    if x.ndim not in (2, 3):
        raise RuntimeError(
            f"{op}: Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size "
            f"and non-zero dimensions, but got: {list(x.shape)}"
        )
    size = ntuple(op, "output_size", output_size, 2)
    k, dl, p, s = _geometry(
        op, dict(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    )
    unbatched = x.ndim == 2
    if unbatched:
        x = x.unsqueeze(0)
    kk = k[0] * k[1]
    if x.shape[1] % kk:
        raise RuntimeError(
            f"{op}: Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={x.shape[1]} and kernel_size={k}"
        )
    blocks = _blocks(size, k, dl, p, s)
    if min(blocks) < 1 or x.shape[2] != blocks[0] * blocks[1]:
        raise RuntimeError(
            f"{op}: Given output_size={size}, kernel_size={k}, dilation={dl}, padding={p}, "
            f"stride={s}, expected size of input's dimension 2 to match the calculated number of "
            f"sliding blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
            f"input.size(2)={x.shape[2]}."
        )
    c = x.shape[1] // kk
    ch, rows, cols = _columns(c, k, dl, s, blocks)
    rows, cols = rows - p[0], cols - p[1]
    shape = (x.shape[0], c, *size)
    n = np.arange(x.shape[0]).reshape(-1, 1, 1)
    if max(p):  # entries that fall in the padding are dropped first
        keep = (rows >= 0) & (rows < size[0]) & (cols >= 0) & (cols < size[1])
        where = np.nonzero(keep)
        x = GetItem.apply(x, (slice(None), *where), ADVANCED)
        index: Any = (
            n[:, :, 0],
            np.broadcast_to(ch, rows.shape)[where][None],
            rows[where][None],
            cols[where][None],
        )
    else:
        index = (n, ch[None], rows[None], cols[None])
    out = Col2Im.apply(x, shape, index, ADVANCED)
    return out.squeeze(0) if unbatched else out
