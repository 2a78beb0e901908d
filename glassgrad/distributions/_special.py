"""Special functions and matrix helpers the distributions need, on Tensors or on arrays.

- ``lgamma``, ``digamma``, ``polygamma``: the nodes of the declared ops
  (``glassgrad/ops/special.py``), also callable on plain arrays.
- ``cholesky`` and ``solve`` (general or triangular), batched and broadcasting like
  ``torch.linalg``; their gradients are PyTorch's formulas in terms of these same functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.autograd.node import Node
from glassgrad.ops.special import (
    Digamma,
    Lgamma,
    Polygamma,
    digamma_np,
    lgamma_np,
    polygamma_np,
)
from glassgrad.tensor import Tensor

__all__ = ["cholesky", "digamma", "lgamma", "polygamma", "solve", "solve_triangular"]


def lgamma(x: Any) -> Any:
    """log|Gamma(x)| of a Tensor (differentiable) or an array."""
    return Lgamma.apply(x) if isinstance(x, Tensor) else lgamma_np(x)


def digamma(x: Any) -> Any:
    """The digamma function psi(x) of a Tensor (differentiable) or an array."""
    return Digamma.apply(x) if isinstance(x, Tensor) else digamma_np(x)


def polygamma(n: int, x: Any) -> Any:
    """psi^(n)(x), n >= 0, of a Tensor (differentiable) or an array."""
    if n == 0:
        return digamma(x)
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n, got {n}")
    return Polygamma.apply(x, int(n)) if isinstance(x, Tensor) else polygamma_np(int(n), x)


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
