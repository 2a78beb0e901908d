"""Registry entries for elementwise ops."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tests.opinfo import (
    OpInfo,
    away_from,
    broadcastable,
    distinct,
    draw_shape,
    floats,
    integers,
)


def unary(lo: float = -2.0, hi: float = 2.0, kinks: tuple[float, ...] = ()):
    def sample(draw):
        s = draw_shape(draw)
        return (away_from(draw, s, kinks, lo=lo, hi=hi) if kinks else floats(draw, s, lo, hi),)

    return sample


def binary(
    lo: float = -2.0,
    hi: float = 2.0,
    lo2: float | None = None,
    hi2: float | None = None,
    offset: float = 0.0,
):
    """Two float inputs with broadcastable shapes (either side may be the smaller one).

    ``offset`` shifts the second input so equal seeds can't make the two tie exactly.
    """

    def sample(draw):
        a = draw_shape(draw)
        b = broadcastable(draw, a)
        if draw(st.booleans()):
            a, b = b, a
        return (
            floats(draw, a, lo, hi),
            np.asarray(
                floats(draw, b, lo if lo2 is None else lo2, hi if hi2 is None else hi2) + offset
            ),
        )

    return sample


def with_scalar(lo: float = -2.0, hi: float = 2.0):
    def sample(draw):
        s = draw_shape(draw)
        c = draw(st.sampled_from([-1.5, 0.5, 2.0, 3]))
        return (floats(draw, s, lo, hi), c)

    return sample


def positive(draw):
    return (floats(draw, draw_shape(draw), 0.2, 3.0),)


def no_ties_pair(draw):
    s = draw_shape(draw)
    x = distinct(draw, s)
    return (x, np.asarray(-x + 0.0371))


def remainder_sample(draw):
    """x = q * y with q's fractional part in [0.2, 0.8]: away from the jumps at x = k * y."""
    a = draw_shape(draw)
    b = broadcastable(draw, a)
    y = floats(draw, b, 0.5, 1.5) * draw(st.sampled_from([1.0, -1.0]))
    q = np.floor(floats(draw, a, -3.0, 3.0)) + floats(draw, a, 0.2, 0.8)
    return (np.asarray(q * y), np.asarray(y))


def remainder_scalar_sample(draw):
    q = np.floor(floats(draw, draw_shape(draw), -3.0, 3.0)) + floats(draw, (), 0.2, 0.8)
    return (np.asarray(q * 0.75),)


def _u(name, sample=None, **kw):
    return OpInfo(name, lambda lib, x, _n=name: getattr(lib, _n)(x), sample or unary(), **kw)


