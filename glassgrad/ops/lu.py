"""LU factorization with partial pivoting: ``torch.linalg.lu_factor`` (and ``_ex``),
``torch.linalg.lu``, ``torch.lu_unpack`` and the older ``torch.lu`` / ``Tensor.lu``.

NumPy has no LU, so ``_getrf`` is LAPACK's getrf written out: column by column, the row with
the largest magnitude (the first of equals, as LAPACK's i?amax) becomes the pivot. The nodes
are PyTorch's: the packed factor's (``LinalgLuFactorExBackward0``) and ``linalg.lu``'s L and U
(``LinalgLuBackward0``) follow its ``linalg_lu_backward`` (square, wide, tall); ``lu_unpack``'s L
and U (``LuUnpackBackward0``) are linear in the packed factor. Pivots and P carry no gradient.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from glassgrad.creation import eye as _eye_t
from glassgrad.ops._common import Tensor, as_tensor, return_type
from glassgrad.ops.decompositions import (
    _Factor,
    _matrix_input,
    _mT,
    _solve,
    cholesky_solve,
    linalg_inv,
    linalg_solve,
    linalg_solve_triangular,
)
from glassgrad.ops.joining import cat
from glassgrad.ops.registry import LINALG, op


class return_types:
    """Named results with PyTorch's field names (``torch.return_types.linalg_lu_factor``...)."""

    linalg_lu_factor = return_type("linalg_lu_factor", ("LU", "pivots"), __name__)
    linalg_lu_factor_ex = return_type("linalg_lu_factor_ex", ("LU", "pivots", "info"), __name__)
    linalg_lu = return_type("linalg_lu", ("P", "L", "U"), __name__)
    lu_unpack = return_type("lu_unpack", ("P", "L", "U"), __name__)
    linalg_solve_ex = return_type("linalg_solve_ex", ("result", "info"), __name__)


