"""glassgrad.distributions against torch.distributions (float64): log_prob, entropy, moments and
KL divergences, their gradients with respect to the parameters, sample shapes and statistics,
reparameterised gradients, and argument validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as td

import glassgrad as gg
import glassgrad.distributions as gd
from glassgrad.distributions import _special

# torch's polygamma(1) (the derivative of digamma) is accurate to ~1e-9 only; ours to ~1e-15
TOL = {"rtol": 1e-8, "atol": 1e-10}
R = np.random.default_rng(0)


def pos(*shape, lo=0.5, hi=3.0):
    return R.uniform(lo, hi, size=shape)


def spd(*batch, n=3):
    a = R.standard_normal((*batch, n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def tril(*batch, n=3):
    m = np.tril(R.standard_normal((*batch, n, n)), -1)
    return m + np.eye(n) * pos(*batch, n)[..., None]


def simplex(*shape):
    p = pos(*shape)
    return p / p.sum(-1, keepdims=True)


# name, (params), value, builder(dist module, *params)
CASES = {
    "normal": (
        (R.standard_normal(3), pos(3)),
        R.standard_normal((4, 3)),
        lambda d, m, s: d.Normal(m, s),
    ),
    "uniform": (
        (R.uniform(-1, 0, 3), R.uniform(1, 2, 3)),
        R.uniform(0, 0.9, (2, 3)),
        lambda d, lo, hi: d.Uniform(lo, hi),
    ),
    "bernoulli_probs": (
        (R.uniform(0.1, 0.9, 3),),
        R.integers(0, 2, (2, 3)).astype(float),
        lambda d, p: d.Bernoulli(probs=p),
    ),
    "bernoulli_logits": (
        (R.standard_normal(3),),
        R.integers(0, 2, (2, 3)).astype(float),
        lambda d, lg: d.Bernoulli(logits=lg),
    ),
    "categorical_probs": (
        (pos(2, 4),),
        R.integers(0, 4, (3, 2)),
        lambda d, p: d.Categorical(probs=p),
    ),
    "categorical_logits": (
        (R.standard_normal((2, 4)),),
        R.integers(0, 4, (3, 2)),
        lambda d, lg: d.Categorical(logits=lg),
    ),
    "mvn_cov": (
        (R.standard_normal(3), spd(2)),
        R.standard_normal((4, 2, 3)),
        lambda d, m, c: d.MultivariateNormal(m, covariance_matrix=c),
    ),
    "mvn_tril": (
        (R.standard_normal((2, 3)), tril()),
        R.standard_normal((4, 1, 3)),
        lambda d, m, lt: d.MultivariateNormal(m, scale_tril=lt),
    ),
    "mvn_precision": (
        (R.standard_normal(3), spd(2)),
        R.standard_normal((2, 3)),
        lambda d, m, p: d.MultivariateNormal(m, precision_matrix=p),
    ),
    "gamma": ((pos(3), pos(3)), pos(2, 3), lambda d, a, b: d.Gamma(a, b)),
    "beta": ((pos(3), pos(3)), R.uniform(0.05, 0.95, (2, 3)), lambda d, a, b: d.Beta(a, b)),
    "dirichlet": ((pos(2, 4),), simplex(3, 2, 4), lambda d, a: d.Dirichlet(a)),
}
QUANTITIES = ["log_prob", "entropy", "mean", "variance", "stddev"]
NAN_MOMENTS = {"categorical_probs", "categorical_logits"}


def evaluate(lib, dmod, case, quantity):
    params, value, build = CASES[case]
    if lib is torch:
        ps = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
        v = torch.tensor(value)
    else:
        ps = [gg.tensor(p, dtype=gg.float64, requires_grad=True) for p in params]
        v = gg.tensor(value)
    dist = build(dmod, *ps)
    out = dist.log_prob(v) if quantity == "log_prob" else getattr(dist, quantity)
    out = out() if callable(out) else out
    grads = []
    if quantity in ("log_prob", "entropy") or case not in NAN_MOMENTS:
        out.sum().backward()
        grads = [p.grad for p in ps]
    return out, grads, dist


def as_np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t._data


@pytest.mark.parametrize("quantity", QUANTITIES)
@pytest.mark.parametrize("case", list(CASES))
def test_values_and_gradients_match_torch(case, quantity):
    ours, our_grads, dist = evaluate(gg, gd, case, quantity)
    theirs, their_grads, tdist = evaluate(torch, td, case, quantity)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(as_np(ours), as_np(theirs), **TOL)
    for a, b in zip(our_grads, their_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(as_np(a), as_np(b), **TOL)
    assert tuple(dist.batch_shape) == tuple(tdist.batch_shape)
    assert tuple(dist.event_shape) == tuple(tdist.event_shape)


KL_CASES = {
    "normal": (
        lambda d, a, b: d.Normal(a, b),
        (R.standard_normal(3), pos(3)),
        (R.standard_normal(3), pos(3)),
    ),
    "uniform": (
        lambda d, a, b: d.Uniform(a, b),
        (R.uniform(-1, 0, 3), R.uniform(1, 2, 3)),
        (np.array([-2.0, -1.5, 0.5]), np.array([3.0, 2.5, 2.0])),
    ),
    "bernoulli": (
        lambda d, p: d.Bernoulli(probs=p),
        (R.uniform(0.1, 0.9, 3),),
        (R.uniform(0.1, 0.9, 3),),
    ),
    "categorical": (
        lambda d, lg: d.Categorical(logits=lg),
        (R.standard_normal((2, 4)),),
        (R.standard_normal((2, 4)),),
    ),
    "mvn": (
        lambda d, m, c: d.MultivariateNormal(m, covariance_matrix=c),
        (R.standard_normal((2, 3)), spd()),
        (R.standard_normal(3), spd(2)),
    ),
    "gamma": (lambda d, a, b: d.Gamma(a, b), (pos(3), pos(3)), (pos(3), pos(3))),
    "beta": (lambda d, a, b: d.Beta(a, b), (pos(3), pos(3)), (pos(3), pos(3))),
    "dirichlet": (lambda d, a: d.Dirichlet(a), (pos(2, 4),), (pos(2, 4),)),
}


@pytest.mark.parametrize("case", list(KL_CASES))
def test_kl_divergence_matches_torch(case):
    build, pp, qp = KL_CASES[case]
    results = []
    for lib, dmod in ((gg, gd), (torch, td)):
        ps = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in (*pp, *qp)]
        p, q = build(dmod, *ps[: len(pp)]), build(dmod, *ps[len(pp) :])
        kl = dmod.kl_divergence(p, q)
        kl.sum().backward()
        results.append((kl, [t.grad for t in ps]))
    (ours, og), (theirs, tg) = results
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(as_np(ours), as_np(theirs), **TOL)
    for a, b in zip(og, tg):
        np.testing.assert_allclose(as_np(a), as_np(b), **TOL)


def test_kl_edge_cases():
    p = gd.Uniform(gg.tensor([0.0, 0.0]), gg.tensor([1.0, 1.0]))
    q = gd.Uniform(gg.tensor([0.5, -1.0]), gg.tensor([2.0, 2.0]))
    assert np.isinf(gd.kl_divergence(p, q)._data[0])
    with pytest.raises(NotImplementedError):
        gd.kl_divergence(gd.Normal(0.0, 1.0), gd.Cauchy(1.0, 1.0))  # as torch: no closed form
    assert np.isinf(gd.kl_divergence(gd.Normal(0.0, 1.0), gd.Gamma(1.0, 1.0)).item())


# ---- sampling ------------------------------------------------------------------------------------

SAMPLERS = {
    "normal": (lambda: gd.Normal(gg.tensor([1.0, -2.0]), gg.tensor([0.5, 2.0])), (2,)),
    "uniform": (lambda: gd.Uniform(gg.tensor([0.0, 1.0]), gg.tensor([1.0, 5.0])), (2,)),
    "bernoulli": (lambda: gd.Bernoulli(probs=gg.tensor([0.2, 0.7])), (2,)),
    "categorical": (lambda: gd.Categorical(probs=gg.tensor([[0.2, 0.3, 0.5]])), (1,)),
    "mvn": (
        lambda: gd.MultivariateNormal(gg.tensor([1.0, 2.0]), gg.tensor([[2.0, 0.5], [0.5, 1.0]])),
        (2,),
    ),
    "gamma": (lambda: gd.Gamma(gg.tensor([0.5, 3.0]), gg.tensor([1.0, 2.0])), (2,)),
    "beta": (lambda: gd.Beta(gg.tensor([0.5, 3.0]), gg.tensor([2.0, 1.0])), (2,)),
    "dirichlet": (lambda: gd.Dirichlet(gg.tensor([0.5, 1.0, 3.0])), (3,)),
}


@pytest.mark.parametrize("case", list(SAMPLERS))
def test_sample_shapes_and_statistics(case):
    gg.manual_seed(0)
    make, shape = SAMPLERS[case]
    d = make()
    assert tuple(d.sample().shape) == tuple(d.batch_shape) + tuple(d.event_shape)
    assert tuple(d.sample((4, 5)).shape) == (4, 5, *shape)
    x = d.sample((40000,))
    assert not x.requires_grad
    if case == "categorical":
        freq = np.bincount(x._data.ravel(), minlength=3) / x.numel()
        np.testing.assert_allclose(freq, d.probs._data[0], atol=0.01)
        return
    np.testing.assert_allclose(x._data.mean(0), d.mean._data, rtol=0.03, atol=0.02)
    np.testing.assert_allclose(x._data.var(0), d.variance._data, rtol=0.06, atol=0.01)
    if case in ("beta", "dirichlet", "gamma", "bernoulli"):
        assert d.support.check(x)._data.all()


def test_rsample_gradients():
    gg.manual_seed(1)
    mu = gg.tensor(0.3, dtype=gg.float64, requires_grad=True)
    s = gg.tensor(1.5, dtype=gg.float64, requires_grad=True)
    x = gd.Normal(mu, s).rsample((20000,))
    assert x.requires_grad
    x.mean().backward()
    assert abs(mu.grad.item() - 1.0) < 1e-12
    mu.grad = s.grad = None
    (gd.Normal(mu, s).rsample((20000,)) ** 2).mean().backward()  # E[x²] = mu² + s²
    assert abs(mu.grad.item() - 0.6) < 0.05 and abs(s.grad.item() - 3.0) < 0.1

    lo = gg.tensor(1.0, requires_grad=True)
    hi = gg.tensor(3.0, requires_grad=True)
    gd.Uniform(lo, hi).rsample((20000,)).mean().backward()
    assert abs(lo.grad.item() - 0.5) < 0.02 and abs(hi.grad.item() - 0.5) < 0.02

    m = gg.tensor([1.0, 2.0], dtype=gg.float64, requires_grad=True)
    L = gg.tensor([[1.0, 0.0], [0.5, 2.0]], dtype=gg.float64, requires_grad=True)
    gd.MultivariateNormal(m, scale_tril=L).rsample((5000,)).sum(0).sum().backward()
    np.testing.assert_allclose(m.grad._data, [5000.0, 5000.0])
    assert L.grad.shape == (2, 2)

    for d, t in (
        (gd.Gamma(gg.tensor(2.0), gg.tensor(1.0)), td.Gamma(torch.tensor(2.0), torch.tensor(1.0))),
        (gd.Beta(gg.tensor(2.0), gg.tensor(1.0)), td.Beta(torch.tensor(2.0), torch.tensor(1.0))),
        (gd.Dirichlet(gg.tensor([1.0, 2.0])), td.Dirichlet(torch.tensor([1.0, 2.0]))),
    ):
        assert d.has_rsample and t.has_rsample
        assert tuple(d.rsample((3,)).shape) == tuple(t.rsample((3,)).shape)


# ---- validation ----------------------------------------------------------------------------------


def _message(exc):
    return str(exc).split("but found invalid values")[0]


@pytest.mark.parametrize(
    "make",
    [
        lambda d, lib: d.Normal(lib.tensor([0.0, 1.0]), lib.tensor([1.0, -1.0])),
        lambda d, lib: d.Bernoulli(probs=lib.tensor([0.5, 1.5])),
        lambda d, lib: d.Categorical(probs=lib.tensor([0.5, -0.2, 0.4])),
        lambda d, lib: d.Gamma(lib.tensor([1.0]), lib.tensor([0.0])),
        lambda d, lib: d.Dirichlet(lib.tensor([1.0, -2.0])),
        lambda d, lib: d.MultivariateNormal(
            lib.zeros(2), scale_tril=lib.tensor([[1.0, 1.0], [0.0, 1.0]])
        ),
        lambda d, lib: d.Bernoulli(),
        lambda d, lib: d.MultivariateNormal(lib.zeros(2)),
        lambda d, lib: d.Normal(lib.tensor(0.0), 1.0).log_prob(
            lib.tensor([[1.0]]).squeeze(0).sum() * float("nan")
        ),
        lambda d, lib: d.Beta(lib.tensor(1.0), lib.tensor(2.0)).log_prob(lib.tensor(1.5)),
        lambda d, lib: d.Categorical(logits=lib.zeros(3)).log_prob(lib.tensor(3)),
        lambda d, lib: d.MultivariateNormal(lib.zeros(2), lib.eye(2)).log_prob(lib.zeros(3)),
        lambda d, lib: d.Normal(lib.zeros(3), 1.0).log_prob(lib.zeros(2)),
    ],
)
def test_validation_errors_as_torch(make):
    with pytest.raises(Exception) as theirs:
        make(td, torch)
    with pytest.raises(type(theirs.value)) as ours:
        make(gd, gg)
    assert _message(ours.value) == _message(theirs.value)


def test_validation_can_be_switched_off():
    d = gd.Normal(gg.tensor(0.0), gg.tensor(-1.0), validate_args=False)
    assert d.scale.item() == -1.0
    gd.Distribution.set_default_validate_args(False)
    try:
        gd.Gamma(gg.tensor(-1.0), gg.tensor(1.0))
    finally:
        gd.Distribution.set_default_validate_args(True)


def test_misc_api():
    d = gd.Normal(0.0, 1.0)
    assert d.batch_shape == () and d.event_shape == () and d.has_rsample
    np.testing.assert_allclose(
        d.cdf(gg.tensor(0.5))._data, td.Normal(0.0, 1.0).cdf(torch.tensor(0.5)).numpy()
    )
    assert repr(gd.constraints.positive) == repr(td.constraints.positive)
    assert repr(gd.Categorical(logits=gg.zeros(3)).support) == repr(
        td.Categorical(logits=torch.zeros(3)).support
    )
    assert gd.Categorical(logits=gg.zeros(2, 3)).enumerate_support().shape == (3, 2)
    c = gd.Categorical(logits=gg.tensor([0.0, 1.0]))
    np.testing.assert_allclose(
        c.probs._data, torch.tensor([0.0, 1.0]).softmax(-1).numpy(), rtol=1e-6
    )
    mvn = gd.MultivariateNormal(gg.zeros(2), precision_matrix=gg.tensor([[2.0, 0.5], [0.5, 1.0]]))
    np.testing.assert_allclose(mvn.precision_matrix._data, [[2.0, 0.5], [0.5, 1.0]], atol=1e-6)


# ---- the special functions -----------------------------------------------------------------------


def test_special_functions_against_torch():
    x = np.array([1e-3, 0.3, 0.5, 1.0, 2.5, 7.3, 12.0, 55.0, 1e4, -0.4, -2.7])
    t = torch.tensor(x)
    np.testing.assert_allclose(_special.lgamma(x), torch.lgamma(t).numpy(), rtol=1e-14)
    np.testing.assert_allclose(_special.digamma(x), torch.digamma(t).numpy(), rtol=1e-13)
    np.testing.assert_allclose(_special.polygamma(1, x), torch.polygamma(1, t).numpy(), rtol=1e-8)
    for n in (2, 3, 4):
        np.testing.assert_allclose(
            _special.polygamma(n, x), torch.polygamma(n, t).numpy(), rtol=1e-12
        )
    assert _special.polygamma(1, np.array([1.0]))[0] == pytest.approx(np.pi**2 / 6, rel=1e-15)


def test_special_functions_second_order():
    from glassgrad.autograd.gradcheck import gradcheck, gradgradcheck

    a = gg.tensor([0.7, 2.3, 11.0], dtype=gg.float64, requires_grad=True)
    for f in (_special.lgamma, _special.digamma, lambda v: _special.polygamma(2, v)):
        assert gradcheck(f, (a,)) and gradgradcheck(f, (a,))
    m = gg.tensor(spd(2), requires_grad=True)
    sym = lambda v: _special.cholesky((v + v.mT) / 2)  # noqa: E731
    assert gradcheck(sym, (m,)) and gradgradcheck(sym, (m,))
    b = gg.tensor(R.standard_normal((4, 2, 3, 2)), requires_grad=True)
    assert gradgradcheck(_special.solve, (m, b))


# ---- implicit reparameterisation: Gamma, Dirichlet, Beta -----------------------------------------
#
# glassgrad's draws come from NumPy, so draws are pinned (the sampler monkeypatched) to compare
# gradients with PyTorch's for the very same x; the statistical tests use glassgrad's own draws.

from glassgrad.distributions import _implicit  # noqa: E402

ALPHAS = np.geomspace(1e-3, 1e3, 49)
DTYPES = {"float64": (np.float64, 1e-10), "float32": (np.float32, 1e-5)}


def _gamma_grid(dtype):
    """(alpha, x) pairs through every branch: x < 0.8 (series), alpha > 8 near and away from the
    mode (saddle point), the rational approximation; draws and a fixed x grid."""
    rng = np.random.default_rng(5)
    a_draw = np.repeat(ALPHAS, 40)
    x_draw = rng.standard_gamma(a_draw)
    a_grid, x_grid = (v.ravel() for v in np.meshgrid(ALPHAS, np.geomspace(1e-6, 3e3, 40)))
    a = np.concatenate([a_draw, a_grid, [10.0, 50.0, 200.0]])
    x = np.concatenate([x_draw, x_grid, [10.0, 52.0, 190.0]])  # x within 10% of alpha
    finfo = np.finfo(dtype)
    return a.astype(dtype), np.clip(x, finfo.tiny, finfo.max).astype(dtype)


def _pin(monkeypatch, draws):
    """Make glassgrad's gamma sampler return ``draws`` (the next gamma draw, whatever alpha)."""
    monkeypatch.setattr(_implicit, "_draw_standard_gamma", lambda alpha: draws.astype(alpha.dtype))


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_standard_gamma_gradient_matches_torch(dtype, monkeypatch):
    np_dtype, rtol = DTYPES[dtype]
    a, x = _gamma_grid(np_dtype)
    _pin(monkeypatch, x)
    alpha = gg.tensor(a, requires_grad=True)
    sample = _implicit.rsample_standard_gamma(alpha)
    assert (
        sample.grad_fn.name()
        == torch._standard_gamma(torch.ones(1, requires_grad=True)).grad_fn.name()
    )
    np.testing.assert_array_equal(sample._data, x)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, a.shape).astype(np_dtype)
    sample.backward(gg.tensor(weights))
    theirs = torch._standard_gamma_grad(torch.from_numpy(a), torch.from_numpy(x)).numpy()
    assert alpha.grad.dtype == alpha.dtype and np.all(np.isfinite(theirs))
    np.testing.assert_allclose(alpha.grad._data, weights * theirs, rtol=rtol, atol=0)


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_dirichlet_grad_matches_torch(dtype):
    np_dtype, rtol = DTYPES[dtype]
    rng = np.random.default_rng(2)
    a, b = rng.choice(ALPHAS, 6000), rng.choice(ALPHAS, 6000)
    ga, gb = (np.maximum(rng.standard_gamma(v), 1e-300) for v in (a, b))
    finfo = np.finfo(np_dtype)
    x = np.clip(ga / (ga + gb), finfo.tiny, 1 - finfo.eps).astype(np_dtype)
    alpha = a.astype(np_dtype)
    total = alpha + b.astype(np_dtype)
    ours = _implicit.dirichlet_grad(x, alpha, total)
    theirs = torch._dirichlet_grad(*(torch.from_numpy(v) for v in (x, alpha, total))).numpy()
    assert ours.dtype == np_dtype and np.all(np.isfinite(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=0)


def _gamma_pdf(a, x):
    return np.exp((a - 1) * np.log(x) - x - torch.lgamma(torch.from_numpy(a)).numpy())


def test_standard_gamma_gradient_is_the_implicit_derivative():
    """dx/dalpha = -(dF/dalpha) / (dF/dx), F the regularised incomplete gamma function (PyTorch's
    ``special.gammainc``, differenced in alpha), at the 5%, 50% and 95% quantiles of each gamma
    and at x = 0.3 (the series branch); ATen's approximations are good to ~2e-4 here."""
    rng = np.random.default_rng(3)
    alphas = np.geomspace(0.01, 500, 40)
    quantiles = np.quantile(rng.standard_gamma(alphas, (20000, 40)), [0.05, 0.5, 0.95], axis=0)
    a = np.concatenate([np.tile(alphas, 3), alphas[:25]])
    x = np.concatenate([quantiles.ravel(), np.full(25, 0.3)])
    h = 1e-6 * a
    gammainc = lambda s: torch.special.gammainc(torch.from_numpy(s), torch.from_numpy(x)).numpy()  # noqa: E731
    dF_da = (gammainc(a + h) - gammainc(a - h)) / (2 * h)
    expected = -dF_da / _gamma_pdf(a, x)
    alpha = gg.tensor(a, requires_grad=True)
    with pytest.MonkeyPatch.context() as mp:
        _pin(mp, x)
        _implicit.rsample_standard_gamma(alpha).sum().backward()
    np.testing.assert_allclose(alpha.grad._data, expected, rtol=1e-3)


def _per_sample_gradients(make, params, n):
    """Per-draw derivatives: each parameter expanded to ``n`` independent copies."""
    leaves = [
        gg.tensor(np.broadcast_to(p, (n, *np.shape(p))).copy(), requires_grad=True) for p in params
    ]
    return leaves, make(*leaves)


def _assert_mean_close(per_draw, expected, where):
    """The Monte-Carlo mean within 5 standard errors of the exact value (and the errors small
    enough that a wrong derivative could not pass)."""
    mean, se = per_draw.mean(0), per_draw.std(0) / np.sqrt(per_draw.shape[0])
    assert np.all(se < 0.05 * np.abs(expected) + 1e-3), (where, se, expected)
    assert np.all(np.abs(mean - expected) < 5 * se + 1e-12), (where, mean, expected, se)


@pytest.mark.parametrize("alpha", [0.1, 1.5, 20.0])
def test_gamma_rsample_gradient_of_expectations_converges(alpha):
    gg.manual_seed(11)
    rate, n = 2.5, 100_000
    (a, r), x = _per_sample_gradients(lambda a, r: gd.Gamma(a, r).rsample(), [alpha, rate], n)
    (x + x**2 / 10).sum().backward()  # E[x] = a/r, E[x²] = a(a+1)/r²
    da = 1 / rate + (2 * alpha + 1) / rate**2 / 10
    dr = -alpha / rate**2 - 2 * alpha * (alpha + 1) / rate**3 / 10
    _assert_mean_close(a.grad._data, da, "alpha")
    _assert_mean_close(r.grad._data, dr, "rate")


def test_dirichlet_and_beta_rsample_gradients_converge():
    gg.manual_seed(12)
    conc, n = np.array([0.3, 1.0, 4.0]), 60_000
    (c,), x = _per_sample_gradients(lambda c: gd.Dirichlet(c).rsample(), [conc], n)
    assert x.grad_fn.name() == "_DirichletBackward"
    (x[:, 0] + 2 * x[:, 2]).sum().backward()  # E[x_i] = c_i / C
    total = conc.sum()
    mean_grad = lambda i: (np.eye(3)[i] * total - conc[i]) / total**2  # noqa: E731
    _assert_mean_close(c.grad._data, mean_grad(0) + 2 * mean_grad(2), "dirichlet")

    (a, b), y = _per_sample_gradients(lambda a, b: gd.Beta(a, b).rsample(), [0.7, 2.0], n)
    y.sum().backward()
    _assert_mean_close(a.grad._data, 2.0 / 2.7**2, "beta concentration1")
    _assert_mean_close(b.grad._data, -0.7 / 2.7**2, "beta concentration0")


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_dirichlet_and_beta_rsample_gradients_match_torch_for_the_same_draws(dtype, monkeypatch):
    np_dtype, rtol = DTYPES[dtype]
    rng = np.random.default_rng(4)
    conc = rng.choice(ALPHAS[8:-8], (5, 4))
    g = rng.standard_gamma(conc, (3, 5, 4))
    finfo = np.finfo(np_dtype)
    x = np.clip(g / g.sum(-1, keepdims=True), finfo.tiny, 1 - finfo.eps).astype(np_dtype)
    monkeypatch.setattr(_implicit, "_draw_standard_gamma", lambda alpha: g.astype(alpha.dtype))
    monkeypatch.setattr(torch, "_sample_dirichlet", lambda alpha: torch.from_numpy(x))
    w = rng.standard_normal(x.shape).astype(np_dtype)

    ours_c = gg.tensor(conc.astype(np_dtype), requires_grad=True)
    theirs_c = torch.tensor(conc.astype(np_dtype), requires_grad=True)
    ours, theirs = gd.Dirichlet(ours_c).rsample((3,)), td.Dirichlet(theirs_c).rsample((3,))
    np.testing.assert_allclose(ours._data, x, rtol=2 * float(finfo.eps))
    (ours * gg.tensor(w)).sum().backward()
    (theirs * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(ours_c.grad._data, theirs_c.grad.numpy(), rtol=rtol, atol=rtol)

    # Beta: the first coordinate of a two-category draw
    g, x = g[..., :2], x[..., :2] / x[..., :2].sum(-1, keepdims=True)
    x = np.clip(x, finfo.tiny, 1 - finfo.eps).astype(np_dtype)
    params = [conc[:, 0].astype(np_dtype), conc[:, 1].astype(np_dtype)]
    ours_p = [gg.tensor(p, requires_grad=True) for p in params]
    theirs_p = [torch.tensor(p, requires_grad=True) for p in params]
    (gd.Beta(*ours_p).rsample((3,)) * gg.tensor(w[..., 0])).sum().backward()
    (td.Beta(*theirs_p).rsample((3,)) * torch.from_numpy(w[..., 0])).sum().backward()
    for o, t in zip(ours_p, theirs_p):
        np.testing.assert_allclose(o.grad._data, t.grad.numpy(), rtol=rtol, atol=rtol)


def test_gamma_rsample_for_pinned_draws_as_torch(monkeypatch):
    """Gamma(alpha, rate).rsample() = standard draw / rate: d/dalpha through
    ``_standard_gamma_grad``, d/drate = -draw / rate², the draw clamped to the smallest float."""
    z = np.array([[1e-3, 0.5, 3.0], [2.0, 1e-320, 40.0]])
    a, r = np.array([0.2, 1.0, 30.0]), np.array([2.0, 0.5, 3.0])
    _pin(monkeypatch, z)
    alpha, rate = gg.tensor(a, requires_grad=True), gg.tensor(r, requires_grad=True)
    x = gd.Gamma(alpha, rate).rsample((2,))
    assert x._data.min() >= np.finfo(np.float64).tiny
    x.sum().backward()
    dz = torch._standard_gamma_grad(torch.tensor(a).expand(2, 3), torch.tensor(z)).numpy()
    np.testing.assert_allclose(alpha.grad._data, (dz / r).sum(0), rtol=1e-13)
    np.testing.assert_allclose(rate.grad._data, (-z / r**2).sum(0), rtol=1e-13)


def test_implicit_sampling_errors_name_the_op():
    with pytest.raises(RuntimeError, match=r"_standard_gamma: .*int64 of shape \(2,\)"):
        _implicit.rsample_standard_gamma(gg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match=r"_sample_dirichlet: .*at least 1 dim"):
        _implicit.rsample_dirichlet(gg.tensor(1.0, requires_grad=True))
