"""glassgrad.optim.swa_utils against torch.optim.swa_utils."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn, optim
from glassgrad.optim import swa_utils


def models():
    gg.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2)).double()
    tnn = torch.nn
    theirs = tnn.Sequential(tnn.Linear(3, 5), tnn.BatchNorm1d(5), tnn.ReLU(), tnn.Linear(5, 2))
    theirs = theirs.double()
    theirs.load_state_dict(
        {k: torch.from_numpy(v._data.copy()) for k, v in ours.state_dict().items()}
    )
    return ours, theirs


def perturb(ours, theirs, step: int) -> None:
    """Move both models' weights and buffers the same way (a stand-in for training)."""
    rng = np.random.default_rng(step)
    for (name, t), (tname, tt) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert name == tname
        if t._data.dtype.kind == "f":
            t._data += rng.normal(size=t._data.shape)
            if name.endswith("running_var"):
                np.abs(t._data, out=t._data)
        else:
            t._data += 3
        tt.copy_(torch.from_numpy(t._data.copy()))


def assert_same(ours: dict, theirs: dict) -> None:
    assert list(ours) == list(theirs)
    for name, value in ours.items():
        np.testing.assert_allclose(
            value._data, theirs[name].numpy(), rtol=1e-14, atol=1e-15, err_msg=name
        )


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"use_buffers": True},
        {"multi_avg_fn": "ema_multi"},
        {"multi_avg_fn": "ema_multi", "use_buffers": True},
        {"multi_avg_fn": "swa_multi"},
        {"avg_fn": "ema"},
        {"avg_fn": "swa", "use_buffers": True},
    ],
    ids=str,
)
def test_averaged_model_matches_torch(options):
    ours, theirs = models()
    fns = {
        "ema_multi": lambda m: m.get_ema_multi_avg_fn(0.9),
        "swa_multi": lambda m: m.get_swa_multi_avg_fn(),
        "ema": lambda m: m.get_ema_avg_fn(0.8),
        "swa": lambda m: m.get_swa_avg_fn(),
    }

    def make(module, model):
        kwargs = {k: fns[v](module) if k.endswith("fn") else v for k, v in options.items()}
        return module.AveragedModel(model, **kwargs)

    avg, tavg = make(swa_utils, ours), make(torch.optim.swa_utils, theirs)
    for step in range(6):
        perturb(ours, theirs, step)
        avg.update_parameters(ours)
        tavg.update_parameters(theirs)
        assert_same(avg.state_dict(), tavg.state_dict())
    assert int(avg.n_averaged) == 6 and avg.n_averaged.dtype == gg.int64
    x = np.random.default_rng(9).normal(size=(4, 3))
    avg.eval()
    tavg.eval()
    with torch.no_grad():
        expected = tavg(torch.tensor(x)).numpy()
    np.testing.assert_allclose(avg(gg.tensor(x)).detach().numpy(), expected, rtol=1e-12)


def test_averaged_model_errors_and_decay_checks():
    ours, _ = models()
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(
            ours, avg_fn=swa_utils.get_swa_avg_fn(), multi_avg_fn=swa_utils.get_swa_multi_avg_fn()
        )
    for fn in (swa_utils.get_ema_avg_fn, swa_utils.get_ema_multi_avg_fn):
        with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided"):
            fn(1.5)


def test_update_bn_matches_torch():
    ours, theirs = models()
    rng = np.random.default_rng(3)
    batches = [rng.normal(size=(8, 3)) for _ in range(4)]
    ours.eval()
    theirs.eval()
    ours[1].momentum = theirs[1].momentum = 0.3
    swa_utils.update_bn([(gg.tensor(b), 0) for b in batches], ours)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], theirs)
    assert not ours.training and ours[1].momentum == 0.3
    assert_same(ours.state_dict(), {k: v.detach() for k, v in theirs.state_dict().items()})
    swa_utils.update_bn([gg.tensor(b) for b in batches], ours, device="cpu")  # bare tensors
    assert_same(ours.state_dict(), {k: v.detach() for k, v in theirs.state_dict().items()})
    plain = nn.Linear(2, 2)
    swa_utils.update_bn([gg.ones(1, 2)], plain)  # no BatchNorm: nothing to do


@pytest.mark.parametrize(
    "kwargs",
    [
        {"swa_lr": 0.05},
        {"swa_lr": [0.05, 0.2], "anneal_epochs": 3, "anneal_strategy": "linear"},
        {"swa_lr": 0.01, "anneal_epochs": 0},
    ],
    ids=str,
)
def test_swalr_matches_torch(kwargs):
    def run(lib, opt_mod, sched_mod, steps, state=None):
        params = [lib.zeros(2, requires_grad=True), lib.zeros(1, requires_grad=True)]
        opt = opt_mod.SGD([{"params": params[:1], "lr": 0.5}, {"params": params[1:]}], lr=0.1)
        sched = sched_mod.SWALR(opt, **kwargs)
        if state is not None:
            sched.load_state_dict(state[1])
            for g, lr in zip(opt.param_groups, state[0]):
                g["lr"] = lr
        lrs = []
        for _ in range(steps):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        return lrs, ([g["lr"] for g in opt.param_groups], sched.state_dict())

    ours, saved = run(gg, optim, swa_utils, 5)
    theirs, _ = run(torch, torch.optim, torch.optim.swa_utils, 14)
    saved = json.loads(json.dumps(copy.deepcopy(saved)))
    ours += run(gg, optim, swa_utils, 9, saved)[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)


def test_swalr_errors_like_torch():
    for kwargs in ({"anneal_strategy": "exp"}, {"anneal_epochs": -1}, {"anneal_epochs": 1.5}):
        opt = torch.optim.SGD([torch.zeros(1)], lr=0.1)
        with pytest.raises(ValueError) as info:
            torch.optim.swa_utils.SWALR(opt, swa_lr=0.01, **kwargs)
        gopt = optim.SGD([gg.zeros(1, requires_grad=True)], lr=0.1)
        with pytest.raises(ValueError, match=str(info.value)[:30]):
            swa_utils.SWALR(gopt, swa_lr=0.01, **kwargs)


def test_module_surface_matches_torch():
    assert set(swa_utils.__all__) == set(torch.optim.swa_utils.__all__)
