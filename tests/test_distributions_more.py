"""The rest of torch.distributions against PyTorch (float64): HalfNormal, HalfCauchy, Gumbel,
Weibull, Pareto, Chi2, Kumaraswamy, InverseGamma, FisherSnedecor, Multinomial, NegativeBinomial,
(Logit)RelaxedBernoulli, ContinuousBernoulli, LowRankMultivariateNormal, VonMises and
LogisticNormal: densities, moments, cdf/icdf and their parameter gradients; reparameterised
samples for the same base noise; KL divergences; the new transforms and constraint registries."""

from __future__ import annotations

import contextlib
import zlib

import numpy as np
import pytest
import torch
import torch.distributions as td

import glassgrad as gg
import glassgrad.distributions as gd

TOL = {"rtol": 1e-8, "atol": 1e-10}
R = np.random.default_rng(7)


def pos(*shape, lo=0.5, hi=3.0):
    return R.uniform(lo, hi, size=shape)


def unit(*shape):
    return R.uniform(0.05, 0.95, size=shape)


def as_np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t._data


# name: (params, value, builder(dist module, *params))
CASES = {
    "half_normal": ((pos(3),), pos(2, 3), lambda d, s: d.HalfNormal(s)),
    "half_cauchy": ((pos(3),), pos(2, 3), lambda d, s: d.HalfCauchy(s)),
    "gumbel": (
        (R.standard_normal(3), pos(3)),
        R.standard_normal((2, 3)),
        lambda d, m, s: d.Gumbel(m, s),
    ),
    "weibull": ((pos(3), pos(3, lo=1.2)), pos(2, 3), lambda d, s, k: d.Weibull(s, k)),
    "pareto": (
        (pos(3, lo=0.5, hi=1.0), pos(3, lo=2.5, hi=4.0)),
        pos(2, 3, lo=1.0, hi=3.0),
        lambda d, s, a: d.Pareto(s, a),
    ),
    "chi2": ((pos(3),), pos(2, 3), lambda d, k: d.Chi2(k)),
    "kumaraswamy": ((pos(3), pos(3)), unit(2, 3), lambda d, a, b: d.Kumaraswamy(a, b)),
    "inverse_gamma": (
        (pos(3, lo=2.5, hi=4.0), pos(3)),
        pos(2, 3),
        lambda d, a, b: d.InverseGamma(a, b),
    ),
    "fisher_snedecor": (
        (pos(3), pos(3, lo=4.5, hi=8.0)),
        pos(2, 3),
        lambda d, a, b: d.FisherSnedecor(a, b),
    ),
    "fisher_snedecor_nan": (
        (pos(3), np.array([1.0, 3.0, 6.0])),
        pos(2, 3),
        lambda d, a, b: d.FisherSnedecor(a, b),
    ),
    "multinomial_probs": (
        (pos(2, 4),),
        np.array([[[1.0, 2, 0, 2], [0, 0, 5, 0]]]),
        lambda d, p: d.Multinomial(5, probs=p),
    ),
    "multinomial_logits": (
        (R.standard_normal((2, 4)),),
        np.array([[1.0, 2, 0, 2], [3, 0, 1, 1]]),
        lambda d, lg: d.Multinomial(5, logits=lg),
    ),
    "negative_binomial_probs": (
        (pos(3), unit(3)),
        np.array([[0.0, 3, 7], [2, 0, 1]]),
        lambda d, n, p: d.NegativeBinomial(n, probs=p),
    ),
    "negative_binomial_logits": (
        (pos(3), R.standard_normal(3)),
        np.array([[0.0, 3, 7], [2, 0, 1]]),
        lambda d, n, lg: d.NegativeBinomial(n, logits=lg),
    ),
    "relaxed_bernoulli": (
        (pos(1), unit(3)),
        unit(2, 3),
        lambda d, t, p: d.RelaxedBernoulli(t[0], probs=p),
    ),
    "logit_relaxed_bernoulli": (
        (pos(1), R.standard_normal(3)),
        R.standard_normal((2, 3)),
        lambda d, t, lg: d.relaxed_bernoulli.LogitRelaxedBernoulli(t[0], logits=lg),
    ),
    "continuous_bernoulli_probs": (
        (np.array([0.1, 0.4995, 0.5, 0.8]),),
        unit(2, 4),
        lambda d, p: d.ContinuousBernoulli(probs=p),
    ),
    "continuous_bernoulli_logits": (
        (np.array([-2.0, 1e-3, 0.0, 1.5]),),
        unit(2, 4),
        lambda d, lg: d.ContinuousBernoulli(logits=lg),
    ),
    "lowrank_mvn": (
        (R.standard_normal((2, 3)), R.standard_normal((3, 2)), pos(3)),
        R.standard_normal((4, 2, 3)),
        lambda d, m, w, s: d.LowRankMultivariateNormal(m, w, s),
    ),
    "von_mises": (
        (R.standard_normal(4), np.array([0.3, 2.0, 3.74, 8.0])),
        R.uniform(-3, 3, (2, 4)),
        lambda d, m, k: d.VonMises(m, k),
    ),
    "logistic_normal": (
        (R.standard_normal((2, 3)), pos(2, 3)),
        np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.4, 0.1]]),
        lambda d, m, s: d.LogisticNormal(m, s),
    ),
    "logistic_normal_scalar": (
        (np.array(0.3), np.array(0.7)),
        np.array([0.4, 0.6]),
        lambda d, m, s: d.LogisticNormal(m, s),
    ),
}
CASES["one_hot_straight_through"] = (
    (pos(2, 3),),
    np.array([[[0.0, 1, 0], [1, 0, 0]]]),
    lambda d, p: d.OneHotCategoricalStraightThrough(probs=p),
)
QUANTITIES = ["log_prob", "entropy", "mean", "mode", "variance", "stddev", "cdf", "icdf"]


