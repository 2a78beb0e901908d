"""LU factorization and what is built on it (``torch.linalg.lu``/``lu_factor``/``lu_solve``,
``torch.lu_unpack``), plus ``solve_ex``, ``cond``, ``vander``, ``tensorinv``, ``tensorsolve`` and
``cholesky_inverse``, ``householder_product``.

The pivots come from partial pivoting in NumPy (the largest entry of each column, as LAPACK's
getrf); L and U are then Doolittle's recurrences on the pivoted rows written with Tensor ops, so
their gradients (PyTorch's ``linalg_lu_backward`` values) and second derivatives come from the
engine. # NOTE: composed, not a fused rule: n small steps per factorization, no new formulas.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad.creation import eye as _eye_t
from glassgrad.ops._common import Tensor, as_tensor, return_type
from glassgrad.ops.comparison import where
from glassgrad.ops.decompositions import (
    _matrix_input,
    cholesky_solve,
    linalg_inv,
    linalg_solve,
    linalg_solve_triangular,
)
from glassgrad.ops.joining import cat, stack
from glassgrad.ops.registry import LINALG, op

__all__ = [
    "cholesky_inverse",
    "linalg_cond",
    "linalg_householder_product",
    "linalg_lu",
    "linalg_lu_factor",
    "linalg_lu_factor_ex",
    "linalg_lu_solve",
    "linalg_solve_ex",
    "linalg_tensorinv",
    "linalg_tensorsolve",
    "linalg_vander",
    "lu_solve",
    "lu_unpack",
    "orgqr",
]


class return_types:
    """Named results with PyTorch's field names."""

    linalg_lu = return_type("linalg_lu", ("P", "L", "U"), __name__)
    lu_unpack = return_type("lu_unpack", ("P", "L", "U"), __name__)
    linalg_lu_factor = return_type("linalg_lu_factor", ("LU", "pivots"), __name__)
    linalg_lu_factor_ex = return_type("linalg_lu_factor_ex", ("LU", "pivots", "info"), __name__)
    linalg_solve_ex = return_type("linalg_solve_ex", ("result", "info"), __name__)


# ---- the factorization ---------------------------------------------------------------------------


