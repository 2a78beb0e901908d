"""Registry entries for ``torch.linalg`` and the older ``torch.det`` & co.

Samplers draw well-conditioned inputs: diagonally dominant matrices for det/inv/solve, matrices
with distinct singular values (or symmetric ones with distinct eigenvalues) built from random
orthonormal factors for svd/eigh/pinv, and SPD matrices for cholesky. Decompositions whose
factors are unique only up to signs (svd, eigh, qr) are compared through functions that don't
depend on the signs: U * U (each column's sign squares away), the product of the factors.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from tests.opinfo import OpInfo, distinct, draw_shape, floats
from tests.opinfo.reductions import norm_sample

INF = math.inf
TOL = {"rtol": 1e-6, "atol": 1e-8}


def _rng(draw):
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def _batch(draw, max_dims: int = 2):
    return draw_shape(draw, 0, max_dims, 0 if draw(st.booleans()) else 1, 2)


def _orthonormal(rng, batch, n, k):
    q, _ = np.linalg.qr(rng.standard_normal((*batch, n, k)))
    return q


def square(shift: float = 2.0, lo: int = 1, hi: int = 4):
    """(..., n, n) with entries in [-0.5, 0.5] plus ``shift`` on the diagonal: by Gershgorin
    its eigenvalues have real parts above 0.5, so it is invertible with det > 0."""

    def sample(draw):
        n = draw(st.integers(lo, hi))
        return (floats(draw, (*_batch(draw), n, n), -0.5, 0.5) + shift * np.eye(n),)

    return sample


def general(draw):
    """(..., n, n) with entries in [-1, 1], no condition (matrix_exp is defined everywhere)."""
    n = draw(st.integers(1, 4))
    return (floats(draw, (*_batch(draw), n, n), -1.0, 1.0),)


def matrix(lo: int = 1, hi: int = 4):
    """One n x n matrix like ``square``'s (no batch: PyTorch's matmul of batches ends in a
    reshape, so only 2-D products have the node names to compare)."""

    def sample(draw):
        n = draw(st.integers(lo, hi))
        return (floats(draw, (n, n), -0.5, 0.5) + 2 * np.eye(n),)

    return sample


def spaced(draw, rng, batch, k, lo=0.5, gap=0.4):
    """k values per batch entry at least ``gap`` apart, the smallest at least ``lo``."""
    steps = gap + rng.uniform(0, 0.3, size=(*batch, k))
    return (lo + np.cumsum(steps, axis=-1))[..., ::-1]


def svd_matrix(shape: str = "any", batch: bool = True):
    """U diag(S) Vᵀ with orthonormal U, V and distinct S in [0.5, ~3]: the SVD's gradient is
    defined and well-conditioned. ``shape``: 'tall' (m >= n), 'wide' (m < n), 'square', 'any'."""

    def sample(draw):
        rng = _rng(draw)
        m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        if shape == "tall":
            m, n = max(m, n), min(m, n)
        elif shape == "wide":
            m, n = min(m, n), max(m, n) + (m == n)
        elif shape == "square":
            n = m
        b = _batch(draw) if batch else ()
        k = min(m, n)
        s = spaced(draw, rng, b, k)
        u, v = _orthonormal(rng, b, m, k), _orthonormal(rng, b, n, k)
        return (np.matmul(u * s[..., None, :], np.swapaxes(v, -1, -2)),)

    return sample


def symmetric(definite: bool = False):
    """Q diag(L) Qᵀ with eigenvalues at least 0.4 apart (and at least 0.2 in magnitude)."""

    def sample(draw):
        rng = _rng(draw)
        n = draw(st.integers(1, 4))
        b = _batch(draw)
        lam = spaced(draw, rng, b, n)
        if not definite:
            lam = lam - lam[..., n // 2 : n // 2 + 1] + 0.2  # some of each sign, |L| >= 0.2
        q = _orthonormal(rng, b, n, n)
        return (np.matmul(q * lam[..., None, :], np.swapaxes(q, -1, -2)),)

    return sample


def spd_pair(draw):
    """(x, d): x xᵀ + d dᵀ is SPD with eigenvalues above ~1.5 (d is near 1.3·I)."""
    n = draw(st.integers(1, 4))
    x = floats(draw, (*_batch(draw), n, n), -1.0, 1.0)
    return x, 1.3 * np.eye(n) + floats(draw, (n, n), -0.05, 0.05)


def _spd(x, d):
    return x @ x.mT + d @ d.mT


def _sym(a):
    return (a + a.mT) / 2


def solve_sample(kind: str):
    def sample(draw):
        n = draw(st.integers(1, 4))
        ba = _batch(draw)
        a = floats(draw, (*ba, n, n), -0.5, 0.5) + 2 * np.eye(n)
        k = draw(st.integers(1, 3))
        # B's batch: A's, or none (never one dim less, which PyTorch would read as vectors)
        bb = ba if draw(st.booleans()) or len(ba) == 1 else ()
        if kind == "vector":
            return a, floats(draw, (n,))
        if kind == "batched_vector":
            return a, floats(draw, (*ba, n))
        if kind == "right":
            return a, floats(draw, (*bb, k, n))
        return a, floats(draw, (*bb, n, k))

    return sample


def _triangular_sample(left: bool):
    """A well-conditioned square A (its triangles too: diagonal near 2), B, upper, unitriangular."""

    def sample(draw):
        a, b = solve_sample("matrix" if left else "right")(draw)
        return a, b, draw(st.booleans()), draw(st.booleans())

    return sample


def lstsq_sample(shape: str, vector: bool = False):
    def sample(draw):
        (a,) = svd_matrix(shape, batch=not vector)(draw)
        k = draw(st.integers(1, 3))
        b = floats(draw, (*a.shape[:-1], k)) if not vector else floats(draw, (a.shape[-2],))
        return a, b

    return sample


def _diag_sample(draw):
    shape = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(2, 4))))
    return (floats(draw, shape),)


def cross_sample(draw):
    batch = draw_shape(draw, 0, 2, 1, 3)
    pos = draw(st.integers(0, len(batch)))
    shape = (*batch[:pos], 3, *batch[pos:])
    dim = draw(st.sampled_from([pos, pos - len(shape)]))
    other = tuple(1 if i != pos and draw(st.booleans()) else n for i, n in enumerate(shape))
    return floats(draw, shape), floats(draw, other), dim  # same rank: size-1 dims broadcast


def vecdot_sample(draw):
    shape = draw_shape(draw, 1, 3, 0, 3)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    other = shape[draw(st.integers(0, len(shape) + dim)) :] if dim < 0 else shape
    return floats(draw, shape), floats(draw, other), dim


def multi_dot_sample(count: int, vectors: bool):
    def sample(draw):
        sizes = [draw(st.integers(1, 4)) for _ in range(count + 1)]
        mats = [floats(draw, (sizes[i], sizes[i + 1])) for i in range(count)]
        if vectors:
            mats[0], mats[-1] = mats[0][0], mats[-1][:, 0]
        return tuple(mats)

    return sample


def vector_norm_sample(draw):
    x, p, dim, keepdim = norm_sample(draw)
    return x, 2 if p == "fro" else p, dim, keepdim


def matrix_norm_sample(ords):
    def sample(draw):
        ord = draw(st.sampled_from(ords))
        if ord in ("nuc", 2, -2):
            (x,) = svd_matrix(batch=False)(draw)
            if draw(st.booleans()):  # a batch of one: the SVD may run over dims (0, -1)
                x = x[None]
        else:
            n, m = draw(st.integers(1, 4)), draw(st.integers(1, 4))
            shape = (*draw_shape(draw, 0, 1, 1, 2), n, m)
            sign = np.where(floats(draw, shape) > 0, 1.0, -1.0)
            # jittered: sums of an evenly spaced grid tie often, and a tie is a kink
            x = distinct(draw, shape, 0.2, 2.0) * sign * (1 + 0.1 * floats(draw, shape, 0, 1))
        dims = draw(st.sampled_from([(-2, -1), (-1, -2), (0, -1)] if x.ndim == 3 else [(-2, -1)]))
        return x, ord, dims, draw(st.booleans())

    return sample


def _pow(n: int):
    return lambda lib, x: lib.linalg.matrix_power(x, n)


def _k(x):
    return min(x.shape[-2:])


def _full_svd(r, k):
    """Only the first k columns of a full U (rows of Vh) are determined (up to sign)."""
    return (r.U[..., :k] ** 2 @ r.Vh[..., :k, :] ** 2) * 2


# (``* 2`` after a batched product: PyTorch's last node there is a reshape of its folded mm)


def pivoted(draw, shape: str = "square"):
    """Rows of a column-diagonally-dominant matrix shuffled: partial pivoting finds the
    dominant rows again with a margin (no near-ties), so the row swaps are exercised and stay
    the same under the finite differences of gradcheck. ``shape``: square, wide or tall."""
    rng = _rng(draw)
    n = draw(st.integers(1, 4))
    m = {"square": n, "wide": draw(st.integers(1, n)), "tall": draw(st.integers(n, 4))}[shape]
    batch = _batch(draw)
    d = rng.uniform(-0.5, 0.5, (*batch, m, n)) + 2 * np.eye(m, n)
    perm = rng.permutation(m)
    return (d[..., perm, :],)


def _pivoted_wide(draw):
    return pivoted(draw, "wide")


def _pivoted_tall(draw):
    return pivoted(draw, "tall")


def _unpack_both(lib, x):
    """L and U of a non-square factor in one result (the factor's own rule is square-only, so
    the packed factor is taken as a plain input: lu_unpack is linear in it)."""
    pivots = lib.ones(*x.shape[:-2], min(x.shape[-2:]), dtype=lib.int32)
    r = lib.lu_unpack(x, pivots)
    return lib.cat([r.L.flatten(-2), r.U.flatten(-2)], -1)


OPS = [
    # ---- det, slogdet, logdet
    OpInfo("det", lambda lib, x: lib.linalg.det(x), square(), **TOL),
    OpInfo("det_torch", lambda lib, x: lib.det(x), square(), **TOL),
    OpInfo("det_method", lambda lib, x: x.det(), square(lo=1, hi=2), **TOL),
    OpInfo("linalg_slogdet", lambda lib, x: lib.linalg.slogdet(x).logabsdet, square(), **TOL),
    OpInfo("slogdet", lambda lib, x: lib.slogdet(x)[1], square(), **TOL),
    OpInfo("slogdet_method", lambda lib, x: x.slogdet().logabsdet, square(), **TOL),
    OpInfo("logdet", lambda lib, x: lib.logdet(x), square(), **TOL),
    OpInfo("logdet_method", lambda lib, x: x.logdet(), square(), **TOL),
    # ---- inv, solve
    OpInfo("linalg_inv", lambda lib, x: lib.linalg.inv(x), square(), **TOL),
    OpInfo("linalg_inv_ex", lambda lib, x: lib.linalg.inv_ex(x).inverse, square(), **TOL),
    OpInfo("inverse", lambda lib, x: lib.inverse(x), square(), **TOL),
    OpInfo("inverse_method", lambda lib, x: x.inverse(), square(), **TOL),
    OpInfo("linalg_solve", lambda lib, a, b: lib.linalg.solve(a, b), solve_sample("matrix"), **TOL),
    OpInfo(
        "linalg_solve_vector",
        lambda lib, a, b: lib.linalg.solve(a, b),
        solve_sample("vector"),
        **TOL,
    ),
    OpInfo(
        "linalg_solve_batched_vector",
        lambda lib, a, b: lib.linalg.solve(a, b),
        solve_sample("batched_vector"),
        **TOL,
    ),
    OpInfo(
        "linalg_solve_right",
        lambda lib, a, b: lib.linalg.solve(a, b, left=False),
        solve_sample("right"),
        **TOL,
    ),
    # ---- triangular solves
    OpInfo(
        "linalg_solve_triangular",
        lambda lib, a, b, up, unit: lib.linalg.solve_triangular(a, b, upper=up, unitriangular=unit),
        _triangular_sample(True),
        **TOL,
    ),
    OpInfo(
        "linalg_solve_triangular_right",
        lambda lib, a, b, up, unit: lib.linalg.solve_triangular(
            a, b, upper=up, left=False, unitriangular=unit
        ),
        _triangular_sample(False),
        **TOL,
    ),
    OpInfo(
        "cholesky_solve",
        lambda lib, a, b, up, unit: lib.cholesky_solve(b, a.tril() if not up else a.triu(), up),
        _triangular_sample(True),
        **TOL,
    ),
    # ---- cholesky
    OpInfo("linalg_cholesky", lambda lib, x, d: lib.linalg.cholesky(_spd(x, d)), spd_pair, **TOL),
    OpInfo(
        "linalg_cholesky_upper",
        lambda lib, x, d: lib.linalg.cholesky(_spd(x, d), upper=True),
        spd_pair,
        **TOL,
    ),
    OpInfo(
        "linalg_cholesky_ex",
        lambda lib, x, d: lib.linalg.cholesky_ex(_spd(x, d)).L,
        spd_pair,
        **TOL,
    ),
    OpInfo("cholesky", lambda lib, x, d: lib.cholesky(_spd(x, d)), spd_pair, **TOL),
    OpInfo("cholesky_upper", lambda lib, x, d: _spd(x, d).cholesky(upper=True), spd_pair, **TOL),
    # ---- lu (partial pivoting: row swaps included)
    OpInfo("linalg_lu_factor", lambda lib, x: lib.linalg.lu_factor(x).LU, pivoted, **TOL),
    OpInfo("linalg_lu_factor_ex", lambda lib, x: lib.linalg.lu_factor_ex(x).LU, pivoted, **TOL),
    OpInfo("lu_method", lambda lib, x: x.lu()[0], pivoted, **TOL),
    OpInfo("linalg_lu_L", lambda lib, x: lib.linalg.lu(x).L, pivoted, **TOL),
    OpInfo("linalg_lu_U", lambda lib, x: lib.linalg.lu(x).U, pivoted, **TOL),
    OpInfo(
        "linalg_lu_factor_wide", lambda lib, x: lib.linalg.lu_factor(x).LU, _pivoted_wide, **TOL
    ),
    OpInfo(
        "linalg_lu_factor_tall", lambda lib, x: lib.linalg.lu_factor(x).LU, _pivoted_tall, **TOL
    ),
    OpInfo("linalg_lu_L_tall", lambda lib, x: lib.linalg.lu(x).L, _pivoted_tall, **TOL),
    OpInfo("linalg_lu_U_wide", lambda lib, x: lib.linalg.lu(x).U, _pivoted_wide, **TOL),
    OpInfo("lu_unpack_L", lambda lib, x: lib.lu_unpack(*lib.linalg.lu_factor(x)).L, pivoted, **TOL),
    OpInfo("lu_unpack_U", lambda lib, x: lib.lu_unpack(*lib.linalg.lu_factor(x)).U, pivoted, **TOL),
    OpInfo("lu_unpack_wide", lambda lib, x: _unpack_both(lib, x[..., :-1, :]), pivoted, **TOL),
    OpInfo("lu_unpack_tall", lambda lib, x: _unpack_both(lib, x[..., :, :-1]), pivoted, **TOL),
    # ---- qr (compared through Q * Q, R * R and Q R: the signs are not unique)
    OpInfo("linalg_qr_Q", lambda lib, x: lib.linalg.qr(x).Q ** 2, svd_matrix("tall"), **TOL),
    OpInfo("linalg_qr_R", lambda lib, x: lib.linalg.qr(x).R ** 2, svd_matrix("tall"), **TOL),
    OpInfo(
        "linalg_qr_product",
        lambda lib, x: lib.matmul(*lib.linalg.qr(x)) * lib.linalg.qr(x).R.sum(),
        svd_matrix("any"),
        **TOL,
    ),
    OpInfo(
        "linalg_qr_wide",
        lambda lib, x: (lib.linalg.qr(x).Q ** 2 @ lib.linalg.qr(x).R ** 2) * 2,
        svd_matrix("wide"),
        **TOL,
    ),
    OpInfo(
        "linalg_qr_complete",
        lambda lib, x: lib.linalg.qr(x, mode="complete").R ** 2,
        svd_matrix("wide"),
        **TOL,
    ),
    OpInfo(
        "qr", lambda lib, x: (lib.qr(x)[0] ** 2 @ lib.qr(x)[1] ** 2) * 2, svd_matrix("tall"), **TOL
    ),
    OpInfo("qr_method", lambda lib, x: x.qr().R ** 2, svd_matrix("tall"), **TOL),
    # ---- svd, svdvals (U * U and Vh * Vh: each singular vector's sign squares away)
    OpInfo("linalg_svd_S", lambda lib, x: lib.linalg.svd(x).S, svd_matrix(), **TOL),
    OpInfo(
        "linalg_svd_U",
        lambda lib, x: lib.linalg.svd(x, full_matrices=False).U ** 2,
        svd_matrix(),
        **TOL,
    ),
    OpInfo(
        "linalg_svd_Vh",
        lambda lib, x: lib.linalg.svd(x, full_matrices=False).Vh ** 2,
        svd_matrix(),
        **TOL,
    ),
    OpInfo(
        "linalg_svd_full",
        lambda lib, x: _full_svd(lib.linalg.svd(x), _k(x)),
        svd_matrix(),
        **TOL,
    ),
    OpInfo(
        "linalg_svd_product",
        lambda lib, x: (lambda r: (r.U * r.S[..., None, :]) @ r.Vh * 2)(
            lib.linalg.svd(x, full_matrices=False)
        ),
        svd_matrix(),
        **TOL,
    ),
    OpInfo("linalg_svdvals", lambda lib, x: lib.linalg.svdvals(x), svd_matrix(), **TOL),
    OpInfo("svd", lambda lib, x: lib.svd(x)[2] ** 2, svd_matrix(), **TOL),
    OpInfo("svd_method", lambda lib, x: x.svd().U ** 2, svd_matrix(), **TOL),
    OpInfo("svd_S", lambda lib, x: lib.svd(x, some=False).S, svd_matrix(), **TOL),
    # ---- eigh, eigvalsh
    OpInfo(
        "linalg_eigh_values",
        lambda lib, x: lib.linalg.eigh(_sym(x)).eigenvalues,
        symmetric(),
        **TOL,
    ),
    OpInfo(
        "linalg_eigh_vectors",
        lambda lib, x: lib.linalg.eigh(_sym(x)).eigenvectors ** 2,
        symmetric(),
        **TOL,
    ),
    OpInfo(
        "linalg_eigh_upper",
        lambda lib, x: (
            lib.linalg.eigh(_sym(x), UPLO="U")[1] ** 2 * lib.linalg.eigh(_sym(x))[0][..., None, :]
        ),
        symmetric(),
        **TOL,
    ),
    OpInfo("linalg_eigvalsh", lambda lib, x: lib.linalg.eigvalsh(_sym(x)), symmetric(), **TOL),
    # ---- pinv, lstsq
    OpInfo("linalg_pinv", lambda lib, x: lib.linalg.pinv(x), svd_matrix(), **TOL),
    OpInfo(
        "linalg_pinv_hermitian",
        lambda lib, x: lib.linalg.pinv(_sym(x), hermitian=True),
        symmetric(),
        **TOL,
    ),
    OpInfo("pinverse", lambda lib, x: lib.pinverse(x), svd_matrix(), **TOL),
    OpInfo("pinverse_method", lambda lib, x: x.pinverse(), svd_matrix(), **TOL),
    OpInfo(
        "linalg_lstsq",
        lambda lib, a, b: lib.linalg.lstsq(a, b).solution,
        lstsq_sample("tall"),
        **TOL,
    ),
    OpInfo(
        "linalg_lstsq_wide",
        lambda lib, a, b: lib.linalg.lstsq(a, b)[0],
        lstsq_sample("wide"),
        **TOL,
    ),
    # ---- matrix_power, matrix_exp
    *[
        OpInfo(f"matrix_power_{n}".replace("-", "neg"), _pow(n), matrix(1, 3), **TOL)
        for n in (-3, -2, -1, 1, 2, 3, 4, 5, 6)
    ],
    OpInfo("matrix_power_method", lambda lib, x: x.matrix_power(3), matrix(), **TOL),
    OpInfo("matrix_power_torch", lambda lib, x: lib.matrix_power(x, 2), matrix(), **TOL),
    OpInfo("matrix_power_batched", lambda lib, x: lib.matrix_power(x, 5) * 2, square(), **TOL),
    OpInfo("matrix_exp", lambda lib, x: lib.linalg.matrix_exp(x), general, **TOL),
    OpInfo("matrix_exp_torch", lambda lib, x: lib.matrix_exp(x), square(0.0), **TOL),
    # ---- cross, vecdot, multi_dot
    OpInfo("linalg_diagonal", lambda lib, x: lib.linalg.diagonal(x, offset=1) * 2, _diag_sample),
    OpInfo("linalg_cross", lambda lib, x, y, dim: lib.linalg.cross(x, y, dim=dim), cross_sample),
    OpInfo("cross", lambda lib, x, y, dim: lib.cross(x, y, dim=dim), cross_sample),
    OpInfo("cross_method", lambda lib, x, y, dim: x.cross(y, dim), cross_sample),
    OpInfo("linalg_vecdot", lambda lib, x, y, dim: lib.linalg.vecdot(x, y, dim=dim), vecdot_sample),
    *[
        OpInfo(
            f"linalg_multi_dot_{count}{'_vectors' if vec else ''}",
            lambda lib, *xs: lib.linalg.multi_dot(list(xs)) * 2,  # PyTorch ends in a view
            multi_dot_sample(count, vec),
        )
        for count in (2, 3, 4)
        for vec in (False, True)
    ],
    # ---- norms
    OpInfo(
        "linalg_vector_norm",
        lambda lib, x, p, dim, keepdim: lib.linalg.vector_norm(x, p, dim, keepdim),
        vector_norm_sample,
    ),
    OpInfo(
        "linalg_matrix_norm",
        lambda lib, x, p, dim, keepdim: lib.linalg.matrix_norm(x, p, dim, keepdim),
        matrix_norm_sample(["fro"]),
        **TOL,
    ),
    # max / min of sums of |x|: piecewise-linear, so the second derivative is 0 (not checked)
    OpInfo(
        "linalg_matrix_norm_abs_sums",
        lambda lib, x, p, dim, keepdim: lib.linalg.matrix_norm(x, p, dim, keepdim),
        matrix_norm_sample([1, -1, INF, -INF]),
        gradgrad=False,
        **TOL,
    ),
    OpInfo(
        "linalg_matrix_norm_svd",
        lambda lib, x, p, dim, keepdim: lib.linalg.matrix_norm(x, p, dim, keepdim),
        matrix_norm_sample(["nuc", 2, -2]),
        **TOL,
    ),
    OpInfo(
        "linalg_norm_matrix",
        lambda lib, x, p, dim, keepdim: lib.linalg.norm(x, p, dim, keepdim),
        matrix_norm_sample(["fro", "nuc", 2, -2]),
        **TOL,
    ),
    OpInfo(
        "linalg_norm_matrix_abs_sums",
        lambda lib, x, p, dim, keepdim: lib.linalg.norm(x, p, dim, keepdim),
        matrix_norm_sample([1, -1, INF, -INF]),
        gradgrad=False,
        **TOL,
    ),
    OpInfo(
        "linalg_norm_vector",
        lambda lib, x, p, dim, keepdim: (
            lib.linalg.norm(x, p, dim if isinstance(dim, int) else None, keepdim)
            if x.ndim == 1 or isinstance(dim, int)
            else lib.linalg.norm(x)
        ),
        vector_norm_sample,
    ),
]