def _evaluate(lib, dmod, case, quantity):
    params, value, build = CASES[case]
    ps = [lib.tensor(p, dtype=lib.float64, requires_grad=True) for p in params]
    dist = build(dmod, *ps)
    if quantity in ("log_prob", "cdf"):
        out = getattr(dist, quantity)(lib.tensor(value, dtype=lib.float64))
    elif quantity == "icdf":
        out = dist.icdf(
            lib.tensor(R.uniform(0.05, 0.95, tuple(dist.batch_shape)), dtype=lib.float64)
        )
    else:
        out = getattr(dist, quantity)
        out = out() if callable(out) else out
    grads = []
    if out.requires_grad:
        finite = lib.isfinite(out)
        lib.where(finite, out, lib.zeros_like(out)).sum().backward()
        grads = [p.grad for p in ps]
    return out, grads, dist


@pytest.mark.parametrize("quantity", QUANTITIES)
@pytest.mark.parametrize("case", list(CASES))
def test_values_and_gradients_match_torch(case, quantity):
    seed = zlib.crc32(f"{case}/{quantity}".encode())
    R.bit_generator.state = np.random.default_rng(seed).bit_generator.state
    state = R.bit_generator.state
    try:
        theirs, their_grads, tdist = _evaluate(torch, td, case, quantity)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            _evaluate(gg, gd, case, quantity)
        return
    R.bit_generator.state = state
    ours, our_grads, dist = _evaluate(gg, gd, case, quantity)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(as_np(ours), as_np(theirs), **TOL)
    assert len(our_grads) == len(their_grads)
    for a, b in zip(our_grads, their_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(as_np(a), as_np(b), **TOL)
    assert tuple(dist.batch_shape) == tuple(tdist.batch_shape)
    assert tuple(dist.event_shape) == tuple(tdist.event_shape)
    assert dist.has_rsample == tdist.has_rsample
    assert repr(dist.support).replace("glassgrad.", "torch.") == repr(tdist.support)


# ---- reparameterised samples: the same base noise in both libraries ----------------------------


class Noise:
    """Base noise by kind and call number, identical for both libraries once ``reset``."""

    def __init__(self):
        self.calls = {}

    def reset(self):
        self.calls = {}

    def _rng(self, kind, shape):
        n = self.calls.get(kind, 0)
        self.calls[kind] = n + 1
        return np.random.default_rng(zlib.crc32(repr((kind, n, tuple(shape))).encode()))

    def uniform(self, shape):
        return self._rng("u", shape).uniform(0.02, 0.98, tuple(shape))

    def normal(self, shape):
        return self._rng("n", shape).standard_normal(tuple(shape))

    def gamma(self, alpha):
        return np.maximum(self._rng("g", alpha.shape).standard_gamma(alpha), 1e-300)


def _pin_noise(monkeypatch, noise):
    from glassgrad.distributions import (
        _implicit,
        bernoulli_family,
        lowrank_multivariate_normal,
        more,
        normal,
        uniform,
    )

    def ours_u(shape, dtype):
        return gg.tensor(noise.uniform(shape).astype(dtype))

    def ours_n(shape, dtype):
        return gg.tensor(noise.normal(shape).astype(dtype))

    for mod in (uniform, more, bernoulli_family):
        monkeypatch.setattr(mod, "uniform01", ours_u)
    for mod in (normal, lowrank_multivariate_normal):
        monkeypatch.setattr(mod, "standard_normal", ours_n)
    monkeypatch.setattr(_implicit, "_draw_standard_gamma", lambda a: noise.gamma(a).astype(a.dtype))

    def theirs_rand(*shape, dtype=None, device=None, **kw):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return torch.from_numpy(noise.uniform(shape)).to(dtype or torch.get_default_dtype())

    def theirs_n(shape, dtype, device):
        return torch.from_numpy(noise.normal(shape)).to(dtype)

    class PinnedGamma(torch.autograd.Function):
        @staticmethod
        def forward(ctx, alpha):
            z = torch.from_numpy(noise.gamma(alpha.detach().numpy())).to(alpha.dtype)
            ctx.save_for_backward(alpha, z)
            return z

        @staticmethod
        def backward(ctx, g):
            alpha, z = ctx.saved_tensors
            return g * torch._standard_gamma_grad(alpha, z)

    def fill(transform):
        def method(self):
            return self.copy_(torch.from_numpy(transform(noise.uniform(self.shape))))

        return method

    monkeypatch.setattr(torch, "rand", theirs_rand)
    monkeypatch.setattr(td.normal, "_standard_normal", theirs_n)
    monkeypatch.setattr(td.lowrank_multivariate_normal, "_standard_normal", theirs_n)
    monkeypatch.setattr(torch, "_standard_gamma", PinnedGamma.apply)
    monkeypatch.setattr(torch.Tensor, "exponential_", fill(lambda u: -np.log1p(-u)))
    monkeypatch.setattr(torch.Tensor, "cauchy_", fill(lambda u: np.tan(np.pi * (u - 0.5))))


RSAMPLE_CASES = [
    c
    for c in CASES
    if c not in ("von_mises", "one_hot_straight_through") and not c.startswith(("multi", "neg"))
]
GAMMA_BASED = ("chi2", "inverse_gamma", "fisher_snedecor", "fisher_snedecor_nan")


@pytest.mark.parametrize("case", RSAMPLE_CASES)
def test_rsample_matches_torch_for_the_same_noise(case, monkeypatch):
    noise = Noise()
    _pin_noise(monkeypatch, noise)
    params, _, build = CASES[case]
    results = []
    for lib, dmod in ((torch, td), (gg, gd)):
        noise.reset()
        ps = [lib.tensor(p, dtype=lib.float64, requires_grad=True) for p in params]
        x = build(dmod, *ps).rsample((5,))
        w = np.random.default_rng(3).standard_normal(tuple(x.shape))
        (x * lib.tensor(w)).sum().backward()
        results.append((x, [p.grad for p in ps]))
    (theirs, tg), (ours, og) = results
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(as_np(ours), as_np(theirs), rtol=1e-12, atol=1e-14)
    for a, b in zip(og, tg):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(as_np(a), as_np(b), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in RSAMPLE_CASES if c not in GAMMA_BASED])
