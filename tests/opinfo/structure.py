"""Registry entries for structure ops: triangles, diagonals, blocks, rotations, repeats, windows,
grids, Kronecker products, distances, cross products, differences and the extra scans.

Multi-output ops (meshgrid, cummax) are checked through one output that mixes the pieces with
different weights, or through their values.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from tests.opinfo import OpInfo, distinct, draw_shape, floats


def _dim(draw, ndim):
    n = max(ndim, 1)
    d = draw(st.integers(0, n - 1))
    return d - n if draw(st.booleans()) else d


def _matrices(draw, min_side=0):
    """A batch of matrices (2 to 4 dims) and a diagonal offset."""
    shape = draw_shape(draw, 2, 4, min_side)
    return floats(draw, shape), draw(st.integers(-3, 3))


def _x_dim(min_dims=0, fn=floats):
    def sample(draw):
        shape = draw_shape(draw, min_dims)
        return fn(draw, shape), _dim(draw, len(shape))

    return sample


def _diagonal_sample(draw):
    shape = draw_shape(draw, 2, 4)
    n = len(shape)
    d1 = draw(st.integers(0, n - 1))
    d2 = draw(st.sampled_from([d for d in range(n) if d != d1]))
    return floats(draw, shape), draw(st.integers(-3, 3)), d1 - n if draw(st.booleans()) else d1, d2


def _diag_embed_sample(draw):
    shape = draw_shape(draw, 1, 3)
    n = len(shape) + 1
    d1 = draw(st.integers(0, n - 1))
    d2 = draw(st.sampled_from([d for d in range(n) if d != d1]))
    return floats(draw, shape), draw(st.integers(-2, 2)), d1, d2 - n if draw(st.booleans()) else d2


def _diag_sample(draw):
    return floats(draw, draw_shape(draw, 1, 2)), draw(st.integers(-3, 3))


def _block_diag_sample(draw):
    """Non-empty blocks: PyTorch's backward misplaces the gradient after an empty vector block
    (its forward gives it a row, its backward doesn't)."""
    k = draw(st.integers(1, 3))
    return tuple(floats(draw, draw_shape(draw, 0, 2, 1)) for _ in range(k))


def _rot90_sample(draw):
    shape = draw_shape(draw, 2, 4)
    n = len(shape)
    a = draw(st.integers(0, n - 1))
    b = draw(st.sampled_from([d for d in range(n) if d != a]))
    return floats(draw, shape), draw(st.integers(-5, 5)), a - n if draw(st.booleans()) else a, b


def _repeat_sample(draw):
    shape = draw_shape(draw)
    x = floats(draw, shape)
    dims = [None, _dim(draw, len(shape))] if shape else [None]  # PyTorch refuses 0-d with a dim
    return x, draw(st.integers(0, 3)), draw(st.sampled_from(dims))


def _repeat_tensor_sample(draw):
    shape = draw_shape(draw, 1)
    d = _dim(draw, len(shape))
    seed = draw(st.integers(0, 2**32 - 1))
    counts = np.random.default_rng(seed).integers(0, 4, size=shape[d])
    return floats(draw, shape), counts, d


def _unfold_sample(draw):
    shape = draw_shape(draw, 0, 3, 1)
    d = _dim(draw, len(shape))
    n = shape[d] if shape else 1
    return floats(draw, shape), d, draw(st.integers(1, n)), draw(st.integers(1, 3))


def _vectors(k_max=3, min_dims=0):
    def sample(draw):
        k = draw(st.integers(1, k_max))
        return tuple(
            floats(draw, draw_shape(draw, min_dims, 1) if i else (draw(st.integers(0, 4)),))
            for i in range(k)
        )

    return sample


def _kron_sample(draw):
    return floats(draw, draw_shape(draw, 0, 3, 0, 3)), floats(draw, draw_shape(draw, 0, 3, 0, 3))


def _cdist_sample(draw):
    batch = draw_shape(draw, 0, 2, 1, 3)
    m = draw(st.integers(1, 4))
    p_rows, r_rows = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    b2 = tuple(1 if draw(st.booleans()) else s for s in batch)
    return floats(draw, (*batch, p_rows, m)), floats(draw, (*b2, r_rows, m)) + 0.05


def _cross_sample(draw):
    shape = list(draw_shape(draw, 1, 3, 1, 3))
    d = draw(st.integers(0, len(shape) - 1))
    shape[d] = 3
    other = [1 if draw(st.booleans()) and i != d else s for i, s in enumerate(shape)]
    return (
        floats(draw, tuple(shape)),
        floats(draw, tuple(other)),
        d - len(shape) * draw(st.integers(0, 1)),
    )


def _diff_sample(draw):
    shape = draw_shape(draw, 1)
    d = _dim(draw, len(shape))
    n = draw(st.integers(0, 3))
    return floats(draw, shape), n, d


def _diff_pend_sample(draw):
    shape = draw_shape(draw, 1)
    d = _dim(draw, len(shape))
    pre = list(shape)
    pre[d] = draw(st.integers(0, 2))
    app = list(shape)
    app[d] = draw(st.integers(0, 2))
    return floats(draw, shape), floats(draw, tuple(pre)), floats(draw, tuple(app)), d


def _gradient_sample(draw):
    """Samples with a step per dim, one step for all, or (1-D) uneven coordinates; edge order 1
    or 2 (each differentiated dim then has at least 3 samples)."""
    edge = draw(st.sampled_from([1, 2]))
    shape = draw_shape(draw, 1, 2, edge + 1, 4)
    dims = tuple(range(len(shape)))
    kind = draw(
        st.sampled_from(["one", "each", "coordinates"] if len(shape) == 1 else ["one", "each"])
    )
    if kind == "one":
        spacing = draw(st.sampled_from([1.0, 0.5, 2.0]))
    elif kind == "each":
        spacing = [draw(st.sampled_from([0.5, 1.0, 3.0])) for _ in dims]
    else:
        steps = [draw(st.sampled_from([0.5, 1.0, 1.5])) for _ in range(shape[0] - 1)]
        spacing = (np.concatenate([[0.0], np.cumsum(steps)]),)
    return floats(draw, shape), spacing, edge


def _gradient(lib, x, spacing, edge):
    if isinstance(spacing, tuple):  # coordinates: a tensor of the library's own
        spacing = (lib.tensor(spacing[0], dtype=x.dtype),)
    return _mixed(lib, lib.gradient(x, spacing=spacing, edge_order=edge))


def _mixed(lib, pieces):
    """One tensor from same-shape pieces, each weighted differently."""
    return sum(p * (i + 1.5) for i, p in enumerate(pieces))


OPS: list[OpInfo] = [
    OpInfo("tril", lambda lib, x, k: lib.tril(x, k), _matrices),
    OpInfo("tril_method", lambda lib, x, k: x.tril(diagonal=k), _matrices),
    OpInfo("tril_inplace", lambda lib, x, k: (x * 1).tril_(k), _matrices),
    OpInfo("triu", lambda lib, x, k: lib.triu(x, k), _matrices),
    OpInfo("triu_inplace", lambda lib, x, k: (x * 1).triu_(k), _matrices),
    OpInfo("diagonal", lambda lib, x, o, a, b: lib.diagonal(x, o, a, b), _diagonal_sample),
    OpInfo(
        "diagonal_method",
        lambda lib, x, o, a, b: x.diagonal(offset=o, dim1=a, dim2=b) * 2,
        _diagonal_sample,
    ),
    OpInfo("diag_embed", lambda lib, x, o, a, b: lib.diag_embed(x, o, a, b), _diag_embed_sample),
    OpInfo("diag", lambda lib, x, k: lib.diag(x, k), _diag_sample),
    OpInfo("trace", lambda lib, x: x.trace(), lambda draw: (floats(draw, draw_shape(draw, 2, 2)),)),
    OpInfo("block_diag", lambda lib, *xs: lib.block_diag(*xs), _block_diag_sample),
    OpInfo("rot90", lambda lib, x, k, a, b: lib.rot90(x, k, [a, b]), _rot90_sample),
    OpInfo("repeat_interleave", lambda lib, x, r, d: x.repeat_interleave(r, d), _repeat_sample),
    OpInfo(
        "repeat_interleave_tensor",
        lambda lib, x, r, d: lib.repeat_interleave(x, r, dim=d),
        _repeat_tensor_sample,
    ),
    OpInfo("tensor_unfold", lambda lib, x, d, s, st_: x.unfold(d, s, st_), _unfold_sample),
    OpInfo("cartesian_prod", lambda lib, *xs: lib.cartesian_prod(*xs) * 2, _vectors(min_dims=1)),
    OpInfo(
        "combinations",
        lambda lib, x, r, w: lib.combinations(x, r, with_replacement=w) * 2,
        lambda draw: (
            floats(draw, (draw(st.integers(0, 4)),)),
            draw(st.integers(1, 3)),
            draw(st.booleans()),
        ),
    ),
    OpInfo(
        "meshgrid_ij", lambda lib, *xs: _mixed(lib, lib.meshgrid(*xs, indexing="ij")), _vectors()
    ),
    OpInfo("meshgrid_xy", lambda lib, *xs: lib.meshgrid(list(xs), indexing="xy")[-1], _vectors()),
    OpInfo("kron", lambda lib, x, y: lib.kron(x, y), _kron_sample),
    OpInfo("cdist", lambda lib, x, y: lib.cdist(x, y), _cdist_sample),
    OpInfo("cdist_p1", lambda lib, x, y: lib.cdist(x, y, p=1), _cdist_sample),
    OpInfo("cdist_inf", lambda lib, x, y: lib.cdist(x, y, p=math.inf), _cdist_sample),
    OpInfo("cdist_p3", lambda lib, x, y: lib.cdist(x, y, 3.0), _cdist_sample),
    OpInfo("cross", lambda lib, x, y, d: lib.cross(x, y, dim=d), _cross_sample),
    OpInfo("diff", lambda lib, x, n, d: lib.diff(x, n, d), _diff_sample),
    OpInfo("gradient", _gradient, _gradient_sample),
    OpInfo("diff_pend", lambda lib, x, p, a, d: x.diff(1, d, p, a), _diff_pend_sample),
    OpInfo("logcumsumexp", lambda lib, x, d: lib.logcumsumexp(x, d), _x_dim()),
    OpInfo("cummax", lambda lib, x, d: lib.cummax(x, d).values, _x_dim(fn=distinct)),
    OpInfo("cummin", lambda lib, x, d: x.cummin(d)[0], _x_dim(fn=distinct)),
]


OPS += [
    OpInfo(
        "diagflat",
        lambda lib, x, k: lib.diagflat(x, k),
        lambda draw: (floats(draw, draw_shape(draw, 0, 3)), draw(st.integers(-2, 2))),
    ),
]
