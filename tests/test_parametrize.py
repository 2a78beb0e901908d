"""``nn.utils.parametrize``, ``parametrizations.weight_norm/spectral_norm`` and the older
hook-based ``weight_norm``/``spectral_norm`` against PyTorch: the same state-dict keys (loaded
both ways), outputs and gradients of every parameter over several SGD steps, and the power
iteration's buffers step by step, in training and evaluation mode, in float64."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.utils.parametrize as tP

import glassgrad as gg
import glassgrad.nn.utils.parametrize as P
from glassgrad import nn

TOL = {"rtol": 1e-10, "atol": 1e-12}


def _pair(name, *args, **kw):
    torch.manual_seed(0)
    t = getattr(tnn, name)(*args, **kw).double()
    g = getattr(nn, name)(*args, **kw).double()
    return t, g


def _load(dst, src):
    """Copy ``src``'s state dict into ``dst`` (either library), keys checked equal first."""
    assert list(dst.state_dict()) == list(src.state_dict())
    sd = src.state_dict()
    if isinstance(dst, tnn.Module):
        sd = {k: torch.from_numpy(np.array(v.numpy())) for k, v in sd.items()}
    dst.load_state_dict(sd)


def _same_state(t, g):
    ts, gs = t.state_dict(), g.state_dict()
    assert list(ts) == list(gs)
    for k in ts:
        np.testing.assert_allclose(gs[k].numpy(), ts[k].numpy(), **TOL, err_msg=k)


def _train(t, g, shape, steps=3, train=True):
    """Steps of SGD in both libraries: outputs, every parameter's gradient, then the state."""
    t.train(train)
    g.train(train)
    topt = torch.optim.SGD(t.parameters(), lr=0.1)
    gopt = gg.optim.SGD(g.parameters(), lr=0.1)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = rng.standard_normal(shape)
        tx = torch.tensor(x, requires_grad=True)
        gx = gg.tensor(x, requires_grad=True)
        ty, gy = t(tx), g(gx)
        np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), **TOL)
        (ty**2).sum().backward()
        (gy**2).sum().backward()
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), **TOL)
        tnames = dict(t.named_parameters())
        for name, p in g.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), tnames[name].grad.numpy(), **TOL)
        topt.step()
        gopt.step()
        topt.zero_grad()
        gopt.zero_grad()
        _same_state(t, g)


LAYERS = [
    ("Linear", (4, 3), {}, (5, 4)),
    ("Conv2d", (2, 3, 3), {}, (2, 2, 5, 5)),
    ("ConvTranspose2d", (3, 2, 2), {"stride": 2}, (2, 3, 3, 3)),
    ("Conv1d", (2, 4, 3), {"bias": False}, (2, 2, 6)),
]


@pytest.mark.parametrize("name,args,kw,shape", LAYERS)
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization(name, args, kw, shape, dim):
    t, g = _pair(name, *args, **kw)
    t = tnn.utils.parametrizations.weight_norm(t, dim=dim)
    g = nn.utils.parametrizations.weight_norm(g, dim=dim)
    assert repr(g) == repr(t)
    _load(g, t)
    _train(t, g, shape)
    _load(t, g)  # and back
    _same_state(t, g)


@pytest.mark.parametrize("name,args,kw,shape", LAYERS)
@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_spectral_norm_parametrization(name, args, kw, shape, n_power_iterations):
    t, g = _pair(name, *args, **kw)
    t = tnn.utils.parametrizations.spectral_norm(t, n_power_iterations=n_power_iterations)
    g = nn.utils.parametrizations.spectral_norm(g, n_power_iterations=n_power_iterations)
    assert repr(g) == repr(t)
    _load(g, t)
    _train(t, g, shape)  # power iteration on _u/_v each forward: compared after every step
    _train(t, g, shape, steps=2, train=False)  # eval: _u/_v frozen
    np.testing.assert_allclose(g.weight.detach().numpy(), t.weight.detach().numpy(), **TOL)


def test_spectral_norm_of_a_vector_and_errors():
    t, g = tnn.Linear(3, 4).double(), nn.Linear(3, 4).double()
    tnn.utils.parametrizations.spectral_norm(t, "bias")
    nn.utils.parametrizations.spectral_norm(g, "bias")
    _load(g, t)
    _train(t, g, (2, 3), steps=2)
    with pytest.raises(ValueError, match="n_power_iterations"):
        nn.utils.parametrizations.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="no parameter or buffer with name 'w'"):
        nn.utils.parametrizations.spectral_norm(nn.Linear(2, 2), "w")