def test_rsample_gradient_is_the_numerical_one_for_fixed_noise(case, monkeypatch):
    noise = Noise()
    _pin_noise(monkeypatch, noise)
    params, _, build = CASES[case]
    ps = [gg.tensor(p, dtype=gg.float64, requires_grad=True) for p in params]

    def draw(*ps):
        noise.reset()
        return build(gd, *ps).rsample((2,))

    assert gg.autograd.gradcheck(draw, ps, eps=1e-6, atol=1e-5, rtol=1e-4)


# ---- KL divergences ------------------------------------------------------------------------------

DISTS = {
    "normal": (lambda d, a, b: d.Normal(a, b), lambda: (R.standard_normal(3), pos(3))),
    "gumbel": (lambda d, a, b: d.Gumbel(a, b), lambda: (R.standard_normal(3), pos(3))),
    "half_normal": (lambda d, s: d.HalfNormal(s), lambda: (pos(3),)),
    "pareto": (
        lambda d, s, a: d.Pareto(s, a),
        lambda: (pos(3, lo=0.5, hi=1), pos(3, lo=2.5, hi=4)),
    ),
    "pareto_small_alpha": (
        lambda d, s, a: d.Pareto(s, a),
        lambda: (pos(3, lo=0.5, hi=1), np.array([0.5, 1.5, 3.0])),
    ),
    "exponential": (lambda d, r: d.Exponential(r), lambda: (pos(3),)),
    "gamma": (lambda d, a, b: d.Gamma(a, b), lambda: (pos(3), pos(3))),
    "uniform": (
        lambda d, a, b: d.Uniform(a, b),
        lambda: (pos(3, lo=0.1, hi=0.3), pos(3, lo=0.5, hi=0.9)),
    ),
    "uniform_wide": (
        lambda d, a, b: d.Uniform(a, b),
        lambda: (pos(3, lo=-1, hi=0), pos(3, lo=1, hi=2)),
    ),
    "beta": (lambda d, a, b: d.Beta(a, b), lambda: (pos(3), pos(3))),
    "laplace": (lambda d, a, b: d.Laplace(a, b), lambda: (R.standard_normal(3), pos(3))),
    "cauchy": (lambda d, a, b: d.Cauchy(a, b), lambda: (R.standard_normal(3), pos(3))),
    "geometric": (lambda d, p: d.Geometric(probs=p), lambda: (unit(3),)),
    "binomial": (lambda d, p: d.Binomial(5, probs=p), lambda: (unit(3),)),
    "cont_bernoulli": (
        lambda d, p: d.ContinuousBernoulli(probs=p),
        lambda: (np.array([0.2, 0.4995, 0.7]),),
    ),
    "lowrank": (
        lambda d, m, w, s: d.LowRankMultivariateNormal(m, w, s),
        lambda: (R.standard_normal((2, 3)), R.standard_normal((3, 2)), pos(3)),
    ),
    "mvn": (
        lambda d, m, lt: d.MultivariateNormal(m, scale_tril=lt),
        lambda: (R.standard_normal(3), np.tril(R.standard_normal((3, 3)), -1) + np.diag(pos(3))),
    ),
}
KL_PAIRS = [
    (p, q)
    for p in DISTS
    for q in DISTS
    if (p, q) not in {("lowrank", "normal"), ("mvn", "normal"), ("normal", "lowrank")}
]


