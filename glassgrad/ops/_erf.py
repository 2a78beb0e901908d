"""A vectorised error function for NumPy arrays (NumPy has none, and scipy is not allowed).

W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximation for the error
function", Math. Comp. 1969; the SPECFUN routine CALERF), accurate to about 2e-16 absolute in
double precision: erf = x R1(x**2) on |x| <= 0.46875, erfc = exp(-x**2) R2(|x|) up to 4 and
exp(-x**2) / |x| (1/sqrt(pi) + R3(1/x**2) / x**2) beyond.

Every region is evaluated on the whole array (arguments clipped into the region, so the others
stay finite) and the results are blended arithmetically: masked selection (``np.where``, boolean
indexing) costs more than the extra polynomials on unpredictable masks, and in-place updates keep
the temporaries to a handful.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["erf", "erfc"]

# fmt: off
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
# fmt: on
_INV_SQRT_PI = 5.6418958354775628695e-1
_THRESH = 0.46875


def _ratio(t: np.ndarray, num_c: tuple, den_c: tuple) -> np.ndarray:
    """Cody's num(t) / den(t): Horner on a fresh array, in place."""
    k = len(den_c) - 1
    num = t * num_c[k + 1]
    den = t.copy()
    for i in range(k):
        num += num_c[i]
        num *= t
        den += den_c[i]
        den *= t
    num += num_c[k]
    den += den_c[k]
    num /= den
    return num


def _erf_small(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """erf(x) where |x| <= 0.46875 (finite garbage elsewhere: the argument is clipped)."""
    xs = np.clip(x, -_THRESH, _THRESH)
    r = _ratio(xs * xs, _A, _B)
    r *= xs
    return r


def _erfc_scaled(y: np.ndarray) -> np.ndarray:
    """erfc(y) exp(y**2) for y >= 0.46875 (y is clipped into each approximation's range)."""
    ym = np.clip(y, _THRESH, 4.0)
    r = _ratio(ym, _C, _D)
    far = y > 4.0
    if far.any():
        yf = np.clip(y, 4.0, 30.0)
        z = yf * yf
        np.reciprocal(z, out=z)
        s = _ratio(z, _P, _Q)
        s *= z
        np.subtract(_INV_SQRT_PI, s, out=s)
        s /= yf
        s -= r
        s *= far
        r += s
    return r


def _floating(x: Any) -> np.ndarray:
    """Integer and bool arrays in the default float dtype (as PyTorch's erf(int) is)."""
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        from glassgrad import dtypes

        return x.astype(dtypes.default_float())
    return x


def erf(x: np.ndarray) -> np.ndarray:
    """The error function of a float array, elementwise, in the array's own dtype.

    >>> import numpy as np
    >>> float(erf(np.array(0.5)))  # math.erf(0.5) = 0.5204998778130465
    0.5204998778130465
    """
    x = _floating(x)
    if x.ndim == 0:  # 0-d arithmetic yields NumPy scalars, which the in-place steps can't take
        return erf(x.reshape(1)).reshape(())
    y = np.abs(x)
    small = _erf_small(x, y)
    big = y > _THRESH
    if not big.any():
        return small
    # erf = 1 - erfc: only erfc's absolute error matters, so the plain exp(-y*y) is accurate here
    c = _erfc_scaled(y)
    e = np.minimum(y, 30.0)  # erfc(30) underflows to 0 anyway; this keeps y*y finite
    e *= e
    np.negative(e, out=e)
    np.exp(e, out=e)
    c *= e
    np.subtract(1, c, out=c)
    np.copysign(c, x, out=c)
    c -= small
    c *= big
    c += small
    return c


def erfc(x: np.ndarray) -> np.ndarray:
    """1 - erf(x), with full relative accuracy also where it is tiny (large positive x)."""
    x = _floating(x)
    if x.ndim == 0:
        return erfc(x.reshape(1)).reshape(())
    y = np.minimum(np.abs(x), 30.0)  # erfc(30) underflows to 0; this keeps y*y finite
    one_minus = 1 - _erf_small(x, y)
    c = _erfc_scaled(y)
    t = np.trunc(y * 16) / 16  # exp(-y*y) in two exact-ish factors
    c *= np.exp(-t * t) * np.exp(-(y - t) * (y + t))
    c = np.where(x < 0, 2 - c, c)
    return np.where(np.abs(x) > _THRESH, c, one_minus)
