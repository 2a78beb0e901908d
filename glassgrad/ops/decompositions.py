"""Matrix functions and decompositions (``torch.linalg`` and the older ``torch.det`` & co.).

Each rule is PyTorch's (``FunctionsManual.cpp``), written with NumPy functions and operators on
the saved arrays, so under ``create_graph`` it runs on Tensors and records its own graph. Masks
(``tril``), diagonals and eyes are products with constant arrays, inverses and solves dispatch to
``inv``/``solve`` below through ``np.linalg``.

A decomposition has several outputs and a node has one: ``_Factor`` computes the factorization
once, and each output is its own node (named as PyTorch names the shared one) whose rule is the
decomposition's rule with the other outputs' gradients left out. The rules are linear in the
gradients, so the engine's sum over the outputs is PyTorch's joint rule. At second order a rule
needs the other outputs as functions of the input: it refactorizes the input Tensor.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad._opaque import opaque
from glassgrad.ops._common import Node, Tensor, as_tensor, floating_input, return_type, state
from glassgrad.ops.comparison import where
from glassgrad.ops.linalg import matmul, vdot
from glassgrad.ops.reductions import norm as _vector_norm
from glassgrad.ops.reductions import sum as _sum
from glassgrad.ops.registry import LINALG, TORCH, op
from glassgrad.ops.selection import amax, amin
from glassgrad.ops.shape import clone, permute, squeeze, transpose, unsqueeze
from glassgrad.ops.structure import diagonal


class LinAlgError(RuntimeError):
    """A matrix that the function cannot handle (singular, not positive-definite)."""


class return_types:
    """Named results with PyTorch's field names (``torch.return_types.linalg_svd``...)."""

    linalg_svd = return_type("linalg_svd", ("U", "S", "Vh"), __name__)
    svd = return_type("svd", ("U", "S", "V"), __name__)
    linalg_slogdet = return_type("linalg_slogdet", ("sign", "logabsdet"), __name__)
    slogdet = return_type("slogdet", ("sign", "logabsdet"), __name__)
    linalg_eigh = return_type("linalg_eigh", ("eigenvalues", "eigenvectors"), __name__)
    linalg_qr = return_type("linalg_qr", ("Q", "R"), __name__)
    qr = return_type("qr", ("Q", "R"), __name__)
    linalg_lstsq = return_type(
        "linalg_lstsq", ("solution", "residuals", "rank", "singular_values"), __name__
    )
    linalg_inv_ex = return_type("linalg_inv_ex", ("inverse", "info"), __name__)
    linalg_cholesky_ex = return_type("linalg_cholesky_ex", ("L", "info"), __name__)


# ---- helpers: work on arrays and, under create_graph, on Tensors -------------------------------


def _mT(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


def _eye(n: int, x: Any) -> np.ndarray:
    return np.eye(n, dtype=x.dtype)


def _diag_embed(v: Any) -> Any:
    return np.expand_dims(v, -1) * _eye(v.shape[-1], v)


def _tril(x: Any, halve_diagonal: bool = False) -> Any:
    n = x.shape[-1]
    mask = np.tril(np.ones((n, n), dtype=x.dtype))
    return x * (mask - 0.5 * _eye(n, x) if halve_diagonal else mask)


def _inv(x: Any) -> Any:
    return np.linalg.inv(x)  # the inv op below on Tensors


def _solve(a: Any, b: Any) -> Any:
    """a⁻¹ b for a matrix (stack) b."""
    return np.linalg.solve(a, b)


def _mat(v: Any) -> Any:
    """A per-matrix value (det, a batch of them) broadcast over the matrices' two dims."""
    return v[..., None, None]


def _cast(out: Any, like: np.ndarray) -> np.ndarray:
    return np.asarray(out).astype(like.dtype, copy=False)


def _matrix_input(fn: str, input: Any, square: bool = False, name: str = "A") -> Tensor:
    """``input`` as a floating Tensor of (batches of) matrices, with PyTorch's checks."""
    x = as_tensor(input)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"{fn}: Expected a floating point or complex tensor as input. Got "
            f"{dtypes.name(x._data.dtype)} (shape {tuple(x.shape)})"
        )
    if x.ndim < 2:
        raise RuntimeError(
            f"{fn}: The input tensor {name} must have at least 2 dimensions, got shape "
            f"{tuple(x.shape)}"
        )
    if square and x.shape[-1] != x.shape[-2]:
        raise RuntimeError(
            f"{fn}: {name} must be batches of square matrices, but they are "
            f"{x.shape[-2]} by {x.shape[-1]} matrices"
        )
    return x


def _singular(fn: str) -> LinAlgError:
    return LinAlgError(
        f"{fn}: The diagonal element of the LU factorization is zero, the inversion could not "
        "be completed because the input matrix is singular."
    )


class _Factor(Node):
    """One output of a factorization computed once for all outputs (see the module docstring).

    Subclasses set ``rule(inputs, outs, grads, params) -> input gradients`` and
    ``refactor(inputs, params) -> outs`` (the same factorization, on Tensors, for second order).
    """

    __slots__ = ("index", "outs", "params")
    rule: Callable[..., Any]
    refactor: Callable[..., Any]

    @staticmethod
    def forward(ctx: Any, outs: Any, index: int, params: Any, *inputs: Any) -> Any:
        ctx.outs, ctx.index, ctx.params = outs, index, params
        ctx.save_for_backward(*inputs)
        return outs[index]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        inputs = ctx.saved_tensors
        cls = type(ctx)
        outs = cls.refactor(inputs, ctx.params) if state.create_graph else ctx.outs
        grads: list[Any] = [None] * len(outs)
        grads[ctx.index] = g
        return (None, None, None, *cls.rule(inputs, outs, grads, ctx.params))

    @classmethod
    def outputs(cls, outs: Sequence[np.ndarray], params: Any, *inputs: Tensor) -> list[Tensor]:
        """Every output as a tensor whose node is this factorization's."""
        return [cls.apply(tuple(outs), i, params, *inputs) for i in range(len(outs))]


# ---- det, slogdet, logdet ----------------------------------------------------------------------


def _adjugate_t(a: np.ndarray) -> np.ndarray:
    """adj(A)ᵀ, the gradient of det at A, singular A included (PyTorch's SVD formula)."""
    u, s, vh = np.linalg.svd(a)
    alpha = np.linalg.det(u) * np.linalg.det(vh)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1)
    return (u * np.expand_dims(others * alpha[..., None], -2)) @ vh


