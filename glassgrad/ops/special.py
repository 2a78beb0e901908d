"""Special functions (``torch.lgamma``, ``torch.special.*``): each forward beside its derivative.

NumPy has none of these (and scipy is not a dependency), so the values are computed here:

- ``lgamma``: ``math.lgamma`` element by element (exact to the last bit; a Python loop, fast
  enough for parameter-sized arrays); poles give +inf as in PyTorch.
- ``digamma``: the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic
  series; reflection psi(x) = psi(1 - x) - pi / tan(pi x) below 1/2. About 1e-15 relative.
- ``polygamma(n, x)``, n >= 1: (-1)^(n+1) n! zeta(n + 1, x), the Hurwitz zeta by direct sum up
  to x + N >= 10 and Euler-Maclaurin tail.
- ``erfinv``, ``ndtri``: Giles' approximation refined by Newton steps on ``erf``/``erfc``.
- ``i0``: NumPy's ``i0``; ``special.i1``: its power series, or the asymptotic expansion above 30.

The rules are written with NumPy functions so that they also run on Tensors: lgamma' = digamma,
digamma' = polygamma(1), polygamma(n)' = polygamma(n + 1), i0' = i1, to any order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.ops._common import Node, Tensor, as_tensor, to_default_float
from glassgrad.ops._erf import _erfc_scaled
from glassgrad.ops._erf import erf as _erf_np
from glassgrad.ops._erf import erfc as _erfc_np
from glassgrad.ops.elementwise import _floating, _unary, round_half_even, sigmoid
from glassgrad.ops.registry import SPECIAL, TORCH, fast_inplace, op

_SQRT_PI = math.sqrt(math.pi)
_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _as_float64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _like(out: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``out`` (float64) in ``a``'s float dtype, or the default float for integer ``a``."""
    return out.astype(a.dtype if a.dtype.kind == "f" else dtypes.default_float(), copy=False)


# ---- lgamma, digamma, polygamma -----------------------------------------------------------------


def _lgamma_scalar(v: float) -> float:
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):  # the poles 0, -1, -2, ...
        return math.inf


_lgamma_vec = np.frompyfunc(_lgamma_scalar, 1, 1)


def lgamma_np(x: np.ndarray) -> np.ndarray:
    """log|Gamma(x)| of an array, elementwise."""
    a = np.asarray(x)
    out = np.asarray(_lgamma_vec(_as_float64(a)), dtype=np.float64)
    return _like(out, a)


