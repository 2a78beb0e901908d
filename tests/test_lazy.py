"""Lazy layers against PyTorch: reprs before and after the first call, the class they become,
state-dict keys and shapes, initial distributions, and training with an optimizer built before
the first call (PyTorch materialises the same Parameter objects in place; so must glassgrad)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn

import glassgrad as gg
from glassgrad import nn
from glassgrad.nn.parameter import UninitializedBuffer, UninitializedParameter

TOL = {"rtol": 1e-10, "atol": 1e-12}

CASES = [
    ("LazyLinear", (3,), {}, (4, 5)),
    ("LazyLinear", (2,), {"bias": False}, (2, 3, 4)),
    ("LazyConv1d", (4, 3), {"padding": 1}, (2, 3, 6)),
    ("LazyConv2d", (4, 3), {"stride": 2, "groups": 2, "bias": False}, (2, 4, 5, 5)),
    ("LazyConv2d", (2, 3), {"padding_mode": "reflect", "padding": 1}, (3, 5, 5)),  # unbatched
    ("LazyConv3d", (2, 2), {}, (1, 3, 3, 4, 3)),
    ("LazyConvTranspose1d", (3, 2), {"stride": 2}, (2, 4, 5)),
    ("LazyConvTranspose2d", (4, 3), {"output_padding": 1, "stride": 2}, (2, 3, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), {}, (1, 2, 3, 3, 2)),
    ("LazyBatchNorm1d", (), {}, (6, 3)),
    ("LazyBatchNorm2d", (), {"momentum": None}, (4, 3, 2, 2)),
    ("LazyBatchNorm3d", (), {"affine": False}, (3, 2, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 5)),
    ("LazyInstanceNorm2d", (), {"track_running_stats": False}, (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), {"affine": False}, (2, 2, 3, 3, 2)),
]


def _pair(name, args, kw):
    t = getattr(tnn, name)(*args, **kw, dtype=torch.float64)
    g = getattr(nn, name)(*args, **kw, dtype=gg.float64)
    return t, g


@pytest.mark.parametrize("name,args,kw,shape", CASES)
def test_lazy_layer_matches_torch(name, args, kw, shape):
    t, g = _pair(name, args, kw)
    assert repr(g) == repr(t)
    assert g.has_uninitialized_params() and t.has_uninitialized_params()
    tparams, gparams = list(t.parameters()), list(g.parameters())
    topt = torch.optim.SGD(tparams, lr=0.1, momentum=0.9) if tparams else None
    gopt = gg.optim.SGD(gparams, lr=0.1, momentum=0.9) if gparams else None
    x = np.random.default_rng(0).standard_normal(shape)
    with torch.no_grad():
        t(torch.tensor(x))
    with gg.no_grad():
        g(gg.tensor(x))
    assert type(g).__name__ == type(t).__name__ == name[4:]  # e.g. Conv2d
    assert not any(isinstance(p, UninitializedParameter) for p in g.parameters())
    assert repr(g) == repr(t)
    ts, gs = t.state_dict(), g.state_dict()
    assert list(gs) == list(ts)
    for k in ts:
        assert tuple(gs[k].shape) == tuple(ts[k].shape), k
    # the same objects, materialised in place: the optimizer built before holds them
    assert len(list(g.parameters())) == len(gparams)
    assert all(a is b for a, b in zip(g.parameters(), gparams))
    g.load_state_dict(ts)  # same values from here on
    for step in range(3):
        xs = np.random.default_rng(step + 1).standard_normal(shape)
        tx, gx = torch.tensor(xs, requires_grad=True), gg.tensor(xs, requires_grad=True)
        ty, gy = t(tx), g(gx)
        np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), **TOL)
        (ty**3).sum().backward()
        (gy**3).sum().backward()
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-10)
        if topt is not None:
            topt.step()
            gopt.step()
            topt.zero_grad()
            gopt.zero_grad()
        for k, v in t.state_dict().items():
            np.testing.assert_allclose(g.state_dict()[k].numpy(), v.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize(
    "name,fan_in,shape", [("LazyLinear", 400, (2, 400)), ("LazyConv1d", 300, (1, 100, 5))]
)
def test_initial_distribution_is_pytorchs(name, fan_in, shape):
    args = (50,) if name == "LazyLinear" else (50, 3)
    torch.manual_seed(0)
    t, g = _pair(name, args, {})
    with torch.no_grad():
        t(torch.zeros(shape, dtype=torch.float64))
    g(gg.zeros(shape, dtype=gg.float64))
    bound = 1 / np.sqrt(fan_in)  # kaiming_uniform(a=√5) and the bias: U(±1/√fan_in)
    for tp, gp, many in ((t.weight, g.weight, True), (t.bias, g.bias, False)):
        a, b = np.abs(tp.detach().numpy()), np.abs(gp.detach().numpy())
        assert a.max() <= bound and b.max() <= bound
        assert b.max() > 0.8 * bound  # 50 or more draws: P(all below 0.8·bound) < 1e-4
        if many:  # >= 15000 draws: mean |U(-b, b)| = b/2 within a few standard errors
            assert abs(b.mean() - bound / 2) < 0.02 * bound
            assert abs(a.mean() - bound / 2) < 0.02 * bound


def test_lazy_batch_norm_starts_at_identity_statistics():
    g = nn.LazyBatchNorm2d()
    g.eval()
    x = gg.randn(2, 3, 2, 2)
    t = tnn.LazyBatchNorm2d().eval()
    t(torch.tensor(x.numpy()))
    np.testing.assert_allclose(
        g(x).detach().numpy(), t(torch.tensor(x.numpy())).detach().numpy(), rtol=1e-6
    )
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(g.state_dict()[k].numpy(), v.numpy())


def test_state_dict_materialises_an_uninitialized_layer():
    torch.manual_seed(0)
    src = tnn.Sequential(tnn.Linear(5, 3), tnn.ReLU(), tnn.Linear(3, 2)).double()
    g = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyLinear(2)).double()
    g.load_state_dict(src.state_dict())
    assert tuple(g[0].weight.shape) == (3, 5)
    x = np.random.default_rng(0).standard_normal((4, 5))
    out = g(gg.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), src(torch.tensor(x)).detach().numpy(), **TOL)
    assert type(g[0]) is nn.Linear and g[0].in_features == 5


def test_placeholders():
    p, b = UninitializedParameter(), UninitializedBuffer()
    assert repr(p) == repr(torch.nn.UninitializedParameter()) == "<UninitializedParameter>"
    assert repr(b) == "<UninitializedBuffer>"
    assert p.requires_grad and not b.requires_grad
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        p.shape  # noqa: B018
    p.materialize((2, 3), dtype=gg.float64)
    assert type(p) is nn.Parameter and tuple(p.shape) == (2, 3) and p.dtype == gg.float64
    b.materialize(4)
    assert type(b) is gg.Tensor and tuple(b.shape) == (4,)


def test_wrong_input_rank_is_named():
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input"):
        nn.LazyConv2d(4, 3)(gg.ones(3, 4))