class LinalgDet(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        out = _cast(np.linalg.det(a), a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, det = ctx.saved_tensors  # d det / dA = det · A⁻ᵀ (the adjugate where det == 0)
        if isinstance(a, Tensor) or np.all(det != 0):
            return _mat(g * det) * _mT(_inv(a))
        singular = _mat(det == 0)
        safe = np.where(singular, _eye(a.shape[-1], a), a)
        regular = _mat(det) * _mT(np.linalg.inv(safe))
        return _mat(g) * np.where(singular, _adjugate_t(a), regular)


@op(namespaces=(TORCH, LINALG), numpy=np.linalg.det)
def det(A: Any) -> Tensor:
    """Determinant of (batches of) square matrices; the gradient is det(A)·A⁻ᵀ.

    Where det(A) is exactly 0 the gradient is the adjugate (PyTorch gives that under
    ``create_graph``, and zeros otherwise).
    """
    return LinalgDet.apply(_matrix_input("linalg.det", A, square=True))


class LinalgSlogdet(_Factor):  # (sign, log|det|): the sign has no gradient
    __slots__ = ()

    @staticmethod
    def rule(inputs: Any, outs: Any, grads: Any, params: Any) -> Any:
        (a,), g = inputs, grads[1]
        if g is None:
            return (None,)
        return (_mat(g) * _mT(_inv(a)),)

    @staticmethod
    def refactor(inputs: Any, params: Any) -> Any:
        return _slogdet(as_tensor(inputs[0]))


def _slogdet(x: Tensor) -> list[Tensor]:
    sign, logabs = np.linalg.slogdet(x._data)
    return LinalgSlogdet.outputs([_cast(sign, x._data), _cast(logabs, x._data)], None, x)


@op(name="linalg_slogdet", namespaces=(LINALG,), method=False)
def linalg_slogdet(A: Any) -> Any:
    """(sign, log|det|) of square matrices: the log-determinant without overflow."""
    return return_types.linalg_slogdet(*_slogdet(_matrix_input("linalg.slogdet", A, True)))


@op(numpy=np.linalg.slogdet)
def slogdet(input: Any) -> Any:
    """``torch.slogdet``: ``linalg.slogdet`` with the result type ``torch.return_types.slogdet``."""
    return return_types.slogdet(*_slogdet(_matrix_input("linalg.slogdet", input, True)))


@op
def logdet(input: Any) -> Tensor:
    """log det(A): NaN where det(A) < 0, -inf where it is 0 (PyTorch's ``where`` of slogdet)."""
    sign, logabs = _slogdet(_matrix_input("logdet", input, True))
    return where(sign._data < 0, math.nan, logabs)


# ---- inv, solve --------------------------------------------------------------------------------


class LinalgInvEx(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        try:
            out = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise _singular("linalg.inv") from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (inv,) = ctx.saved_tensors  # d(A⁻¹) = -A⁻¹ dA A⁻¹
        return -np.matmul(_mT(inv), np.matmul(g, _mT(inv)))


@op(name="linalg_inv", namespaces=(LINALG,), method=False, numpy=np.linalg.inv)
def linalg_inv(A: Any) -> Tensor:
    """Inverse of (batches of) square matrices; LinAlgError when one is singular."""
    return LinalgInvEx.apply(_matrix_input("linalg.inv", A, square=True))


@op
def inverse(input: Any) -> Tensor:
    """``torch.inverse``: ``linalg.inv``."""
    return LinalgInvEx.apply(_matrix_input("linalg.inv", input, square=True))


@op(name="linalg_inv_ex", namespaces=(LINALG,), method=False)
def linalg_inv_ex(A: Any, *, check_errors: bool = False) -> Any:
    """(inverse, info): info is 0 where the inverse exists; a singular matrix raises only with
    ``check_errors`` (here its inverse is NaN and info is nonzero)."""
    x = _matrix_input("linalg.inv_ex", A, square=True)
    d = x._data
    bad = np.linalg.matrix_rank(d) < d.shape[-1] if d.size else np.zeros(d.shape[:-2], bool)
    info = Tensor._make(np.asarray(bad * d.shape[-1], dtype=np.int32))
    if np.any(bad):
        if check_errors:
            raise _singular("linalg.inv_ex")
        filled = np.where(np.expand_dims(bad, (-1, -2)), np.nan, d)
        safe = np.where(np.expand_dims(bad, (-1, -2)), _eye(d.shape[-1], d), d)
        out = np.where(np.isnan(filled), np.nan, np.linalg.inv(safe))
        return return_types.linalg_inv_ex(Tensor._make(out), info)
    return return_types.linalg_inv_ex(LinalgInvEx.apply(x), info)


class LinalgSolveEx(Node):
    __slots__ = ("left", "vector")

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, left: bool, vector: bool) -> Any:
        ctx.left, ctx.vector = left, vector
        bm = b[..., None] if vector else b
        try:  # X A = B  <=>  Aᵀ Xᵀ = Bᵀ
            x = np.linalg.solve(a, bm) if left else _mT(np.linalg.solve(_mT(a), _mT(bm)))
        except np.linalg.LinAlgError:
            raise _singular("linalg.solve") from None
        out = x[..., 0] if vector else x
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, x = ctx.saved_tensors  # A X = B: gB = A⁻ᵀ g, gA = -gB Xᵀ (X A = B: transposed)
        if ctx.vector:
            g, x = np.expand_dims(g, -1), np.expand_dims(x, -1)
        if ctx.left:
            gb = _solve(_mT(a), g)
            ga = -np.matmul(gb, _mT(x))
        else:
            gb = _mT(_solve(a, _mT(g)))
            ga = -np.matmul(_mT(x), gb)
        if ctx.vector:
            gb = gb[..., 0]
        return ga, gb, None, None


def _np_solve(a: Any, b: Any) -> Tensor:
    """``np.linalg.solve``: a 1-D b is a vector, anything else a stack of matrices."""
    return linalg_solve(a, b)


@op(name="linalg_solve", namespaces=(LINALG,), method=False, numpy={np.linalg.solve: _np_solve})
def linalg_solve(A: Any, B: Any, *, left: bool = True) -> Tensor:
    """X with A X = B (``left=False``: X A = B); B is a vector where its shape is A's minus
    the last dim, as in PyTorch. Batch dims broadcast."""
    a = _matrix_input("linalg.solve", A, square=True)
    b = as_tensor(B)
    if b._data.dtype != a._data.dtype:
        raise RuntimeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{dtypes.name(a._data.dtype)} and B of type {dtypes.name(b._data.dtype)} instead"
        )
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    n = a.shape[-1]
    size = b.shape[-1] if vector or not left else b.shape[-2]
    if not left and vector:
        raise RuntimeError(
            "linalg.solve: Vector broadcasting of the left hand side is not "
            "supported for left=False."
        )
    if size != n:
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({tuple(a.shape)} and {tuple(b.shape)})"
        )
    return LinalgSolveEx.apply(a, b, left, vector)


