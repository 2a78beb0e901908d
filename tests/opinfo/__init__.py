"""The op registry the sweep tests run over: one ``OpInfo`` per differentiable op.

An entry gives a function written once for both libraries (``fn(lib, *args)`` where ``lib`` is
``glassgrad`` or ``torch``), and a sampler that draws its arguments with hypothesis. Floating-point
NumPy arrays in the sample become inputs that require grad; everything else (integer index arrays,
ints, tuples) is passed as is (integer arrays become integer tensors).
Each family adds its entries in its own module below; ``ALL`` collects them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st


@dataclass
class OpInfo:
    name: str
    fn: Callable[..., Any]  # fn(lib, *args): the same code runs on glassgrad and on torch
    sample: Callable[[Any], tuple[Any, ...]]  # sample(draw) -> args
    torch_fn: Callable[..., Any] | None = None  # only where torch spells the call differently
    gradgrad: bool = True  # second derivatives checked (False only for piecewise-constant grads)
    rtol: float = 1e-7
    atol: float = 1e-9
    check_torch: bool = True
    # "nondiff": evaluated at a kink or through rounding, so no gradcheck (torch still compares);
    # "cast": the op picks its output dtype, so float32 in need not give float32 out
    tags: tuple[str, ...] = field(default_factory=tuple)


# ---- drawing helpers ------------------------------------------------------------------------


def draw_shape(
    draw: Any, min_dims: int = 0, max_dims: int = 3, min_side: int = 0, max_side: int = 4
):
    """A shape that includes 0-d, size-0 and size-1 dimensions now and then."""
    n = draw(st.integers(min_dims, max_dims))
    return tuple(draw(st.integers(min_side, max_side)) for _ in range(n))


def broadcastable(draw: Any, base: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts against ``base``: some dims dropped from the front or set to 1."""
    drop = draw(st.integers(0, len(base)))
    out = list(base[drop:])
    for i in range(len(out)):
        if draw(st.booleans()) and draw(st.booleans()):
            out[i] = 1
    return tuple(out)


def floats(draw: Any, shp: tuple[int, ...], lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    """float64 values in [lo, hi] from a hypothesis-drawn seed (fast, yet reproducible)."""
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).uniform(lo, hi, size=shp)


def away_from(
    draw: Any,
    shp: tuple[int, ...],
    points: tuple[float, ...],
    gap: float = 0.1,
    lo: float = -2.0,
    hi: float = 2.0,
) -> np.ndarray:
    """Like ``floats`` but at least ``gap`` from each kink (where a derivative jumps)."""
    x = floats(draw, shp, lo, hi)
    for p in points:
        close = np.abs(x - p) < gap
        x = np.where(close, p + np.where(x >= p, gap, -gap) * 1.5, x)
    return x


def distinct(draw: Any, shp: tuple[int, ...], lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    """Values with no ties (a random permutation of a spaced grid), for max/min/sort rules."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = int(np.prod(shp)) if shp else 1
    grid = np.linspace(lo, hi, max(n, 1)) + rng.uniform(0, 1e-3)
    return rng.permutation(grid)[:n].reshape(shp)


def integers(draw: Any, shp: tuple[int, ...], lo: int, hi: int) -> np.ndarray:
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(lo, hi, size=shp)


def _collect() -> list[OpInfo]:
    from tests.opinfo import (
        decompositions,
        elementwise,
        indexing,
        linalg,
        lu,
        nn_functional,
        reductions,
        sorting,
        sparse,
        spectral,
        structure,
    )
    from tests.opinfo import shape as shape_ops

    families = (elementwise, reductions, shape_ops, indexing, linalg, decompositions, lu)
    ops: list[OpInfo] = []
    for family in (*families, nn_functional, sorting, structure, spectral, sparse):
        ops.extend(family.OPS)
    return ops


ALL = _collect()
