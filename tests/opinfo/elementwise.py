"""Registry entries for elementwise ops."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tests.opinfo import OpInfo, away_from, broadcastable, distinct, draw_shape, floats


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