def _triangle(n: int, dtype: Any, upper: bool, strict: bool) -> np.ndarray:
    """The 0/1 mask of a triangle (``strict``: without the diagonal)."""
    ones = np.ones((n, n), dtype)
    return np.triu(ones, 1 if strict else 0) if upper else np.tril(ones, -1 if strict else 0)


def _effective_triangle(a: Any, upper: bool, unit: bool) -> Any:
    """The triangular matrix a solve_triangular reads from ``a``: its triangle, with ones on the
    diagonal when ``unitriangular`` (works on arrays and, at second order, on Tensors)."""
    n = a.shape[-1]
    t = a * _triangle(n, a.dtype, upper, unit)
    return t + _eye(n, a) if unit else t


class LinalgSolveTriangular(Node):
    __slots__ = ("left", "unit", "upper")

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, upper: bool, left: bool, unit: bool) -> Any:
        ctx.upper, ctx.left, ctx.unit = upper, left, unit
        t = _effective_triangle(a, upper, unit)
        try:  # X A = B  <=>  Aᵀ Xᵀ = Bᵀ
            x = np.linalg.solve(t, b) if left else _mT(np.linalg.solve(_mT(t), _mT(b)))
        except np.linalg.LinAlgError:
            raise _singular("linalg.solve_triangular") from None
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, x = ctx.saved_tensors  # linalg.solve's rule, kept to the triangle that was read
        t = _effective_triangle(a, ctx.upper, ctx.unit)
        if ctx.left:
            gb = _solve(_mT(t), g)
            ga = -np.matmul(gb, _mT(x))
        else:
            gb = _mT(_solve(t, _mT(g)))
            ga = -np.matmul(_mT(x), gb)
        return ga * _triangle(a.shape[-1], ga.dtype, ctx.upper, ctx.unit), gb, None, None, None


@op(name="linalg_solve_triangular", namespaces=(LINALG,), method=False)
def linalg_solve_triangular(
    A: Any, B: Any, *, upper: bool, left: bool = True, unitriangular: bool = False
) -> Tensor:
    """X with A X = B (``left=False``: X A = B) for triangular A: only its ``upper`` or lower
    triangle is read (and its diagonal taken as ones with ``unitriangular``)."""
    a = _matrix_input("linalg.solve_triangular", A, square=True)
    b = _matrix_input("linalg.solve_triangular", B, name="B")
    if b._data.dtype != a._data.dtype:
        raise RuntimeError(
            "linalg.solve_triangular: Expected A and B to have the same dtype, but found A of "
            f"type {dtypes.name(a._data.dtype)} and B of type {dtypes.name(b._data.dtype)} instead"
        )
    n = a.shape[-1]
    if (b.shape[-2] if left else b.shape[-1]) != n:
        raise RuntimeError(
            "linalg.solve_triangular: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({a.shape[-2]}x{n} and "
            f"{b.shape[-2]}x{b.shape[-1]})"
        )
    return LinalgSolveTriangular.apply(a, b, bool(upper), bool(left), bool(unitriangular))


class CholeskySolve(Node):
    """X = (L Lᴴ)⁻¹ B (``upper``: (Uᴴ U)⁻¹ B), the factor read as a whole matrix, as PyTorch's
    kernel reads it (its gradient reaches the other triangle too)."""

    __slots__ = ("upper",)

    @staticmethod
    def forward(ctx: Any, b: Any, f: Any, upper: bool) -> Any:
        ctx.upper = upper
        f_h = np.conj(_mT(f))
        a = np.matmul(f_h, f) if upper else np.matmul(f, f_h)
        try:
            x = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise _singular("cholesky_solve") from None
        ctx.save_for_backward(f, x)
        return x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # PyTorch's cholesky_solve_backward: gB = A⁻¹ g; C = -gB Xᴴ, made Hermitian;
        # gL = (C + Cᴴ) L, or U (C + Cᴴ) for upper
        f, x = ctx.saved_tensors
        f_h = np.conj(_mT(f))
        a = np.matmul(f_h, f) if ctx.upper else np.matmul(f, f_h)
        gb = _solve(np.conj(_mT(a)), g)
        common = -np.matmul(gb, np.conj(_mT(x)))
        common = common + np.conj(_mT(common))
        gf = np.matmul(f, common) if ctx.upper else np.matmul(common, f)
        return gb, gf, None


@op
def cholesky_solve(input: Any, input2: Any, upper: bool = False) -> Tensor:
    """X with (L Lᴴ) X = B from the Cholesky factor L (``upper``: U with Uᴴ U)."""
    b = _matrix_input("cholesky_solve", input, name="input")
    f = _matrix_input("cholesky_solve", input2, square=True, name="input2")
    return CholeskySolve.apply(b, f, bool(upper))


# ---- cholesky -----------------------------------------------------------------------------------


def _cholesky_rule(g: Any, low: Any) -> Any:
    """PyTorch's cholesky_backward: sym(L⁻ᵀ Φ(Lᵀ gL) L⁻¹), Φ = tril with the diagonal halved."""
    linv = _inv(low)
    phi = _tril(np.matmul(_mT(low), g), halve_diagonal=True)
    ga = np.matmul(np.matmul(_mT(linv), phi), linv)
    return 0.5 * (ga + _mT(ga))


class LinalgCholeskyEx(Node):
    __slots__ = ("upper",)

    @staticmethod
    def forward(ctx: Any, a: Any, upper: bool) -> Any:
        ctx.upper = upper
        low = _cholesky_array(a, "linalg.cholesky")
        out = np.ascontiguousarray(_mT(low)) if upper else low
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (out,) = ctx.saved_tensors  # U = Lᵀ: the rule of L, transposed in and out
        if ctx.upper:
            return _cholesky_rule(_mT(g), _mT(out)), None
        return _cholesky_rule(g, out), None


class Cholesky(LinalgCholeskyEx):  # torch.cholesky: the same rule, PyTorch's older node
    __slots__ = ()