def _kl(lib, dmod, p, q, pp, qp):
    ps = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in (*pp, *qp)]
    dp, dq = DISTS[p][0](dmod, *ps[: len(pp)]), DISTS[q][0](dmod, *ps[len(pp) :])
    kl = dmod.kl_divergence(dp, dq)
    if kl.requires_grad:
        lib.where(lib.isfinite(kl), kl, lib.zeros_like(kl)).sum().backward()
    return kl, [t.grad for t in ps]


@pytest.mark.parametrize(("p", "q"), KL_PAIRS)
def test_kl_divergence_matches_torch(p, q):
    pp, qp = DISTS[p][1](), DISTS[q][1]()
    try:
        theirs, tg = _kl(torch, td, p, q, pp, qp)
    except NotImplementedError as e:
        with pytest.raises(NotImplementedError) as ours:
            _kl(gg, gd, p, q, pp, qp)
        if str(e).startswith("No KL"):  # (ours also says why where PyTorch raises bare)
            assert str(ours.value) == str(e)
        return
    ours, og = _kl(gg, gd, p, q, pp, qp)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(as_np(ours), as_np(theirs), rtol=1e-8, atol=1e-10)
    for a, b in zip(og, tg):
        assert (a is None) == (b is None)
        if a is not None:  # torch's trigamma (in the gradients of digamma) is good to ~1e-9
            np.testing.assert_allclose(as_np(a), as_np(b), rtol=1e-7, atol=1e-8)


# ---- sampling ------------------------------------------------------------------------------------

SAMPLERS = {
    "half_normal": lambda d, t: d.HalfNormal(t([1.0, 2.0])),
    "gumbel": lambda d, t: d.Gumbel(t([0.0, 1.0]), t([1.0, 0.5])),
    "weibull": lambda d, t: d.Weibull(t([1.0, 2.0]), t([1.5, 3.0])),
    "pareto": lambda d, t: d.Pareto(t([1.0, 2.0]), t([5.0, 6.0])),
    "chi2": lambda d, t: d.Chi2(t([1.0, 4.0])),
    "kumaraswamy": lambda d, t: d.Kumaraswamy(t([0.5, 2.0]), t([2.0, 3.0])),
    "inverse_gamma": lambda d, t: d.InverseGamma(t([5.0, 6.0]), t([1.0, 2.0])),
    "fisher_snedecor": lambda d, t: d.FisherSnedecor(t([5.0, 10.0]), t([12.0, 20.0])),
    "multinomial": lambda d, t: d.Multinomial(7, probs=t([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])),
    "negative_binomial": lambda d, t: d.NegativeBinomial(t([3.0, 5.0]), probs=t([0.3, 0.6])),
    "continuous_bernoulli": lambda d, t: d.ContinuousBernoulli(probs=t([0.2, 0.5, 0.9])),
    "relaxed_bernoulli": lambda d, t: d.RelaxedBernoulli(t(0.5), probs=t([0.2, 0.7])),
    "lowrank_mvn": lambda d, t: d.LowRankMultivariateNormal(
        t([1.0, -1.0, 0.0]), t([[1.0], [0.5], [-1.0]]), t([0.5, 1.0, 2.0])
    ),
    "von_mises": lambda d, t: d.VonMises(t([0.0, 1.0, -2.0]), t([0.5, 4.0, 1e-6])),
    "logistic_normal": lambda d, t: d.LogisticNormal(t([0.0, 1.0]), t([0.5, 0.3])),
}


@pytest.mark.parametrize("case", list(SAMPLERS))
def test_sample_shapes_support_and_moments(case):
    gg.manual_seed(0)
    torch.manual_seed(0)
    d = SAMPLERS[case](gd, lambda v: gg.tensor(v, dtype=gg.float64))
    t = SAMPLERS[case](td, lambda v: torch.tensor(v, dtype=torch.float64))
    assert tuple(d.sample((4, 5)).shape) == tuple(t.sample((4, 5)).shape)
    x = d.sample((40000,))
    assert not x.requires_grad and x.dtype == gg.float64
    assert d.support.check(x)._data.all()
    y = t.sample((40000,)).numpy()
    if case == "von_mises":  # circular: compare the mean resultant vector
        np.testing.assert_allclose(np.cos(x._data).mean(0), np.cos(y).mean(0), atol=0.03)
        np.testing.assert_allclose(np.sin(x._data).mean(0), np.sin(y).mean(0), atol=0.03)
        return
    np.testing.assert_allclose(x._data.mean(0), y.mean(0), rtol=0.03, atol=0.02)
    np.testing.assert_allclose(x._data.var(0), y.var(0), rtol=0.1, atol=0.01)


