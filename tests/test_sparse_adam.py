"""``optim.SparseAdam`` on ``Embedding(sparse=True)`` against PyTorch: torch's sparse gradients
against glassgrad's dense ones, weights after every step (rows no index touched neither move
nor decay their moments), the optimizer state, and a state_dict round trip, in float64."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn as tnn

import glassgrad as gg
from glassgrad import nn, optim

TOL = {"rtol": 1e-10, "atol": 1e-13}


def _models(padding_idx=None, max_norm=None):
    torch.manual_seed(0)
    t = tnn.Sequential(
        tnn.Embedding(12, 4, padding_idx=padding_idx, sparse=True, max_norm=max_norm),
        tnn.Linear(4, 1),
    ).double()
    g = nn.Sequential(
        nn.Embedding(12, 4, padding_idx=padding_idx, sparse=True, max_norm=max_norm),
        nn.Linear(4, 1),
    ).double()
    assert repr(g) == repr(t)
    g.load_state_dict(t.state_dict())
    return t, g


def _batches(steps, seed=0):
    rng = np.random.default_rng(seed)
    # small batches from a few rows: most rows untouched in a step, some indices repeated
    return [rng.integers(0, 6 if i % 2 else 12, size=(3, 2)) for i in range(steps)]


def _step(model, opts, idx, lib):
    out = model(lib.tensor(idx))
    loss = (out**2).sum() + out.sum()
    for o in opts:
        o.zero_grad()
    loss.backward()
    for o in opts:
        o.step()


def _compare(t, g):
    for (k, a), (m, b) in zip(t.state_dict().items(), g.state_dict().items()):
        assert k == m
        np.testing.assert_allclose(b.numpy(), a.numpy(), **TOL, err_msg=k)


def _opts(lib_optim, model, kw):
    return [
        lib_optim.SparseAdam(model[0].parameters(), **kw),
        lib_optim.Adam(model[1].parameters()),
    ]


@pytest.mark.parametrize(
    "kw,padding_idx",
    [({}, None), ({"lr": 0.05, "betas": (0.7, 0.9)}, 3), ({"lr": 0.02, "maximize": True}, None)],
)
def test_sparse_adam_trajectory_matches_torch(kw, padding_idx):
    t, g = _models(padding_idx)
    topts, gopts = _opts(torch.optim, t, kw), _opts(optim, g, kw)
    for idx in _batches(10):
        _step(t, topts, idx, torch)
        assert t[0].weight.grad.is_sparse  # the oracle really runs on sparse gradients
        _step(g, gopts, idx, gg)
        _compare(t, g)
    ts, gs = topts[0].state_dict(), gopts[0].state_dict()
    for key in ("lr", "eps", "maximize", "params"):
        assert gs["param_groups"][0][key] == ts["param_groups"][0][key]
    assert tuple(gs["param_groups"][0]["betas"]) == tuple(ts["param_groups"][0]["betas"])
    assert gs["state"][0]["step"] == ts["state"][0]["step"] == 10
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(gs["state"][0][key].numpy(), ts["state"][0][key].numpy(), **TOL)


def test_untouched_rows_keep_weights_and_moments():
    _, g = _models()
    opts = _opts(optim, g, {"lr": 0.1})
    _step(g, opts, np.array([[0, 1]]), gg)
    m0 = opts[0].state[g[0].weight]["exp_avg"].numpy().copy()
    w0 = g[0].weight.detach().numpy().copy()
    _step(g, opts, np.array([[2, 2]]), gg)
    m1 = opts[0].state[g[0].weight]["exp_avg"].numpy()
    w1 = g[0].weight.detach().numpy()
    np.testing.assert_array_equal(m1[[0, 1]], m0[[0, 1]])  # no decay of rows 0, 1
    np.testing.assert_array_equal(w1[[0, 1, 3]], w0[[0, 1, 3]])
    assert (w1[2] != w0[2]).all()


def test_state_dict_round_trip_continues_the_trajectory():
    t, g = _models()
    topts, gopts = _opts(torch.optim, t, {"lr": 0.05}), _opts(optim, g, {"lr": 0.05})
    batches = _batches(8, seed=3)
    for idx in batches[:4]:
        _step(t, topts, idx, torch)
        _step(g, gopts, idx, gg)
    g2 = copy.deepcopy(g)
    gopts2 = _opts(optim, g2, {"lr": 0.05})
    for o2, o in zip(gopts2, gopts):
        o2.load_state_dict(copy.deepcopy(o.state_dict()))
    for idx in batches[4:]:
        _step(t, topts, idx, torch)
        _step(g2, gopts2, idx, gg)
        _compare(t, g2)


def test_options_are_checked_as_in_torch():
    w = [nn.Parameter(gg.zeros(2, 2))]
    for kw, msg in [
        ({"lr": 0.0}, "Invalid learning rate"),
        ({"eps": 0.0}, "Invalid epsilon"),
        ({"betas": (1.0, 0.9)}, "index 0"),
        ({"betas": (0.9, -0.1)}, "index 1"),
    ]:
        with pytest.raises(ValueError, match=msg):
            optim.SparseAdam(w, **kw)
        with pytest.raises(ValueError, match=msg):
            torch.optim.SparseAdam([torch.zeros(2, 2, requires_grad=True)], **kw)