def _not_pd(fn: str, a: np.ndarray) -> LinAlgError:
    order = a.shape[-1]
    flat = a.reshape(-1, order, order)
    for m in flat:
        for k in range(1, order + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                order = min(order, k)
                break
    return LinAlgError(
        f"{fn}: The factorization could not be completed because the input is not "
        f"positive-definite (the leading minor of order {order} is not positive-definite)."
    )


def _cholesky_array(a: np.ndarray, fn: str) -> np.ndarray:
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise _not_pd(fn, a) from None


@op(name="linalg_cholesky", namespaces=(LINALG,), method=False, numpy=np.linalg.cholesky)
def linalg_cholesky(A: Any, *, upper: bool = False) -> Tensor:
    """L with A = L Lᵀ for symmetric positive-definite A (its lower triangle is read);
    ``upper=True`` gives U = Lᵀ."""
    return LinalgCholeskyEx.apply(_matrix_input("linalg.cholesky", A, square=True), upper)


@op
def cholesky(input: Any, upper: bool = False) -> Tensor:
    """``torch.cholesky`` (deprecated in PyTorch for ``linalg.cholesky``)."""
    return Cholesky.apply(_matrix_input("cholesky", input, square=True), upper)


@op(name="linalg_cholesky_ex", namespaces=(LINALG,), method=False)
def linalg_cholesky_ex(A: Any, *, upper: bool = False, check_errors: bool = False) -> Any:
    """(L, info): info is 0 where A is positive-definite, else the order of the first minor
    that is not (whose L is then NaN here); raises only with ``check_errors``."""
    x = _matrix_input("linalg.cholesky_ex", A, square=True)
    d = x._data
    flat = d.reshape(-1, *d.shape[-2:])
    info = np.zeros(flat.shape[0], np.int32)
    for i, m in enumerate(flat):
        try:
            np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            info[i] = int(str(_not_pd("", m[None]).args[0]).split("order ")[1].split()[0])
    info_t = Tensor._make(info.reshape(d.shape[:-2]))
    if info.any():
        if check_errors:
            raise _not_pd("linalg.cholesky_ex", d)
        bad = np.expand_dims(info.reshape(d.shape[:-2]) != 0, (-1, -2))
        low = np.linalg.cholesky(np.where(bad, _eye(d.shape[-1], d), d))
        low = np.where(bad, np.nan, low)
        return return_types.linalg_cholesky_ex(Tensor._make(_mT(low) if upper else low), info_t)
    return return_types.linalg_cholesky_ex(LinalgCholeskyEx.apply(x, upper), info_t)


# ---- qr -----------------------------------------------------------------------------------------


def _copyltu(m: Any) -> Any:
    """The symmetric matrix with m's lower triangle: tril(m) + tril(m, -1)ᵀ."""
    low = _tril(m)
    return low + _mT(low) - low * _eye(m.shape[-1], m)


def _qr_square_rule(gq: Any, gr: Any, q: Any, r: Any) -> Any:
    """A = QR with m >= n: gA = (gQ + Q copyltu(M)) R⁻ᵀ, M = R gRᵀ - gQᵀ Q."""
    if gr is not None:
        m = np.matmul(r, _mT(gr))
        if gq is not None:
            m = m - np.matmul(_mT(gq), q)
    else:
        m = -np.matmul(_mT(gq), q)
    b = np.matmul(q, _copyltu(m))
    if gq is not None:
        b = b + gq
    return _mT(_solve(r, _mT(b)))


class LinalgQr(_Factor):
    __slots__ = ()

    @staticmethod
    def rule(inputs: Any, outs: Any, grads: Any, mode: str) -> Any:
        (a,), (q, r), (gq, gr) = inputs, outs, grads
        if gq is None and gr is None:
            return (None,)
        if mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                "through linalg.qr."
            )
        m, n = a.shape[-2], a.shape[-1]
        if m >= n:
            if mode == "complete" and m > n:
                raise RuntimeError(
                    "The QR decomposition is not differentiable when mode='complete' and "
                    "nrows > ncols."
                )
            return (_qr_square_rule(gq, gr, q, r),)
        # wide: A = [X | Y], R = [U | V], X = Q U, Y = Q V; V enters through Q as well
        y = a[..., :, m:]
        gu = gr[..., :, :m] if gr is not None else None
        gv = gr[..., :, m:] if gr is not None else None
        if gv is not None:
            gq = np.matmul(y, _mT(gv)) if gq is None else gq + np.matmul(y, _mT(gv))
        gx = _qr_square_rule(gq, gu, q, r[..., :, :m])
        gy = np.matmul(q, gv) if gv is not None else 0 * y
        return (np.concatenate([gx, gy], axis=-1),)

    @staticmethod
    def refactor(inputs: Any, mode: str) -> Any:
        return _qr(as_tensor(inputs[0]), "reduced" if mode == "r" else mode)


def _qr(x: Tensor, mode: str) -> list[Tensor]:
    q, r = np.linalg.qr(x._data, mode="complete" if mode == "complete" else "reduced")
    qt, rt = LinalgQr.outputs([q, r], mode, x)
    if mode == "r":
        qt = Tensor._make(np.zeros((0,), x._data.dtype))
    return [qt, rt]


def _np_qr(a: Any, mode: str = "reduced") -> Any:
    if mode == "r":
        return linalg_qr(a, mode="r").R
    return linalg_qr(a, mode=mode)


@op(name="linalg_qr", namespaces=(LINALG,), method=False, numpy={np.linalg.qr: _np_qr})
def linalg_qr(A: Any, mode: str = "reduced") -> Any:
    """A = QR with orthonormal Q and upper-triangular R; ``mode``: 'reduced', 'complete' or
    'r' (R only, Q empty). Differentiable for reduced (and square complete) factorizations."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    return return_types.linalg_qr(*_qr(_matrix_input("linalg.qr", A), mode))


@op
def qr(input: Any, some: bool = True) -> Any:
    """``torch.qr``: ``linalg.qr`` with ``some`` for mode='reduced' (else 'complete')."""
    x = _matrix_input("linalg.qr", input)
    return return_types.qr(*_qr(x, "reduced" if some else "complete"))


# ---- svd, svdvals -------------------------------------------------------------------------------


def _svd_rule(gu: Any, gs: Any, gvh: Any, u: Any, s: Any, vh: Any) -> Any:
    """PyTorch's svd_backward for the reduced SVD (distinct nonzero singular values)."""
    m, n = u.shape[-2], vh.shape[-1]
    if gu is None and gvh is None:
        return np.matmul(u * np.expand_dims(gs, -2), vh)
    s_row, s_col = np.expand_dims(s, -2), np.expand_dims(s, -1)
    s2 = s * s
    e = np.expand_dims(s2, -2) - np.expand_dims(s2, -1) + _eye(s.shape[-1], s)
    if gu is not None:
        uhgu = np.matmul(_mT(u), gu)
        uhgu = uhgu - _mT(uhgu)
    if gvh is not None:
        vhgv = np.matmul(vh, _mT(gvh))
        vhgv = vhgv - _mT(vhgv)
    if gu is not None and gvh is not None:
        ga = (uhgu * s_row + s_col * vhgv) / e
    elif gu is not None:
        ga = uhgu * (s_row / e)
    else:
        ga = s_col * (vhgv / e)
    if gs is not None:
        ga = ga + _diag_embed(gs)
    if m > n and gu is not None:
        ga = np.matmul(u, ga)
        gu_sinv = gu / s_row
        ga = ga + gu_sinv - np.matmul(u, np.matmul(_mT(u), gu_sinv))
        return np.matmul(ga, vh)
    if m < n and gvh is not None:
        ga = np.matmul(ga, vh)
        sinv_gvh = gvh / s_col
        ga = ga + sinv_gvh - np.matmul(np.matmul(sinv_gvh, _mT(vh)), vh)
        return np.matmul(u, ga)
    return np.matmul(u, np.matmul(ga, vh))