OPS: list[OpInfo] = [
    OpInfo("add", lambda lib, x, y: lib.add(x, y), binary()),
    OpInfo("add_alpha", lambda lib, x, y: lib.add(x, y, alpha=-2.5), binary()),
    OpInfo("sub", lambda lib, x, y: x - y, binary()),
    OpInfo("mul", lambda lib, x, y: x * y, binary()),
    OpInfo("div", lambda lib, x, y: x / y, binary(lo2=0.5, hi2=2.0)),
    OpInfo("add_scalar", lambda lib, x, c: x + c, with_scalar()),
    OpInfo("rsub_scalar", lambda lib, x, c: c - x, with_scalar()),
    OpInfo("mul_scalar", lambda lib, x, c: c * x, with_scalar()),
    OpInfo("div_scalar", lambda lib, x, c: x / c, with_scalar()),
    OpInfo("rdiv_scalar", lambda lib, x, c: c / x, with_scalar(0.5, 2.0)),
    OpInfo("pow_tensor", lambda lib, x, y: x**y, binary(0.3, 2.0, -2.0, 2.0)),
    OpInfo("pow_scalar", lambda lib, x, c: x**c, with_scalar(0.3, 2.0)),
    OpInfo("rpow_scalar", lambda lib, x, c: abs(c) ** x, with_scalar()),
    OpInfo("neg", lambda lib, x: -x, unary()),
    _u("exp"),
    _u("expm1"),
    _u("log", sample=positive),
    _u("log1p", sample=positive),
    _u("log2", sample=positive),
    _u("log10", sample=positive),
    _u("sqrt", sample=positive),
    _u("rsqrt", sample=positive),
    _u("reciprocal", sample=unary(0.4, 2.0)),
    _u("square"),
    _u("abs", sample=unary(kinks=(0.0,))),
    _u("sin"),
    _u("cos"),
    _u("tan", sample=unary(-1.2, 1.2)),
    _u("tanh"),
    _u("sigmoid", sample=unary(-6, 6)),
    _u("relu", sample=unary(kinks=(0.0,)), gradgrad=True),
    _u("erf"),
    _u("sign", sample=unary(kinks=(0.0,))),
    _u("floor", sample=unary(kinks=(-2.0, -1.0, 0.0, 1.0, 2.0))),
    _u("ceil", sample=unary(kinks=(-2.0, -1.0, 0.0, 1.0, 2.0))),
    _u("trunc", sample=unary(kinks=(-2.0, -1.0, 0.0, 1.0, 2.0))),
    _u("round", sample=unary(kinks=(-1.5, -0.5, 0.5, 1.5))),
    OpInfo("maximum", lambda lib, x, y: lib.maximum(x, y), binary(offset=0.0371)),
    OpInfo("minimum", lambda lib, x, y: lib.minimum(x, y), binary(offset=0.0371)),
    # ties split the gradient (checked against torch; not differentiable, so no gradcheck)
    OpInfo("maximum_ties", lambda lib, x: lib.maximum(x, x * 1.0), unary(), tags=("nondiff",)),
    OpInfo("clamp", lambda lib, x: lib.clamp(x, -0.5, 0.7), unary(kinks=(-0.5, 0.7))),
    OpInfo("clamp_min", lambda lib, x: x.clamp(min=0.25), unary(kinks=(0.25,))),
    OpInfo("clip_max", lambda lib, x: lib.clip(x, max=0.25), unary(kinks=(0.25,))),
    OpInfo(
        "clamp_tensor_bounds",
        lambda lib, x, lo, hi: lib.clamp(x, lo, hi),
        lambda draw: (
            lambda s: (floats(draw, s), floats(draw, s, -1.5, -0.5), floats(draw, s, 0.5, 1.5))
        )(draw_shape(draw)),
    ),
    OpInfo("where", lambda lib, x, y: lib.where(x > 0, x, y), binary()),
    OpInfo("maximum_distinct", lambda lib, x, y: lib.maximum(x, y), no_ties_pair),
    OpInfo("fmax", lambda lib, x, y: lib.fmax(x, y), binary(offset=0.0371)),
    OpInfo("fmin", lambda lib, x, y: x.fmin(y), binary(offset=0.0371)),
    OpInfo("positive", lambda lib, x: +x, unary()),
    OpInfo("remainder", lambda lib, x, y: lib.remainder(x, y), remainder_sample),
    OpInfo("remainder_scalar", lambda lib, x: x % 0.75, remainder_scalar_sample),
    OpInfo("logaddexp", lambda lib, x, y: lib.logaddexp(x, y), binary(-3.0, 3.0)),
    OpInfo("logaddexp_method", lambda lib, x, y: x.logaddexp(y), binary(-3.0, 3.0)),
]


# ---- trig, hyperbolic, special functions, float binary ops (ops-math) ---------------------------


def _lerp_tensor(draw):
    s = draw_shape(draw)
    return (floats(draw, s), floats(draw, s), floats(draw, broadcastable(draw, s), -0.5, 1.5))


def _addc_sample(lo2: float = -2.0, hi2: float = 2.0):
    def sample(draw):
        s = draw_shape(draw)
        return (
            floats(draw, broadcastable(draw, s)),
            floats(draw, s),
            np.asarray(floats(draw, broadcastable(draw, s), lo2, hi2)),
        )

    return sample