# B_2k / (2k) for the digamma series: psi(y) ~ ln y - 1/(2y) - sum B_2k / (2k y^2k)
_DIGAMMA_C = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def digamma_np(x: np.ndarray) -> np.ndarray:
    """psi(x) of an array, elementwise."""
    a = np.asarray(x)
    v = _as_float64(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        reflect = v < 0.5
        y = np.where(reflect, 1.0 - v, v)
        acc = np.zeros_like(y)
        for _ in range(10):  # y >= 0.5, so ten steps reach y >= 10
            small = y < 10.0
            acc -= np.where(small, 1.0 / y, 0.0)
            y = np.where(small, y + 1.0, y)
        y2 = 1.0 / (y * y)
        series = np.zeros_like(y)
        for c in reversed(_DIGAMMA_C):
            series = (series + c) * y2
        out = acc + np.log(y) - 0.5 / y - series
        out = np.where(reflect, out - math.pi / np.tan(math.pi * v), out)
        out = np.where(v == 0, -np.inf, out)  # PyTorch: digamma(0) = -inf
        out = np.where((v < 0) & (v == np.floor(v)), np.nan, out)
    return _like(out, a)


# B_2j / (2j)! for Euler-Maclaurin
_BERN = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
_EM = tuple(b / math.factorial(2 * (j + 1)) for j, b in enumerate(_BERN))


def polygamma_np(n: int, x: np.ndarray) -> np.ndarray:
    """psi^(n)(x) of an array, n >= 1."""
    a = np.asarray(x)
    v = _as_float64(a)
    s = n + 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y = v.copy()
        total = np.zeros_like(y)
        finite = v[np.isfinite(v)]
        lowest = float(np.min(finite)) if finite.size else 10.0
        steps = max(0, math.ceil(10.0 - lowest))
        for _ in range(steps):
            small = y < 10.0
            total += np.where(small, y**-s, 0.0)
            y = np.where(small, y + 1.0, y)
        tail = y ** (1 - s) / (s - 1) + 0.5 * y**-s
        rising = float(s)  # s (s+1) ... (s + 2j - 2)
        power = y ** (-s - 1)
        y2 = 1.0 / (y * y)
        for j, c in enumerate(_EM):
            tail = tail + c * rising * power
            rising *= (s + 2 * j + 1) * (s + 2 * j + 2)
            power = power * y2
        out = (-1.0) ** (n + 1) * math.factorial(n) * (total + tail)
        out = np.where((v <= 0) & (v == np.floor(v)), np.nan if n % 2 == 0 else np.inf, out)
    return _like(out, a)


class Lgamma(Node):
    """log|Gamma(x)|; d/dx = digamma(x)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return lgamma_np(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * (Digamma.apply(x) if isinstance(x, Tensor) else digamma_np(x))


class Digamma(Node):
    """psi(x) = d/dx lgamma(x); d/dx = polygamma(1, x)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return digamma_np(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * (Polygamma.apply(x, 1) if isinstance(x, Tensor) else polygamma_np(1, x))


class Polygamma(Node):
    """The n-th derivative of digamma; d/dx = polygamma(n + 1, x)."""

    __slots__ = ("n",)

    @staticmethod
    def forward(ctx: Any, x: Any, n: int) -> Any:
        ctx.save_for_backward(x)
        ctx.n = n
        return digamma_np(x) if n == 0 else polygamma_np(n, x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        n = ctx.n + 1
        return g * (Polygamma.apply(x, n) if isinstance(x, Tensor) else polygamma_np(n, x)), None


@op(inplace=True, namespaces=(TORCH,))
def lgamma(input: Any) -> Tensor:
    """log|Gamma(x)|; its derivative is digamma."""
    return Lgamma.apply(to_default_float(as_tensor(input, "lgamma")))


@op(inplace=True, namespaces=(TORCH, SPECIAL))
def digamma(input: Any) -> Tensor:
    """psi(x), the derivative of lgamma (-inf at 0, NaN at the negative integers)."""
    return Digamma.apply(to_default_float(as_tensor(input, "digamma")))


def _order(op: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{op}(): n must be an int, got {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"{op}(): polygamma(n, x) does not support negative n, got n = {n}")
    return int(n)


@op(
    inplace=True,
    namespaces=(TORCH, SPECIAL),
    method=lambda self, n: polygamma(n, self),
)
def polygamma(n: int, input: Any) -> Tensor:
    """psi^(n)(x), the n-th derivative of digamma (n = 0 is digamma)."""
    k = _order("polygamma", n)
    return Polygamma.apply(to_default_float(as_tensor(input, "polygamma")), k)


@fast_inplace("polygamma_")
def polygamma_(self: Tensor, n: int) -> Tensor:
    """In-place ``polygamma``: ``x.polygamma_(n)``."""
    from glassgrad.ops.inplace import apply_inplace

    return apply_inplace(self, "polygamma_", lambda x: polygamma(n, x))


class Mvlgamma(Node):
    """log of the multivariate gamma function of order p; d/dx = sum_i digamma(x - i/2)."""

    __slots__ = ("p",)

    @staticmethod
    def forward(ctx: Any, x: Any, p: int) -> Any:
        ctx.save_for_backward(x)
        ctx.p = p
        out: Any = sum(lgamma_np(x - 0.5 * i) for i in range(p))
        return np.asarray(out + p * (p - 1) / 4 * math.log(math.pi)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        psi = Digamma.apply if isinstance(x, Tensor) else digamma_np
        return g * sum(psi(x - 0.5 * i) for i in range(ctx.p)), None


@op(inplace=True)
def mvlgamma(input: Any, p: int) -> Tensor:
    """log Gamma_p(x) = p(p-1)/4 log(pi) + sum_{i<p} lgamma(x - i/2) (defined for x > (p-1)/2;
    PyTorch no longer checks, nor does this)."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise RuntimeError(f"mvlgamma(): p has to be greater than or equal to 1, got {p!r}")
    x = to_default_float(as_tensor(input, "mvlgamma"))
    return Mvlgamma.apply(x, int(p))


# ---- erfc, erfinv, i0, i1 -----------------------------------------------------------------------


def erfinv_np(y: np.ndarray) -> np.ndarray:
    """The inverse error function: Giles' approximation, then Newton steps (on erfc near +-1)."""
    a = np.asarray(y)
    v = _as_float64(a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = -np.log((1.0 - v) * (1.0 + v))
        lo, hi = w - 2.5, np.sqrt(w) - 3.0
        p_lo = np.full_like(v, 2.81022636e-08)
        for c in (
            3.43273939e-07,
            -3.5233877e-06,
            -4.39150654e-06,
            0.00021858087,
            -0.00125372503,
            -0.00417768164,
            0.246640727,
            1.50140941,
        ):
            p_lo = c + p_lo * lo
        p_hi = np.full_like(v, -0.000200214257)
        for c in (
            0.000100950558,
            0.00134934322,
            -0.00367342844,
            0.00573950773,
            -0.0076224613,
            0.00943887047,
            1.00167406,
            2.83297682,
        ):
            p_hi = c + p_hi * hi
        x = np.where(w < 5.0, p_lo, p_hi) * v
        ok = np.isfinite(x)
        xs, av = np.where(ok, np.abs(x), 0.0), np.abs(v)
        for _ in range(3):  # Newton on erfc(|x|) = 1 - |y|: full relative accuracy near 1
            f = np.where(av > 0.5, (1.0 - av) - _erfc_np(xs), _erf_np(xs) - av)
            xs = xs - f / (2.0 / _SQRT_PI * np.exp(-xs * xs))
        out = np.where(ok, np.copysign(xs, v), x)
        out = np.where(np.abs(v) == 1, np.copysign(np.inf, v), out)
        out = np.where(np.abs(v) > 1, np.nan, out)
    return _like(out, a)


def i0_np(x: np.ndarray) -> np.ndarray:
    """The modified Bessel function of the first kind, order 0."""
    a = np.asarray(x)
    with np.errstate(over="ignore"):
        return _like(np.i0(_as_float64(a)), a)


def i1_np(x: np.ndarray) -> np.ndarray:
    """The modified Bessel function of the first kind, order 1: the power series up to |x| = 30
    (positive terms: no cancellation), the asymptotic expansion beyond."""
    a = np.asarray(x)
    v = _as_float64(a)
    y = np.abs(v)
    with np.errstate(over="ignore", invalid="ignore"):
        ys = np.minimum(y, 30.0)
        q = (ys * 0.5) ** 2
        term = ys * 0.5
        total = term.copy()
        for k in range(1, 90):
            term = term * q / (k * (k + 1))
            total = total + term
        yb = np.maximum(y, 30.0)
        series = np.ones_like(yb)
        coef = 1.0
        for k in range(1, 16):  # (4 - (2k - 1)**2) / (8k) per step, alternating in 1/y
            coef *= -(4.0 - (2 * k - 1) ** 2) / (8.0 * k)
            series = series + coef * (-1.0) ** k / yb**k
        big = np.exp(yb) / np.sqrt(2 * math.pi * yb) * series
        out = np.copysign(np.where(y > 30.0, big, total), v)
    return _like(out, a)


class I1Node(Node):
    """I1(x); d/dx = I0(x) - I1(x) / x (1/2 at 0)."""

    __slots__ = ()
    op_name = "SpecialI1"

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        out = i1_np(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        i0v = i0(x) if isinstance(x, Tensor) else i0_np(x)
        zero = x == 0
        return g * np.where(zero, 0.5, i0v - out / np.where(zero, 1, x))


def _i1_of(x: Any) -> Any:
    return I1Node.apply(x) if isinstance(x, Tensor) else i1_np(x)


# fmt: off
erfc   = _unary("erfc", _floating(_erfc_np),
                lambda g, x, y: g * (-2.0 / _SQRT_PI) * np.exp(-x * x), "x",
                "1 - erf(x), accurate also where it is tiny.", special=True)
erfinv = _unary("erfinv", _floating(erfinv_np),
                lambda g, x, y: g * (_SQRT_PI / 2) * np.exp(y * y), "out",
                "The inverse error function on (-1, 1); d/dx = sqrt(pi)/2 e**(erfinv(x)**2).",
                special=True)
i0     = _unary("i0", _floating(i0_np), lambda g, x, y: g * _i1_of(x), "x",
                "The modified Bessel function I0; d/dx = I1.", numpy=np.i0, special=True)
# fmt: on


@op(method=False, namespaces=(SPECIAL,))
def special_i1(input: Any) -> Tensor:
    """The modified Bessel function of the first kind of order 1."""
    return I1Node.apply(to_default_float(as_tensor(input, "special.i1")))


# ---- normal distribution functions, entropy, erfcx ----------------------------------------------


@op(method=False, namespaces=(SPECIAL,))
def special_ndtr(input: Any) -> Tensor:
    """The standard normal CDF, (1 + erf(x / sqrt 2)) / 2 (composed as PyTorch composes it)."""
    from glassgrad.ops.elementwise import erf

    x = to_default_float(as_tensor(input, "special.ndtr"))
    return (1 + erf(x * (1 / _SQRT2))) * 0.5


def ndtri_np(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile: sqrt 2 erfinv(2p - 1), refined by Newton steps on the
    lower tail 0.5 erfc(-x / sqrt 2) = min(p, 1 - p) for full accuracy near 0 and 1."""
    a = np.asarray(p)
    v = _as_float64(a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = np.minimum(v, 1.0 - v)  # the smaller tail, exact
        x = _SQRT2 * erfinv_np(2.0 * t - 1.0)  # <= 0
        ok = np.isfinite(x) & (t > 0)
        xs = np.where(ok, x, -1.0)
        for _ in range(3):
            f = 0.5 * _erfc_np(-xs / _SQRT2) - t
            xs = xs - f * _SQRT_2PI * np.exp(0.5 * xs * xs)
        xs = np.where(ok, xs, x)
        out = np.where(v > 0.5, -xs, xs)
        out = np.where(v == 0, -np.inf, np.where(v == 1, np.inf, out))
        out = np.where((v < 0) | (v > 1), np.nan, out)
    return _like(out, a)


def log_ndtr_np(x: np.ndarray) -> np.ndarray:
    """log of the standard normal CDF, accurate in both tails."""
    a = np.asarray(x)
    v = _as_float64(a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        neg = np.log(0.5 * _erfc_np(-v / _SQRT2))
        pos = np.log1p(-0.5 * _erfc_np(v / _SQRT2))
        far = np.minimum(v, -30.0)  # the asymptotic series where erfc underflows
        z = 1.0 / (far * far)
        tail = (
            -0.5 * far * far
            - np.log(-far)
            - 0.5 * math.log(2 * math.pi)
            + np.log1p(z * (-1.0 + z * (3.0 - z * (15.0 - 105.0 * z))))
        )
        out = np.where(v < 0, neg, pos)
        out = np.where(v < -30.0, tail, out)
    return _like(out, a)


# fmt: off
_ndtri_node     = _unary("special_ndtri", _floating(ndtri_np),
                         lambda g, x, y: g * _SQRT_2PI * np.exp(0.5 * y * y), "out",
                         "The standard normal quantile function (the inverse of ndtr).",
                         declared=False)
_log_ndtr_node  = _unary("special_log_ndtr", _floating(log_ndtr_np),
                          lambda g, x, y: g * np.exp(-0.5 * x * x - y) / _SQRT_2PI, "x,out",
                          "log of the standard normal CDF, accurate in the far left tail.",
                          declared=False)
# fmt: on


@op(method=False, namespaces=(SPECIAL,))
def special_ndtri(input: Any) -> Tensor:
    """The standard normal quantile function (the inverse of ndtr); x in [0, 1]."""
    return _ndtri_node(to_default_float(as_tensor(input, "special.ndtri")))


@op(method=False, namespaces=(SPECIAL,))
def special_log_ndtr(input: Any) -> Tensor:
    """log of the standard normal CDF, accurate in the far left tail."""
    return _log_ndtr_node(to_default_float(as_tensor(input, "special.log_ndtr")))


def _entr_np(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)), 0.0)
        out = np.where(x < 0, -np.inf, out)
        return np.where(np.isnan(x), x, out).astype(x.dtype, copy=False)


class SpecialEntr(Node):
    """-x log x (0 at 0, -inf below); d/dx = -(1 + log x)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return _entr_np(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return g * -(1 + np.log(x))


@op(method=False, namespaces=(SPECIAL,))
def special_entr(input: Any) -> Tensor:
    """The elementwise entropy term -x log x (0 at 0, -inf for x < 0)."""
    return SpecialEntr.apply(to_default_float(as_tensor(input, "special.entr")))


def erfcx_np(x: np.ndarray) -> np.ndarray:
    """exp(x**2) erfc(x) without overflow for large x."""
    a = np.asarray(x)
    v = _as_float64(a).reshape(-1)  # (1-d: the erfc helpers work in place)
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.abs(v)
        mid = _erfc_scaled(np.maximum(y, 0.46875))
        z = 1.0 / (y * y + (y == 0))
        far = (1 - z * (0.5 - z * (0.75 - z * (1.875 - 6.5625 * z)))) / (y * _SQRT_PI + (y == 0))
        pos = np.where(y <= 0.46875, np.exp(y * y) * _erfc_np(y), np.where(y > 30, far, mid))
        out = np.where(v < 0, 2 * np.exp(v * v) - pos, pos)
    return _like(out.reshape(a.shape), a)


class SpecialErfcx(Node):
    """exp(x**2) erfc(x); d/dx = 2 x erfcx(x) - 2 / sqrt(pi)."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        out = erfcx_np(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        return g * (2 * x * out - 2 / _SQRT_PI)


@op(method=False, namespaces=(SPECIAL,))
def special_erfcx(input: Any) -> Tensor:
    """The scaled complementary error function exp(x**2) erfc(x)."""
    return SpecialErfcx.apply(to_default_float(as_tensor(input, "special.erfcx")))


# ---- torch.special's other names for top-level ops ----------------------------------------------


@op(method=False, namespaces=(SPECIAL,))
def special_expit(input: Any) -> Tensor:
    """The logistic sigmoid 1 / (1 + e**-x) (``torch.sigmoid``)."""
    return sigmoid(to_default_float(as_tensor(input, "special.expit")))


@op(method=False, namespaces=(SPECIAL,))
def special_psi(input: Any) -> Tensor:
    """The digamma function (``torch.digamma``)."""
    return digamma(input)


@op(method=False, namespaces=(SPECIAL,))
def special_gammaln(input: Any) -> Tensor:
    """log|Gamma(x)| (``torch.lgamma``)."""
    return lgamma(input)


@op(method=False, namespaces=(SPECIAL,))
def special_multigammaln(input: Any, p: int) -> Tensor:
    """The log multivariate gamma function of order p (``torch.mvlgamma``)."""
    return mvlgamma(input, p)


class RoundDecimals(Node):
    """Round to ``decimals`` places, half to even (PyTorch's ``round.decimals``); zero gradient."""

    __slots__ = ()
    op_name = "Round"
    variant = 1

    @staticmethod
    def forward(ctx: Any, x: Any, decimals: int) -> Any:
        if decimals == 0:
            return np.round(x)
        scale = x.dtype.type(10.0**decimals)
        return np.round(x * scale) / scale

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g * 0, None


@op(method=False, namespaces=(SPECIAL,))
def special_round(input: Any, *, decimals: int = 0) -> Tensor:
    """Round half to even to ``decimals`` places (``torch.round``); zero gradient."""
    x = as_tensor(input, "special.round")
    if x._data.dtype.kind not in "fc":
        return round_half_even(x)
    return RoundDecimals.apply(x, int(decimals))