class LinalgSvd(_Factor):
    __slots__ = ()

    @staticmethod
    def rule(inputs: Any, outs: Any, grads: Any, full: bool) -> Any:
        (u, s, vh), (gu, gs, gvh) = outs, grads
        if gu is None and gs is None and gvh is None:
            return (None,)
        k = s.shape[-1]
        if full:  # only the first k columns of U (rows of Vh) are determined: PyTorch's narrow
            u, vh = u[..., :, :k], vh[..., :k, :]
            gu = gu[..., :, :k] if gu is not None else None
            gvh = gvh[..., :k, :] if gvh is not None else None
        return (_svd_rule(gu, gs, gvh, u, s, vh),)

    @staticmethod
    def refactor(inputs: Any, full: bool) -> Any:
        return _svd(as_tensor(inputs[0]), full)


def _svd(x: Tensor, full: bool) -> list[Tensor]:
    d = x._data
    if d.size == 0:  # LAPACK needs no call: identity factors, no singular values
        m, n = d.shape[-2:]
        k = min(m, n)
        mu, nv = (m, n) if full else (k, k)
        batch = d.shape[:-2]
        u = np.broadcast_to(np.eye(m, mu, dtype=d.dtype), (*batch, m, mu)).copy()
        vh = np.broadcast_to(np.eye(nv, n, dtype=d.dtype), (*batch, nv, n)).copy()
        outs = [u, np.zeros((*batch, k), d.dtype), vh]
    else:
        outs = list(np.linalg.svd(d, full_matrices=full))
    return LinalgSvd.outputs(outs, full, x)


def _np_svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    if not compute_uv:
        return linalg_svdvals(a)
    return linalg_svd(a, full_matrices=full_matrices)


@op(name="linalg_svd", namespaces=(LINALG,), method=False, numpy={np.linalg.svd: _np_svd})
def linalg_svd(A: Any, full_matrices: bool = True, *, driver: Any = None) -> Any:
    """A = U diag(S) Vh, S descending. Signs of U's columns (and Vh's rows) are not unique:
    differentiate functions that don't depend on them; the gradient needs distinct S."""
    return return_types.linalg_svd(*_svd(_matrix_input("linalg.svd", A), full_matrices))


@op(name="linalg_svdvals", namespaces=(LINALG,), method=False)
def linalg_svdvals(A: Any, *, driver: Any = None) -> Tensor:
    """The singular values, descending; gradient U diag(gS) Vh."""
    return _svd(_matrix_input("linalg.svdvals", A), False)[1]


@op
def svd(input: Any, some: bool = True, compute_uv: bool = True) -> Any:
    """``torch.svd``: (U, S, V) with V, not Vh; ``some=False`` for full U and V. Without
    ``compute_uv`` U and V are zero matrices."""
    x = _matrix_input("linalg.svd", input)
    u, s, vh = _svd(x, not some)
    if not compute_uv:  # PyTorch: zero (m, m) and (n, n) matrices, whatever ``some`` says
        m, n = x.shape[-2:]
        zu = np.zeros((*x.shape[:-2], m, m), x._data.dtype)
        zv = np.zeros((*x.shape[:-2], n, n), x._data.dtype)
        return return_types.svd(Tensor._make(zu), s, Tensor._make(zv))
    return return_types.svd(u, s, transpose(vh, -2, -1))


# ---- eigh, eigvalsh -----------------------------------------------------------------------------


def _eigh_rule(gl: Any, gv: Any, lam: Any, v: Any) -> Any:
    """PyTorch's hermitian linalg_eig_backward: V ((skew(Vᵀ gV)/2 + diag(gL)) / E) Vᵀ."""
    if gv is None:
        return np.matmul(v * np.expand_dims(gl, -2), _mT(v))
    vhgv = np.matmul(_mT(v), gv)
    vhgv = 0.5 * (vhgv - _mT(vhgv))
    e = np.expand_dims(lam, -2) - np.expand_dims(lam, -1) + _eye(lam.shape[-1], lam)
    ga = vhgv / e
    if gl is not None:
        ga = ga + _diag_embed(gl)
    return np.matmul(v, np.matmul(ga, _mT(v)))


class LinalgEigh(_Factor):
    __slots__ = ()

    @staticmethod
    def rule(inputs: Any, outs: Any, grads: Any, uplo: str) -> Any:
        if grads[0] is None and grads[1] is None:
            return (None,)
        return (_eigh_rule(grads[0], grads[1], outs[0], outs[1]),)

    @staticmethod
    def refactor(inputs: Any, uplo: str) -> Any:
        return _eigh(as_tensor(inputs[0]), uplo)


def _eigh(x: Tensor, uplo: str) -> list[Tensor]:
    uplo = uplo.upper() if isinstance(uplo, str) else uplo
    if uplo not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo}")
    triangle: Any = uplo
    lam, v = np.linalg.eigh(x._data, UPLO=triangle)
    return LinalgEigh.outputs([lam, v], uplo, x)


@op(
    name="linalg_eigh",
    namespaces=(LINALG,),
    method=False,
    numpy={np.linalg.eigh: lambda a, UPLO="L": linalg_eigh(a, UPLO)},
)
def linalg_eigh(A: Any, UPLO: str = "L") -> Any:
    """Eigenvalues (ascending) and eigenvectors of symmetric A, from its lower (``UPLO='L'``)
    or upper triangle. Eigenvector signs are not unique; the gradient needs distinct values."""
    return return_types.linalg_eigh(*_eigh(_matrix_input("linalg.eigh", A, True), UPLO))


@op(
    name="linalg_eigvalsh",
    namespaces=(LINALG,),
    method=False,
    numpy={np.linalg.eigvalsh: lambda a, UPLO="L": linalg_eigvalsh(a, UPLO)},
)
def linalg_eigvalsh(A: Any, UPLO: str = "L") -> Tensor:
    """The eigenvalues of symmetric A, ascending; gradient V diag(gL) Vᵀ."""
    return _eigh(_matrix_input("linalg.eigvalsh", A, True), UPLO)[0]


