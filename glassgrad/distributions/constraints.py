"""Constraints, as ``torch.distributions.constraints``: what values a parameter or a sample may
take. ``check(value)`` returns a bool Tensor (one entry per event); distributions validate their
parameters and ``log_prob`` arguments with them unless ``validate_args=False``."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.tensor import Tensor

__all__ = [
    "Constraint",
    "boolean",
    "cat",
    "corr_cholesky",
    "dependent",
    "dependent_property",
    "greater_than",
    "greater_than_eq",
    "half_open_interval",
    "independent",
    "integer_interval",
    "interval",
    "is_dependent",
    "less_than",
    "lower_cholesky",
    "lower_triangular",
    "multinomial",
    "nonnegative",
    "nonnegative_integer",
    "one_hot",
    "positive",
    "positive_definite",
    "positive_integer",
    "positive_semidefinite",
    "real",
    "real_vector",
    "simplex",
    "square",
    "stack",
    "symmetric",
    "unit_interval",
]


def _arr(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _out(mask: Any) -> Tensor:
    return Tensor._make(np.asarray(mask, dtype=bool))


class Constraint:
    """A region of values: ``check(value)`` says, per event, whether ``value`` lies in it."""

    is_discrete = False
    event_dim = 0

    def check(self, value: Any) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__[1:] + "()"


class _Dependent(Constraint):
    """Placeholder for a constraint that depends on other parameters (never checked)."""

    def __init__(self, *, is_discrete: bool = False, event_dim: int = 0) -> None:
        self.is_discrete = is_discrete
        self.event_dim = event_dim

    def __call__(self, *, is_discrete: Any = None, event_dim: Any = None) -> _Dependent:
        return _Dependent(
            is_discrete=self.is_discrete if is_discrete is None else is_discrete,
            event_dim=self.event_dim if event_dim is None else event_dim,
        )

    def check(self, value: Any) -> Tensor:
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint: Any) -> bool:
    return isinstance(constraint, _Dependent)


class dependent_property(property):
    """A property whose value is a constraint depending on the distribution's parameters;
    used bare or as ``@dependent_property(is_discrete=..., event_dim=...)``."""

    def __init__(self, fn: Any = None, *, is_discrete: bool = False, event_dim: int = 0) -> None:
        super().__init__(fn)
        self.is_discrete = is_discrete
        self.event_dim = event_dim

    def __call__(self, fn: Any) -> dependent_property:
        return dependent_property(fn, is_discrete=self.is_discrete, event_dim=self.event_dim)


class _Real(Constraint):
    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out(v == v)


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out((v == 0) | (v == 1))


class _GreaterThan(Constraint):
    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def check(self, value: Any) -> Tensor:
        return _out(_arr(self.lower_bound) < _arr(value))

    def __repr__(self) -> str:
        return f"{type(self).__name__[1:]}(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    def check(self, value: Any) -> Tensor:
        return _out(_arr(self.lower_bound) <= _arr(value))


class _LessThan(Constraint):
    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def check(self, value: Any) -> Tensor:
        return _out(_arr(value) < _arr(self.upper_bound))

    def __repr__(self) -> str:
        return f"{type(self).__name__[1:]}(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out((_arr(self.lower_bound) <= v) & (v <= _arr(self.upper_bound)))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__[1:]}(lower_bound={self.lower_bound}, "
            f"upper_bound={self.upper_bound})"
        )


class _HalfOpenInterval(_Interval):
    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out((_arr(self.lower_bound) <= v) & (v < _arr(self.upper_bound)))


class _IntegerInterval(_Interval):
    is_discrete = True

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out((v % 1 == 0) & (_arr(self.lower_bound) <= v) & (v <= _arr(self.upper_bound)))


class _IntegerGreaterThan(_GreaterThan):
    is_discrete = True

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out((v % 1 == 0) & (v >= _arr(self.lower_bound)))


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out(np.all(v >= 0, axis=-1) & (np.abs(v.sum(-1) - 1) < 1e-6))


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        lower = np.all((np.tril(v) == v).reshape(*v.shape[:-2], -1), axis=-1)
        positive = np.all(np.diagonal(v, axis1=-2, axis2=-1) > 0, axis=-1)
        return _out(lower & positive)


class _PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        symmetric = np.all(
            np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6).reshape(*v.shape[:-2], -1), axis=-1
        )
        if not symmetric.all():
            return _out(symmetric)
        return _out(np.all(np.linalg.eigvalsh(v) > 0, axis=-1))


class _IndependentConstraint(Constraint):
    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int) -> None:
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value: Any) -> Tensor:
        r = self.base_constraint.check(value)._data
        n = self.reinterpreted_batch_ndims
        return _out(r.reshape(*r.shape[: r.ndim - n], -1).all(-1) if n else r)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__[1:]}({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"
        )


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out(np.all((v == 0) | (v == 1), axis=-1) & (v.sum(-1) == 1))


class _Multinomial(Constraint):
    """Nonnegative counts whose sum is at most ``upper_bound`` (PyTorch checks ``<=``)."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out(np.all(v >= 0, axis=-1) & (v.sum(-1) <= self.upper_bound))