@pytest.mark.parametrize("name,args,kw,shape", LAYERS)
def test_old_weight_norm(name, args, kw, shape):
    t, g = _pair(name, *args, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        t = tnn.utils.weight_norm(t)
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        g = nn.utils.weight_norm(g)
    _load(g, t)
    _train(t, g, shape)
    tnn.utils.remove_weight_norm(t)
    nn.utils.remove_weight_norm(g)
    _same_state(t, g)
    assert list(g.state_dict()) == list(t.state_dict())
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(g)


@pytest.mark.parametrize("name,args,kw,shape", LAYERS)
def test_old_spectral_norm(name, args, kw, shape):
    t, g = _pair(name, *args, **kw)
    t = tnn.utils.spectral_norm(t, n_power_iterations=2)
    g = nn.utils.spectral_norm(g, n_power_iterations=2)
    _load(g, t)
    _train(t, g, shape)
    _train(t, g, shape, steps=2, train=False)
    tnn.utils.remove_spectral_norm(t)
    nn.utils.remove_spectral_norm(g)
    _same_state(t, g)
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        nn.utils.spectral_norm(nn.utils.spectral_norm(nn.Linear(2, 2)))


class _Symmetric:
    """The same parametrization in both libraries: X ↦ triu(X) + triu(X, 1)ᵀ."""

    @staticmethod
    def make(lib_nn):
        class Symmetric(lib_nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).transpose(-1, -2)

            def right_inverse(self, A):
                return A.triu()

        return Symmetric()


def _scale(lib_nn):
    class Scale(lib_nn.Module):
        def forward(self, X):
            return 2 * X

        def right_inverse(self, A):
            return A / 2

    return Scale()


def test_custom_parametrizations_stack_and_set():
    t, g = _pair("Linear", 3, 3)
    for lib_nn, P_, m in ((tnn, tP, t), (nn, P, g)):
        P_.register_parametrization(m, "weight", _Symmetric.make(lib_nn))
        P_.register_parametrization(m, "weight", _scale(lib_nn))
    assert type(g).__name__ == "ParametrizedLinear" and repr(g) == repr(t)
    _load(g, t)
    _train(t, g, (4, 3))
    w = np.arange(9.0).reshape(3, 3)
    with torch.no_grad():
        t.weight = torch.tensor(w)
    orig = g.parametrizations.weight.original
    g.weight = gg.tensor(w)  # runs the right inverses in reverse order
    assert g.parametrizations.weight.original is orig
    _same_state(t, g)
    assert P.is_parametrized(g) and P.is_parametrized(g, "weight")
    assert not P.is_parametrized(g, "bias")
    assert P.type_before_parametrizations(g) is nn.Linear


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations(leave):
    t, g = _pair("Linear", 3, 3)
    for lib_nn, P_, m in ((tnn, tP, t), (nn, P, g)):
        P_.register_parametrization(m, "weight", _Symmetric.make(lib_nn))
    _load(g, t)
    opt = gg.optim.SGD(g.parameters(), lr=0.1)
    orig = g.parametrizations.weight.original
    tP.remove_parametrizations(t, "weight", leave_parametrized=leave)
    P.remove_parametrizations(g, "weight", leave_parametrized=leave)
    assert type(g) is nn.Linear and not hasattr(g, "parametrizations")
    assert g.weight is orig  # the same Parameter: an optimizer built before still updates it
    assert opt.param_groups[0]["params"][1] is g.weight
    _same_state(t, g)
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(g, "weight")


def test_remove_weight_norm_parametrization():
    t, g = _pair("Linear", 3, 2)
    tnn.utils.parametrizations.weight_norm(t)
    nn.utils.parametrizations.weight_norm(g)
    _load(g, t)
    tP.remove_parametrizations(t, "weight")
    P.remove_parametrizations(g, "weight")
    _same_state(t, g)
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        P.remove_parametrizations(
            nn.utils.parametrizations.weight_norm(nn.Linear(2, 2)), "weight", False
        )


def test_cached_computes_once():
    calls = []

    class Count(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1

    m = P.register_parametrization(nn.Linear(2, 2), "weight", Count())
    calls.clear()
    with P.cached():
        a, b = m.weight, m.weight
    assert a is b and len(calls) == 1
    m.weight  # noqa: B018
    assert len(calls) == 2


def test_register_errors_and_deepcopy():
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        P.register_parametrization(nn.Linear(2, 2), "nope", _scale(nn))

    class Shrink(nn.Module):
        def forward(self, X):
            return X[:1]

    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(nn.Linear(2, 2), "weight", Shrink())
    m = nn.utils.parametrizations.weight_norm(nn.Linear(3, 2))
    c = copy.deepcopy(m)
    assert type(c) is type(m)
    np.testing.assert_array_equal(c.weight.detach().numpy(), m.weight.detach().numpy())
    assert c.parametrizations.weight.original0 is not m.parametrizations.weight.original0


def test_old_weight_norm_state_dict_loads_into_the_parametrization():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = tnn.utils.weight_norm(tnn.Linear(4, 3).double())
    t = tnn.utils.parametrizations.weight_norm(tnn.Linear(4, 3).double())
    g = nn.utils.parametrizations.weight_norm(nn.Linear(4, 3).double())
    t.load_state_dict(old.state_dict())
    g.load_state_dict(old.state_dict())  # weight_g / weight_v renamed by the compat hook
    _same_state(t, g)
    np.testing.assert_allclose(g.weight.detach().numpy(), old.weight.detach().numpy(), **TOL)