# ---- pinv, lstsq, matrix_rank -------------------------------------------------------------------


def _tolerances(fn: str, x: np.ndarray, atol: Any, rtol: Any) -> tuple[Any, Any]:
    """PyTorch's defaults: atol 0; rtol eps·max(m, n), or 0 when only atol > 0 is given."""
    val = lambda t: t._data if isinstance(t, Tensor) else t  # noqa: E731
    atol, rtol = val(atol), val(rtol)
    if rtol is None:
        eps = np.finfo(x.dtype).eps
        rtol = eps * max(x.shape[-2:]) if atol is None or np.all(np.asarray(atol) <= 0) else 0.0
    return (0.0 if atol is None else atol), rtol


def _pinv_array(a: np.ndarray, atol: Any, rtol: Any, hermitian: bool) -> np.ndarray:
    if hermitian:
        lam, v = np.linalg.eigh(a)
        mag = np.abs(lam)
        tol = np.maximum(
            np.expand_dims(np.asarray(atol), -1),
            np.expand_dims(np.asarray(rtol), -1) * np.max(mag, -1, keepdims=True, initial=0),
        )
        inv = np.where(mag > tol, 1 / np.where(mag > tol, lam, 1), 0)
        return np.matmul(v * np.expand_dims(inv, -2), _mT(v)).astype(a.dtype, copy=False)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    smax = s[..., :1] if s.shape[-1] else s
    tol = np.maximum(
        np.expand_dims(np.asarray(atol), -1), np.expand_dims(np.asarray(rtol), -1) * smax
    )
    inv = np.where(s > tol, 1 / np.where(s > tol, s, 1), 0)
    return np.matmul(_mT(vh) * np.expand_dims(inv, -2), _mT(u)).astype(a.dtype, copy=False)


def _pinv_rule(g: Any, pinv: Any, a: Any) -> Any:
    """PyTorch's pinv_backward (A⁺ of constant rank)."""
    m, n = a.shape[-2], a.shape[-1]
    pinvh, gh = _mT(pinv), _mT(g)
    if m <= n:
        k = np.matmul(gh, pinv)
        kpinvh = np.matmul(k, pinvh)
        return (
            -_mT(np.matmul(pinv, k))
            + kpinvh
            - np.matmul(np.matmul(a, pinv), kpinvh)
            + np.matmul(np.matmul(pinvh, pinv), gh - np.matmul(k, a))
        )
    k = np.matmul(pinv, gh)
    pinvhk = np.matmul(pinvh, k)
    return (
        -_mT(np.matmul(k, pinv))
        + np.matmul(np.matmul(gh - np.matmul(a, k), pinv), pinvh)
        + pinvhk
        - np.matmul(np.matmul(pinvhk, pinv), a)
    )


class LinalgPinv(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, a: Any, atol: Any, rtol: Any, hermitian: bool) -> Any:
        out = _pinv_array(a, atol, rtol, hermitian)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, pinv = ctx.saved_tensors
        return _pinv_rule(g, pinv, a), None, None, None


def _np_pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Tensor:
    if rcond is not None:
        rtol = rcond
    return linalg_pinv(a, rtol=rtol, hermitian=hermitian)


@op(name="linalg_pinv", namespaces=(LINALG,), method=False, numpy={np.linalg.pinv: _np_pinv})
def linalg_pinv(
    A: Any, rcond: Any = None, hermitian: bool = False, *, atol: Any = None, rtol: Any = None
) -> Tensor:
    """Moore-Penrose pseudo-inverse: singular values at most max(atol, rtol·σ₁) count as 0
    (PyTorch's defaults; ``rcond`` is the older name of rtol). ``hermitian`` uses eigh."""
    x = _matrix_input("linalg.pinv", A, square=hermitian)
    if rcond is not None:
        rtol = rcond
    atol, rtol = _tolerances("linalg.pinv", x._data, atol, rtol)
    return LinalgPinv.apply(x, atol, rtol, hermitian)


