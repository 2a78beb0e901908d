"""Registry entries for reductions, selections (max/min/median) and scans (cumsum/cumprod).

Samples draw ``dim`` as None, an int (possibly negative) or a tuple, and ``keepdim`` both ways, on
shapes with 0-d, size-0 and size-1 dimensions where the op allows them. Ops that pick elements
get tie-free values (``distinct``); entries tagged "nondiff" feed ties on purpose and only
compare gradients with PyTorch (how ties share the gradient).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tests.opinfo import OpInfo, away_from, distinct, draw_shape, floats, integers

INF = float("inf")


def draw_dim(draw, shape, none=True, tuples=True):
    """None, an int or a tuple of distinct dims of ``shape``, each possibly negative."""
    n = len(shape)
    kinds = (["none"] if none else []) + ["int"] + (["tuple"] if tuples else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None

    def sign(d):  # the same dim, counted from the end half of the time
        return d - max(n, 1) if draw(st.booleans()) else d

    if kind == "int":
        return sign(draw(st.integers(0, max(n - 1, 0))))
    if n == 0:
        return draw(st.sampled_from([(), (0,), (-1,)]))
    picks = draw(st.permutations(range(n)))[: draw(st.integers(1, n))]
    return tuple(sign(d) for d in picks)


def reduced(shape, dim):
    """How many elements each output element reduces over."""
    if dim is None or dim == ():
        return int(np.prod(shape)) if shape else 1
    dims = dim if isinstance(dim, tuple) else (dim,)
    return int(np.prod([shape[d] for d in dims])) if shape else 1


def reduction(values="floats", none=True, tuples=True, min_side=0, max_dims=3):
    """(x, dim, keepdim), x drawn as floats, distinct, nonzero, ties or signed_distinct."""

    def sample(draw):
        shape = draw_shape(draw, max_dims=max_dims, min_side=min_side)
        dim = draw_dim(draw, shape, none, tuples)
        keepdim = draw(st.booleans())
        if values == "distinct":
            x = distinct(draw, shape)
        elif values == "nonzero":
            x = away_from(draw, shape, (0.0,), gap=0.2)
        elif values == "ties":  # few distinct values, so ties are everywhere
            x = floats(draw, shape, -2, 2).round()
        elif values == "signed_distinct":  # distinct magnitudes, random signs
            x = distinct(draw, shape, 0.2, 2.0) * np.where(floats(draw, shape) > 0, 1.0, -1.0)
        else:
            x = floats(draw, shape)
        return np.asarray(x, dtype=np.float64), dim, keepdim

    return sample


def with_zeros(count, none=True, scan=False):
    """(x, dim, keepdim) with ``count`` exact zeros in every reduced slice (or in x if dim=None)."""

    def sample(draw):
        shape = draw_shape(draw, min_dims=1, min_side=max(count, 1))
        dim = draw_dim(draw, shape, none=none and not scan, tuples=False)
        x = away_from(draw, shape, (0.0,), gap=0.2)
        axis = None if dim is None else dim % len(shape)
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        if axis is None:
            flat = x.reshape(-1)
            flat[rng.choice(flat.size, count, replace=False)] = 0.0
        else:
            moved = np.moveaxis(x, axis, -1)  # a view: writes land in x
            for idx in np.ndindex(moved.shape[:-1]):
                moved[idx][rng.choice(moved.shape[-1], count, replace=False)] = 0.0
        return x, dim, draw(st.booleans())

    return sample


def var_sample(draw):
    """(x, dim, correction, keepdim) with more elements per slice than the correction."""
    shape = draw_shape(draw, max_dims=3, min_side=1)
    dim = draw_dim(draw, shape)
    n = reduced(shape, dim)
    correction = draw(st.sampled_from([c for c in (0, 1, 2, 0.5) if c < n]))
    return floats(draw, shape), dim, correction, draw(st.booleans())


def norm_sample(draw):
    """(x, p, dim, keepdim), x with distinct magnitudes away from 0 (kinks of |x| and max)."""
    p = draw(st.sampled_from([2, "fro", 1, INF, -INF, 3, 1.5, 0.5, 0]))
    shape = draw_shape(draw, max_dims=3, min_side=0 if p not in (INF, -INF) else 1)
    dim = draw_dim(draw, shape, tuples=True)
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:
        dim = dim[:2]
    x = distinct(draw, shape, 0.2, 2.0) * np.where(floats(draw, shape) > 0, 1.0, -1.0)
    return np.asarray(x, dtype=np.float64), p, dim, draw(st.booleans())


def scan_sample(values="floats"):
    def sample(draw):
        shape = draw_shape(draw, max_dims=3)
        dim = draw_dim(draw, shape, none=False, tuples=False)
        x = away_from(draw, shape, (0.0,), gap=0.3) if values == "nonzero" else floats(draw, shape)
        return x, dim

    return sample


def _red(name):
    """``lib.name(x, dim=..., keepdim=...)``."""

    def fn(lib, x, dim, keepdim):
        return getattr(lib, name)(x, dim=dim, keepdim=keepdim)

    return fn


def _prod(lib, x, dim, keepdim):
    return lib.prod(x) if dim is None else lib.prod(x, dim, keepdim=keepdim)


def _full(name):
    return lambda lib, x, dim, keepdim: getattr(lib, name)(x)


def _values(name):
    """max/min/median along one dim; the sweep follows the values (indices: test_reductions)."""
    return lambda lib, x, dim, keepdim: getattr(lib, name)(x, dim, keepdim).values


def _logsumexp(lib, x, dim, keepdim):
    return lib.logsumexp(x, tuple(range(x.ndim)) if dim is None else dim, keepdim=keepdim)


def _norm(lib, x, p, dim, keepdim):
    return lib.norm(x, p=p, dim=dim, keepdim=keepdim)


def _var(name):
    def fn(lib, x, dim, correction, keepdim):
        return getattr(lib, name)(x, dim=dim, correction=correction, keepdim=keepdim)

    return fn


def _var_mean(lib, x, dim, correction, keepdim):
    v, m = lib.var_mean(x, dim=dim, correction=correction, keepdim=keepdim)
    return v + 3 * m


def _std_mean(lib, x, dim, correction, keepdim):
    s, m = lib.std_mean(x, dim=dim, correction=correction, keepdim=keepdim)
    return s - 2 * m


def _unbiased_sample(draw):
    x = floats(draw, draw_shape(draw, min_dims=1, min_side=2))
    return x, draw(st.booleans()), draw(st.booleans())


def _large(draw):
    """Values near 1000, where exp overflows unless the max is subtracted first."""
    x, dim, keepdim = reduction(min_side=1)(draw)
    return np.asarray(x * 30 + 1000.0), dim, keepdim


def _no_ties_pair(draw):
    shape = draw_shape(draw)
    x = distinct(draw, shape)
    return x, np.asarray(-x + 0.0371)


one_dim = dict(none=False, tuples=False)

OPS: list[OpInfo] = [
    OpInfo("sum", _red("sum"), reduction()),
    OpInfo("mean", _red("mean"), reduction(min_side=1)),
    OpInfo("mean_empty", _red("mean"), reduction(), gradgrad=False, tags=("nondiff",)),
    OpInfo("prod", _prod, reduction("nonzero", tuples=False)),
    OpInfo("prod_one_zero", _prod, with_zeros(1)),
    OpInfo("prod_two_zeros", _prod, with_zeros(2)),
    OpInfo("prod_three_zeros", _prod, with_zeros(3), gradgrad=False),
    OpInfo("amax", _red("amax"), reduction("distinct", min_side=1)),
    OpInfo("amin", _red("amin"), reduction("distinct", min_side=1)),
    OpInfo("amax_ties", _red("amax"), reduction("ties", min_side=1), tags=("nondiff",)),
    OpInfo("amin_ties", _red("amin"), reduction("ties", min_side=1), tags=("nondiff",)),
    OpInfo("max_full", _full("max"), reduction("distinct", min_side=1)),
    OpInfo("min_full", _full("min"), reduction("distinct", min_side=1)),
    OpInfo("max_full_ties", _full("max"), reduction("ties", min_side=1), tags=("nondiff",)),
    OpInfo("min_full_ties", _full("min"), reduction("ties", min_side=1), tags=("nondiff",)),
    OpInfo("max_dim", _values("max"), reduction("distinct", min_side=1, **one_dim)),
    OpInfo("min_dim", _values("min"), reduction("distinct", min_side=1, **one_dim)),
    OpInfo(
        "max_dim_ties", _values("max"), reduction("ties", min_side=1, **one_dim), tags=("nondiff",)
    ),
    OpInfo(
        "min_dim_ties", _values("min"), reduction("ties", min_side=1, **one_dim), tags=("nondiff",)
    ),
    OpInfo("max_binary", lambda lib, x, y: lib.max(x, y), _no_ties_pair),
    OpInfo("min_binary", lambda lib, x, y: lib.min(x, y), _no_ties_pair),
    OpInfo("median_full", _full("median"), reduction("distinct", min_side=1)),
    OpInfo("median_dim", _values("median"), reduction("distinct", min_side=1, **one_dim)),
    OpInfo("var", _var("var"), var_sample),
    OpInfo("std", _var("std"), var_sample),
    OpInfo("var_mean", _var_mean, var_sample),
    OpInfo("std_mean", _std_mean, var_sample),
    OpInfo(
        "var_unbiased",
        lambda lib, x, unbiased, keepdim: lib.var(x, 0, unbiased, keepdim),
        _unbiased_sample,
    ),
    OpInfo("logsumexp", _logsumexp, reduction(min_side=1)),
    OpInfo("logsumexp_large", _logsumexp, _large, rtol=1e-6),
    OpInfo("norm", _norm, norm_sample),
    OpInfo("norm_default", lambda lib, x, dim, keepdim: x.norm(), reduction("signed_distinct")),
    OpInfo("cumsum", lambda lib, x, dim: lib.cumsum(x, dim), scan_sample()),
    OpInfo("cumsum_method", lambda lib, x, dim: x.cumsum(dim=dim), scan_sample()),
    OpInfo("cumprod", lambda lib, x, dim: lib.cumprod(x, dim), scan_sample("nonzero")),
    OpInfo(
        "cumprod_zeros",
        lambda lib, x, dim, keepdim: lib.cumprod(x, dim),
        with_zeros(1, scan=True),
    ),
    OpInfo(
        "cumprod_two_zeros",
        lambda lib, x, dim, keepdim: lib.cumprod(x, dim),
        with_zeros(2, scan=True),
    ),
]


def renorm_sample(draw):
    """Slices whose norms sit clearly above or below maxnorm (the rule switches there)."""
    s = draw_shape(draw, 2, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    x = away_from(draw, s, (0.0,))
    p = draw(st.sampled_from([1.0, 2.0, 3.0, float("inf")]))
    axes = tuple(k for k in range(len(s)) if k != d)
    a = np.abs(x)
    norms = a.max(axis=axes) if p == float("inf") else (a**p).sum(axis=axes) ** (1 / p)
    ordered = np.sort(norms)
    gaps = [(ordered[k] + ordered[k + 1]) / 2 for k in range(len(ordered) - 1)]
    cut = draw(st.sampled_from(gaps + [ordered[0] / 2, ordered[-1] * 2]))
    return x, p, d, float(cut)


OPS += [
    OpInfo("renorm", lambda lib, x, p, d, m: lib.renorm(x, p, d, m), renorm_sample),
    OpInfo("renorm_method", lambda lib, x, p, d, m: x.renorm(p, d, m), renorm_sample),
]


# ---- statistics (ops-math) ----------------------------------------------------------------------


def _with_nans(draw, shp, lo=-2.0, hi=2.0):
    x = distinct(draw, shp, lo, hi)
    mask = floats(draw, shp, 0, 1) < 0.25
    return np.where(mask, np.nan, x)


def _nan_reduce(draw):
    s = draw_shape(draw)
    return (_with_nans(draw, s), draw_dim(draw, s), draw(st.booleans()))


def _nan_reduce_nonempty(draw):
    s = draw_shape(draw, min_side=1)
    return (_with_nans(draw, s), draw_dim(draw, s), draw(st.booleans()))


def _finite_reduce(draw):
    s = draw_shape(draw, min_side=1)
    return (floats(draw, s), draw_dim(draw, s), draw(st.booleans()))


def _nanmedian_dim(draw):
    """No all-NaN slice along ``dim``: which NaN PyTorch picks then is an nth_element detail."""
    s = draw_shape(draw, min_dims=1, min_side=1)
    d = draw(st.integers(-len(s), len(s) - 1))
    x = _with_nans(draw, s)
    first = [slice(None)] * len(s)
    first[d] = 0
    x[tuple(first)] = distinct(draw, x[tuple(first)].shape, 3.0, 4.0)
    return (x, d, draw(st.booleans()))


def _nanmedian_all(draw):
    """At least one number: an all-NaN input has NaN for its median and no gradient to check."""
    s = draw_shape(draw, min_side=1)
    x = _with_nans(draw, s)
    x.flat[0] = draw(st.floats(3.0, 4.0))
    return (x,)


MODES = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(nans: bool):
    def sample(draw):
        s = draw_shape(draw, min_side=1)
        x = _with_nans(draw, s) if nans else distinct(draw, s)
        dim = draw(st.sampled_from([None] + list(range(-len(s), len(s)))))
        # a tensor q is a tuple here: as a float array it would become an input that requires
        # grad, and neither library differentiates the quantile level
        q = draw(st.sampled_from([0.0, 0.3, 0.5, 1.0, (0.625,), ([0.1, 0.55, 0.9],)]))
        return (x, q, dim, draw(st.booleans()), draw(st.sampled_from(MODES)))

    return sample


def _q(lib, q, x):
    """The quantile level: a number, or a tensor of ``x``'s dtype (drawn as a 1-tuple)."""
    return lib.tensor(q[0], dtype=x.dtype) if isinstance(q, tuple) else q