def _fmod_sample(draw):
    """x = q * y with trunc(x / y)'s fractional distance in [0.2, 0.8]: away from the jumps."""
    a = draw_shape(draw)
    b = broadcastable(draw, a)
    y = floats(draw, b, 0.5, 1.5) * draw(st.sampled_from([1.0, -1.0]))
    q = np.trunc(floats(draw, a, -3.0, 3.0)) + floats(draw, a, 0.2, 0.8)
    return (np.asarray(q * y), np.asarray(y))


def _pair_away_from_zero(draw):
    a = draw_shape(draw)
    b = broadcastable(draw, a)
    return (away_from(draw, a, (0.0,), 0.2), np.asarray(away_from(draw, b, (0.0,), 0.2)))


def _xlogy_sample(draw):
    a = draw_shape(draw)
    b = broadcastable(draw, a)
    x = floats(draw, a)
    x = np.where(floats(draw, a, 0, 1) < 0.2, 0.0, x)  # some exact zeros: the 0 * log rule
    return (x, np.asarray(floats(draw, b, 0.3, 3.0)))


def _ldexp_sample(draw):
    """Exponents >= 0: PyTorch's gradient takes pow(2, other) in integers, 0 for 2**-k (its bug;
    ours is 2**-k, the derivative)."""
    s = draw_shape(draw)
    return (floats(draw, s), integers(draw, broadcastable(draw, s), 0, 4))


def _nan_to_num_sample(draw):
    s = draw_shape(draw)
    x = floats(draw, s)
    special = floats(draw, s, 0, 1)
    x = np.where(special < 0.1, np.nan, np.where(special > 0.9, np.inf, x))
    return (np.where((special > 0.8) & (special <= 0.9), -np.inf, x),)


def _polygamma(n):
    return OpInfo(
        f"polygamma_{n}",
        lambda lib, x, _n=n: lib.polygamma(_n, x),
        unary(0.3, 4.0),
        rtol=1e-6,
    )


def _special(name, fn, sample=None, **kw):
    return OpInfo(name, fn, sample or unary(), **kw)


