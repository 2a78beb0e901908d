"""More of ``torch.distributions``: ``Independent``, ``TransformedDistribution`` (and
``LogNormal`` on it), ``Laplace``, ``Exponential``, ``Cauchy``, ``StudentT``, ``Poisson``,
``Geometric``, ``Binomial``, ``OneHotCategorical``, ``RelaxedOneHotCategorical`` and
``MixtureSameFamily``; densities from glassgrad ops, so differentiable in the parameters."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad.autograd.grad_mode import no_grad as _no_grad
from glassgrad.creation import _numpy_rng
from glassgrad.creation import arange as _arange
from glassgrad.creation import eye as _eye
from glassgrad.creation import full_like as _full_like
from glassgrad.creation import ones_like as _ones_like
from glassgrad.creation import zeros_like as _zeros_like
from glassgrad.distributions import constraints
from glassgrad.distributions._special import digamma, lgamma
from glassgrad.distributions.categorical import Categorical
from glassgrad.distributions.distribution import (
    BinaryProbsLogits,
    Distribution,
    broadcast_all,
    clamp_probs,
    standard_normal,
    uniform01,
    xlogy,
)
from glassgrad.distributions.normal import Normal
from glassgrad.distributions.transforms import ComposeTransform, ExpTransform, Transform
from glassgrad.nn.functional._pointwise_loss import binary_cross_entropy_with_logits as _bce_logits
from glassgrad.nn.functional.norm import one_hot as _one_hot
from glassgrad.ops.comparison import where as _where
from glassgrad.ops.sampling import poisson as _poisson
from glassgrad.size import Size
from glassgrad.tensor import Tensor

__all__ = [
    "Binomial",
    "Cauchy",
    "Exponential",
    "Geometric",
    "Independent",
    "Laplace",
    "LogNormal",
    "MixtureSameFamily",
    "OneHotCategorical",
    "Poisson",
    "RelaxedOneHotCategorical",
    "StudentT",
    "TransformedDistribution",
]


def _sum_rightmost(value: Any, dim: int) -> Any:
    return value.reshape(*value.shape[: value.ndim - dim], -1).sum(-1) if dim > 0 else value


def _shape_of(params: tuple[Any, ...], tensors: tuple[Tensor, ...]) -> Size:
    numbers = all(not isinstance(p, Tensor) for p in params)
    return Size() if numbers else tensors[0].size()


class Independent(Distribution):
    """Reinterpret the rightmost ``reinterpreted_batch_ndims`` batch dims of ``base_distribution``
    as event dims: ``log_prob`` sums over them (a diagonal Gaussian policy's density)."""

    arg_constraints: dict[str, Any] = {}  # noqa: RUF012

    def __init__(
        self,
        base_distribution: Distribution,
        reinterpreted_batch_ndims: int,
        validate_args: bool | None = None,
    ) -> None:
        n = reinterpreted_batch_ndims
        if n > len(base_distribution.batch_shape):
            raise ValueError(
                "Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
                f"actual {n} vs {len(base_distribution.batch_shape)}"
            )
        shape = base_distribution.batch_shape + base_distribution.event_shape
        event_dim = n + len(base_distribution.event_shape)
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        super().__init__(
            shape[: len(shape) - event_dim], shape[len(shape) - event_dim :], validate_args
        )

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def support(self) -> Any:
        s = self.base_dist.support
        n = self.reinterpreted_batch_ndims
        return constraints.independent(s, n) if n else s

    mean = property(lambda self: self.base_dist.mean)  # type: ignore[assignment]
    mode = property(lambda self: self.base_dist.mode)  # type: ignore[assignment]
    variance = property(lambda self: self.base_dist.variance)  # type: ignore[assignment]

    def sample(self, sample_shape: Any = ()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value: Any) -> Tensor:
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


class TransformedDistribution(Distribution):
    """``base_distribution`` pushed through ``transforms`` (applied in order); ``log_prob``
    subtracts each transform's log-Jacobian (the change-of-variables formula)."""

    arg_constraints: dict[str, Any] = {}  # noqa: RUF012

    def __init__(
        self, base_distribution: Distribution, transforms: Any, validate_args: bool | None = None
    ) -> None:
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif not isinstance(transforms, list):
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")
        elif not all(isinstance(t, Transform) for t in transforms):
            raise ValueError("transforms must be a Transform or a list of Transforms")
        self.transforms = list(transforms)
        # PyTorch's shape bookkeeping: the transforms may change the event's shape
        # (StickBreakingTransform adds a coordinate), and reinterpret base batch dims as event dims.
        base_shape = base_distribution.batch_shape + base_distribution.event_shape
        base_event_dim = len(base_distribution.event_shape)
        chain = ComposeTransform(self.transforms)
        if len(base_shape) < chain.domain.event_dim:
            raise ValueError(
                f"base_distribution needs to have shape with size at least "
                f"{chain.domain.event_dim}, but got {base_shape}."
            )
        forward_shape = Size(chain.forward_shape(base_shape))
        reinterpreted = chain.domain.event_dim - base_event_dim
        if reinterpreted > 0:
            base_distribution = Independent(base_distribution, reinterpreted)
        self.base_dist = base_distribution
        change = chain.codomain.event_dim - chain.domain.event_dim
        event_dim = max(chain.codomain.event_dim, base_event_dim + change)
        cut = len(forward_shape) - event_dim
        super().__init__(forward_shape[:cut], forward_shape[cut:], validate_args)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def support(self) -> Any:
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        if len(self.event_shape) > support.event_dim:
            support = constraints.independent(support, len(self.event_shape) - support.event_dim)
        return support

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with _no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
            return x

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self.event_shape)
        lp: Any = 0.0
        y = value
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            lp = lp - _sum_rightmost(t.log_abs_det_jacobian(x, y), event_dim - t.domain.event_dim)
            y = x
        base = self.base_dist.log_prob(y)
        return lp + _sum_rightmost(base, event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value: Any) -> Any:
        sign: Any = 1
        for t in self.transforms:
            sign = sign * t.sign
        return value if isinstance(sign, int) and sign == 1 else sign * (value - 0.5) + 0.5

    def cdf(self, value: Any) -> Tensor:
        for t in reversed(self.transforms):
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value: Any) -> Tensor:
        x = self.base_dist.icdf(self._monotonize_cdf(value))
        for t in self.transforms:
            x = t(x)
        return x