# ---- transforms and the constraint registries ----------------------------------------------------


def _transforms(T, lib):
    t = lambda v: lib.tensor(v, dtype=lib.float64)  # noqa: E731
    return {
        "abs": (T.AbsTransform(), (2, 3)),
        "softmax": (T.SoftmaxTransform(), (2, 4)),
        "stick_breaking": (T.StickBreakingTransform(), (2, 3)),
        "lower_cholesky": (T.LowerCholeskyTransform(), (2, 3, 3)),
        "positive_definite": (T.PositiveDefiniteTransform(), (2, 3, 3)),
        "corr_cholesky": (T.CorrCholeskyTransform(), (2, 6)),
        "reshape": (T.ReshapeTransform((2, 3), (3, 2)), (4, 2, 3)),
        "independent": (T.IndependentTransform(T.ExpTransform(), 2), (4, 2, 3)),
        "cat": (
            T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], dim=1, lengths=[2, 3]),
            (3, 5),
        ),
        "cat_event": (
            T.CatTransform(
                [
                    T.IndependentTransform(T.AffineTransform(0.0, 3.0), 1),
                    T.IndependentTransform(T.ExpTransform(), 1),
                ],
                dim=-1,
                lengths=[2, 3],
            ),
            (3, 5),
        ),
        "stack": (T.StackTransform([T.ExpTransform(), T.SigmoidTransform()], dim=1), (3, 2)),
        "cdf": (
            T.CumulativeDistributionTransform(
                (td if lib is torch else gd).Normal(t([0.5, -1.0]), t([1.0, 2.0]))
            ),
            (3, 2),
        ),
    }


TRANSFORMS = list(_transforms(gd.transforms, gg))


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transforms_match_torch(name):
    x = np.random.default_rng(5).standard_normal(_transforms(gd.transforms, gg)[name][1]) * 0.7
    results = []
    for lib, T in ((torch, td.transforms), (gg, gd.transforms)):
        tr, _ = _transforms(T, lib)[name]
        xs = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        y = tr(xs)
        out = {"y": y, "x_back": tr.inv(y.detach())}
        with contextlib.suppress(NotImplementedError):  # as PyTorch, not for every transform
            out["ladj"] = tr.log_abs_det_jacobian(xs, y)
        total = sum((v * v).sum() for k, v in out.items() if k != "x_back")
        total.backward()
        out["grad"] = xs.grad
        shapes = (tr.forward_shape(tuple(x.shape)), tr.inverse_shape(tuple(y.shape)))
        results.append((out, shapes, tr))
    (theirs, tshapes, ttr), (ours, oshapes, otr) = results
    assert set(ours) == set(theirs)
    for k in theirs:
        assert tuple(ours[k].shape) == tuple(theirs[k].shape), k
        np.testing.assert_allclose(as_np(ours[k]), as_np(theirs[k]), rtol=1e-10, atol=1e-12)
    assert [tuple(s) for s in oshapes] == [tuple(s) for s in tshapes]
    assert otr.bijective == ttr.bijective
    assert (otr.domain.event_dim, otr.codomain.event_dim) == (
        ttr.domain.event_dim,
        ttr.codomain.event_dim,
    )
    assert bool(otr.codomain.check(ours["y"]).all()) == bool(ttr.codomain.check(theirs["y"]).all())
    parameterless = name not in ("reshape", "independent", "cat", "cat_event", "stack", "cdf")
    assert (otr == _transforms(gd.transforms, gg)[name][0]) == parameterless