def _getrf(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(packed LU, 1-based int32 pivots, int32 info) of each (m, n) matrix in ``a``, as LAPACK's
    getrf: row ``j`` was swapped with row ``pivots[j] - 1``; info is the 1-based index of the
    first zero pivot (0: none), where the column below it is left as it is."""
    *batch, m, n = a.shape
    k = min(m, n)
    count = math.prod(batch)  # (not -1: a batch may hold no matrices, or 0 by 0 ones)
    lu = np.array(a, copy=True).reshape(count, m, n)
    pivots = np.empty((count, k), np.int32)
    info = np.zeros(count, np.int32)
    rows = np.arange(count)
    for j in range(k):
        col = lu[:, j:, j]
        size = np.abs(col.real) + np.abs(col.imag) if lu.dtype.kind == "c" else np.abs(col)
        p = j + np.argmax(size, axis=1)
        pivots[:, j] = p + 1
        swap = rows[p != j]
        if swap.size:
            lu[swap, j], lu[swap, p[swap]] = lu[swap, p[swap]], lu[swap, j].copy()
        pivot = lu[:, j, j : j + 1]
        zero = pivot[:, 0] == 0
        info[zero & (info == 0)] = j + 1
        lu[:, j + 1 :, j] /= np.where(pivot == 0, 1, pivot)
        lu[:, j + 1 :, j + 1 :] -= lu[:, j + 1 :, j, None] * lu[:, j, None, j + 1 :]
    return lu.reshape(a.shape), pivots.reshape(*batch, k), info.reshape(batch)


def _permutation(pivots: np.ndarray, m: int, dtype: Any) -> np.ndarray:
    """P with A = P L U, from getrf's row swaps (``pivots`` of shape (..., k))."""
    perm = np.broadcast_to(np.arange(m), (*pivots.shape[:-1], m)).copy()
    count = math.prod(pivots.shape[:-1])
    flat, swaps = perm.reshape(count, m), pivots.reshape(count, pivots.shape[-1]) - 1
    rows = np.arange(flat.shape[0])
    for j in range(swaps.shape[1]):
        p = swaps[:, j]
        flat[rows, j], flat[rows, p] = flat[rows, p], flat[rows, j].copy()
    # the rows of L U are A's rows perm[0], perm[1], ...: P[perm[i], i] = 1
    return _mT(np.eye(m, dtype=dtype)[perm])


def _lu_rule(perm: Any, low: Any, up: Any, gl: Any, gu: Any) -> Any:
    """PyTorch's linalg_lu_backward for A = P L U (either gradient may be None; only L's strict
    lower and U's upper part count). Square: gA = P L⁻ᴴ (tril(Lᴴ gL, -1) + triu(gU Uᴴ)) U⁻ᴴ;
    wide (U = [U1 | U2]) and tall (L = [L1; L2]) matrices add the extra block's part."""
    m, n = low.shape[-2], up.shape[-1]
    mh = (lambda x: np.conj(_mT(x))) if perm.dtype.kind == "c" else _mT
    gl = None if gl is None else np.tril(gl, -1)
    gu = None if gu is None else np.triu(gu)
    phi: Any
    if m == n:
        phi = 0
        if gl is not None:
            phi = np.tril(np.matmul(mh(low), gl), -1)
        if gu is not None:
            phi = phi + np.triu(np.matmul(gu, mh(up)))
        ga = mh(_solve(up, mh(phi)))  # phi U⁻ᴴ
        return np.matmul(perm, _solve(mh(low), ga))
    k = min(m, n)
    zero = np.zeros((*perm.shape[:-2], k, k), perm.dtype)
    if m < n:  # A1 = P L U1, A2 = P L U2
        phi = zero if gl is None else np.matmul(mh(low), gl)
        if gu is not None:
            phi = phi - np.matmul(gu, mh(up))
        ga = mh(_solve(up[..., :, :k], mh(np.tril(phi, -1))))  # tril(phi, -1) U1⁻ᴴ
        if gu is not None:
            ga = np.concatenate([ga + gu[..., :, :k], gu[..., :, k:]], -1)
        else:
            ga = np.concatenate([ga, np.zeros((*ga.shape[:-1], n - k), perm.dtype)], -1)
        return np.matmul(perm, _solve(mh(low), ga))
    # tall: A1 = P L1 U, A2 = P L2 U
    phi = zero if gu is None else np.matmul(gu, mh(up))
    if gl is not None:
        phi = phi - np.matmul(mh(low), gl)
    ga = _solve(mh(low[..., :k, :]), np.triu(phi))  # L1⁻ᴴ triu(phi)
    if gl is not None:
        ga = np.concatenate([ga + gl[..., :k, :], gl[..., k:, :]], -2)
    else:
        ga = np.concatenate([ga, np.zeros((*ga.shape[:-2], m - k, n), perm.dtype)], -2)
    return np.matmul(perm, mh(_solve(up, mh(ga))))  # ... U⁻ᴴ


def _unpacked(lu: Any, k: int, dtype: np.dtype) -> tuple[Any, Any]:
    """L (unit diagonal) and U from a packed (m, n) factor (arrays, or Tensors at 2nd order)."""
    m, n = lu.shape[-2], lu.shape[-1]
    low = lu[..., :, :k] * np.tril(np.ones((m, k), dtype), -1) + np.eye(m, k, dtype=dtype)
    return low, lu[..., :k, :] * np.triu(np.ones((k, n), dtype))


def _padded(x: Any, axis: int, size: int, dtype: np.dtype) -> Any:
    """``x`` with zeros appended along ``axis`` up to ``size``."""
    shape = list(x.shape)
    extra, shape[axis] = size - shape[axis], size - shape[axis]
    return x if extra == 0 else np.concatenate([x, np.zeros(shape, dtype)], axis)


class LinalgLuFactorEx(_Factor):
    __slots__ = ()

    @staticmethod
    def rule(inputs: Any, outs: Any, grads: Any, perm: Any) -> Any:
        """The packed factor's gradient is L's below the diagonal and U's on and above it."""
        (lu,), (g,) = outs, grads
        k = min(lu.shape[-2], lu.shape[-1])
        low, up = _unpacked(lu, k, perm.dtype)
        return (_lu_rule(perm, low, up, g[..., :, :k], g[..., :k, :]),)

    @staticmethod
    def refactor(inputs: Any, perm: Any) -> Any:
        return [_lu_factor(as_tensor(inputs[0]))[0]]


class LinalgLu(_Factor):  # L and U of linalg.lu; P is a constant
    __slots__ = ()

    @staticmethod
    def rule(inputs: Any, outs: Any, grads: Any, perm: Any) -> Any:
        (low, up), (gl, gu) = outs, grads
        return (_lu_rule(perm, low, up, gl, gu),)

    @staticmethod
    def refactor(inputs: Any, perm: Any) -> Any:
        return _linalg_lu(as_tensor(inputs[0]))[1:]


class LuUnpack(_Factor):  # L and U of lu_unpack: linear in the packed factor
    __slots__ = ()

    @staticmethod
    def rule(inputs: Any, outs: Any, grads: Any, shape: Any) -> Any:
        """The packed factor gets L's gradient below the diagonal, U's on and above it."""
        (m, n, dtype), (gl, gu) = shape, grads
        k = min(m, n)
        g = 0
        if gl is not None:
            g = _padded(gl * np.tril(np.ones((m, k), dtype), -1), -1, n, dtype)
        if gu is not None:
            g = g + _padded(gu * np.triu(np.ones((k, n), dtype)), -2, m, dtype)
        return (g,)

    @staticmethod
    def refactor(inputs: Any, shape: Any) -> Any:
        return [None, None]  # (the rule is linear: it needs no outputs)


def _lu_factor(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    packed, pivots, info = _getrf(x._data)
    perm = _permutation(pivots, x.shape[-2], x._data.dtype)
    (lu,) = LinalgLuFactorEx.outputs([packed], perm, x)
    return lu, Tensor._make(pivots), Tensor._make(info)


def _no_pivot(fn: str, pivot: bool) -> None:
    if not pivot:  # as PyTorch's CPU kernel (LAPACK has no unpivoted LU)
        raise RuntimeError(f"{fn}: LU without pivoting is not implemented on the CPU")


@op(name="linalg_lu_factor_ex", namespaces=(LINALG,), method=False)
def linalg_lu_factor_ex(A: Any, *, pivot: bool = True, check_errors: bool = False) -> Any:
    """``linalg.lu_factor`` with ``info`` (0, or the 1-based index of the first zero pivot)."""
    _no_pivot("linalg.lu_factor_ex", pivot)
    lu, pivots, info = _lu_factor(_matrix_input("linalg.lu_factor_ex", A))
    if check_errors and info._data.any():
        flat = info._data.reshape(-1)
        first = int(np.flatnonzero(flat)[0])
        where = f"(Batch element {first}): " if info._data.ndim else ""
        raise RuntimeError(
            f"torch.linalg.lu_factor_ex: {where}U[{flat[first]},"
            f"{flat[first]}] is zero and using it on lu_solve would result in a division by "
            "zero. If you still want to perform the factorization, consider calling "
            "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"
        )
    return return_types.linalg_lu_factor_ex(lu, pivots, info)


@op(name="linalg_lu_factor", namespaces=(LINALG,), method=False)
def linalg_lu_factor(A: Any, *, pivot: bool = True) -> Any:
    """A = P L U packed into one matrix (L's unit diagonal left out) and the row swaps, as
    LAPACK's getrf: ``lu_unpack`` gives P, L and U back.

    >>> import glassgrad as gg
    >>> LU, pivots = gg.linalg.lu_factor(gg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    >>> pivots.tolist()
    [2, 2]
    """
    _no_pivot("linalg.lu_factor", pivot)
    lu, pivots, _ = _lu_factor(_matrix_input("linalg.lu_factor", A))
    return return_types.linalg_lu_factor(lu, pivots)


@op
def lu(input: Any, pivot: bool = True, get_infos: bool = False) -> Any:
    """``Tensor.lu()`` / ``torch.lu``: (LU, pivots) of ``linalg.lu_factor``, and the infos."""
    warnings.warn(  # as PyTorch's (which warns once)
        "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex "
        "and will be removed in a future PyTorch release.",
        UserWarning,
        stacklevel=3,
    )
    _no_pivot("lu", pivot)
    lu_, pivots, info = _lu_factor(_matrix_input("lu", input))
    return (lu_, pivots, info) if get_infos else (lu_, pivots)


@op(method=False)
def lu_unpack(
    LU_data: Any, LU_pivots: Any, unpack_data: bool = True, unpack_pivots: bool = True
) -> Any:
    """P, L and U from ``lu_factor``'s packed factor and pivots (A = P L U); L and U are
    differentiable functions of the packed factor, P has no gradient."""
    packed, pivots = as_tensor(LU_data), as_tensor(LU_pivots)
    if pivots._data.dtype.kind not in "iu":
        raise RuntimeError(
            f"lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype, "
            f"got {pivots.dtype} (shape {tuple(pivots.shape)})"
        )
    *batch, m, n = packed.shape
    k = min(m, n)
    if tuple(pivots.shape) != (*batch, k):
        raise RuntimeError(
            f"lu_unpack: expected LU_pivots of shape {(*batch, k)} for LU_data of shape "
            f"{tuple(packed.shape)}, got {tuple(pivots.shape)}"
        )
    empty = Tensor._make(np.zeros((0,), packed._data.dtype))
    low = up = empty
    if unpack_data:
        dtype = packed._data.dtype
        low, up = LuUnpack.outputs(_unpacked(packed._data, k, dtype), (m, n, dtype), packed)
    perm = _permutation(pivots._data, m, packed._data.dtype) if unpack_pivots else None
    return return_types.lu_unpack(empty if perm is None else Tensor._make(perm), low, up)


@op(name="linalg_lu", namespaces=(LINALG,), method=False)
def linalg_lu(A: Any, *, pivot: bool = True) -> Any:
    """A = P L U with a permutation P, unit lower-triangular L and upper-triangular U."""
    _no_pivot("linalg.lu", pivot)
    return return_types.linalg_lu(*_linalg_lu(_matrix_input("linalg.lu", A)))


def _linalg_lu(x: Tensor) -> list[Tensor]:
    packed, pivots, _ = _getrf(x._data)
    perm = _permutation(pivots, x.shape[-2], x._data.dtype)
    low, up = _unpacked(packed, min(x.shape[-2], x.shape[-1]), packed.dtype)
    return [Tensor._make(perm), *LinalgLu.outputs([low, up], perm, x)]


# ---- solving with a factorization, and what is built on solves --------------------------------


def _row_order(piv: np.ndarray, m: int) -> np.ndarray:
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


def _unpack_factor(LU: Tensor, pivots: Any) -> tuple[np.ndarray, Tensor, Tensor]:
    m, n = LU.shape[-2:]
    k = min(m, n)
    eye = Tensor._make(np.eye(m, k, dtype=LU._data.dtype))
    low = LU[..., :, :k].tril(-1) + eye
    up = LU[..., :k, :].triu()
    perm = _row_order(np.asarray(as_tensor(pivots)._data, dtype=np.int64), m)
    return perm, low, up


@op(name="linalg_lu_solve", namespaces=(LINALG,), method=False)
def linalg_lu_solve(
    LU: Any, pivots: Any, B: Any, *, left: bool = True, adjoint: bool = False
) -> Tensor:
    """X with A X = B from A's ``lu_factor`` (``left=False``: X A = B; ``adjoint``: Aᴴ)."""
    lu = _matrix_input("linalg.lu_solve", LU, square=True, name="LU")
    b = _matrix_input("linalg.lu_solve", B, name="B")
    perm, low, up = _unpack_factor(lu, pivots)
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
