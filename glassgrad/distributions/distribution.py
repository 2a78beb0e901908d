"""The ``Distribution`` base class, as ``torch.distributions.Distribution``: shapes, argument
validation with PyTorch's messages, and ``sample`` as ``rsample`` without the graph."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad import creation
from glassgrad.autograd.grad_mode import no_grad
from glassgrad.distributions import constraints
from glassgrad.dtypes import default_float
from glassgrad.size import Size
from glassgrad.tensor import Tensor

__all__ = ["Distribution"]


class lazy_property:
    """Computed on first access, then stored in the instance's ``__dict__`` (so a parameter
    given as ``logits`` has ``probs`` only once asked for, as in PyTorch)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def broadcast_all(*values: Any) -> tuple[Tensor, ...]:
    """Numbers become tensors (of the first tensor's dtype, else the default), then all
    broadcast together."""
    from glassgrad.ops.shape import broadcast_tensors

    if not all(isinstance(v, (Tensor, int, float)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of Number, torch.Tensor or objects "
            "implementing __torch_function__."
        )
    dtype = next((v._data.dtype for v in values if isinstance(v, Tensor)), default_float())
    ts = [v if isinstance(v, Tensor) else creation.tensor(float(v), dtype=dtype) for v in values]
    return tuple(broadcast_tensors(*ts))


def standard_normal(shape: tuple[int, ...], dtype: Any) -> Tensor:
    return Tensor._make(creation._numpy_rng(None).standard_normal(shape).astype(dtype))


def uniform01(shape: tuple[int, ...], dtype: Any) -> Tensor:
    return Tensor._make(creation._numpy_rng(None).random(shape).astype(dtype))


def standard_gamma(concentration: Tensor) -> Tensor:
    """Gamma(concentration, 1) draws, at least the smallest positive float (as PyTorch)."""
    a = concentration._data
    x = creation._numpy_rng(None).standard_gamma(a).astype(a.dtype)
    return Tensor._make(np.maximum(x, np.finfo(a.dtype).tiny))


def clamp_probs(probs: Tensor) -> Tensor:
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    ps = clamp_probs(probs)
    return ps.log() - (-ps).log1p() if is_binary else ps.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    return logits.sigmoid() if is_binary else logits.softmax(-1)


class BinaryProbsLogits:
    """``probs`` and ``logits`` of a yes/no parameter: whichever was given, the other derived
    on first use (Bernoulli, Binomial, Geometric, NegativeBinomial, LogitRelaxedBernoulli)."""

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)


def xlogy(x: Any, y: Tensor) -> Tensor:
    """x log y with 0 log 0 = 0 (what PyTorch's ``xlogy`` gives at the support's edge)."""
    from glassgrad.ops.comparison import where

    out = x * y.log() if isinstance(x, Tensor) else y.log() * x
    zero = (x == 0) if isinstance(x, Tensor) else Tensor._make(np.asarray(x == 0))
    if not zero._data.any():
        return out
    return where(zero, out.new_zeros(()), out)


_LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))


class Distribution:
    """A batch of probability distributions: ``batch_shape`` independent ones, each over
    values of ``event_shape``."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        if value not in [True, False]:
            raise ValueError
        Distribution._validate_args = value

    def __init__(
        self,
        batch_shape: Any = (),
        event_shape: Any = (),
        validate_args: bool | None = None,
    ) -> None:
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(
                    getattr(type(self), param, None), lazy_property
                ):
                    continue  # the other parametrisation was given
                value = getattr(self, param)
                if not constraint.check(value)._data.all():
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape "
                        f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                        f"constraint {constraint!r}, but found invalid values:\n{value}"
                    )

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        raise NotImplementedError

    @property
    def support(self) -> Any:
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self)} does not implement mean")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self)} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self)} does not implement variance")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Draws of shape ``sample_shape + batch_shape + event_shape``, outside the graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """Reparameterised draws: differentiable with respect to the parameters."""
        raise NotImplementedError

    def sample_n(self, n: int) -> Tensor:
        return self.sample(Size((n,)))

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    def _extended_shape(self, sample_shape: Any = ()) -> Size:
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value: Any) -> None:
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        start = value.ndim - len(self._event_shape)
        if tuple(value.shape[start:]) != tuple(self._event_shape):
            raise ValueError(
                "The right-most size of value must match event_shape: "
                f"{value.size()} vs {self._event_shape}."
            )
        actual, expected = value.size(), self._batch_shape + self._event_shape
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(
                    "Value is not broadcastable with batch_shape+event_shape: "
                    f"{actual} vs {expected}."
                )
        try:
            support = self.support
        except NotImplementedError:
            return
        if not support.check(value)._data.all():
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape "
                f"{tuple(value.shape)}) to be within the support ({support!r}) of the "
                f"distribution {self!r}, but found invalid values:\n{value}"
            )

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(
            f"{p}: {self.__dict__[p] if self.__dict__[p].numel() == 1 else self.__dict__[p].size()}"
            for p in names
        )
        return type(self).__name__ + "(" + args + ")"