class LogNormal(TransformedDistribution):
    """``exp`` of a Normal(loc, scale) variable."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}  # noqa: RUF012
    support = constraints.positive  # type: ignore[assignment]
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        super().__init__(
            Normal(loc, scale, validate_args=validate_args), ExpTransform(), validate_args
        )

    loc = property(lambda self: self.base_dist.loc)
    scale = property(lambda self: self.base_dist.scale)

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale.square()).exp()

    @property
    def variance(self) -> Tensor:
        s2 = self.scale.pow(2)
        return s2.expm1() * (2 * self.loc + s2).exp()

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() + self.loc


class Laplace(Distribution):
    """The Laplace (double exponential) distribution: density ``exp(-|x - loc| / scale) / (2
    scale)``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}  # noqa: RUF012
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(_shape_of((loc, scale), (self.loc,)), validate_args=validate_args)

    mean = property(lambda self: self.loc)  # type: ignore[assignment]
    mode = property(lambda self: self.loc)  # type: ignore[assignment]
    variance = property(lambda self: 2 * self.scale.pow(2))  # type: ignore[assignment]
    stddev = property(lambda self: (2**0.5) * self.scale)  # type: ignore[assignment]

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        eps = float(np.finfo(self.loc.dtype).eps)
        u = uniform01(shape, self.loc.dtype) * 2 - 1 + eps
        u = u.clamp(max=1 - eps)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value: Any) -> Tensor:
        d = value - self.loc
        return 0.5 - 0.5 * d.sign() * (-d.abs() / self.scale).expm1()

    def icdf(self, value: Any) -> Tensor:
        t = value - 0.5
        return self.loc - self.scale * t.sign() * (-2 * t.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()


class Exponential(Distribution):
    """Waiting times with ``rate``: density ``rate * exp(-rate * x)`` on ``x >= 0``."""

    arg_constraints = {"rate": constraints.positive}  # noqa: RUF012
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(_shape_of((rate,), (self.rate,)), validate_args=validate_args)

    mean = property(lambda self: self.rate.reciprocal())  # type: ignore[assignment]
    mode = property(lambda self: _zeros_like(self.rate))  # type: ignore[assignment]
    stddev = property(lambda self: self.rate.reciprocal())  # type: ignore[assignment]
    variance = property(lambda self: self.rate.pow(-2))  # type: ignore[assignment]

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        u = uniform01(tuple(self._extended_shape(sample_shape)), self.rate.dtype)
        return -(-u).log1p() / self.rate

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value: Any) -> Tensor:
        return 1 - (-self.rate * value).exp()

    def icdf(self, value: Any) -> Tensor:
        return -(-value).log1p() / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()


