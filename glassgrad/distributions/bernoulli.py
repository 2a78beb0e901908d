"""``Bernoulli(probs=..., logits=...)``: 1 with probability ``probs``."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.distributions import constraints
from glassgrad.distributions.distribution import (
    BinaryProbsLogits,
    Distribution,
    broadcast_all,
)
from glassgrad.nn.functional._pointwise_loss import binary_cross_entropy_with_logits
from glassgrad.ops.shape import broadcast_tensors
from glassgrad.size import Size
from glassgrad.tensor import Tensor

__all__ = ["Bernoulli"]


class Bernoulli(BinaryProbsLogits, Distribution):
    """Coin flips: 1 with probability ``probs`` (or ``sigmoid(logits)``), else 0."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}  # noqa: RUF012
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = probs if probs is not None else logits
        (param,) = broadcast_all(given)
        if probs is not None:
            self.probs = param
        else:
            self.logits = param
        self._param = param
        batch_shape = Size() if not isinstance(given, Tensor) else param.size()
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return mode.masked_fill(self.probs == 0.5, float("nan"))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        from glassgrad import creation

        shape = tuple(self._extended_shape(sample_shape))
        p = np.broadcast_to(self.probs._data, shape)
        u = creation._numpy_rng(None).random(shape)
        return Tensor._make((u < p).astype(self.probs.dtype))

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_tensors(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = Tensor._make(np.arange(2, dtype=self._param.dtype))
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1, *self._batch_shape)) if expand else values
