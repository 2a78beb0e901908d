"""Differentiable special functions and matrix helpers the distributions need, on NumPy.

glassgrad has no ``lgamma``/``digamma``/``polygamma``, Cholesky or triangular solve ops yet (and
scipy is not a dependency), so they are defined here as nodes, each forward beside its
derivative, written so that the rules also run on Tensors: lgamma' = digamma,
digamma' = polygamma(1), polygamma(n)' = polygamma(n + 1), to any order.

- ``lgamma``: ``math.lgamma`` element by element (exact to the last bit; a Python loop, fast
  enough for parameter-sized arrays); poles give +inf as in PyTorch.
- ``digamma``: the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic
  series; reflection psi(x) = psi(1 - x) - pi / tan(pi x) below 1/2. About 1e-15 relative.
- ``polygamma(n, x)``, n >= 1: (-1)^(n+1) n! zeta(n + 1, x), the Hurwitz zeta by direct sum up
  to x + N >= 10 and Euler-Maclaurin tail.
- ``cholesky`` and ``solve`` (general or triangular), batched and broadcasting like
  ``torch.linalg``; their gradients are PyTorch's formulas in terms of these same functions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad.autograd.node import Node
from glassgrad.tensor import Tensor

__all__ = ["cholesky", "digamma", "lgamma", "polygamma", "solve", "solve_triangular"]


def _float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _lgamma_scalar(v: float) -> float:
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):  # the poles 0, -1, -2, ...
        return math.inf


_lgamma_vec = np.frompyfunc(_lgamma_scalar, 1, 1)


def _lgamma_np(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x)
    out = np.asarray(_lgamma_vec(_float(a)), dtype=np.float64)
    return out.astype(a.dtype if a.dtype.kind == "f" else np.float64)


# B_2k / (2k) for the digamma series: psi(y) ~ ln y - 1/(2y) - sum B_2k / (2k y^2k)
_DIGAMMA_C = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def _digamma_np(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x)
    v = _float(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        reflect = v < 0.5
        y = np.where(reflect, 1.0 - v, v)
        acc = np.zeros_like(y)
        for _ in range(10):  # y >= 0.5, so ten steps reach y >= 10
            small = y < 10.0
            acc -= np.where(small, 1.0 / y, 0.0)
            y = np.where(small, y + 1.0, y)
        y2 = 1.0 / (y * y)
        series = np.zeros_like(y)
        for c in reversed(_DIGAMMA_C):
            series = (series + c) * y2
        out = acc + np.log(y) - 0.5 / y - series
        out = np.where(reflect, out - math.pi / np.tan(math.pi * v), out)
        out = np.where(v == 0, -np.inf, out)  # PyTorch: digamma(0) = -inf
        out = np.where((v < 0) & (v == np.floor(v)), np.nan, out)
    return out.astype(a.dtype if a.dtype.kind == "f" else np.float64)


# B_2j / (2j)! for Euler-Maclaurin
_BERN = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
_EM = tuple(b / math.factorial(2 * (j + 1)) for j, b in enumerate(_BERN))


def _polygamma_np(n: int, x: np.ndarray) -> np.ndarray:
    a = np.asarray(x)
    v = _float(a)
    s = n + 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y = v.copy()
        total = np.zeros_like(y)
        lowest = float(np.min(v)) if v.size else 10.0
        steps = max(0, math.ceil(10.0 - lowest)) if math.isfinite(lowest) else 0
        for _ in range(steps):
            small = y < 10.0
            total += np.where(small, y**-s, 0.0)
            y = np.where(small, y + 1.0, y)
        tail = y ** (1 - s) / (s - 1) + 0.5 * y**-s
        rising = float(s)  # s (s+1) ... (s + 2j - 2)
        power = y ** (-s - 1)
        y2 = 1.0 / (y * y)
        for j, c in enumerate(_EM):
            tail = tail + c * rising * power
            rising *= (s + 2 * j + 1) * (s + 2 * j + 2)
            power = power * y2
        out = (-1.0) ** (n + 1) * math.factorial(n) * (total + tail)
        out = np.where((v <= 0) & (v == np.floor(v)), np.nan if n % 2 == 0 else np.inf, out)
    return out.astype(a.dtype if a.dtype.kind == "f" else np.float64)


class Lgamma(Node):
    """log|Gamma(x)|; d/dx = digamma(x)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return _lgamma_np(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * digamma(x)


class Digamma(Node):
    """psi(x) = d/dx lgamma(x); d/dx = polygamma(1, x)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return _digamma_np(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * polygamma(1, x)


class Polygamma(Node):
    """The n-th derivative of digamma; d/dx = polygamma(n + 1, x)."""

    __slots__ = ("n",)

    @staticmethod
    def forward(ctx: Any, x: Any, n: int) -> Any:
        ctx.save_for_backward(x)
        ctx.n = n
        return _polygamma_np(n, x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, x), None


def lgamma(x: Any) -> Any:
    """log|Gamma(x)| of a Tensor (differentiable) or an array."""
    return Lgamma.apply(x) if isinstance(x, Tensor) else _lgamma_np(x)


def digamma(x: Any) -> Any:
    """The digamma function psi(x) of a Tensor (differentiable) or an array."""
    return Digamma.apply(x) if isinstance(x, Tensor) else _digamma_np(x)


def polygamma(n: int, x: Any) -> Any:
    """psi^(n)(x), n >= 0, of a Tensor (differentiable) or an array."""
    if n == 0:
        return digamma(x)
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n, got {n}")
    return Polygamma.apply(x, int(n)) if isinstance(x, Tensor) else _polygamma_np(int(n), x)


# ---- matrices ------------------------------------------------------------------------------------


def _mT(a: Any) -> Any:
    return a.swapaxes(-1, -2)


def _tril_mask(n: int, dtype: Any, upper: bool = False) -> np.ndarray:
    m = np.tril(np.ones((n, n), dtype=dtype))
    return m.T.copy() if upper else m


class Cholesky(Node):
    """L with A = L Lᵀ, L lower triangular (``torch.linalg.cholesky``)."""

    __slots__ = ()
    op_name = "LinalgCholeskyEx"

    @staticmethod
    def forward(ctx: Any, a: Any) -> Any:
        try:
            out = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise RuntimeError(
                "linalg.cholesky: The factorization could not be completed because the input is "
                "not positive-definite."
            ) from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # PyTorch's rule: gA = L⁻ᵀ Φ(Lᵀ gL) L⁻¹, symmetrised; Φ keeps the lower triangle and
        # halves the diagonal.
        (L,) = ctx.saved_tensors
        n = L.shape[-1]
        phi = (_mT(L) @ g) * (_tril_mask(n, g.dtype) - 0.5 * np.eye(n, dtype=g.dtype))
        left = solve_triangular(_mT(L), phi, upper=True)  # L⁻ᵀ Φ
        s = _mT(solve_triangular(_mT(L), _mT(left), upper=True))  # (L⁻ᵀ Φ) L⁻¹
        return 0.5 * (s + _mT(s))


class LinalgSolve(Node):
    """X = A⁻¹ B (B a stack of matrices), A general, lower or upper triangular."""

    __slots__ = ("tri",)

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, tri: int) -> Any:
        try:
            out = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise RuntimeError(
                "linalg.solve: The solver failed because the input matrix is singular."
            ) from None
        ctx.save_for_backward(a, out)
        ctx.tri = tri
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, x = ctx.saved_tensors
        tri = ctx.tri
        gb = _solve(_mT(a), g, {0: 0, 1: 2, 2: 1}[tri])  # A⁻ᵀ g (transposing swaps the triangle)
        ga = -(gb @ _mT(x))
        if tri:
            ga = ga * _tril_mask(a.shape[-1], ga.dtype, upper=tri == 2)
        return ga, gb, None


def _solve(a: Any, b: Any, tri: int) -> Any:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        from glassgrad.creation import as_tensor

        return LinalgSolve.apply(as_tensor(a), as_tensor(b), tri)
    return np.linalg.solve(a, b)


def cholesky(a: Any) -> Any:
    """The lower Cholesky factor of a (batch of) symmetric positive-definite matrices."""
    return Cholesky.apply(a) if isinstance(a, Tensor) else np.linalg.cholesky(a)


def solve(a: Any, b: Any) -> Any:
    """A⁻¹ B for square A and matrices B (batch dimensions broadcast)."""
    return _solve(a, b, 0)


def solve_triangular(a: Any, b: Any, *, upper: bool) -> Any:
    """A⁻¹ B for triangular A (only its triangle's gradient is kept, as in PyTorch)."""
    return _solve(a, b, 2 if upper else 1)
