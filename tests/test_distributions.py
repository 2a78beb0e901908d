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
        gd.kl_divergence(gd.Normal(0.0, 1.0), gd.Gamma(1.0, 1.0))


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

    for d in (
        gd.Gamma(gg.tensor(2.0), gg.tensor(1.0)),
        gd.Beta(gg.tensor(2.0), gg.tensor(1.0)),
        gd.Dirichlet(gg.tensor([1.0, 2.0])),
    ):
        assert not d.has_rsample
        with pytest.raises(NotImplementedError, match="gamma"):
            d.rsample()


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