@op
def pinverse(input: Any, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``linalg.pinv`` with rtol=rcond."""
    x = _matrix_input("pinverse", input)
    return LinalgPinv.apply(x, 0.0, rcond, False)


class LinalgLstsq(_Factor):  # (solution, residuals): only the solution has a gradient here
    __slots__ = ()

    @staticmethod
    def rule(inputs: Any, outs: Any, grads: Any, vector: bool) -> Any:
        a, b = inputs
        g = grads[0]
        if g is None:
            return None, None
        pinv = np.linalg.pinv(a)  # X = A⁺ B: PyTorch's linalg_lstsq_backward
        if vector:
            g, b = np.expand_dims(g, -1), np.expand_dims(b, -1)
        ga = _pinv_rule(np.matmul(g, _mT(b)), pinv, a)
        gb = np.matmul(_mT(pinv), g)
        return ga, (gb[..., 0] if vector else gb)

    @staticmethod
    def refactor(inputs: Any, vector: bool) -> Any:
        return [None, None]  # the rule above needs no outputs


@op(name="linalg_lstsq", namespaces=(LINALG,), method=False)
def linalg_lstsq(A: Any, B: Any, rcond: Any = None, *, driver: Any = None) -> Any:
    """Least-squares (minimum-norm) X of A X ≈ B, as PyTorch on CPU with its default driver
    'gelsy': (solution, residuals, rank, singular_values) with empty residuals and
    singular_values. The gradient is that of A⁺ B."""
    a = _matrix_input("linalg.lstsq", A)
    b = as_tensor(B)
    if driver not in (None, "gelsy", "gelsd", "gelss", "gels"):
        raise RuntimeError(
            f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, "
            f"gelss), got {driver}"
        )
    vector = b.ndim == a.ndim - 1
    if b._data.dtype != a._data.dtype:
        raise RuntimeError(
            f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
            f"{dtypes.name(a._data.dtype)} and {dtypes.name(b._data.dtype)}"
        )
    bd = b._data[..., None] if vector else b._data
    if bd.ndim < 2 or bd.shape[-2] != a.shape[-2]:
        raise RuntimeError(
            f"torch.linalg.lstsq: input.size(-2) should match other.size(-2) (shapes "
            f"{tuple(a.shape)} and {tuple(b.shape)})"
        )
    ad = a._data
    eps = np.finfo(ad.dtype).eps
    rc = eps * max(ad.shape[-2:]) if rcond is None else rcond
    sol = np.matmul(_pinv_array(ad, 0.0, rc, False), bd)
    sol = sol[..., 0] if vector else sol
    if ad.size:
        rank = np.linalg.matrix_rank(ad, rtol=rc) if ad.shape[-1] else np.zeros(ad.shape[:-2])
    else:
        rank = np.zeros(ad.shape[:-2])
    residuals = np.zeros((0,), ad.dtype)
    x, res = LinalgLstsq.outputs([sol.astype(ad.dtype, copy=False), residuals], vector, a, b)
    empty = Tensor._make(np.zeros((0,), ad.dtype))
    return return_types.linalg_lstsq(x, res, Tensor._make(np.asarray(rank, np.int64)), empty)


@op(name="linalg_matrix_rank", namespaces=(LINALG,), method=False, differentiable=False)
def linalg_matrix_rank(
    A: Any, tol: Any = None, hermitian: bool = False, *, atol: Any = None, rtol: Any = None
) -> Tensor:
    """The number of singular values above max(atol, rtol·σ₁) (``tol``: the older atol)."""
    x = _matrix_input("linalg.matrix_rank", A)
    if tol is not None:
        atol, rtol = tol, 0.0
    atol, rtol = _tolerances("linalg.matrix_rank", x._data, atol, rtol)
    d = x._data
    if d.size == 0:
        return Tensor._make(np.zeros(d.shape[:-2], np.int64))
    s = np.abs(np.linalg.eigvalsh(d)) if hermitian else np.linalg.svd(d, compute_uv=False)
    smax = np.max(s, -1, keepdims=True)
    tol_ = np.maximum(
        np.expand_dims(np.asarray(atol), -1), np.expand_dims(np.asarray(rtol), -1) * smax
    )
    return Tensor._make(np.sum(s > tol_, axis=-1).astype(np.int64))


# ---- matrix_exp, matrix_power -------------------------------------------------------------------


@opaque
def _expm_array(a: np.ndarray) -> np.ndarray:
    if a.size == 0:
        return a.copy()
    from scipy.linalg import expm

    return np.asarray(expm(a)).astype(a.dtype, copy=False)


class LinalgMatrixExp(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        ctx.save_for_backward(a)
        return _expm_array(a)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (a,) = ctx.saved_tensors  # exp([[Aᵀ, G], [0, Aᵀ]]) holds the adjoint in its corner
        n = a.shape[-1]
        at = _mT(a)
        top = np.concatenate([at, g], axis=-1)
        bottom = np.concatenate([at * 0, at], axis=-1)
        block = np.concatenate([top, bottom], axis=-2)
        big = matrix_exp(block) if isinstance(block, Tensor) else _expm_array(block)
        return big[..., :n, n:]


@op(namespaces=(TORCH, LINALG))
def matrix_exp(A: Any) -> Tensor:
    """The matrix exponential exp(A) = Σ Aᵏ/k! (Padé approximation with scaling and squaring)."""
    return LinalgMatrixExp.apply(_matrix_input("linalg.matrix_exp", A, square=True))


@op(
    namespaces=(TORCH, LINALG),
    numpy={np.linalg.matrix_power: lambda a, n: matrix_power(a, n)},
)
def matrix_power(input: Any, n: int) -> Tensor:
    """Aⁿ by repeated squaring, as PyTorch computes it (n < 0: the power of the inverse)."""
    x = _matrix_input("linalg.matrix_power", input, square=True)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}")
    if n == 0:
        eye = np.broadcast_to(_eye(x.shape[-1], x._data), x.shape).copy()
        return Tensor._make(eye)
    if n < 0:
        x, n = inverse(x), -n
        if n == 1:
            return x
    if n == 1:
        return clone(x)
    if n == 2:
        return matmul(x, x)
    if n == 3:
        return matmul(matmul(x, x), x)
    z = result = None
    while n > 0:
        bit, n = n % 2, n // 2
        z = x if z is None else matmul(z, z)
        if bit:
            result = z if result is None else matmul(result, z)
    assert result is not None
    return result


# ---- cross, vecdot, multi_dot -------------------------------------------------------------------


class LinalgCross(Node):
    __slots__ = ("dim",)
    broadcasts = True

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any, dim: int) -> Any:
        ctx.dim = dim
        ctx.save_for_backward(x, y)
        return np.cross(x, y, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors  # d(x × y) = dx × y + x × dy; <g, dx × y> = <y × g, dx>
        return _cross(y, g, ctx.dim), _cross(g, x, ctx.dim), None


def _cross(a: Any, b: Any, dim: int) -> Any:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return linalg_cross(a, b, dim=dim)
    return np.cross(a, b, axis=dim)


def _cross_operands(fn: str, input: Any, other: Any, dim: int) -> tuple[Tensor, Tensor, int]:
    x, y = as_tensor(input), as_tensor(other)
    if x._data.dtype != y._data.dtype:
        raise RuntimeError(
            f"{fn}: expected input and other to have the same dtype, got "
            f"{dtypes.name(x._data.dtype)} and {dtypes.name(y._data.dtype)}"
        )
    if x.ndim != y.ndim:
        raise RuntimeError(
            f"{fn}: inputs must have the same number of dimensions (shapes {tuple(x.shape)} "
            f"and {tuple(y.shape)})."
        )
    try:
        nd = len(np.broadcast_shapes(tuple(x.shape), tuple(y.shape)))
    except ValueError:
        raise RuntimeError(
            f"{fn}: the shapes of input {tuple(x.shape)} and other {tuple(y.shape)} do not "
            "broadcast"
        ) from None
    if not -builtins.max(nd, 1) <= dim < builtins.max(nd, 1):
        raise IndexError(
            f"{fn}: Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but "
            f"got {dim})"
        )
    d = dim % nd - nd  # negative, so it names the same dim of both operands
    sx = x.shape[d] if x.ndim >= -d else 1
    sy = y.shape[d] if y.ndim >= -d else 1
    if sx != 3 or sy != 3:
        raise RuntimeError(f"{fn}: inputs dimension {dim} must have length 3. Got {sx} and {sy}")
    return x, y, d


@op(name="linalg_cross", namespaces=(LINALG,), method=False)
def linalg_cross(input: Any, other: Any, *, dim: int = -1) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (batch dims broadcast)."""
    x, y, d = _cross_operands("linalg.cross", input, other, dim)
    return LinalgCross.apply(x, y, d)


@op(
    numpy={
        np.cross: lambda a, b, axisa=-1, axisb=-1, axisc=-1, axis=None: linalg_cross(
            a, b, dim=-1 if axis is None else axis
        )
    }
)
def cross(input: Any, other: Any, dim: Any = None) -> Tensor:
    """``torch.cross``: ``dim`` defaults to the first dimension of size 3 (deprecated in
    PyTorch, which warns; pass ``dim``)."""
    x, y = as_tensor(input), as_tensor(other)
    if dim is None:
        import warnings

        warnings.warn(
            "Using torch.cross without specifying the dim arg is deprecated.\nPlease either "
            "pass the dim explicitly or simply use torch.linalg.cross.\nThe default value of "
            "dim will change to agree with that of linalg.cross in a future release.",
            UserWarning,
            stacklevel=2,
        )
        shape = np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    a, b, d = _cross_operands("linalg.cross", x, y, dim)
    return LinalgCross.apply(a, b, d)


@op(name="linalg_diagonal", namespaces=(LINALG,), method=False)
def linalg_diagonal(A: Any, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of a batch of matrices (the last two dims by default): a view."""
    return diagonal(A, offset, dim1, dim2)


@op(name="linalg_vecdot", namespaces=(LINALG,), method=False)
def linalg_vecdot(x: Any, y: Any, *, dim: int = -1) -> Tensor:
    """Dot products of the vectors along ``dim`` (batch dims broadcast): (x * y).sum(dim)."""
    a, b = as_tensor(x), as_tensor(y)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
            f"{dtypes.name(a._data.dtype)} and y of type {dtypes.name(b._data.dtype)} instead"
        )
    if a.ndim == 1 and b.ndim == 1 and a.shape == b.shape:
        return vdot(a, b)  # PyTorch's node for two vectors
    return _sum(a * b, dim)


@op(
    name="linalg_multi_dot",
    namespaces=(LINALG,),
    method=False,
    numpy={np.linalg.multi_dot: lambda arrays, out=None: linalg_multi_dot(arrays)},
)
def linalg_multi_dot(tensors: Sequence[Any]) -> Tensor:
    """A chain of matrix products in the cheapest order; the first and last may be vectors."""
    ts = [as_tensor(t) for t in tensors]
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    for i, t in enumerate(ts):
        ok = t.ndim == 2 or (t.ndim == 1 and i in (0, len(ts) - 1))
        if not ok:
            raise RuntimeError(
                f"multi_dot(): tensor {i} must be 2D"
                + (" or 1D" if i in (0, len(ts) - 1) else "")
                + f" but got {t.ndim}D (shape {tuple(t.shape)})"
            )
    first_vec, last_vec = ts[0].ndim == 1, ts[-1].ndim == 1
    if first_vec:
        ts[0] = unsqueeze(ts[0], 0)
    if last_vec:
        ts[-1] = unsqueeze(ts[-1], -1)
    for i in range(len(ts) - 1):
        if ts[i].shape[1] != ts[i + 1].shape[0]:
            raise RuntimeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {tuple(ts[i].shape)} and "
                f"{tuple(ts[i + 1].shape)} cannot be multiplied"
            )
    dims = [t.shape[0] for t in ts] + [ts[-1].shape[1]]
    n = len(ts)
    cost: list[list[float]] = [[0.0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def chain(i: int, j: int) -> Tensor:
        if i == j:
            return ts[i]
        k = split[i][j]
        return matmul(chain(i, k), chain(k + 1, j))

    out = chain(0, n - 1)
    if first_vec:
        out = squeeze(out, 0)
    if last_vec:
        out = squeeze(out, -1)
    return out


# ---- norms --------------------------------------------------------------------------------------


@op(name="linalg_vector_norm", namespaces=(LINALG,), method=False)
def linalg_vector_norm(
    x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The ``ord``-norm of the vectors along ``dim`` (all elements by default): any real ord,
    inf and -inf; 0 counts nonzeros."""
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return _vector_norm(x, float(ord), dim, keepdim, dtype)


def _two_dims(fn: str, dim: Any, ndim: int) -> tuple[int, int]:
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{fn}: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (int(d) % ndim if -ndim <= d < ndim else None for d in dim)
    if d0 is None or d1 is None:
        raise IndexError(f"{fn}: Dimension out of range for a tensor with {ndim} dimensions: {dim}")
    if d0 == d1:
        raise RuntimeError(f"{fn}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


@op(name="linalg_matrix_norm", namespaces=(LINALG,), method=False)
def linalg_matrix_norm(
    A: Any, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """Matrix norms over the two ``dim``: 'fro', 'nuc' (sum of singular values), 2 / -2
    (largest / smallest singular value), 1 / -1 (max / min column sum of |A|), inf / -inf
    (rows)."""
    x = _matrix_input("linalg.matrix_norm", A)
    if dtype is not None:
        x = x.to(dtype)
    d0, d1 = _two_dims("linalg.matrix_norm", dim, x.ndim)
    if ord == "fro":
        return _vector_norm(x, 2.0, (d0, d1), keepdim)
    if ord == "nuc" or ord in (2, -2):  # PyTorch: the two dims moved last, and back (keepdim)
        perm = [i for i in range(x.ndim) if i not in (d0, d1)] + [d0, d1]
        moved = x if perm == sorted(perm) else permute(x, perm)
        s = linalg_svdvals(moved)
        reduce = _sum if ord == "nuc" else (amax if ord == 2 else amin)
        out = reduce(s, -1, keepdim)
        if keepdim:
            out = permute(unsqueeze(out, -1), [int(i) for i in np.argsort(perm)])
        return out
    if isinstance(ord, str) or ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(
            f"linalg.matrix_norm: Order {ord} not supported (one of 'fro', 'nuc', inf, -inf, "
            "1, -1, 2, -2)"
        )
    if abs(ord) == math.inf:
        d0, d1 = d1, d0
    if not keepdim and d0 < d1:
        d1 -= 1
    col = _vector_norm(x, 1.0, d0, keepdim)
    return amax(col, d1, keepdim) if ord > 0 else amin(col, d1, keepdim)


def _np_norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
    return linalg_norm(x, ord, axis, keepdims)


@op(name="linalg_norm", namespaces=(LINALG,), method=False, numpy={np.linalg.norm: _np_norm})
def linalg_norm(
    A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """``vector_norm`` or ``matrix_norm`` by ``dim`` (one or two dims) or, without ``dim``,
    by the input's rank (1-D or 2-D when ``ord`` is given; all elements' 2-norm otherwise)."""
    x = floating_input("linalg.norm", A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        if len(dims) == 1:
            return linalg_vector_norm(x, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) != 2:
            raise RuntimeError(
                f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}"
            )
        return linalg_matrix_norm(x, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return linalg_vector_norm(x, 2, None, keepdim, dtype=dtype)
    if x.ndim == 2:
        return linalg_matrix_norm(x, ord, (-2, -1), keepdim, dtype=dtype)
    if x.ndim == 1 and not isinstance(ord, str):
        return linalg_vector_norm(x, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(
        f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
        f"{x.ndim}D."
    )
