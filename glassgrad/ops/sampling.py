"""Sampling from distributions given by tensors: ``multinomial``, ``bernoulli``, ``normal``,
``poisson``, and the in-place fills ``t.normal_``, ``t.uniform_``, ``t.bernoulli_``,
``t.exponential_``, ``t.geometric_``, ``t.cauchy_``, ``t.log_normal_``, ``t.random_``.

Every one draws from ``generator=`` (a ``glassgrad.Generator``) or from the default generator
that ``glassgrad.manual_seed`` seeds (``glassgrad/creation.py``). The values follow PyTorch's
distributions, not its random streams. No gradient flows through a draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.creation import _numpy_rng
from glassgrad.ops._common import Tensor, as_tensor
from glassgrad.ops.inplace import _bump, _check_leaf
from glassgrad.ops.registry import fast_inplace, op


def _array(v: Any) -> Any:
    return v._data if isinstance(v, Tensor) else v


def _probabilities(op: str, p: Any) -> np.ndarray:
    a = np.asarray(_array(p))
    if np.any(~((a >= 0) & (a <= 1))):
        raise RuntimeError(f"{op}: expected every probability p to be in [0, 1]")
    return a


@op(differentiable=False)
def multinomial(
    input: Any, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """Indices drawn from the categories of each row, weighted by ``input`` (1-d or 2-d,
    non-negative, unnormalized). Without replacement a category is drawn at most once."""
    x = as_tensor(input)
    a = x._data
    if a.dtype.kind != "f":
        raise RuntimeError(
            "multinomial only supports floating-point dtypes for input, got: "
            f"{dtypes.name(a.dtype)}"
        )
    if a.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    k, n = int(num_samples), a.shape[-1]
    if k <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and k > n:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    rows = a.reshape(-1, n).astype(np.float64)
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    total = rows.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = _numpy_rng(generator)
    if replacement:
        cdf = np.cumsum(rows / total, axis=1)
        u = rng.random((rows.shape[0], k)) * cdf[:, -1:]
        out = np.stack([np.searchsorted(c, v, side="right") for c, v in zip(cdf, u)])
        out = np.minimum(out, n - 1)
    else:  # exponential race: category i finishes at E_i / p_i; the first k to finish win
        with np.errstate(divide="ignore"):
            keys = rng.standard_exponential(rows.shape) / rows
        ties = rng.random(rows.shape)  # zero-probability categories come last, in random order
        out = np.lexsort((ties, keys), axis=-1)[:, :k]
    return Tensor._make(out.reshape(*a.shape[:-1], k).astype(np.int64))


@op(differentiable=False)
def bernoulli(input: Any, p: Any = None, *, generator: Any = None) -> Tensor:
    """1 with probability ``input`` (or ``p``, for every element of input's shape), else 0; in
    input's dtype."""
    x = as_tensor(input)
    probs = _probabilities("bernoulli", x._data if p is None else p)
    draw = _numpy_rng(generator).random(x.shape)
    dtype = x._data.dtype if x._data.dtype.kind == "f" else dtypes.default_float()
    return Tensor._make((draw < probs).astype(dtype))


@op(method=False, differentiable=False)
def normal(
    mean: Any,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """Samples of N(mean, std**2): ``mean`` and ``std`` tensors (broadcast together) or numbers;
    with two numbers, ``size`` gives the shape."""
    m, s = _array(mean), _array(std)
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError(
                "normal() received an invalid combination of arguments: with a float mean and a "
                "float std, pass size= (normal(mean, std, size))"
            )
        shape = tuple(int(v) for v in (size if isinstance(size, (tuple, list)) else (size,)))
        d = dtypes.as_dtype(dtype)
    else:
        shape = np.broadcast_shapes(*(np.shape(v) for v in (m, s)))
        floats = [t._data.dtype for t in tensors if t._data.dtype.kind == "f"]
        if dtype is None and not floats:
            raise RuntimeError('"normal" not implemented for integer mean and std tensors')
        d = dtypes.as_dtype(dtype) if dtype is not None else floats[0]
    if np.any(np.asarray(s) < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {np.min(s)}")
    z = _numpy_rng(generator).standard_normal(shape)
    out = Tensor._make(np.asarray(m + s * z, d))
    if requires_grad:
        out.requires_grad_(True)
    return out


@op(method=False, differentiable=False)
def poisson(input: Any, generator: Any = None) -> Tensor:
    """Poisson counts with the rates in ``input``, in input's dtype."""
    x = as_tensor(input)
    if np.any(x._data < 0) or not np.all(np.isfinite(x._data)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return Tensor._make(_numpy_rng(generator).poisson(x._data).astype(x._data.dtype))


# ---- in-place fills ------------------------------------------------------------------------------


def _fill(self: Tensor, op: str, values: Any) -> Tensor:
    """Write a draw into ``self``: the values no longer depend on anything (history cut)."""
    from glassgrad.ops._common import state

    _check_leaf(self, op)
    np.copyto(self._data, values, casting="unsafe")
    if state.grad_enabled and self.grad_fn is not None:
        self.grad_fn, self.requires_grad = None, False
    return _bump(self)


def _float_only(self: Tensor, op: str) -> None:
    if self._data.dtype.kind != "f":
        raise RuntimeError(f'"{op}" not implemented for {dtypes.name(self._data.dtype)}')


@fast_inplace("normal_")
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with samples of N(mean, std**2)."""
    _float_only(self, "normal_")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    z = _numpy_rng(generator).standard_normal(self.shape)
    return _fill(self, "normal_", mean + std * z)


@fast_inplace("uniform_")
def uniform_(
    self: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None, **kw: Any
) -> Tensor:
    """Fill with samples uniform on [a, b) (PyTorch's keywords ``from``/``to`` work too)."""
    _float_only(self, "uniform_")
    a, b = kw.pop("from", a), kw.pop("to", b)
    if kw:
        raise TypeError(f"uniform_() got an unexpected keyword argument {next(iter(kw))!r}")
    if a > b:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}"
        )
    return _fill(self, "uniform_", _numpy_rng(generator).uniform(a, b, self.shape))


@fast_inplace("bernoulli_")
def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Fill with 1 (probability ``p``, a number or a tensor broadcast to this shape) or 0."""
    probs = _probabilities("bernoulli_", p)
    draw = _numpy_rng(generator).random(self.shape) < probs
    return _fill(self, "bernoulli_", draw)


@fast_inplace("exponential_")
def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with samples of the exponential distribution of rate ``lambd``."""
    _float_only(self, "exponential_")
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    draw = _numpy_rng(generator).standard_exponential(self.shape) / lambd
    return _fill(self, "exponential_", draw)


@fast_inplace("geometric_")
def geometric_(self: Tensor, p: float, *, generator: Any = None) -> Tensor:
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _fill(self, "geometric_", _numpy_rng(generator).geometric(p, self.shape))


@fast_inplace("cauchy_")
def cauchy_(
    self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None
) -> Tensor:
    """Fill with samples of the Cauchy distribution."""
    _float_only(self, "cauchy_")
    draw = median + sigma * _numpy_rng(generator).standard_cauchy(self.shape)
    return _fill(self, "cauchy_", draw)


@fast_inplace("log_normal_")
def log_normal_(
    self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Any = None
) -> Tensor:
    """Fill with exp of samples of N(mean, std**2)."""
    _float_only(self, "log_normal_")
    return _fill(self, "log_normal_", _numpy_rng(generator).lognormal(mean, std, self.shape))


def _random_bound(dtype: np.dtype) -> int:
    """``random_()``'s exclusive upper bound: every integer the dtype holds exactly."""
    if dtype.kind == "f":
        return 2 ** (np.finfo(dtype).nmant + 1) + 1
    if dtype.kind == "b":
        return 2
    return int(np.iinfo(dtype).max) + 1


@fast_inplace("random_")
def random_(self: Tensor, *args: Any, generator: Any = None, **kw: Any) -> Tensor:
    """Fill with integers: ``random_()`` (every integer the dtype holds exactly),
    ``random_(to)`` in [0, to), ``random_(from, to)`` in [from, to)."""
    low, high = 0, None
    if len(args) == 1:
        high = args[0]
    elif len(args) == 2:
        low, high = args
    low, high = kw.pop("from", low), kw.pop("to", high)
    if high is None:
        high = _random_bound(self._data.dtype)
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    draw = _numpy_rng(generator).integers(int(low), int(high), self.shape)
    return _fill(self, "random_", draw)