def _ties(draw):
    """Values on a coarse grid: ties everywhere (stable sort order decides, as in PyTorch)."""
    s = draw_shape(draw, min_dims=1, min_side=1)
    return (np.round(floats(draw, s, -2, 2) * 2) / 2,)


def _cov_sample(draw):
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(2, 5))
    shape = draw(st.sampled_from([(rows, cols), (cols,)]))
    return (floats(draw, shape),)


def _cov_weights(draw):
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(3, 5))
    return (
        floats(draw, (rows, cols)),
        integers(draw, (cols,), 1, 4),
        floats(draw, (cols,), 0.5, 2.0),
        draw(st.sampled_from([0, 1, 2])),
    )


def _two_rows(draw):
    return (floats(draw, (draw(st.integers(2, 3)), draw(st.integers(3, 6)))),)


def _dist_sample(draw):
    a = draw_shape(draw, min_side=1)  # (the inf norm of nothing is an error)
    y = np.asarray(floats(draw, a) + 0.0371)
    return (floats(draw, a), y, draw(st.sampled_from([1, 2, 3, 1.5, INF])))


def _trap(draw):
    s = draw_shape(draw, min_dims=1)
    return (floats(draw, s), draw(st.integers(-len(s), len(s) - 1)))


def _trap_x(draw):
    s = draw_shape(draw, min_dims=1, min_side=1)
    d = draw(st.integers(-len(s), len(s) - 1))
    x = np.cumsum(floats(draw, (s[d],), 0.2, 1.0))
    return (floats(draw, s), x, d)


