"""``torch.linalg.eig`` and ``eigvals``: eigenvalues and eigenvectors of general square matrices,
always complex (``complex128`` for ``float64`` input). Eigenvectors have unit norm, as LAPACK's
``geev`` returns them; each is unique only up to a phase (or sign), which may differ from
PyTorch's where its LAPACK differs.

The rule is PyTorch's ``linalg_eig_backward``, written with NumPy functions so that it also
runs on Tensors at second order: gA = V⁻ᴴ (diag(gL) + P(Vᴴ gV) / Ē) Vᴴ with Ē_ij = conj(L_j -
L_i) off the diagonal, P removing the part of Vᴴ gV that only rescales the (unit) eigenvectors,
and the real part taken for real A.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Tensor, as_tensor, return_type
from glassgrad.ops.decompositions import LinAlgError, _Factor, _matrix_input, _mT, _solve
from glassgrad.ops.registry import LINALG, op

__all__ = ["linalg_eig", "linalg_eigvals"]


class return_types:
    """Named results with PyTorch's field names."""

    linalg_eig = return_type("linalg_eig", ("eigenvalues", "eigenvectors"), __name__)


def _eig_rule(gL: Any, gV: Any, L: Any, V: Any, real_input: bool) -> Any:
    n = L.shape[-1]
    eye = np.eye(n, dtype=bool)
    Vh = np.conj(_mT(V))
    if gV is None:
        gA = np.expand_dims(gL, -1) * np.eye(n, dtype=L.dtype)
    else:
        VhgV = np.matmul(Vh, gV)
        # only the directions that keep each eigenvector's norm (its scale is fixed at 1)
        re_diag = np.real(np.diagonal(VhgV, 0, -2, -1))
        VhgV = VhgV - np.matmul(Vh, V * np.expand_dims(re_diag, -2))
        Lc = np.conj(L)
        E = np.expand_dims(Lc, -2) - np.expand_dims(Lc, -1) + np.eye(n, dtype=L.dtype)
        gA = VhgV / E
        if gL is not None:
            gA = np.where(eye, np.expand_dims(gL, -1) * np.eye(n, dtype=L.dtype), gA)
    gA = _solve(Vh, np.matmul(gA, Vh))
    return np.real(gA) if real_input else gA


class LinalgEig(_Factor):
    __slots__ = ()

    @staticmethod
    def rule(inputs: Any, outs: Any, grads: Any, real_input: bool) -> Any:
        if grads[0] is None and grads[1] is None:
            return (None,)
        return (_eig_rule(grads[0], grads[1], outs[0], outs[1], real_input),)

    @staticmethod
    def refactor(inputs: Any, real_input: bool) -> Any:
        return _eig(as_tensor(inputs[0]))


def _eig(x: Tensor) -> list[Tensor]:
    d = x._data
    complex_dtype = np.result_type(d.dtype, np.complex64)
    try:
        lam, v = np.linalg.eig(d) if d.size else (d[..., 0], d)
    except np.linalg.LinAlgError:
        raise LinAlgError(
            "linalg.eig: The algorithm failed to converge because the input matrix is "
            "ill-conditioned or has too many repeated eigenvalues."
        ) from None
    lam, v = lam.astype(complex_dtype), v.astype(complex_dtype)
    return LinalgEig.outputs([lam, v], d.dtype.kind != "c", x)


@op(name="linalg_eig", namespaces=(LINALG,), method=False)
def linalg_eig(A: Any) -> Any:
    """Eigenvalues and unit eigenvectors (columns) of a general square A, as complex tensors.
    The gradient needs distinct eigenvalues and a loss that ignores each eigenvector's phase."""
    return return_types.linalg_eig(*_eig(_matrix_input("linalg.eig", A, True)))


@op(name="linalg_eigvals", namespaces=(LINALG,), method=False)
def linalg_eigvals(A: Any) -> Tensor:
    """The eigenvalues of a general square A (complex); gradient V⁻ᴴ diag(gL) Vᴴ."""
    return _eig(_matrix_input("linalg.eigvals", A, True))[0]
