"""Spatial transformers: ``affine_grid`` (sampling grids from affine maps) and ``grid_sample``.

``grid_sample`` reads the input at the grid's (x, y[, z]) points in [-1, 1]: 'nearest' takes the
nearest pixel, 'bilinear' blends the 2**d corners around the point. Once the point's corners are
known (integers, from the grid's values) the output is a weighted gather of the input, so the
input's gradient is the matching scatter-add, and the grid's is the weights' slope times the
gathered values. ``padding_mode`` maps each coordinate to the input first (PyTorch's
``compute_coordinates``): 'zeros' leaves it, 'border' clamps it, 'reflection' folds it back; the
map is piecewise linear, so locally ``c = mult * grid + const``, which is all the rules need.
The rules are written once for NumPy arrays and Tensors, so second derivatives work.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np

from glassgrad.creation import _spaced_as_pytorch
from glassgrad.ops._common import Node, Tensor, as_tensor
from glassgrad.ops.registry import functional

_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)

# ---- affine_grid ------------------------------------------------------------------------------


def _line(n: int, align_corners: bool, dtype: np.dtype) -> np.ndarray:
    """PyTorch's ``linspace_from_neg_one``: n points over [-1, 1] (pixel centres unless aligned),
    computed in theta's dtype as PyTorch does: the points are rounded there, and a sampling point
    a last bit below a pixel centre takes the pixel before as its floor (another grid gradient)."""
    if n <= 1:
        return np.zeros(max(n, 0), dtype)
    r = _spaced_as_pytorch(-1.0, 1.0, n, np.dtype(dtype))
    if align_corners:
        return r
    return r * dtype.type(n - 1) / dtype.type(n)


def _base_grid(spatial: tuple[int, ...], align_corners: bool, dtype: np.dtype) -> np.ndarray:
    """(prod(spatial), d + 1): each output point's (x, y[, z], 1), x along the last dim."""
    lines = [_line(n, align_corners, dtype) for n in spatial]
    mesh = np.meshgrid(*lines, indexing="ij")  # (D,) H, W order
    cols = [m.reshape(-1) for m in reversed(mesh)]  # x first
    return np.stack([*cols, np.ones(math.prod(spatial), dtype)], axis=1)