def _pivots(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LAPACK-style pivots (1-based row swaps, int32) of partial pivoting on each matrix of
    ``a``, and ``info`` (1 + the first zero pivot's index, 0 if none)."""
    m, n = a.shape[-2:]
    k = min(m, n)
    work = np.array(
        a, dtype=np.result_type(a.dtype, np.float64) if a.dtype.kind != "c" else a.dtype
    )
    work = work.reshape(-1, m, n)
    piv = np.zeros((work.shape[0], k), dtype=np.int32)
    info = np.zeros(work.shape[0], dtype=np.int32)
    rows = np.arange(work.shape[0])
    for j in range(k):
        p = j + np.argmax(np.abs(work[:, j:, j]), axis=1)
        piv[:, j] = p + 1
        top = work[rows, j].copy()
        work[rows, j] = work[rows, p]
        work[rows, p] = top
        d = work[:, j, j]
        zero = d == 0
        info = np.where((info == 0) & zero, j + 1, info)
        safe = np.where(zero, 1, d)
        factors = np.where(zero[:, None], 0, work[:, j + 1 :, j] / safe[:, None])
        work[:, j + 1 :, j] = factors
        work[:, j + 1 :, j + 1 :] -= factors[:, :, None] * work[:, j, None, j + 1 :]
    return piv.reshape(*a.shape[:-2], k), info.reshape(a.shape[:-2])


def _permutation(piv: np.ndarray, m: int) -> np.ndarray:
    """The row order ``perm`` with (P^T A)[i] = A[perm[i]], from LAPACK's sequential swaps."""
    perm = np.broadcast_to(np.arange(m), (*piv.shape[:-1], m)).copy()
    flat, fp = perm.reshape(-1, m), piv.reshape(-1, piv.shape[-1]) - 1
    rows = np.arange(flat.shape[0])
    for j in range(fp.shape[1]):
        top = flat[rows, j].copy()
        flat[rows, j] = flat[rows, fp[:, j]]
        flat[rows, fp[:, j]] = top
    return flat.reshape(perm.shape)


def _permutation_matrix(perm: np.ndarray, dtype: Any) -> Tensor:
    """P with A = P (P^T A): column i of P is e_{perm[i]}."""
    m = perm.shape[-1]
    eye = np.eye(m, dtype=dtype)
    return Tensor._make(np.swapaxes(eye[perm], -1, -2).copy())


def _doolittle(pa: Tensor) -> tuple[Tensor, Tensor]:
    """L (unit lower, m x k) and U (upper, k x n) with ``pa`` = L U, no pivoting, in Tensor ops."""
    m, n = pa.shape[-2:]
    k = min(m, n)
    u_rows: list[Tensor] = []
    l_cols: list[Tensor] = []
    zero = pa.new_zeros(())
    for i in range(k):
        row = pa[..., i, i:]
        if i:
            l_i = stack([c[..., i] for c in l_cols], -1)  # L[i, :i]
            u_blk = stack([r[..., i:] for r in u_rows], -2)  # U[:i, i:]
            row = row - (l_i.unsqueeze(-2) @ u_blk).squeeze(-2)
        u_rows.append(cat([zero.expand(*pa.shape[:-2], i), row], -1) if i else row)
        col = pa[..., i + 1 :, i]
        if i and i + 1 < m:
            l_blk = stack([c[..., i + 1 :] for c in l_cols], -1)  # L[i+1:, :i]
            u_col = stack([r[..., i] for r in u_rows[:i]], -1)  # U[:i, i]
            col = col - (l_blk @ u_col.unsqueeze(-1)).squeeze(-1)
        pivot = row[..., :1]  # zero only when the whole column is (LAPACK then leaves it unscaled)
        col = col / where(pivot == 0, pivot.new_ones(()), pivot)
        ones = zero.expand(*pa.shape[:-2], i) if i else None
        head = pa.new_ones(()).expand(*pa.shape[:-2], 1)
        parts = [p for p in (ones, head, col) if p is not None]
        l_cols.append(cat(parts, -1))
    return stack(l_cols, -1), stack(u_rows, -2)


def _lu(fn: str, A: Any, pivot: bool) -> tuple[Tensor, Tensor, np.ndarray, np.ndarray, Any]:
    """L, U, the LAPACK pivots, the row order of A = P L U and LAPACK's ``info``."""
    a = _matrix_input(fn, A)
    if not pivot:
        raise RuntimeError(f"{fn}: LU without pivoting is not implemented on the CPU")
    m, n = a.shape[-2:]
    piv, info = _pivots(a._data)
    perm = _permutation(piv, m)
    index = Tensor._make(np.broadcast_to(perm[..., None], (*perm.shape, n)).astype(np.int64))
    low, up = _doolittle(a.gather(-2, index))
    return low, up, piv, perm, info


@op(name="linalg_lu", namespaces=(LINALG,), method=False)
def linalg_lu(A: Any, *, pivot: bool = True) -> Any:
    """A = P L U: P a permutation, L unit lower triangular (m x k), U upper (k x n)."""
    low, up, _, perm, _ = _lu("linalg.lu", A, pivot)
    return return_types.linalg_lu(_permutation_matrix(perm, low._data.dtype), low, up)


def _packed(low: Tensor, up: Tensor) -> Tensor:
    """L and U in one matrix (L's unit diagonal left out), as LAPACK stores them."""
    m, k = low.shape[-2:]
    if m > k:  # tall: U gets L's lower rows below it
        return cat([low[..., :k, :].tril(-1) + up, low[..., k:, :]], -2)
    return cat([low.tril(-1) + up[..., :, :k], up[..., :, k:]], -1)


@op(name="linalg_lu_factor_ex", namespaces=(LINALG,), method=False)
def linalg_lu_factor_ex(A: Any, *, pivot: bool = True, check_errors: bool = False) -> Any:
    """``lu_factor`` and ``info`` (the 1-based index of the first zero pivot; 0 if none)."""
    low, up, piv, _, info = _lu("linalg.lu_factor_ex", A, pivot)
    if check_errors and info.any():
        flat = info.reshape(-1)
        i = int(np.flatnonzero(flat)[0])
        where_ = f"(Batch element {i}): " if info.ndim else ""
        raise RuntimeError(
            f"torch.linalg.lu_factor_ex: {where_}U[{flat[i]},{flat[i]}] is zero and using it "
            "on lu_solve would result in a division by zero. If you still want to perform the "
            "factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, "
            "pivot)"
        )
    return return_types.linalg_lu_factor_ex(
        _packed(low, up), Tensor._make(piv), Tensor._make(info.astype(np.int32))
    )


@op(name="linalg_lu_factor", namespaces=(LINALG,), method=False)
def linalg_lu_factor(A: Any, *, pivot: bool = True) -> Any:
    """LU compactly: L below the diagonal and U on and above it, with LAPACK's pivots."""
    low, up, piv, _, _ = _lu("linalg.lu_factor", A, pivot)
    return return_types.linalg_lu_factor(_packed(low, up), Tensor._make(piv))


def _unpack(LU: Tensor, pivots: Any) -> tuple[np.ndarray, Tensor, Tensor]:
    m, n = LU.shape[-2:]
    k = min(m, n)
    eye = Tensor._make(np.eye(m, k, dtype=LU._data.dtype))
    low = LU[..., :, :k].tril(-1) + eye
    up = LU[..., :k, :].triu()
    perm = _permutation(np.asarray(as_tensor(pivots)._data, dtype=np.int64), m)
    return perm, low, up


@op(method=False)
def lu_unpack(
    LU_data: Any, LU_pivots: Any, unpack_data: bool = True, unpack_pivots: bool = True
) -> Any:
    """P, L and U back from ``lu_factor``'s compact LU and pivots."""
    lu = _matrix_input("lu_unpack", LU_data, name="LU_data")
    perm, low, up = _unpack(lu, LU_pivots)
    empty = lu.new_zeros((0,))
    p = _permutation_matrix(perm, lu._data.dtype) if unpack_pivots else empty
    if not unpack_data:
        low, up = empty, empty
    return return_types.lu_unpack(p, low, up)


@op(name="linalg_lu_solve", namespaces=(LINALG,), method=False)
def linalg_lu_solve(
    LU: Any, pivots: Any, B: Any, *, left: bool = True, adjoint: bool = False
) -> Tensor:
    """X with A X = B from A's ``lu_factor`` (``left=False``: X A = B; ``adjoint``: Aᴴ)."""
    lu = _matrix_input("linalg.lu_solve", LU, square=True, name="LU")
    b = _matrix_input("linalg.lu_solve", B, name="B")
    perm, low, up = _unpack(lu, pivots)
    n = lu.shape[-1]
    if (b.shape[-2] if left else b.shape[-1]) != n:
        raise RuntimeError(
            f"linalg.lu_solve: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {b.shape[-2]}x{b.shape[-1]})"
        )
    p = _permutation_matrix(perm, lu._data.dtype)
    if left != adjoint:  # A Y = C with Y = X (left) or Xᴴ (X Aᴴ = B): Y = U⁻¹ L⁻¹ Pᵀ C
        rhs = p.mT @ (b if left else b.mT.conj())
        y = linalg_solve_triangular(low, rhs, upper=False, unitriangular=True)
        x = linalg_solve_triangular(up, y, upper=True)
        return x if left else x.mT.conj()

    # Aᴴ X = B (left, adjoint) or Aᵀ Xᵀ = Bᵀ (X A = B), with Aᴴ = Uᴴ Lᴴ Pᵀ (no conj for Aᵀ)
    def t(m: Tensor) -> Tensor:
        return m.mT.conj() if adjoint else m.mT

    y = linalg_solve_triangular(t(up), b if left else b.mT, upper=False)
    z = linalg_solve_triangular(t(low), y, upper=True, unitriangular=True)
    x = p @ z
    return x if left else x.mT


@op(method=True)
def lu_solve(input: Any, LU_data: Any, LU_pivots: Any) -> Tensor:
    """The older ``torch.lu_solve(b, LU_data, LU_pivots)``: ``linalg.lu_solve`` with B first."""
    return linalg_lu_solve(LU_data, LU_pivots, input)


@op
def cholesky_inverse(input: Any, upper: bool = False) -> Tensor:
    """(L Lᴴ)⁻¹ from the Cholesky factor L (``upper``: (Uᴴ U)⁻¹)."""
    f = _matrix_input("cholesky_inverse", input, square=True, name="input")
    eye = _eye_t(f.shape[-1], dtype=f.dtype).expand(*f.shape)
    return cholesky_solve(eye, f, upper)


# ---- solve_ex, cond, vander, tensorinv, tensorsolve ---------------------------------------------


@op(name="linalg_solve_ex", namespaces=(LINALG,), method=False)
def linalg_solve_ex(A: Any, B: Any, *, left: bool = True, check_errors: bool = False) -> Any:
    """``linalg.solve`` and ``info`` (0: solved); a singular A raises as in ``solve``."""
    x = linalg_solve(A, B, left=left)
    a = as_tensor(A)
    return return_types.linalg_solve_ex(x, Tensor._make(np.zeros(a.shape[:-2], dtype=np.int32)))


@op(name="linalg_cond", namespaces=(LINALG,), method=False)
def linalg_cond(A: Any, p: Any = None) -> Tensor:
    """The condition number ‖A‖ ‖A⁻¹‖ in the norm ``p``: for None, 2 and -2 the ratio of the
    extreme singular values."""
    from glassgrad.ops import decompositions as d

    a = _matrix_input(f"linalg.cond(ord={p})", A, square=p not in (None, 2, -2))
    if a.numel() == 0:  # as PyTorch: an empty result outside the graph
        return Tensor._make(np.zeros(a.shape[:-2], dtype=a._data.dtype))
    if p in (None, 2, -2):
        s = d.linalg_svdvals(a)
        big, small = s.narrow(-1, 0, 1), s.narrow(-1, s.shape[-1] - 1, 1)
        return (big / small if p != -2 else small / big).squeeze(-1)
    if p not in ("fro", "nuc", math.inf, -math.inf, 1, -1):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    return d.linalg_matrix_norm(a, p) * d.linalg_matrix_norm(linalg_inv(a), p)


@op(name="linalg_vander", namespaces=(LINALG,), method=False)
def linalg_vander(x: Any, *, N: int | None = None) -> Tensor:
    """Columns x⁰, x¹, ..., x^(N-1) (PyTorch's order, unlike NumPy's), as a cumulative product."""
    t = as_tensor(x)
    if t.ndim == 0:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    n = t.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    ones = t.new_ones((*t.shape, 1))
    return cat([ones, t.unsqueeze(-1).expand(*t.shape, n - 1).cumprod(-1)], -1)


@op(name="linalg_tensorinv", namespaces=(LINALG,), method=False)
def linalg_tensorinv(A: Any, ind: int = 2) -> Tensor:
    """The inverse of A as a map from its last dims to its first ``ind`` dims."""
    a = as_tensor(A)
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    out_shape, in_shape = tuple(a.shape[ind:]), tuple(a.shape[:ind])
    rows, cols = math.prod(in_shape), math.prod(out_shape)
    if rows != cols:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {cols} != {rows}"
        )
    return linalg_inv(a.reshape(rows, cols)).reshape(*out_shape, *in_shape)


@op(name="linalg_tensorsolve", namespaces=(LINALG,), method=False)
def linalg_tensorsolve(A: Any, B: Any, dims: Any = None) -> Tensor:
    """X with ``tensordot(A, X, X.ndim) = B``; ``dims``: A's dims to move to the end first."""
    a, b = as_tensor(A), as_tensor(B)
    if dims is not None:
        rest = [i for i in range(a.ndim) if i not in [d % a.ndim for d in dims]]
        a = a.permute(*rest, *[d % a.ndim for d in dims])
    out_shape = tuple(a.shape[b.ndim :])
    rows, cols = b.numel(), math.prod(out_shape)
    if math.prod(a.shape[: b.ndim]) != rows or rows != cols:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
            f"prod(self.shape[:other.ndim]), but got {cols} != {math.prod(a.shape[: b.ndim])}"
        )
    return linalg_solve(a.reshape(rows, cols), b.reshape(rows)).reshape(out_shape)


