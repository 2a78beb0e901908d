"""``Gamma(concentration, rate)``, ``Beta(concentration1, concentration0)`` and
``Dirichlet(concentration)``: densities, entropies and moments through the differentiable
``lgamma``/``digamma`` of ``_special``.

Sampling draws from NumPy's gamma sampler; ``rsample`` is differentiable as in PyTorch, by
implicit reparameterisation (d sample / d concentration = -(dF/dconcentration) / density, see
``_implicit``): Gamma through ``_standard_gamma``, Dirichlet through its Beta marginals, Beta as
the first coordinate of a two-category Dirichlet draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.autograd.grad_mode import no_grad
from glassgrad.distributions import constraints
from glassgrad.distributions._implicit import rsample_dirichlet, rsample_standard_gamma
from glassgrad.distributions._special import digamma, lgamma
from glassgrad.distributions.distribution import (
    Distribution,
    broadcast_all,
    standard_gamma,
    xlogy,
)
from glassgrad.ops.joining import stack
from glassgrad.size import Size
from glassgrad.tensor import Tensor

__all__ = ["Beta", "Dirichlet", "Gamma"]


class Gamma(Distribution):
    """Density x^(a-1) e^(-rate x) rate^a / Gamma(a) on x >= 0 (a = ``concentration``)."""

    arg_constraints = {  # noqa: RUF012
        "concentration": constraints.positive,
        "rate": constraints.positive,
    }
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        numbers = not isinstance(concentration, Tensor) and not isinstance(rate, Tensor)
        batch_shape = Size() if numbers else self.concentration.size()
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            a = Tensor._make(np.broadcast_to(self.concentration._data, shape))
            value = standard_gamma(a) / self.rate.detach()
        return Tensor._make(np.maximum(value._data, np.finfo(value.dtype).tiny))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """Draws differentiable in ``concentration`` (implicitly) and ``rate``."""
        shape = tuple(self._extended_shape(sample_shape))
        a, rate = self.concentration.expand(shape), self.rate.expand(shape)
        value = rsample_standard_gamma(a) / rate
        np.maximum(value._data, np.finfo(value.dtype).tiny, out=value._data)
        return value

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, rate = self.concentration, self.rate
        return xlogy(a, rate) + xlogy(a - 1, value) - rate * value - lgamma(a)

    def cdf(self, value: Any) -> Tensor:
        raise NotImplementedError("Gamma.cdf needs the regularised incomplete gamma function")

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - self.rate.log() + lgamma(a) + (1.0 - a) * digamma(a)


class Dirichlet(Distribution):
    """Distributions over the probability simplex, density prod x_i^(a_i - 1) / B(a)."""

    arg_constraints = {  # noqa: RUF012
        "concentration": constraints.independent(constraints.positive, 1)
    }
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = concentration.size()
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        a = Tensor._make(np.broadcast_to(self.concentration._data, shape))
        g = standard_gamma(a)._data
        x = g / g.sum(-1, keepdims=True)
        return Tensor._make(np.clip(x, np.finfo(x.dtype).tiny, 1 - np.finfo(x.dtype).eps))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """Draws on the simplex, differentiable in ``concentration`` (implicitly)."""
        shape = tuple(self._extended_shape(sample_shape))
        return rsample_dirichlet(self.concentration.expand(shape))

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return xlogy(a - 1.0, value).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        a = (self.concentration - 1).clamp(min=0.0)
        return a / a.sum(-1, keepdim=True)

    @property
    def variance(self) -> Tensor:
        a0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (a0 - self.concentration) / (a0.pow(2) * (a0 + 1))

    def entropy(self) -> Tensor:
        a = self.concentration
        k = a.size(-1)
        a0 = a.sum(-1)
        return (
            lgamma(a).sum(-1)
            - lgamma(a0)
            - (k - a0) * digamma(a0)
            - ((a - 1.0) * digamma(a)).sum(-1)
        )


class Beta(Distribution):
    """On (0, 1): density x^(a-1) (1-x)^(b-1) / B(a, b), a = ``concentration1``,
    b = ``concentration0`` (a two-category Dirichlet, as PyTorch builds it)."""

    arg_constraints = {  # noqa: RUF012
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True

    def __init__(
        self, concentration1: Any, concentration0: Any, validate_args: bool | None = None
    ) -> None:
        numbers = not isinstance(concentration1, Tensor) and not isinstance(concentration0, Tensor)
        c1, c0 = broadcast_all(concentration1, concentration0)
        self._dirichlet = Dirichlet(stack([c1, c0], -1), validate_args=validate_args)
        self._c1, self._c0 = c1, c0
        super().__init__(
            Size() if numbers else self._dirichlet._batch_shape, validate_args=validate_args
        )

    @property
    def concentration1(self) -> Tensor:
        return self._c1

    @property
    def concentration0(self) -> Tensor:
        return self._c0

    @property
    def mean(self) -> Tensor:
        return self._c1 / (self._c1 + self._c0)

    @property
    def mode(self) -> Tensor:
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self) -> Tensor:
        total = self._c1 + self._c0
        return self._c1 * self._c0 / (total.pow(2) * (total + 1))

    def sample(self, sample_shape: Any = ()) -> Tensor:
        return self._dirichlet.sample(sample_shape)[..., 0]

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """Draws differentiable in both concentrations (through the Dirichlet's)."""
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        heads_tails = stack([value, 1.0 - value], -1)
        return self._dirichlet.log_prob(heads_tails)

    def entropy(self) -> Tensor:
        return self._dirichlet.entropy()
