"""Count distributions: ``NegativeBinomial`` (failures before ``total_count`` successes, a
Gamma-Poisson mixture) and ``Multinomial`` (category counts of ``total_count`` draws)."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad import creation
from glassgrad.autograd.grad_mode import no_grad as _no_grad
from glassgrad.distributions import constraints
from glassgrad.distributions._special import lgamma
from glassgrad.distributions.categorical import Categorical
from glassgrad.distributions.distribution import (
    BinaryProbsLogits,
    Distribution,
    broadcast_all,
    lazy_property,
)
from glassgrad.distributions.gamma import Gamma
from glassgrad.distributions.more import Binomial
from glassgrad.nn.functional.activation import logsigmoid as _logsigmoid
from glassgrad.ops.comparison import where as _where
from glassgrad.ops.sampling import poisson as _poisson
from glassgrad.size import Size
from glassgrad.tensor import Tensor

__all__ = ["Multinomial", "NegativeBinomial"]


class NegativeBinomial(BinaryProbsLogits, Distribution):
    """Failures before ``total_count`` successes of Bernoulli trials whose success probability
    is ``1 - probs`` (PyTorch's convention: ``probs`` is the failure probability)."""

    arg_constraints = {  # noqa: RUF012
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(
        self,
        total_count: Any,
        probs: Any = None,
        logits: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
            self._param = self.probs
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
            self._param = self.logits
        super().__init__(self._param.size(), validate_args=validate_args)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / (-self.logits).sigmoid()

    @lazy_property
    def _gamma(self) -> Gamma:
        return Gamma(self.total_count, (-self.logits).exp(), validate_args=False)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with _no_grad():
            return _poisson(self._gamma.sample(sample_shape))

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n = self.total_count
        unnormalized = n * _logsigmoid(-self.logits) + value * _logsigmoid(self.logits)
        normalization = -lgamma(n + value) + lgamma(1.0 + value) + lgamma(n)
        normalization = _where(n + value == 0.0, normalization.new_zeros(()), normalization)
        return unnormalized - normalization


class Multinomial(Distribution):
    """Counts per category of ``total_count`` independent ``Categorical(probs)`` draws."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}  # noqa: RUF012
    total_count: int

    def __init__(
        self,
        total_count: int = 1,
        probs: Any = None,
        logits: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> Any:
        return constraints.multinomial(self.total_count)

    logits = property(lambda self: self._categorical.logits)
    probs = property(lambda self: self._categorical.probs)
    param_shape = property(lambda self: self._categorical.param_shape)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with _no_grad():
            sample_shape = Size(sample_shape)
            draws = self._categorical.sample(Size((self.total_count,)) + sample_shape)._data
            k = self._categorical._num_events
            counts = np.zeros((*draws.shape[1:], k), dtype=self.probs._data.dtype)
            for d in draws:  # one pass per trial keeps memory at one count array
                counts += d[..., None] == np.arange(k)
            return Tensor._make(counts)

    def entropy(self) -> Tensor:
        # lgamma(n + 1) in the default dtype, as PyTorch's torch.tensor(total_count) then lgamma
        n = creation.tensor(float(self.total_count))
        term1 = self.total_count * self._categorical.entropy() - lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = self._binomial.log_prob(support).exp()
        weights = lgamma(support + 1)
        return term1 + (binomial_probs * weights).sum([0, -1])

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = lgamma(value.sum(-1) + 1)
        log_factorial_xs = lgamma(value + 1).sum(-1)
        logits = _where((value == 0) & (logits == -float("inf")), logits.new_zeros(()), logits)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)