# ---- householder_product ------------------------------------------------------------------------


@op(name="linalg_householder_product", namespaces=(LINALG,), method=False)
def linalg_householder_product(A: Any, tau: Any) -> Tensor:
    """The first n columns of H₀ H₁ ··· H_{k-1}, Hᵢ = I - τᵢ vᵢ vᵢᴴ with vᵢ the i-th column of A
    below the diagonal and a 1 on it (what ``geqrf`` leaves): applied right to left in Tensor
    ops, so its gradients are exact at every order."""
    fn = "torch.linalg.householder_product"
    a, t = _matrix_input("linalg.householder_product", A), as_tensor(tau)
    m, n = a.shape[-2:]
    if m < n:
        raise RuntimeError(
            f"{fn}: input.shape[-2] must be greater than or equal to input.shape[-1]"
        )
    if t.ndim < 1 or n < t.shape[-1]:
        raise RuntimeError(f"{fn}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tuple(t.shape[:-1]) != tuple(a.shape[:-2]):
        raise RuntimeError(
            f"{fn}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
            f"{tuple(t.shape[:-1])}"
        )
    dtype = a._data.dtype
    x = Tensor._make(np.eye(m, n, dtype=dtype)).expand(*a.shape[:-2], m, n)
    rows = np.arange(m)
    if t.shape[-1] == 0:  # the identity, still a function of A (zero gradient), as in PyTorch
        x = x + a * 0
    for i in reversed(range(t.shape[-1])):
        below = Tensor._make((rows > i).astype(dtype))
        unit = Tensor._make((rows == i).astype(dtype))
        v = a[..., :, i] * below + unit
        x = x - (t[..., i, None, None] * v.unsqueeze(-1)) * (v.conj().unsqueeze(-2) @ x)
    return x


@op
def orgqr(input: Any, input2: Any) -> Tensor:
    """The older name of ``linalg.householder_product``."""
    return linalg_householder_product(input, input2)