class Cauchy(Distribution):
    """The Cauchy (Lorentz) distribution: no mean, no variance."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}  # noqa: RUF012
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(_shape_of((loc, scale), (self.loc,)), validate_args=validate_args)

    mean = property(lambda self: _full_like(self.loc, math.nan))  # type: ignore[assignment]
    mode = property(lambda self: self.loc)  # type: ignore[assignment]
    variance = property(lambda self: _full_like(self.loc, math.inf))  # type: ignore[assignment]

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        u = uniform01(tuple(self._extended_shape(sample_shape)), self.loc.dtype)
        return self.loc + self.scale * (math.pi * (u - 0.5)).tan()

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - z.pow(2).log1p()

    def cdf(self, value: Any) -> Tensor:
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Any) -> Tensor:
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, shifted by ``loc`` and scaled by ``scale``."""

    arg_constraints = {  # noqa: RUF012
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(
        self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None
    ) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        tensors = [t for t in (df, loc, scale) if isinstance(t, Tensor)]
        super().__init__(self.df.size() if tensors else Size(), validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return _where(self.df > 1, self.loc, _full_like(self.loc, math.nan))

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        m = self.scale.pow(2) * self.df / (self.df - 2)
        m = _where(self.df > 2, m, _full_like(m, math.inf))
        return _where(self.df > 1, m, _full_like(m, math.nan))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        x = standard_normal(shape, self.df.dtype)
        half_df = (0.5 * self.df).expand(shape)
        from glassgrad.distributions.gamma import Gamma

        z = 2 * Gamma(half_df, _ones_like(half_df)).rsample()
        return self.loc + self.scale * x * (z / self.df).rsqrt()

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        z = (
            self.scale.log()
            + 0.5 * self.df.log()
            + 0.5 * math.log(math.pi)
            + lgamma(0.5 * self.df)
            - lgamma(0.5 * (self.df + 1.0))
        )
        return -0.5 * (self.df + 1.0) * (y.pow(2) / self.df).log1p() - z

    def entropy(self) -> Tensor:
        lbeta = lgamma(0.5 * self.df) + math.lgamma(0.5) - lgamma(0.5 * (self.df + 1))
        return (
            self.scale.log()
            + 0.5 * (self.df + 1) * (digamma(0.5 * (self.df + 1)) - digamma(0.5 * self.df))
            + 0.5 * self.df.log()
            + lbeta
        )


class Poisson(Distribution):
    """Counts with mean ``rate``."""

    arg_constraints = {"rate": constraints.nonnegative}  # noqa: RUF012
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(_shape_of((rate,), (self.rate,)), validate_args=validate_args)

    mean = property(lambda self: self.rate)  # type: ignore[assignment]
    mode = property(lambda self: self.rate.floor())  # type: ignore[assignment]
    variance = property(lambda self: self.rate)  # type: ignore[assignment]

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with _no_grad():
            return _poisson(self.rate.expand(tuple(self._extended_shape(sample_shape))))

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return xlogy(value, rate) - rate - lgamma(value + 1)


class Geometric(BinaryProbsLogits, Distribution):
    """The number of failures before the first success of Bernoulli(``probs``) trials."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}  # noqa: RUF012
    support = constraints.nonnegative_integer

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        param = probs if probs is not None else logits
        t = self.probs if probs is not None else self.logits
        super().__init__(_shape_of((param,), (t,)), validate_args=validate_args)

    mean = property(lambda self: self.probs.reciprocal() - 1)  # type: ignore[assignment]
    mode = property(lambda self: _zeros_like(self.probs))  # type: ignore[assignment]
    variance = property(lambda self: (self.probs.reciprocal() - 1) / self.probs)  # type: ignore[assignment]

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with _no_grad():
            tiny = float(np.finfo(self.probs.dtype).tiny)
            u = uniform01(tuple(self._extended_shape(sample_shape)), self.probs.dtype)
            return (u.clamp(min=tiny).log() / (-self.probs).log1p()).floor()

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        probs = _where((probs == 1) & (value == 0), _zeros_like(probs), probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        return _bce_logits(self.logits, self.probs, reduction="none") / self.probs


class Binomial(BinaryProbsLogits, Distribution):
    """Successes in ``total_count`` Bernoulli(``probs``) trials."""

    arg_constraints = {  # noqa: RUF012
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(
        self,
        total_count: Any = 1,
        probs: Any = None,
        logits: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
            t = self.probs
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
            t = self.logits
        super().__init__(t.size(), validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> Any:
        return constraints.integer_interval(0, self.total_count)

    mean = property(lambda self: self.total_count * self.probs)  # type: ignore[assignment]
    variance = property(lambda self: self.total_count * self.probs * (1 - self.probs))  # type: ignore[assignment]

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with _no_grad():
            shape = tuple(self._extended_shape(sample_shape))
            n = self.total_count.expand(shape)._data
            p = self.probs.expand(shape)._data
            rng = _numpy_rng(None)
            return Tensor._make(rng.binomial(n.astype(np.int64), p).astype(p.dtype))

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n, k = self.total_count, value
        normalize = (
            n * self.logits.clamp(min=0) + n * (-self.logits.abs()).exp().log1p() - lgamma(n + 1)
        )
        return k * self.logits - lgamma(k + 1) - lgamma(n - k + 1) - normalize

    def entropy(self) -> Tensor:
        n = int(self.total_count.max())
        if not bool((self.total_count == n).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        values = self.enumerate_support(False)
        lp = self.log_prob(values)
        return -(lp.exp() * lp).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = int(self.total_count.max())
        if not bool((self.total_count == n).all()):
            raise NotImplementedError(
                "Inhomogeneous total count not supported by `enumerate_support`."
            )
        values = _arange(1 + n, dtype=self.probs.dtype).view((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1, *self.batch_shape)) if expand else values


class OneHotCategorical(Distribution):
    """A ``Categorical`` whose samples are one-hot vectors (event shape ``(K,)``)."""

    arg_constraints = {  # noqa: RUF012
        "probs": constraints.simplex,
        "logits": constraints.independent(constraints.real, 1),
    }
    has_enumerate_support = True

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        self._categorical = Categorical(probs, logits)
        super().__init__(
            self._categorical.batch_shape,
            self._categorical._param.size()[-1:],
            validate_args=validate_args,
        )

    support = constraints.one_hot
    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)
    mean = property(lambda self: self._categorical.probs)  # type: ignore[assignment]
    variance = property(lambda self: self.probs * (1 - self.probs))  # type: ignore[assignment]

    @property
    def mode(self) -> Tensor:
        probs = self._categorical.probs
        return _one_hot(probs.argmax(-1), probs.shape[-1]).to(probs.dtype)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        probs = self._categorical.probs
        idx = self._categorical.sample(sample_shape)
        return _one_hot(idx, probs.shape[-1]).to(probs.dtype)

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.max(-1)[1])

    def entropy(self) -> Tensor:
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = self.event_shape[0]
        values = _eye(n, dtype=self._categorical._param.dtype)
        values = values.view((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n, *self.batch_shape, n)) if expand else values


class RelaxedOneHotCategorical(Distribution):
    """The Gumbel-softmax (Concrete) relaxation of ``OneHotCategorical`` at ``temperature``:
    reparameterised samples on the simplex."""

    arg_constraints = {  # noqa: RUF012
        "probs": constraints.simplex,
        "logits": constraints.independent(constraints.real, 1),
    }
    support = constraints.simplex
    has_rsample = True

    def __init__(
        self,
        temperature: Any,
        probs: Any = None,
        logits: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        self._categorical = Categorical(probs, logits)
        self.temperature = temperature
        super().__init__(
            self._categorical.batch_shape,
            self._categorical._param.size()[-1:],
            validate_args=validate_args,
        )

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        u = clamp_probs(uniform01(shape, self.logits.dtype))
        gumbels = -((-u.log()).log())
        scores = (self.logits + gumbels) / self.temperature
        return (scores - scores.logsumexp(-1, keepdim=True)).exp()

    def log_prob(self, value: Any) -> Tensor:
        x = clamp_probs(value).log()  # the ExpRelaxedCategorical density at log(value), then
        k = self._categorical._num_events  # the log-Jacobian of exp
        t = self.temperature
        t_log = t.log() if isinstance(t, Tensor) else math.log(t)
        log_scale = math.lgamma(k) - t_log * -(k - 1)
        score = self.logits - x * t
        score = (score - score.logsumexp(-1, keepdim=True)).sum(-1)
        return score + log_scale - x.sum(-1)


class MixtureSameFamily(Distribution):
    """A mixture of ``component_distribution``'s batch (rightmost batch dim) weighted by the
    ``Categorical`` ``mixture_distribution``: a mixture density network's output."""

    arg_constraints: dict[str, Any] = {}  # noqa: RUF012
    has_rsample = False

    def __init__(
        self,
        mixture_distribution: Categorical,
        component_distribution: Distribution,
        validate_args: bool | None = None,
    ) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(
                "The Mixture distribution needs to be an instance of "
                "torch.distributions.Categorical"
            )
        mb, cb = mixture_distribution.batch_shape, component_distribution.batch_shape
        if len(cb) < 1 or tuple(mb) != tuple(cb[:-1]) or mixture_distribution._num_events != cb[-1]:
            raise ValueError(
                "`mixture_distribution.batch_shape` and `component_distribution.batch_shape[:-1]` "
                f"must agree, and the components count match: got {tuple(mb)} with "
                f"{mixture_distribution._num_events} components and {tuple(cb)}"
            )
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cb[:-1], component_distribution.event_shape, validate_args)

    mixture_distribution = property(lambda self: self._mixture_distribution)
    component_distribution = property(lambda self: self._component_distribution)

    @property
    def support(self) -> Any:
        return self._component_distribution.support

    def _pad(self, x: Any) -> Any:
        return x.unsqueeze(-1 - self._event_ndims)

    def _weights(self) -> Tensor:
        p = self._mixture_distribution.probs
        return p.reshape(*p.shape, *([1] * self._event_ndims))

    @property
    def mean(self) -> Tensor:
        return (self._weights() * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        w, d = self._weights(), -1 - self._event_ndims
        comp = self._component_distribution
        mean_cond_var = (w * comp.variance).sum(d)
        var_cond_mean = (w * (comp.mean - self._pad(self.mean)).pow(2)).sum(d)
        return mean_cond_var + var_cond_mean

    def log_prob(self, value: Any) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        lp_x = self._component_distribution.log_prob(self._pad(value))
        mix = self._mixture_distribution.logits.log_softmax(-1)
        return (lp_x + mix).logsumexp(-1)

    def cdf(self, value: Any) -> Tensor:
        cdf_x = self._component_distribution.cdf(self._pad(value))
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with _no_grad():
            sample_shape = tuple(sample_shape)
            idx = self._mixture_distribution.sample(sample_shape)
            comps = self._component_distribution.sample(sample_shape)
            es = tuple(self.event_shape)
            idx = idx.reshape(*idx.shape, 1, *([1] * len(es)))
            idx = idx.expand(*idx.shape[: -1 - len(es)], 1, *es)
            return comps.gather(len(sample_shape) + len(self.batch_shape), idx).squeeze(
                len(sample_shape) + len(self.batch_shape)
            )