CONSTRAINTS = {
    "real": lambda c: c.real,
    "positive": lambda c: c.positive,
    "nonnegative": lambda c: c.nonnegative,
    "greater_than": lambda c: c.greater_than(1.5),
    "less_than": lambda c: c.less_than(-2.0),
    "unit_interval": lambda c: c.unit_interval,
    "interval": lambda c: c.interval(-1.0, 3.0),
    "half_open": lambda c: c.half_open_interval(0.0, 2.0),
    "simplex": lambda c: c.simplex,
    "real_vector": lambda c: c.real_vector,
    "lower_cholesky": lambda c: c.lower_cholesky,
    "positive_definite": lambda c: c.positive_definite,
    "corr_cholesky": lambda c: c.corr_cholesky,
    "cat": lambda c: c.cat([c.positive, c.real], dim=-1, lengths=[2, 1]),
    "stack": lambda c: c.stack([c.positive, c.unit_interval, c.real], dim=-1),
}


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", list(CONSTRAINTS))
def test_constraint_registries_map_onto_the_constraint_as_torch(registry, name):
    shape = {"lower_cholesky": (9,), "positive_definite": (9,), "corr_cholesky": (6,)}
    x = np.random.default_rng(6).standard_normal((2, 3))
    try:
        ttr = getattr(td, registry)(CONSTRAINTS[name](td.constraints))
    except NotImplementedError as e:
        with pytest.raises(NotImplementedError, match=str(e)):
            getattr(gd, registry)(CONSTRAINTS[name](gd.constraints))
        return
    otr = getattr(gd, registry)(CONSTRAINTS[name](gd.constraints))
    assert type(otr).__name__ == type(ttr).__name__
    if name in shape:
        x = np.random.default_rng(6).standard_normal((2, *shape[name]))
        x = x if name == "corr_cholesky" else x.reshape(2, 3, 3)
    y_theirs = ttr(torch.tensor(x))
    y_ours = otr(gg.tensor(x))
    np.testing.assert_allclose(y_ours._data, y_theirs.numpy(), rtol=1e-12, atol=1e-14)
    c = CONSTRAINTS[name](gd.constraints)
    assert c.check(y_ours)._data.all()
    tc = CONSTRAINTS[name](td.constraints)
    assert (c.event_dim, c.is_discrete) == (tc.event_dim, tc.is_discrete)


def test_constraints_check_as_torch():
    rng = np.random.default_rng(8)
    values = {
        "multinomial": (lambda c: c.multinomial(4), np.array([[1.0, 2, 1], [3, 2, 0], [0, 0, 0]])),
        "one_hot": (lambda c: c.one_hot, np.array([[0.0, 1, 0], [1, 1, 0], [0, 0, 0]])),
        "positive_integer": (lambda c: c.positive_integer, np.array([0.0, 1, 2.5, 3])),
        "lower_triangular": (lambda c: c.lower_triangular, np.tril(rng.standard_normal((2, 3, 3)))),
        "square": (lambda c: c.square, rng.standard_normal((2, 3, 3))),
        "symmetric": (lambda c: c.symmetric, np.stack([np.eye(3), rng.standard_normal((3, 3))])),
        "psd": (lambda c: c.positive_semidefinite, np.stack([np.zeros((3, 3)), -np.eye(3)])),
        "corr_cholesky": (lambda c: c.corr_cholesky, np.stack([np.eye(3), 2 * np.eye(3)])),
    }
    for name, (make, v) in values.items():
        ours, theirs = make(gd.constraints), make(td.constraints)
        np.testing.assert_array_equal(
            ours.check(gg.tensor(v))._data, theirs.check(torch.tensor(v)).numpy(), err_msg=name
        )
        assert (ours.event_dim, ours.is_discrete) == (theirs.event_dim, theirs.is_discrete), name


# ---- argument validation -------------------------------------------------------------------------


def _message(exc):
    return str(exc).split("but found invalid values")[0].replace("glassgrad.", "torch.")


@pytest.mark.parametrize(
    "make",
    [
        lambda d, t: d.HalfNormal(t([1.0, -1.0])),
        lambda d, t: d.Gumbel(t([0.0]), t([0.0])),
        lambda d, t: d.Weibull(t([1.0]), t([-2.0])),
        lambda d, t: d.Pareto(t([1.0]), t([0.0])),
        lambda d, t: d.Chi2(t([-1.0])),
        lambda d, t: d.Kumaraswamy(t([1.0]), t([-1.0])),
        lambda d, t: d.InverseGamma(t([-1.0]), t([1.0])),
        lambda d, t: d.FisherSnedecor(t([1.0]), t([-1.0])),
        lambda d, t: d.NegativeBinomial(t([-1.0]), probs=t([0.5])),
        lambda d, t: d.NegativeBinomial(t([1.0]), probs=t([1.0])),
        lambda d, t: d.NegativeBinomial(t([1.0])),
        lambda d, t: d.Multinomial(3, probs=t([0.5, -0.1])),
        lambda d, t: d.Multinomial(t(3.0), probs=t([0.5, 0.5])),
        lambda d, t: d.RelaxedBernoulli(t(1.0), probs=t([1.5])),
        lambda d, t: d.ContinuousBernoulli(probs=t([1.5]), validate_args=True),
        lambda d, t: d.ContinuousBernoulli(),
        lambda d, t: d.VonMises(t([0.0]), t([-1.0])),
        lambda d, t: d.LogisticNormal(t([0.0]), t([-1.0])),
        lambda d, t: d.LowRankMultivariateNormal(t(0.0), t([[1.0]]), t([1.0])),
        lambda d, t: d.LowRankMultivariateNormal(t([0.0]), t([1.0]), t([1.0])),
        lambda d, t: d.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0]]), t([1.0, 1.0])),
        lambda d, t: d.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [1.0]]), t([1.0])),
        lambda d, t: d.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [1.0]]), t([1.0, -1.0])),
        lambda d, t: d.HalfNormal(t([1.0])).log_prob(t([-1.0])),
        lambda d, t: d.Pareto(t([1.0]), t([2.0])).log_prob(t([0.5])),
        lambda d, t: d.Multinomial(3, probs=t([0.5, 0.5])).log_prob(t([2.0, 2.0])),
        lambda d, t: d.Kumaraswamy(t([1.0]), t([1.0])).log_prob(t([1.5])),
        lambda d, t: d.NegativeBinomial(t([2.0]), probs=t([0.5])).log_prob(t([1.5])),
        lambda d, t: d.transforms.ReshapeTransform((2, 3), (5,)),
        lambda d, t: d.transforms.CatTransform([d.transforms.ExpTransform()], lengths=[1, 2]),
        lambda d, t: d.transforms.StackTransform([d.transforms.ExpTransform()])(t([1.0, 2.0])),
        lambda d, t: d.transforms.ReshapeTransform((2, 3), (3, 2)).forward_shape((4, 3, 2)),
        lambda d, t: d.biject_to(d.constraints.lower_cholesky),
        lambda d, t: d.biject_to.register(3, lambda c: c),
    ],
)
def test_validation_errors_as_torch(make):
    with pytest.raises(Exception) as theirs:
        make(td, lambda v: torch.tensor(v))
    with pytest.raises(type(theirs.value)) as ours:
        make(gd, lambda v: gg.tensor(v))
    assert _message(ours.value) == _message(theirs.value)


