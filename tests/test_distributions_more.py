"""The rest of torch.distributions against PyTorch (float64): HalfNormal, HalfCauchy, Gumbel,
Weibull, Pareto, Chi2, Kumaraswamy, InverseGamma, FisherSnedecor, Multinomial, NegativeBinomial,
(Logit)RelaxedBernoulli, ContinuousBernoulli, LowRankMultivariateNormal, VonMises and
LogisticNormal: densities, moments, cdf/icdf and their parameter gradients; reparameterised
samples for the same base noise; KL divergences; the new transforms and constraint registries."""

from __future__ import annotations

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
    R.bit_generator.state = np.random.default_rng(
        hash((case, quantity)) % 2**32
    ).bit_generator.state
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
