"""``Wishart(df, covariance_matrix | precision_matrix | scale_tril)``: the distribution of
Σᵢ xᵢxᵢᵀ for ``df`` Normal(0, Σ) vectors, as ``torch.distributions.Wishart``; reparameterised
by Bartlett's decomposition (chi-squared diagonal, normal below it)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from glassgrad import creation
from glassgrad.distributions import constraints
from glassgrad.distributions._special import cholesky, digamma
from glassgrad.distributions.distribution import lazy_property, standard_normal
from glassgrad.distributions.exp_family import ExponentialFamily
from glassgrad.distributions.multivariate_normal import _precision_to_scale_tril
from glassgrad.distributions.univariate import Chi2
from glassgrad.ops.shape import broadcast_shapes
from glassgrad.size import Size
from glassgrad.tensor import Tensor

__all__ = ["Wishart"]

_log_2 = math.log(2)


def _mvlgamma(x: Tensor, p: int) -> Tensor:
    from glassgrad.ops.special import mvlgamma

    return mvlgamma(x, p=p)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """Σ_{j<p} ψ(x - j/2), the derivative of the multivariate log-gamma."""
    if not bool((x > (p - 1) / 2).all()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    js = creation.arange(p, dtype=x.dtype) / 2
    return digamma(x.unsqueeze(-1) - js.expand(*x.shape, -1)).sum(-1)


def _diag(m: Tensor) -> Tensor:
    return m.diagonal(dim1=-2, dim2=-1)


class Wishart(ExponentialFamily):
    """Positive-definite matrices: the scatter matrix of ``df`` draws of Normal(0, Σ)."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0  # type: ignore[assignment]

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:  # type: ignore[override]
        return {
            "covariance_matrix": constraints.positive_definite,
            "precision_matrix": constraints.positive_definite,
            "scale_tril": constraints.lower_cholesky,
            "df": constraints.greater_than(self.event_shape[-1] - 1),
        }

    def __init__(
        self,
        df: Any,
        covariance_matrix: Tensor | None = None,
        precision_matrix: Tensor | None = None,
        scale_tril: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        given = [p for p in (covariance_matrix, precision_matrix, scale_tril) if p is not None]
        if len(given) != 1:
            raise AssertionError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        param = given[0]
        if param.dim() < 2:
            raise ValueError(
                "scale_tril must be at least two-dimensional, with optional leading batch "
                "dimensions"
            )
        if isinstance(df, Tensor):
            batch_shape = Size(broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(*batch_shape)
        else:
            batch_shape = Size(param.shape[:-2])
            self.df = creation.tensor(float(df), dtype=param.dtype)
        event_shape = Size(param.shape[-2:])
        p = event_shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        full = (*batch_shape, -1, -1)
        if scale_tril is not None:
            self.scale_tril = param.expand(*full)
        elif covariance_matrix is not None:
            self.covariance_matrix = param.expand(*full)
        else:
            self.precision_matrix = param.expand(*full)
        if bool((self.df < p).any()):
            warnings.warn(
                "Low df values detected. Singular samples are highly likely to occur for "
                "ndim - 1 < df < ndim.",
                stacklevel=2,
            )
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._batch_dims = [-(x + 1) for x in range(len(self._batch_shape))]
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)  # type: ignore[arg-type]
        offsets = creation.arange(p, dtype=param.dtype).expand(*batch_shape, -1)
        self._dist_chi2 = Chi2(df=self.df.unsqueeze(-1) - offsets)

    def _full(self) -> tuple[int, ...]:
        return (*self._batch_shape, *self._event_shape)

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(*self._full())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(*self._full())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        from glassgrad.ops.decompositions import cholesky_solve

        L = self._unbroadcasted_scale_tril
        eye = creation.eye(self._event_shape[-1], dtype=L.dtype)
        return cholesky_solve(eye.expand(*L.shape), L).expand(*self._full())

    @property
    def mean(self) -> Tensor:
        return self.df.view(*self._batch_shape, 1, 1) * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = factor.where(factor > 0, creation.full_like(factor, math.nan))
        return factor.view(*self._batch_shape, 1, 1) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        V = self.covariance_matrix
        d = _diag(V)
        return self.df.view(*self._batch_shape, 1, 1) * (
            V.pow(2) + d.unsqueeze(-1) * d.unsqueeze(-2)
        )

    def _bartlett_sampling(self, sample_shape: Any = ()) -> Tensor:
        p = self._event_shape[-1]
        chi = self._dist_chi2.rsample(sample_shape).sqrt()
        chi = chi.clamp(min=float(np.finfo(chi._data.dtype).eps))
        rows, cols = np.tril_indices(p, -1)
        below = np.zeros((p * (p - 1) // 2, p * p), dtype=chi._data.dtype)
        below[np.arange(len(rows)), rows * p + cols] = 1  # strictly-lower scatter, as a matmul
        shape = (*Size(sample_shape), *self._batch_shape, p * (p - 1) // 2)
        z = standard_normal(shape, chi._data.dtype) @ Tensor._make(below)
        noise = chi.diag_embed() + z.reshape(*shape[:-1], p, p)
        chol = self._unbroadcasted_scale_tril @ noise
        return chol @ chol.mT

    def rsample(self, sample_shape: Any = (), max_try_correction: int | None = None) -> Tensor:
        """Bartlett draws; a singular draw is redrawn (up to ``max_try_correction`` times)."""
        tries = 10 if max_try_correction is None else max_try_correction
        sample = self._bartlett_sampling(sample_shape)
        for _ in range(tries):
            singular = ~self.support.check(sample)._data
            if not singular.any():
                break
            warnings.warn("Singular sample detected.", stacklevel=2)
            fresh = self._bartlett_sampling(sample_shape)
            mask = Tensor._make(singular[..., None, None])
            sample = fresh.where(mask, sample)
        return sample

    def log_prob(self, value: Any) -> Tensor:
        from glassgrad.ops.decompositions import cholesky_solve, linalg_slogdet

        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        return (
            -nu * (p * _log_2 / 2 + _diag(L).log().sum(-1))
            - _mvlgamma(nu / 2, p)
            + (nu - p - 1) / 2 * linalg_slogdet(value).logabsdet
            - _diag(cholesky_solve(value, L)).sum(-1) / 2
        )

    def entropy(self) -> Tensor:
        nu, p = self.df, self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        return (
            (p + 1) * (p * _log_2 / 2 + _diag(L).log().sum(-1))
            + _mvlgamma(nu / 2, p)
            - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p)
            + nu * p / 2
        )