OPS += [
    _u("asin", sample=unary(-0.9, 0.9)),
    OpInfo("arcsin_alias", lambda lib, x: lib.arcsin(x), unary(-0.9, 0.9)),
    _u("acos", sample=unary(-0.9, 0.9)),
    OpInfo("arccos_method", lambda lib, x: x.arccos(), unary(-0.9, 0.9)),
    _u("atan"),
    OpInfo("arctan_alias", lambda lib, x: lib.arctan(x), unary()),
    _u("sinh"),
    _u("cosh"),
    _u("asinh"),
    OpInfo("arcsinh_alias", lambda lib, x: lib.arcsinh(x), unary()),
    _u("acosh", sample=unary(1.2, 3.0)),
    OpInfo("arccosh_alias", lambda lib, x: lib.arccosh(x), unary(1.2, 3.0)),
    _u("atanh", sample=unary(-0.9, 0.9)),
    OpInfo("arctanh_alias", lambda lib, x: lib.arctanh(x), unary(-0.9, 0.9)),
    _u("deg2rad"),
    _u("rad2deg"),
    _u("exp2"),
    _u("frac", sample=unary(kinks=(-2.0, -1.0, 0.0, 1.0, 2.0))),
    OpInfo("fix_alias", lambda lib, x: lib.fix(x), unary(kinks=(-1.0, 0.0, 1.0)), gradgrad=True),
    _u("sinc"),
    # (+ 0 * x: PyTorch's zero gradient of sgn is a ZeroTensor, which has no NumPy view)
    OpInfo("sgn", lambda lib, x: lib.sgn(x) + 0 * x, unary(kinks=(0.0,))),
    OpInfo("negative_alias", lambda lib, x: lib.negative(x), unary()),
    OpInfo("absolute_alias", lambda lib, x: x.absolute(), unary(kinks=(0.0,))),
    _u("logit", sample=unary(0.1, 0.9)),
    OpInfo("logit_eps", lambda lib, x: lib.logit(x, eps=0.2), unary(0.02, 0.98, (0.2, 0.8))),
    OpInfo("nan_to_num", lambda lib, x: lib.nan_to_num(x), _nan_to_num_sample),
    OpInfo(
        "nan_to_num_values",
        lambda lib, x: x.nan_to_num(nan=1.5, posinf=3.0, neginf=-3.0),
        _nan_to_num_sample,
    ),
    OpInfo("clamp_min_op", lambda lib, x: lib.clamp_min(x, 0.25), unary(kinks=(0.25,))),
    OpInfo("clamp_max_op", lambda lib, x: x.clamp_max(-0.25), unary(kinks=(-0.25,))),
    OpInfo("clamp_min_tensor", lambda lib, x, y: lib.clamp_min(x, y), binary(offset=0.0371)),
    OpInfo("clamp_max_tensor", lambda lib, x, y: lib.clamp_max(x, y), binary(offset=0.0371)),
    OpInfo("atan2", lambda lib, x, y: lib.atan2(x, y), _pair_away_from_zero),
    OpInfo("arctan2_method", lambda lib, x, y: x.arctan2(y), _pair_away_from_zero),
    OpInfo("hypot", lambda lib, x, y: lib.hypot(x, y), _pair_away_from_zero),
    OpInfo("logaddexp2", lambda lib, x, y: lib.logaddexp2(x, y), binary(-3.0, 3.0)),
    OpInfo("fmod", lambda lib, x, y: lib.fmod(x, y), _fmod_sample),
    OpInfo("fmod_scalar", lambda lib, x: x.fmod(0.75), remainder_scalar_sample),
    OpInfo("copysign", lambda lib, x, y: lib.copysign(x, y), _pair_away_from_zero),
    OpInfo("copysign_scalar", lambda lib, x: lib.copysign(x, -1.0), unary(kinks=(0.0,))),
    OpInfo("xlogy", lambda lib, x, y: lib.xlogy(x, y), _xlogy_sample),
    OpInfo("xlogy_scalar_other", lambda lib, x: lib.xlogy(x, 2.5), unary()),
    OpInfo("xlogy_scalar_self", lambda lib, y: lib.xlogy(1.5, y), unary(0.3, 3.0)),
    OpInfo(
        "float_power",
        lambda lib, x, y: lib.float_power(x, y),
        binary(0.3, 2.0, -2.0, 2.0),
        tags=("cast",),
    ),
    OpInfo("float_power_scalar", lambda lib, x: lib.float_power(x, 3), unary(), tags=("cast",)),
    OpInfo("float_power_rscalar", lambda lib, x: lib.float_power(2, x), unary(), tags=("cast",)),
    OpInfo("ldexp", lambda lib, x, e: lib.ldexp(x, e), _ldexp_sample),
    OpInfo("lerp", lambda lib, x, y: lib.lerp(x, y, 0.3), binary()),
    OpInfo("lerp_weight_high", lambda lib, x, y: x.lerp(y, 0.75), binary()),
    OpInfo("lerp_tensor_weight", lambda lib, a, b, w: lib.lerp(a, b, w), _lerp_tensor),
    OpInfo("addcmul", lambda lib, x, a, b: lib.addcmul(x, a, b, value=-1.5), _addc_sample()),
    OpInfo("addcdiv", lambda lib, x, a, b: x.addcdiv(a, b, value=0.5), _addc_sample(0.5, 2.0)),
    # special functions
    _u("erfc"),
    _u("erfinv", sample=unary(-0.95, 0.95)),
    _u("lgamma", sample=unary(0.2, 5.0)),
    OpInfo("lgamma_negative", lambda lib, x: lib.lgamma(x), unary(-2.8, -2.2)),
    _u("digamma", sample=unary(0.2, 5.0)),
    OpInfo("digamma_negative", lambda lib, x: x.digamma(), unary(-1.8, -1.2), rtol=1e-6),
    OpInfo("polygamma_0", lambda lib, x: x.polygamma(0), unary(0.3, 4.0)),
    _polygamma(1),
    _polygamma(2),
    _polygamma(3),
    OpInfo("mvlgamma", lambda lib, x: lib.mvlgamma(x, 3), unary(1.2, 4.0)),
    OpInfo("mvlgamma_method", lambda lib, x: x.mvlgamma(p=1), unary(0.2, 4.0)),
    _u("i0"),
    _special("special_i1", lambda lib, x: lib.special.i1(x), unary(-5.0, 5.0)),
    _special("special_i0", lambda lib, x: lib.special.i0(x)),
    _special("special_ndtr", lambda lib, x: lib.special.ndtr(x), unary(-4.0, 4.0)),
    _special("special_ndtri", lambda lib, x: lib.special.ndtri(x), unary(0.02, 0.98)),
    _special("special_log_ndtr", lambda lib, x: lib.special.log_ndtr(x), unary(-8.0, 4.0)),
    _special("special_entr", lambda lib, x: lib.special.entr(x), unary(0.1, 3.0)),
    _special("special_erfcx", lambda lib, x: lib.special.erfcx(x), unary(-2.0, 8.0)),
    _special("special_expit", lambda lib, x: lib.special.expit(x)),
    _special("special_psi", lambda lib, x: lib.special.psi(x), unary(0.3, 4.0)),
    _special("special_gammaln", lambda lib, x: lib.special.gammaln(x), unary(0.3, 4.0)),
    _special("special_multigammaln", lambda lib, x: lib.special.multigammaln(x, 2), unary(1, 4)),
    _special(
        "special_round",
        lambda lib, x: lib.special.round(x, decimals=1),
        unary(kinks=(-0.05, 0.05, 0.15, -0.15, 0.25, 1.05)),
    ),
    _special("special_xlog1py", lambda lib, x, y: lib.special.xlog1py(x, y), _xlogy_sample),
    _special("special_xlog1py_scalar", lambda lib, x: lib.special.xlog1py(x, 0.5)),
    _special("special_xlogy", lambda lib, x, y: lib.special.xlogy(x, y), _xlogy_sample),
    _special("special_logit", lambda lib, x: lib.special.logit(x, eps=0.1), unary(0.15, 0.85)),
    _special("special_erf", lambda lib, x: lib.special.erf(x)),
    _special("special_erfc", lambda lib, x: lib.special.erfc(x)),
    _special("special_erfinv", lambda lib, x: lib.special.erfinv(x), unary(-0.9, 0.9)),
    _special("special_digamma", lambda lib, x: lib.special.digamma(x), unary(0.3, 4.0)),
    _special(
        "special_polygamma", lambda lib, x: lib.special.polygamma(2, x), unary(0.3, 4.0), rtol=1e-6
    ),
    _special("special_exp2", lambda lib, x: lib.special.exp2(x)),
    _special("special_expm1", lambda lib, x: lib.special.expm1(x)),
    _special("special_log1p", lambda lib, x: lib.special.log1p(x), positive),
    _special("special_sinc", lambda lib, x: lib.special.sinc(x)),
    _special(
        "special_logsumexp",
        lambda lib, x: lib.special.logsumexp(x, -1),
        lambda draw: (floats(draw, draw_shape(draw, 1)),),
    ),
    _special(
        "special_softmax",
        lambda lib, x: lib.special.softmax(x, 0),
        lambda draw: (floats(draw, draw_shape(draw, 1)),),
    ),
    _special(
        "special_log_softmax",
        lambda lib, x: lib.special.log_softmax(x, -1),
        lambda draw: (floats(draw, draw_shape(draw, 1)),),
    ),
]
