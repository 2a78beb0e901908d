"""Implicit reparameterisation of gamma and Dirichlet draws, as PyTorch differentiates them.

A draw x ~ Gamma(alpha, 1) has no explicit formula in terms of alpha and noise, but holding its
quantile u = F(x; alpha) fixed gives d x / d alpha = -(dF/dalpha) / (dF/dx): ``StandardGamma``
(PyTorch's ``_standard_gamma``, node ``StandardGammaBackward0``) draws x with NumPy and its
backward multiplies by ``standard_gamma_grad(alpha, x)``. A Dirichlet draw x = g / sum(g) is
differentiated through the Beta marginals: ``_Dirichlet`` (node ``_DirichletBackward``) uses
``dirichlet_grad(x, alpha, total)``, the scaled Beta gradient.

Both gradient functions are vectorised ports of ATen's ``standard_gamma_grad_one`` and
``dirichlet_grad_one`` (``aten/src/ATen/native/Distributions.h``): the same series, saddle-point
expansions and rational approximations, branch for branch, in the same precisions (double for
the gamma gradient; for the Dirichlet one, the small-x series in the input's dtype and the rest in
double, with ATen's own ``digamma_one``), so the gradients agree with PyTorch's to rounding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad import creation
from glassgrad.autograd.node import Node
from glassgrad.tensor import Tensor

__all__ = ["dirichlet_grad", "rsample_dirichlet", "rsample_standard_gamma", "standard_gamma_grad"]

_F64 = np.float64
# ATen compares doubles with float literals: 0.8f, 0.9f and 1.1f are these doubles.
_F08, _F09, _F11 = (float(np.float32(v)) for v in (0.8, 0.9, 1.1))
_PSI_10 = 2.25175258906672110764
_DIGAMMA_A = (
    8.33333333333333333333e-2,
    -2.10927960927960927961e-2,
    7.57575757575757575758e-3,
    -4.16666666666666666667e-3,
    3.96825396825396825397e-3,
    -8.33333333333333333333e-3,
    8.33333333333333333333e-2,
)


def _libm(fn: Any, *args: np.ndarray) -> np.ndarray:
    """``fn`` in double, rounded to the first argument's dtype: for float32 this is the correctly
    rounded result that C's ``logf``/``powf``/``tanf`` give (NumPy's own float32 kernels may be an
    ulp away, which the cancelling series below would magnify)."""
    return fn(*(np.asarray(a, _F64) for a in args)).astype(args[0].dtype)  # type: ignore[no-any-return]


def _digamma_one(x: np.ndarray) -> np.ndarray:
    """ATen's ``digamma_one<scalar_t, double>``: the argument steps up to 10 in its own dtype,
    the sum is kept in double, the result is in the argument's dtype (digamma(0) = +inf)."""
    st = x.dtype.type
    with np.errstate(all="ignore"):
        neg = x < 0
        pi = st(math.pi)
        extra = np.where(neg, (-pi / _libm(np.tan, pi * x)).astype(_F64), 0.0)
        y = np.where(neg, st(1) - x, x).astype(x.dtype)
        result = np.zeros(x.shape, _F64)
        small = y < 10
        while small.any():
            result -= np.where(small, (st(1) / y).astype(_F64), 0.0)
            y = np.where(small, y + st(1), y).astype(x.dtype)
            small = y < 10
        z = 1.0 / (y * y).astype(_F64)
        poly = np.zeros(x.shape, _F64)
        for c in _DIGAMMA_A:
            poly = poly * z + c
        tail = np.where(y < np.float32(1.0e17), z * poly, 0.0)
        out = result + _libm(np.log, y).astype(_F64) - (st(0.5) / y).astype(_F64) - tail + extra
        out = np.where(y == 10, result + _PSI_10 + extra, out)
        out = np.where((x == 0) | (neg & (x == np.floor(x))), np.inf, out)
    return out.astype(x.dtype)


