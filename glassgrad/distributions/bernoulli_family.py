"""Continuous relatives of the Bernoulli: ``LogitRelaxedBernoulli`` and ``RelaxedBernoulli``
(the binary Concrete / Gumbel-sigmoid relaxation at a ``temperature``) and
``ContinuousBernoulli`` (density proportional to p^x (1-p)^(1-x) on [0, 1]), as in PyTorch."""

from __future__ import annotations

import math
from typing import Any

from glassgrad.autograd.grad_mode import no_grad as _no_grad
from glassgrad.creation import ones_like as _ones_like
from glassgrad.creation import zeros_like as _zeros_like
from glassgrad.distributions import constraints
from glassgrad.distributions.distribution import (
    BinaryProbsLogits,
    Distribution,
    broadcast_all,
    clamp_probs,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
    uniform01,
)
from glassgrad.distributions.exp_family import ExponentialFamily
from glassgrad.distributions.more import TransformedDistribution
from glassgrad.distributions.transforms import SigmoidTransform
from glassgrad.nn.functional._pointwise_loss import binary_cross_entropy_with_logits as _bce_logits
from glassgrad.ops.comparison import where as _where
from glassgrad.size import Size
from glassgrad.tensor import Tensor

__all__ = ["ContinuousBernoulli", "LogitRelaxedBernoulli", "RelaxedBernoulli"]


def _one_param(probs: Any, logits: Any) -> tuple[str, Any]:
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    return ("probs", probs) if probs is not None else ("logits", logits)


class LogitRelaxedBernoulli(BinaryProbsLogits, Distribution):
    """The logit of a ``RelaxedBernoulli`` sample: ``(logit U + logit p) / temperature``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}  # noqa: RUF012
    support = constraints.real

    def __init__(
        self,
        temperature: Tensor,
        probs: Any = None,
        logits: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        self.temperature = temperature
        name, value = _one_param(probs, logits)
        (param,) = broadcast_all(value)
        setattr(self, name, param)
        self._param = param
        batch = Size() if not isinstance(value, Tensor) else param.size()
        super().__init__(batch, validate_args=validate_args)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        probs = clamp_probs(self.probs.expand(shape))
        u = clamp_probs(uniform01(shape, probs.dtype))
        return (u.log() - (-u).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value * self.temperature
        return self.temperature.log() + diff - 2 * diff.exp().log1p()


class RelaxedBernoulli(TransformedDistribution):
    """The sigmoid of a ``LogitRelaxedBernoulli``: reparameterised samples in (0, 1) that
    approach Bernoulli(``probs``) draws as ``temperature`` goes to zero."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}  # noqa: RUF012
    support = constraints.unit_interval  # type: ignore[assignment]
    has_rsample = True

    def __init__(
        self,
        temperature: Tensor,
        probs: Any = None,
        logits: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        base = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)

    temperature = property(lambda self: self.base_dist.temperature)
    logits = property(lambda self: self.base_dist.logits)
    probs = property(lambda self: self.base_dist.probs)


class ContinuousBernoulli(ExponentialFamily):
    """Density C(p) p^x (1 - p)^(1 - x) on [0, 1] (Loaiza-Ganem & Cunningham, 2019), with
    Taylor expansions inside ``lims`` where the closed forms lose precision near p = 1/2."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}  # noqa: RUF012
    support = constraints.unit_interval
    _mean_carrier_measure = 0  # type: ignore[assignment]
    has_rsample = True

    def __init__(
        self,
        probs: Any = None,
        logits: Any = None,
        lims: tuple[float, float] = (0.499, 0.501),
        validate_args: bool | None = None,
    ) -> None:
        name, value = _one_param(probs, logits)
        (param,) = broadcast_all(value)
        if name == "probs":
            if validate_args is not None and not bool(
                self.arg_constraints["probs"].check(param).all()
            ):
                raise ValueError("The parameter probs has invalid values")
            param = clamp_probs(param)
        setattr(self, name, param)
        self._param = param
        self._lims = lims
        batch = Size() if not isinstance(value, Tensor) else param.size()
        super().__init__(batch, validate_args=validate_args)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    def _outside_unstable_region(self) -> Tensor:
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self) -> Tensor:
        return _where(
            self._outside_unstable_region(), self.probs, self._lims[0] * _ones_like(self.probs)
        )

    def _cont_bern_log_norm(self) -> Tensor:
        """log C(p), with a Taylor expansion around p = 1/2."""
        cut = self._cut_probs()
        below = _where(cut <= 0.5, cut, _zeros_like(cut))
        above = _where(cut >= 0.5, cut, _ones_like(cut))
        log_norm = ((-cut).log1p() - cut.log()).abs().log() - _where(
            cut <= 0.5, (-2.0 * below).log1p(), (2.0 * above - 1.0).log()
        )
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return _where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self) -> Tensor:
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return _where(self._outside_unstable_region(), mus, taylor)

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    @property
    def variance(self) -> Tensor:
        cut = self._cut_probs()
        var = cut * (cut - 1.0) / (1.0 - 2.0 * cut).pow(2) + 1.0 / ((-cut).log1p() - cut.log()).pow(
            2
        )
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return _where(self._outside_unstable_region(), var, taylor)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        u = uniform01(tuple(self._extended_shape(sample_shape)), self.probs.dtype)
        with _no_grad():
            return self.icdf(u)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.icdf(uniform01(tuple(self._extended_shape(sample_shape)), self.probs.dtype))

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        cut = self._cut_probs()
        cdfs = (cut.pow(value) * (1.0 - cut).pow(1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        unbounded = _where(self._outside_unstable_region(), cdfs, value)
        return _where(
            value <= 0.0,
            _zeros_like(value),
            _where(value >= 1.0, _ones_like(value), unbounded),
        )

    def icdf(self, value: Any) -> Tensor:
        cut = self._cut_probs()
        inv = ((-cut + value * (2.0 * cut - 1.0)).log1p() - (-cut).log1p()) / (
            cut.log() - (-cut).log1p()
        )
        return _where(self._outside_unstable_region(), inv, value)

    def entropy(self) -> Tensor:
        log_probs0 = (-self.probs).log1p()
        log_probs1 = self.probs.log()
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        return (self.logits,)

    def _log_normalizer(self, *natural_params: Any) -> Tensor:
        (x,) = natural_params
        out = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = _where(out, x, (self._lims[0] - 0.5) * _ones_like(x))
        log_norm = cut.expm1().abs().log() - cut.abs().log()
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return _where(out, log_norm, taylor)