class _LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out(np.all((np.tril(v) == v).reshape(*v.shape[:-2], -1), axis=-1))


class _CorrCholesky(Constraint):
    """Lower Cholesky factors of correlation matrices: rows of unit norm."""

    event_dim = 2

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        tol = np.finfo(v.dtype).eps * v.shape[-1] * 10
        unit = np.all(np.abs(np.linalg.norm(v, axis=-1) - 1) <= tol, axis=-1)
        return _out(unit & _LowerCholesky().check(v)._data)


class _Square(Constraint):
    event_dim = 2

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        return _out(np.full(v.shape[:-2], v.shape[-1] == v.shape[-2], dtype=bool))


class _Symmetric(_Square):
    def check(self, value: Any) -> Tensor:
        square = _Square().check(value)._data
        if not square.all():
            return _out(square)
        v = _arr(value)
        close = np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6)
        return _out(np.all(close.reshape(*v.shape[:-2], -1), axis=-1))


class _PositiveSemidefinite(_Symmetric):
    def check(self, value: Any) -> Tensor:
        sym = super().check(value)._data
        if not sym.all():
            return _out(sym)
        return _out(np.all(np.linalg.eigvalsh(_arr(value)) >= 0, axis=-1))


class _Cat(Constraint):
    """``cseq[i]`` on the i-th slice (of ``lengths[i]``) along ``dim``, as ``torch.cat``."""

    def __init__(self, cseq: Any, dim: int = 0, lengths: Any = None) -> None:
        self.cseq = list(cseq)
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.cseq)
        if len(self.lengths) != len(self.cseq):
            raise AssertionError(
                f"lengths ({len(self.lengths)}) must match cseq ({len(self.cseq)})"
            )
        self.dim = dim

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return max(c.event_dim for c in self.cseq)

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        parts, start = [], 0
        for c, n in zip(self.cseq, self.lengths):
            parts.append(c.check(np.take(v, range(start, start + n), axis=self.dim))._data)
            start += n
        return _out(np.concatenate(parts, axis=self.dim))


class _Stack(Constraint):
    """``cseq[i]`` on the i-th slice along ``dim``, as ``torch.stack``."""

    def __init__(self, cseq: Any, dim: int = 0) -> None:
        self.cseq = list(cseq)
        self.dim = dim

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        dim = max(c.event_dim for c in self.cseq)
        return dim + 1 if self.dim + dim < 0 else dim

    def check(self, value: Any) -> Tensor:
        v = _arr(value)
        if not -v.ndim <= self.dim < v.ndim:
            raise AssertionError(f"dim {self.dim} out of range for value with {v.ndim} dimensions")
        parts = [c.check(np.take(v, i, axis=self.dim))._data for i, c in enumerate(self.cseq)]
        return _out(np.stack(parts, axis=self.dim))


dependent = _Dependent()
boolean = _Boolean()
real = _Real()
real_vector = _IndependentConstraint(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
nonnegative_integer = _IntegerGreaterThan(0)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
interval = _Interval
half_open_interval = _HalfOpenInterval
integer_interval = _IntegerInterval
independent = _IndependentConstraint
positive_integer = _IntegerGreaterThan(1)
one_hot = _OneHot()
multinomial = _Multinomial
lower_triangular = _LowerTriangular()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
cat = _Cat
stack = _Stack
