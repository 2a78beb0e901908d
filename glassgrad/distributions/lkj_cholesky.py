"""``LKJCholesky(dim, concentration)``: the LKJ distribution over correlation matrices, on their
lower Cholesky factors, as ``torch.distributions.LKJCholesky``; sampled by the onion method
(Ghosh & Henderson, 2003): each row a Beta-distributed length in a uniform direction."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad import creation
from glassgrad.autograd.grad_mode import no_grad
from glassgrad.distributions import constraints
from glassgrad.distributions._special import lgamma
from glassgrad.distributions.distribution import Distribution, broadcast_all, standard_normal
from glassgrad.distributions.gamma import Beta
from glassgrad.ops.joining import cat
from glassgrad.size import Size
from glassgrad.tensor import Tensor

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """Density proportional to det(L Lᵀ)^(concentration - 1) over Cholesky factors L of
    ``dim`` x ``dim`` correlation matrices (concentration 1: uniform over correlations)."""

    arg_constraints = {"concentration": constraints.positive}  # noqa: RUF012
    support = constraints.corr_cholesky

    def __init__(
        self, dim: int, concentration: Any = 1.0, validate_args: bool | None = None
    ) -> None:
        if dim < 2:
            raise ValueError(
                f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}."
            )
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = creation.arange(self.dim - 1, dtype=self.concentration.dtype)
        offset = cat([offset.new_zeros((1,)), offset])
        self._beta = Beta(offset + 0.5, marginal_conc.unsqueeze(-1) - 0.5 * offset)
        super().__init__(self.concentration.size(), Size((dim, dim)), validate_args)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with no_grad():
            y = self._beta.sample(sample_shape)._data[..., None]
            shape = tuple(self._extended_shape(sample_shape))
            u = np.tril(standard_normal(shape, y.dtype)._data, -1)
            norm = np.linalg.norm(u, axis=-1, keepdims=True)
            u = np.divide(u, norm, out=np.zeros_like(u), where=norm > 0)  # row 0: all zero
            w = np.sqrt(y) * u
            tiny = np.finfo(w.dtype).tiny
            diag = np.sqrt(np.maximum(1 - np.sum(w**2, axis=-1), tiny))
            return Tensor._make(w + diag[..., None] * np.eye(self.dim, dtype=w.dtype))

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = creation.arange(2, self.dim + 1, dtype=self.concentration.dtype)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = lgamma(alpha) * dm1
        # mvlgamma(alpha - 1/2, dm1) = dm1 (dm1 - 1)/4 log(pi) + sum_j lgamma(alpha - 1/2 - j/2)
        js = creation.arange(dm1, dtype=alpha.dtype)
        numerator = lgamma((alpha - 0.5).unsqueeze(-1) - js / 2).sum(-1) + dm1 * (
            dm1 - 1
        ) / 4 * math.log(math.pi)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized - (pi_constant + numerator - denominator)