def _aminmax(draw):
    s = draw_shape(draw, min_side=1)
    return (
        distinct(draw, s),
        draw(st.sampled_from([None] + list(range(-len(s), len(s))))),
        draw(st.booleans()),
    )


OPS += [
    OpInfo("nansum", lambda lib, x, d, k: lib.nansum(x, d, k), _nan_reduce),
    OpInfo("nansum_all", lambda lib, x, d, k: x.nansum(), _nan_reduce),
    # (all-NaN slices have NaN gradients: compared with PyTorch, not finite differences)
    OpInfo(
        "nanmean",
        lambda lib, x, d, k: lib.nanmean(x, d, k),
        _nan_reduce_nonempty,
        tags=("nondiff",),
    ),
    OpInfo("nanmean_finite", lambda lib, x, d, k: x.nanmean(d, k), _finite_reduce),
    OpInfo("nanmedian", lambda lib, x: lib.nanmedian(x), _nanmedian_all),
    OpInfo("nanmedian_dim", lambda lib, x, d, k: x.nanmedian(d, k).values, _nanmedian_dim),
    OpInfo(
        "nanmedian_dim_indices",
        lambda lib, x, d, k: x.detach().nanmedian(d, k).indices * 1.0,
        _nanmedian_dim,
    ),
    OpInfo(
        "quantile",
        lambda lib, x, q, d, k, m: lib.quantile(x, _q(lib, q, x), d, k, interpolation=m),
        _quantile(False),
    ),
    OpInfo(
        "nanquantile",
        lambda lib, x, q, d, k, m: x.nanquantile(_q(lib, q, x), d, k, interpolation=m),
        _quantile(True),
        tags=("nondiff",),  # NaN inputs: no finite differences (PyTorch's values and grads)
    ),
    OpInfo(
        "nanquantile_finite",
        lambda lib, x, q, d, k, m: lib.nanquantile(x, _q(lib, q, x), d, k, interpolation=m),
        _quantile(False),
    ),
    OpInfo("quantile_ties", lambda lib, x: lib.quantile(x, 0.4, dim=-1), _ties, tags=("nondiff",)),
    OpInfo("aminmax_min", lambda lib, x, d, k: lib.aminmax(x, dim=d, keepdim=k).min, _aminmax),
    OpInfo("aminmax_max", lambda lib, x, d, k: x.aminmax(dim=d, keepdim=k).max, _aminmax),
    OpInfo("cov", lambda lib, x: lib.cov(x), _cov_sample),
    OpInfo("cov_correction0", lambda lib, x: x.cov(correction=0), _cov_sample),
    OpInfo(
        "cov_weights",
        lambda lib, x, fw, aw, c: lib.cov(x, correction=c, fweights=fw, aweights=aw),
        _cov_weights,
    ),
    OpInfo("corrcoef", lambda lib, x: lib.corrcoef(x), _two_rows),
    OpInfo("dist", lambda lib, x, y, p: lib.dist(x, y, p), _dist_sample),
    OpInfo("trapezoid", lambda lib, y, d: lib.trapezoid(y, dim=d), _trap),
    OpInfo("trapezoid_dx", lambda lib, y, d: lib.trapezoid(y, dx=0.5, dim=d), _trap),
    OpInfo("trapezoid_x", lambda lib, y, x, d: lib.trapezoid(y, x, dim=d), _trap_x),
    OpInfo("trapz_alias", lambda lib, y, d: lib.trapz(y, dim=d), _trap),
    OpInfo("cumulative_trapezoid", lambda lib, y, d: lib.cumulative_trapezoid(y, dim=d), _trap),
    OpInfo(
        "cumulative_trapezoid_x",
        lambda lib, y, x, d: lib.cumulative_trapezoid(y, x, dim=d),
        _trap_x,
    ),
]
