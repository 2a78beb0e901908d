"""``MultivariateNormal(loc, covariance_matrix= | precision_matrix= | scale_tril=)``.

Everything goes through the lower Cholesky factor L (Σ = L Lᵀ), as in PyTorch: log_prob uses
the Mahalanobis distance ‖L⁻¹(x - μ)‖² and log det Σ = 2 Σ log L_ii; rsample is μ + L ε.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad.distributions import constraints
from glassgrad.distributions._special import cholesky, solve_triangular
from glassgrad.distributions.distribution import Distribution, lazy_property, standard_normal
from glassgrad.ops.joining import flip
from glassgrad.size import Size
from glassgrad.tensor import Tensor

__all__ = ["MultivariateNormal"]


def _diag(m: Tensor) -> Tensor:
    """The diagonal of a batch of matrices, differentiably."""
    return (m * Tensor._make(np.eye(m.shape[-1], dtype=m.dtype))).sum(-1)


def _batch_mahalanobis(L: Tensor, x: Tensor) -> Tensor:
    """xᵀ (L Lᵀ)⁻¹ x over broadcast batches: ‖L⁻¹ x‖²."""
    y = solve_triangular(L, x.unsqueeze(-1), upper=False).squeeze(-1)
    return y.pow(2).sum(-1)


def _precision_to_scale_tril(p: Tensor) -> Tensor:
    # PyTorch's route: flip, Cholesky, flip back gives L⁻ᵀ... without inverting P first
    lf = cholesky(flip(p, (-2, -1)))
    l_inv = flip(lf, (-2, -1)).swapaxes(-2, -1)
    eye = Tensor._make(np.eye(p.shape[-1], dtype=p.dtype))
    return solve_triangular(l_inv, eye.expand(l_inv.shape), upper=False)


def _broadcast_shape(*shapes: Any) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))


class MultivariateNormal(Distribution):
    """A Gaussian over vectors, with mean ``loc`` and exactly one of ``covariance_matrix``,
    ``precision_matrix`` or ``scale_tril`` (lower triangular, positive diagonal)."""

    arg_constraints = {  # noqa: RUF012
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: Tensor,
        covariance_matrix: Tensor | None = None,
        precision_matrix: Tensor | None = None,
        scale_tril: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (
            precision_matrix is not None
        ) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        given = {
            "scale_tril": scale_tril,
            "covariance_matrix": covariance_matrix,
            "precision_matrix": precision_matrix,
        }
        name, matrix = next((k, v) for k, v in given.items() if v is not None)
        assert matrix is not None
        if matrix.dim() < 2:
            raise ValueError(
                f"{name} matrix must be at least two-dimensional, with optional leading batch "
                "dimensions"
            )
        batch_shape = _broadcast_shape(matrix.shape[:-2], loc.shape[:-1])
        full = (*batch_shape, *matrix.shape[-2:])
        setattr(self, name, matrix.expand(full))
        self.loc = loc.expand((*batch_shape, -1))
        event_shape = self.loc.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    def _full(self) -> tuple[int, ...]:
        return (*self._batch_shape, *self._event_shape, *self._event_shape)

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._full())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        return (L @ L.swapaxes(-1, -2)).expand(self._full())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        eye = Tensor._make(np.eye(L.shape[-1], dtype=L.dtype)).expand(L.shape)
        l_inv = solve_triangular(L, eye, upper=False)
        return (l_inv.swapaxes(-1, -2) @ l_inv).expand(self._full())

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        var = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return var.expand((*self._batch_shape, *self._event_shape))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = standard_normal(tuple(shape), self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self) -> Tensor:
        return _diag(self._unbroadcasted_scale_tril).log().sum(-1)

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        k = self._event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + M) - self._half_log_det()

    def entropy(self) -> Tensor:
        k = self._event_shape[0]
        h = 0.5 * k * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h if len(self._batch_shape) == 0 else h.expand(tuple(self._batch_shape))

    @property
    def param_shape(self) -> Size:
        return Size(self.loc.shape)