# Bivariate rational approximation of the gamma gradient (ATen's coef_uv).
_COEF_UV = np.array(
    [
        [
            0.16009398,
            -0.094634809,
            0.025146376,
            -0.0030648343,
            1,
            0.32668115,
            0.10406089,
            0.0014179084,
        ],
        [
            0.53487893,
            0.1298071,
            0.065735949,
            -0.0015649758,
            0.16639465,
            0.020070113,
            -0.0035938915,
            -0.00058392623,
        ],
        [
            0.040121004,
            -0.0065914022,
            -0.0026286047,
            -0.0013441777,
            0.017050642,
            -0.0021309326,
            0.00085092367,
            -1.5247877e-07,
        ],
    ]
)


def standard_gamma_grad(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """d x / d alpha = -(dF/dalpha)/pdf at draws ``x`` of Gamma(alpha, 1), as PyTorch's
    ``_standard_gamma_grad`` (computed in double, returned in the inputs' dtype)."""
    dtype = np.result_type(alpha, x)
    a, x = np.broadcast_arrays(np.asarray(alpha, _F64), np.asarray(x, _F64))
    with np.errstate(all="ignore"):
        # Taylor series of the incomplete gamma function for small x
        numer = np.ones_like(x)
        denom = a.copy()
        series1, series2 = numer / denom, numer / (denom * denom)
        for i in range(1, 6):
            numer = numer * (-x / i)
            denom = denom + 1
            series1 = series1 + numer / denom
            series2 = series2 + numer / (denom * denom)
        pow_x_alpha = x**a
        gamma_pdf = x ** (a - 1) * np.exp(-x)
        gamma_cdf = pow_x_alpha * series1
        gamma_cdf_alpha = (np.log(x) - _digamma_one(a)) * gamma_cdf - pow_x_alpha * series2
        small = -gamma_cdf_alpha / gamma_pdf
        small = np.where(np.isnan(small), 0.0, small)
        # Rice saddle-point expansion for large alpha (a polynomial near the mode)
        numer_1 = 1 + 24 * a * (1 + 12 * a)
        numer_2 = 1440 * (a * a) + 6 * x * (53 - 120 * x) - 65 * x * x / a + a * (107 + 3600 * x)
        near_mode = numer_1 * numer_2 / (1244160 * (a * a) * (a * a))
        root = np.sqrt(8 * a)
        term2 = root / (a - x)
        term3 = (x - a - a * np.log(x / a)) ** -1.5
        term23 = np.where(x < a, term2 - term3, term2 + term3)
        term1 = np.log(x / a) * term23 - np.sqrt(2 / a) * (a + x) / ((a - x) * (a - x))
        stirling = 1 + 1 / (12 * a) * (1 + 1 / (24 * a))
        saddle = -stirling * (x * term1) / root
        large = np.where((_F09 * a <= x) & (x <= _F11 * a), near_mode, saddle)
        # bivariate rational approximation elsewhere
        u, v = np.log(x / a), np.log(a)
        c = [_COEF_UV[0, i] + u * (_COEF_UV[1, i] + u * _COEF_UV[2, i]) for i in range(8)]
        p = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
        q = c[4] + v * (c[5] + v * (c[6] + v * c[7]))
        rational = np.exp(p / q)
        out = np.where(x < _F08, small, np.where(a > 8.0, large, rational))
    return out.astype(dtype)


def _beta_grad_alpha_small(x: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Taylor expansion for x near 0, in x's dtype."""
    st = x.dtype.type
    factor = _digamma_one(alpha) - _digamma_one(alpha + beta) - _libm(np.log, x)
    numer = st(1)
    series = numer / alpha * (factor + st(1) / alpha)
    for i in range(1, 11):
        numer = numer * ((st(i) - beta) * x / st(i))
        denom = alpha + st(i)
        series = series + numer / denom * (factor + st(1) / denom)
    result = x * _libm(np.power, st(1) - x, -beta) * series
    return np.where(np.isnan(result), st(0), result)


def _beta_grad_beta_small(x: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Taylor expansion (gradient with respect to beta) for x near 0, in x's dtype."""
    st = x.dtype.type
    factor = _digamma_one(alpha + beta) - _digamma_one(beta)
    numer, betas, dbetas = st(1), st(1), st(0)
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / st(i))
        dbetas = dbetas * (beta - st(i)) + betas
        betas = betas * (beta - st(i))
        series = series + numer / (alpha + st(i)) * (dbetas + factor * betas)
    result = -_libm(np.power, st(1) - x, st(1) - beta) * series
    return np.where(np.isnan(result), st(0), result)


def _beta_grad_alpha_mid(x: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Rice saddle-point expansion for large alpha and beta, in double."""
    total = alpha + beta
    mean = alpha / total
    std = np.sqrt(alpha * beta / (total + 1)) / total
    poly = 47 * x * (beta * beta) * (beta * beta) + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * (beta * beta) * beta
        + alpha
        * (
            3 * (59 + 180 * beta - 90 * x) * (beta * beta)
            + alpha
            * (
                (453 + 1620 * beta * (1 - x) - 455 * x) * beta
                + alpha * (8 * (1 - x) * (135 * beta - 11))
            )
        )
    )
    prefactor_num = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    prefactor_den = 12960 * alpha * alpha * alpha * beta * beta * (1 + 12 * total)
    near_mean = prefactor_num / (1 - x) * poly / prefactor_den
    prefactor = -x / np.sqrt(2 * alpha * beta / total)
    stirling = (
        (1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha))
        * (1 + 1 / (12 * beta) + 1 / (288 * beta * beta))
        / (1 + 1 / (12 * total) + 1 / (288 * total * total))
    )
    term1_num = 2 * (alpha * alpha) * (x - 1) + alpha * beta * (x - 1) - x * (beta * beta)
    axbx = alpha * (x - 1) + beta * x
    term1_den = np.sqrt(2 * alpha / beta) * total**1.5 * axbx * axbx
    term1 = term1_num / term1_den
    term2 = 0.5 * np.log(alpha / (total * x))
    term3 = np.sqrt(8 * alpha * beta / total) / (beta * x + alpha * (x - 1))
    term4_base = beta * np.log(beta / (total * (1 - x))) + alpha * np.log(alpha / (total * x))
    term4 = term4_base**-1.5
    term1234 = term1 + term2 * (term3 + np.where(x < mean, term4, -term4))
    far = stirling * prefactor * term1234
    return np.where((mean - 0.1 * std <= x) & (x <= mean + 0.1 * std), near_mean, far)  # type: ignore[no-any-return]


# Rational correction to the analytic approximation (ATen's c[2][3][3][4]).
_DIRICHLET_C = np.array(
    [
        [
            [[1.003668233, -0.01061107488, -0.0657888334, 0.01201642863],
             [0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033],
             [-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013]],
            [[0.221950385, -0.3187676331, 0.01799915743, 0.01074823814],
             [-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057],
             [0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05]],
            [[-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565],
             [0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181],
             [0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05]],
        ],
        [
            [[1, -0.02924021934, -0.04438342661, 0.007285809825],
             [0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521],
             [-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149]],
            [[0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273],
             [0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956],
             [-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05]],
            [[0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05],
             [0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05],
             [-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06]],
        ],
    ]
)  # fmt: skip


def _cubic(k: np.ndarray, b: np.ndarray) -> np.ndarray:
    return k[0] + b * (k[1] + b * (k[2] + b * k[3]))  # type: ignore[no-any-return]


def dirichlet_grad(x: np.ndarray, alpha: np.ndarray, total: np.ndarray) -> np.ndarray:
    """-(dF/dalpha)/pdf/(1 - x) for x ~ Beta(alpha, total - alpha), as PyTorch's
    ``_dirichlet_grad(x, alpha, total)`` (the Dirichlet's gradient through its Beta marginals)."""
    dtype = np.result_type(x, alpha, total)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    x, alpha, total = (np.asarray(v, dtype) for v in np.broadcast_arrays(x, alpha, total))
    xd, ad, td = (v.astype(_F64) for v in (x, alpha, total))
    with np.errstate(all="ignore"):
        beta = total - alpha
        bd = td - ad
        boundary = total * x * (1 - x)
        near0 = (x <= 0.5) & (boundary < 2.5)
        near1 = ~near0 & (x >= 0.5) & (boundary < 0.75)
        mid = ~near0 & ~near1 & (alpha > 6) & (beta > 6)
        small_a = _beta_grad_alpha_small(x, alpha, beta)
        small_b = -_beta_grad_beta_small(1 - x, beta, alpha)
        middle = _beta_grad_alpha_mid(xd, ad, bd)
        u = np.log(xd)
        a = np.log(ad) - u
        b = np.log(td) - a
        pow_u, pow_a = (np.ones_like(u), u, u * u), (np.ones_like(a), a, a * a)
        p = np.zeros_like(u)
        q = np.zeros_like(u)
        c = _DIRICHLET_C
        for i in range(3):
            for j in range(3):
                ua = pow_u[i] * pow_a[j]
                p = p + ua * _cubic(c[0, i, j], b)
                q = q + ua * _cubic(c[1, i, j], b)
        approx = xd * (_digamma_one(total) - _digamma_one(alpha)).astype(_F64) / bd
        rational = p / q * approx
        out = np.where(near0, small_a, np.where(near1, small_b, np.where(mid, middle, rational)))
    return out.astype(dtype)


def _check_concentration(name: str, alpha: np.ndarray) -> None:
    if alpha.dtype.kind != "f":
        raise RuntimeError(
            f"{name}: expected a floating-point concentration, got dtype {alpha.dtype.name} "
            f"of shape {tuple(alpha.shape)}"
        )


def _draw_standard_gamma(alpha: np.ndarray) -> np.ndarray:
    """Gamma(alpha, 1) draws from the default generator, at least the smallest positive
    float (as PyTorch's sampler)."""
    x = creation._numpy_rng(None).standard_gamma(alpha).astype(alpha.dtype)
    return np.maximum(x, np.finfo(alpha.dtype).tiny)


class StandardGamma(Node):
    """A Gamma(alpha, 1) draw; d/dalpha by implicit reparameterisation."""

    __slots__ = ()
    rerunnable = False  # a random draw: running it again draws anew

    @staticmethod
    def forward(ctx: Any, alpha: Any) -> Any:
        _check_concentration("_standard_gamma", alpha)
        out = _draw_standard_gamma(alpha)
        ctx.save_for_backward(alpha, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        alpha, x = (v._data if isinstance(v, Tensor) else v for v in ctx.saved_tensors)
        return g * standard_gamma_grad(alpha, x)  # not itself differentiable, as in PyTorch


class _Dirichlet(Node):  # no __slots__: PyTorch's node is a Python Function, "_DirichletBackward"
    """A Dirichlet(alpha) draw (normalised gamma draws, kept inside (0, 1)); d/dalpha through
    the Beta marginals."""

    rerunnable = False  # a random draw: running it again draws anew

    @staticmethod
    def forward(ctx: Any, alpha: Any) -> Any:
        _check_concentration("_sample_dirichlet", alpha)
        if alpha.ndim < 1:
            raise RuntimeError("_sample_dirichlet: expected a concentration of at least 1 dim")
        g = _draw_standard_gamma(alpha)
        x = g / g.sum(-1, keepdims=True)
        finfo = np.finfo(x.dtype)
        x = np.clip(x, finfo.tiny, 1 - finfo.eps)
        ctx.save_for_backward(x, alpha)
        return x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, alpha = (v._data if isinstance(v, Tensor) else v for v in ctx.saved_tensors)
        total = np.broadcast_to(alpha.sum(-1, keepdims=True), alpha.shape)
        grad = dirichlet_grad(x, alpha, total)
        xg = x * g
        xg = xg.sum(-1, keepdim=True) if isinstance(xg, Tensor) else xg.sum(-1, keepdims=True)
        return grad * (g - xg)


def rsample_standard_gamma(alpha: Tensor) -> Tensor:
    """Gamma(alpha, 1) draws of alpha's shape, differentiable in alpha (``_standard_gamma``)."""
    return StandardGamma.apply(alpha)  # type: ignore[no-any-return]


def rsample_dirichlet(alpha: Tensor) -> Tensor:
    """Dirichlet draws over alpha's last dimension, differentiable in alpha."""
    return _Dirichlet.apply(alpha)  # type: ignore[no-any-return]