def test_generalized_pareto_as_torch():
    """In float32: PyTorch's GeneralizedPareto compares its concentration with a float32 zero,
    which fails for float64 parameters."""
    rng = np.random.default_rng(5)
    params = (rng.normal(0, 0.1, 4), rng.uniform(0.5, 3, 4), np.array([0.3, -0.2, 0.0, 0.45]))
    value = np.array([[0.5, 0.7, 1.2, 2.0], [0.1, 0.3, 0.2, 4.0]])
    u = rng.uniform(0.05, 0.95, (2, 4))
    results = []
    for lib, dmod in ((torch, td), (gg, gd)):
        ps = [lib.tensor(p, dtype=lib.float32, requires_grad=True) for p in params]
        d = dmod.GeneralizedPareto(*ps)
        v = lib.tensor(value, dtype=lib.float32)
        outs = [
            d.log_prob(v),
            d.cdf(v),
            d.log_survival_function(v),
            d.icdf(lib.tensor(u, dtype=lib.float32)),
            d.entropy(),
            d.mean,
            d.variance,
        ]
        total = sum(lib.where(lib.isfinite(o), o, lib.zeros_like(o)).sum() for o in outs)
        total.backward()
        results.append((outs, [p.grad for p in ps], d))
    (theirs, tg, tdist), (ours, og, dist) = results
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape) and a.dtype == np.float32
        np.testing.assert_allclose(as_np(a), as_np(b), rtol=2e-5, atol=1e-6)
    for a, b in zip(og, tg):
        np.testing.assert_allclose(as_np(a), as_np(b), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        as_np(dist.support.upper_bound), as_np(tdist.support.upper_bound), rtol=1e-6
    )