class AffineGridGenerator(Node):
    """grid = base @ thetaᵀ, base the constant grid of homogeneous output coordinates."""

    __slots__ = ("base", "gshape")

    @staticmethod
    def forward(ctx: Any, theta: Any, base: np.ndarray, shape: tuple[int, ...]) -> Any:
        ctx.base, ctx.gshape = base, shape
        return np.matmul(base.astype(theta.dtype), np.swapaxes(theta, 1, 2)).reshape(shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        n, d = ctx.gshape[0], ctx.gshape[-1]
        gf = g.reshape(n, -1, d)  # dθ[n, i, j] = Σ_p g[n, p, i] base[p, j]
        return np.matmul(np.swapaxes(gf, 1, 2), ctx.base.astype(gf.dtype)), None, None


@functional
def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """Sampling grid (N, H, W, 2) / (N, D, H, W, 3) of affine maps theta (N, 2, 3) / (N, 3, 4)."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=3)
        align_corners = False
    t = as_tensor(theta)
    if t._data.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got {t.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) not in (4, 5):
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {list(size)}."
        )
    d = len(size) - 2
    if t.ndim != 3 or tuple(t.shape[1:]) != (d, d + 1):
        raise ValueError(
            f"Expected a batch of {d}D affine matrices of shape Nx{d}x{d + 1} for size "
            f"{list(size)}. Got {list(t.shape)}."
        )
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. See the "
            "documentation of affine_grid for details.",
            stacklevel=3,
        )
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {list(size)}")
    if t.shape[0] != size[0]:
        raise RuntimeError(
            f"affine_grid: theta {list(t.shape)} holds {t.shape[0]} matrices but size "
            f"{list(size)} asks for a batch of {size[0]}"
        )
    base = _base_grid(spatial, bool(align_corners), np.dtype(t.dtype))
    return AffineGridGenerator.apply(t, base, (size[0], *spatial, d))


# ---- grid_sample ------------------------------------------------------------------------------


def _reflect(c: np.ndarray, low2: int, high2: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's ``reflect_coordinates_set_grad``: c folded into [low2/2, high2/2], and dc'/dc."""
    if low2 == high2:
        return np.zeros_like(c), np.zeros_like(c)
    lo, span = low2 / 2, (high2 - low2) / 2
    c = c - lo
    sign = np.where(c < 0, -1.0, 1.0)
    c = np.abs(c)
    extra = np.fmod(c, span)
    even = np.floor(c / span) % 2 == 0
    return np.where(even, extra + lo, span - extra + lo), np.where(even, sign, -sign)


def _clip(c: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's ``clip_coordinates_set_grad``: c clamped to [0, n - 1], and dc'/dc."""
    inside = (c > 0) & (c < n - 1)
    return np.clip(c, 0, n - 1), inside.astype(c.dtype)


class _Plan:
    """Where each output point reads: per spatial dim (D, H, W order) its source coordinate,
    the slope of that coordinate in the grid's value, and the corners' flat indices and masks."""

    __slots__ = ("corners", "dims", "spatial")

    def __init__(
        self, grid: np.ndarray, spatial: tuple[int, ...], mode: str, padding: str, align: bool
    ) -> None:
        d = len(spatial)
        n_out = grid.shape[0]
        self.spatial = spatial
        self.dims: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (coord, mult, floor)
        for i, n in enumerate(spatial):
            gv = grid[..., d - 1 - i].reshape(n_out, -1)  # x is the last spatial dim
            if align:
                c, mult = (gv + 1) / 2 * (n - 1), np.full(gv.shape, (n - 1) / 2)
            else:
                c, mult = ((gv + 1) * n - 1) / 2, np.full(gv.shape, n / 2)
            if padding == "reflection":
                c, m = _reflect(c, 0, 2 * (n - 1)) if align else _reflect(c, -1, 2 * n - 1)
                mult = mult * m
            if padding in ("border", "reflection"):
                c, m = _clip(c, n)
                mult = mult * m
            c = np.where(np.isfinite(c), c, -100.0)  # PyTorch sends non-finite points far away
            base = np.rint(c) if mode == "nearest" else np.floor(c)
            self.dims.append((c, mult.astype(grid.dtype), base))
        # corners: (bits, flat index into the input's spatial positions, in-bounds mask)
        self.corners: list[tuple[tuple[int, ...], np.ndarray, np.ndarray]] = []
        offsets = [(0,) * d] if mode == "nearest" else list(itertools.product((0, 1), repeat=d))
        for bits in offsets:
            flat = np.zeros(self.dims[0][0].shape, np.int64)
            ok = np.ones(flat.shape, bool)
            for (_, _, base), b, n in zip(self.dims, bits, spatial):
                idx = base + b
                ok &= (idx >= 0) & (idx <= n - 1)
                flat = flat * n + np.clip(idx, 0, n - 1).astype(np.int64)
            self.corners.append((bits, flat, ok))


def _frac(plan: _Plan, i: int, grid: Any) -> Any:
    """The i-th coordinate's offset from its floor; a function of ``grid`` when that is a Tensor."""
    c, mult, base = plan.dims[i]
    if not isinstance(grid, Tensor):
        return c - base
    d = len(plan.spatial)
    gv = grid[..., d - 1 - i].reshape(c.shape)
    return gv * mult + (c - base - mult * gv.detach()._data)


def _gather(xf: Any, flat: np.ndarray) -> Any:
    """xf (N, C, M) read at flat (N, P): (N, C, P)."""
    idx = np.broadcast_to(flat[:, None, :], (xf.shape[0], xf.shape[1], flat.shape[1]))
    if isinstance(xf, Tensor):
        return xf.gather(2, as_tensor(np.ascontiguousarray(idx)))
    return np.take_along_axis(xf, idx, axis=2)


def _scatter(v: Any, flat: np.ndarray, m: int) -> Any:
    """v (N, C, P) added into zeros (N, C, M) at flat (N, P)."""
    n, ch, p = v.shape
    idx = np.broadcast_to(flat[:, None, :], (n, ch, p))
    if isinstance(v, Tensor):
        from glassgrad.creation import zeros

        return zeros((n, ch, m), dtype=v.dtype).scatter_add(
            2, as_tensor(np.ascontiguousarray(idx)), v
        )
    lin = (np.arange(n * ch).reshape(n, ch, 1) * m + idx).reshape(-1)
    return np.bincount(lin, weights=v.reshape(-1), minlength=n * ch * m).reshape(n, ch, m)


def _weights(plan: _Plan, fr: list[Any], bits: tuple[int, ...], skip: int = -1) -> Any:
    """Π over dims (but ``skip``) of t or 1 - t: a corner's bilinear weight (or slope factor)."""
    w: Any = 1.0
    for i, b in enumerate(bits):
        if i != skip:
            w = w * (fr[i] if b else 1 - fr[i])
    return w


def _sample(x: Any, grid: Any, plan: _Plan, mode: str) -> Any:
    """The output (N, C, P) from input x (N, C, M) at the plan's points."""
    out: Any = 0.0
    fr = [_frac(plan, i, grid) for i in range(len(plan.spatial))]
    for bits, flat, ok in plan.corners:
        w = ok.astype(plan.dims[0][1].dtype)
        if mode != "nearest":
            w = _weights(plan, fr, bits) * w
        out = out + _gather(x, flat) * w[:, None, :]
    return out


class GridSampler(Node):
    """out[n, c, p] = Σ_corners w(grid[n, p]) · x[n, c, corner]."""

    __slots__ = ("mode", "plan", "xshape")

    @staticmethod
    def forward(ctx: Any, x: Any, grid: Any, plan: _Plan, mode: str) -> Any:
        ctx.plan, ctx.mode, ctx.xshape = plan, mode, x.shape
        ctx.save_for_backward(x, grid)
        n, ch = x.shape[:2]
        out = _sample(x.reshape(n, ch, -1), None, plan, mode)
        return np.asarray(out, x.dtype).reshape(n, ch, *grid.shape[1:-1])

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, grid = ctx.saved_tensors
        plan, mode = ctx.plan, ctx.mode
        n, ch = ctx.xshape[:2]
        m = math.prod(ctx.xshape[2:])
        gf = g.reshape(n, ch, -1)
        xf = x.reshape(n, ch, -1)
        d = len(plan.spatial)
        fr = [_frac(plan, i, grid) for i in range(d)]
        gx: Any = None
        if ctx.needs_input_grad[0]:
            for bits, flat, ok in plan.corners:
                w = ok.astype(gf.dtype)
                if mode != "nearest":
                    w = _weights(plan, fr, bits) * w
                part = _scatter(gf * w[:, None, :], flat, m)
                gx = part if gx is None else gx + part
            gx = gx.reshape(ctx.xshape)
        ggrid: Any = None
        if ctx.needs_input_grad[1]:
            if mode == "nearest":  # piecewise constant in the grid
                ggrid = np.zeros(grid.shape, gf.dtype)
            else:
                parts: list[Any] = [None] * d
                gathered = [
                    (bits, (_gather(xf, flat) * gf).sum(1), ok) for bits, flat, ok in plan.corners
                ]
                for i in range(d):
                    slope: Any = 0.0
                    for bits, vg, ok in gathered:
                        w = _weights(plan, fr, bits, skip=i) * ok.astype(gf.dtype)
                        slope = slope + (vg * w if bits[i] else -(vg * w))
                    parts[d - 1 - i] = slope * plan.dims[i][1]
                if isinstance(parts[0], Tensor):
                    from glassgrad.ops.joining import stack

                    ggrid = stack(parts, dim=-1).reshape(grid.shape)
                else:
                    ggrid = np.stack(parts, axis=-1).reshape(grid.shape)
        return gx, ggrid, None, None


class GridSampler2D(GridSampler):
    __slots__ = ()


class GridSampler3D(GridSampler):
    __slots__ = ()


_SAMPLE_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")


@functional
def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample input (N, C, [D,] H, W) at grid (N, [Do,] Ho, Wo, 2|3) points in [-1, 1]."""
    if mode not in _SAMPLE_MODES:
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in _PADDINGS:
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=3)
        align_corners = False
    x, gr = as_tensor(input), as_tensor(grid)
    if x.ndim not in (4, 5) or gr.ndim != x.ndim:
        raise RuntimeError(
            f"grid_sample: expected 4-D or 5-D input and grid of the same number of dims, but "
            f"got input {list(x.shape)} and grid {list(gr.shape)}"
        )
    d = x.ndim - 2
    if gr.shape[0] != x.shape[0] or gr.shape[-1] != d:
        raise RuntimeError(
            f"grid_sample: expected grid of shape (N, *out, {d}) with N = {x.shape[0]} for "
            f"input {list(x.shape)}, but got grid {list(gr.shape)}"
        )
    if mode == "bicubic":
        raise NotImplementedError("grid_sample: mode='bicubic' is not supported")
    if x._data.dtype.kind != "f" or gr._data.dtype != x._data.dtype:
        raise RuntimeError(
            f"grid_sample: expected input and grid of one floating dtype, but got input "
            f"{x.dtype} and grid {gr.dtype}"
        )
    if min(x.shape[2:], default=1) <= 0:
        raise RuntimeError(
            f"grid_sample: expected input to have non-empty spatial dimensions, but input has "
            f"sizes {list(x.shape)}"
        )
    plan = _Plan(
        gr._data.reshape(gr.shape[0], -1, d),
        tuple(x.shape[2:]),
        mode,
        padding_mode,
        bool(align_corners),
    )
    node = GridSampler2D if d == 2 else GridSampler3D
    return node.apply(x, gr, plan, mode)