def test_straight_through_samples_carry_the_probabilities_gradient():
    gg.manual_seed(0)
    p = gg.tensor([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]], requires_grad=True)
    d = gd.OneHotCategoricalStraightThrough(probs=p)
    x = d.rsample((5,))
    assert d.has_rsample and x.requires_grad and tuple(x.shape) == (5, 2, 3)
    assert set(np.unique(x._data)) <= {0.0, 1.0} and np.all(x._data.sum(-1) == 1)
    w = np.random.default_rng(0).standard_normal((5, 2, 3))
    (x * gg.tensor(w)).sum().backward()
    tp = torch.tensor(p._data, requires_grad=True)
    t = td.OneHotCategoricalStraightThrough(probs=tp).rsample((5,))
    (t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(p.grad._data, tp.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("conc", [0.5, 1.0, [2.0, 3.5]])
@pytest.mark.parametrize("dim", [2, 4])
def test_lkj_cholesky_as_torch(dim, conc):
    gg.manual_seed(0)
    torch.manual_seed(0)
    c = np.array(conc, dtype=np.float64)
    ours_c, theirs_c = gg.tensor(c, requires_grad=True), torch.tensor(c, requires_grad=True)
    d, t = gd.LKJCholesky(dim, ours_c), td.LKJCholesky(dim, theirs_c)
    assert (tuple(d.batch_shape), tuple(d.event_shape)) == (
        tuple(t.batch_shape),
        tuple(t.event_shape),
    )
    x = d.sample((500,))
    assert tuple(x.shape) == tuple(t.sample((500,)).shape)
    assert d.support.check(x)._data.all()
    lp, tlp = d.log_prob(x), t.log_prob(torch.tensor(x._data))
    np.testing.assert_allclose(lp._data, tlp.detach().numpy(), rtol=1e-10)
    lp.sum().backward()
    tlp.sum().backward()
    np.testing.assert_allclose(ours_c.grad._data, theirs_c.grad.numpy(), rtol=1e-8)
    # the correlations L Lᵀ: mean zero off the diagonal and the same spread as PyTorch's draws
    xs, ys = d.sample((4000,))._data, t.sample((4000,)).numpy()
    corr, tcorr = xs @ np.swapaxes(xs, -1, -2), ys @ np.swapaxes(ys, -1, -2)
    np.testing.assert_allclose(corr.mean(0), np.eye(dim) + 0 * tcorr.mean(0), atol=0.05)
    np.testing.assert_allclose(corr.var(0), tcorr.var(0), atol=0.03)
    with pytest.raises(ValueError, match="dim to be an integer greater than or equal to 2"):
        gd.LKJCholesky(1)


def _wishart_params():
    a = R.standard_normal((2, 3, 3))
    cov = a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)
    return np.array([4.5, 6.0]), cov


@pytest.mark.parametrize("kind", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_wishart_as_torch(kind):
    df, cov = _wishart_params()
    param = np.linalg.cholesky(cov) if kind == "scale_tril" else cov
    x = R.standard_normal((5, 2, 3, 3))
    value = x @ np.swapaxes(x, -1, -2) + np.eye(3)
    results = []
    for lib, dmod in ((torch, td), (gg, gd)):
        d_ = lib.tensor(df, requires_grad=True)
        p_ = lib.tensor(param, requires_grad=True)
        dist = dmod.Wishart(d_, **{kind: p_})
        outs = [dist.log_prob(lib.tensor(value)), dist.entropy(), dist.mean, dist.variance]
        outs += [dist.mode, dist.covariance_matrix, dist.precision_matrix, dist.scale_tril]
        sum(o.sum() for o in outs).backward()
        results.append((outs, (d_.grad, p_.grad), dist))
    (theirs, tg, tdist), (ours, og, dist) = results
    assert (tuple(dist.batch_shape), tuple(dist.event_shape)) == (
        tuple(tdist.batch_shape),
        tuple(tdist.event_shape),
    )
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(as_np(a), as_np(b), rtol=1e-10, atol=1e-12)
    for a, b in zip(og, tg):  # (torch's trigamma, in d/d df of the entropy, is good to ~1e-9)
        np.testing.assert_allclose(as_np(a), as_np(b), rtol=1e-8, atol=1e-8)


def test_wishart_rsample_for_the_same_noise_and_errors(monkeypatch):
    noise = Noise()
    _pin_noise(monkeypatch, noise)
    from glassgrad.distributions import wishart

    monkeypatch.setattr(
        wishart,
        "standard_normal",
        lambda shape, dtype: gg.tensor(noise.normal(shape).astype(dtype)),
    )
    monkeypatch.setattr(
        torch,
        "randn",
        lambda *s, dtype=None, device=None: torch.from_numpy(
            noise.normal(s[0] if len(s) == 1 else s)
        ).to(dtype),
    )
    df, cov = _wishart_params()
    results = []
    for lib, dmod in ((torch, td), (gg, gd)):
        noise.reset()
        d_, c_ = lib.tensor(df, requires_grad=True), lib.tensor(cov, requires_grad=True)
        # (PyTorch's rsample then treats every valid draw as singular and redraws it in place,
        # which breaks its backward: compare the Bartlett draws themselves)
        x = dmod.Wishart(d_, covariance_matrix=c_)._bartlett_sampling((4,))
        w = np.random.default_rng(2).standard_normal(tuple(x.shape))
        (x * lib.tensor(w)).sum().backward()
        results.append((x, d_.grad, c_.grad))
    (tx, tdg, tcg), (ox, odg, ocg) = results
    np.testing.assert_allclose(as_np(ox), as_np(tx), rtol=1e-10)
    np.testing.assert_allclose(as_np(odg), as_np(tdg), rtol=1e-8)
    np.testing.assert_allclose(as_np(ocg), as_np(tcg), rtol=1e-8)
    for make in (
        lambda d, t: d.Wishart(t(2.0)),
        lambda d, t: d.Wishart(
            t(1.5),
            covariance_matrix=t([[1.0, 0.0], [0.0, 1.0]]).expand(1, 2, 2) * 0
            + t([[1.0, 0.0], [0.0, 1.0]]),
            scale_tril=t([[1.0, 0.0], [0.0, 1.0]]),
        ),
        lambda d, t: d.Wishart(t(0.5), covariance_matrix=t([[1.0, 0.0], [0.0, 1.0]])),
        lambda d, t: d.Wishart(t(3.0), covariance_matrix=t([1.0, 2.0])),
    ):
        with pytest.raises(Exception) as theirs:
            make(td, torch.tensor)
        with pytest.raises(type(theirs.value)) as ours:
            make(gd, gg.tensor)
        assert str(ours.value) == str(theirs.value)
