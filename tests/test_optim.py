"""glassgrad.optim against torch.optim: parameter trajectories, param groups, checkpoints, errors.

The trajectory tests train the same small MLP (written with glassgrad tensors and
``glassgrad.nn.functional``, and the same in torch) from the same float64 weights, and compare
every parameter after every step, plus the optimizer's state at the end.
"""

from __future__ import annotations

import copy
import inspect
import json
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import optim

torch.set_num_threads(1)
STEPS = 20
RTOL, ATOL = 1e-10, 1e-13

OPTIMIZERS = {"SGD": optim.SGD, "Adam": optim.Adam, "AdamW": optim.AdamW}
OPTIMIZERS |= {"RMSprop": optim.RMSprop, "Adagrad": optim.Adagrad}
OPTIMIZERS |= {"Adadelta": optim.Adadelta, "Adamax": optim.Adamax, "NAdam": optim.NAdam}
OPTIMIZERS |= {"RAdam": optim.RAdam, "ASGD": optim.ASGD, "Rprop": optim.Rprop}
OPTIMIZERS |= {"Adafactor": optim.Adafactor}

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.02, "momentum": 0.5, "maximize": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.02, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "maximize": True}),
    ("Adam", {"lr": 0.02, "betas": (0.6, 0.7), "eps": 1e-6, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "maximize": True, "betas": (0.8, 0.9)}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.005, "centered": True}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.5, "momentum": 0.3, "maximize": True}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.3, "eps": 1e-4, "centered": True}),
    ("Adagrad", {"lr": 0.1}),
    (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
    ),
    ("Adagrad", {"lr": 0.05, "maximize": True, "eps": 1e-3}),
    # the implementation flags: accepted, same numbers (torch's foreach and fused CPU kernels)
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "foreach": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "fused": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "fused": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "foreach": True, "maximize": True}),
    ("AdamW", {"lr": 0.01, "fused": True, "maximize": True}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.5, "foreach": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "fused": True}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1, "foreach": True}),
    # the optimizers added after the first five
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.7, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 2.0, "maximize": True, "foreach": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.95), "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "eps": 1e-3, "maximize": True, "foreach": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.01, "betas": (0.7, 0.9), "maximize": True, "foreach": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1}),
    (
        "RAdam",
        {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "decoupled_weight_decay": True},
    ),
    ("RAdam", {"lr": 0.01, "eps": 1e-4, "maximize": True, "foreach": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 5, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 0, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.005, "etas": (0.3, 1.5), "step_sizes": (1e-4, 0.02)}),
    ("Rprop", {"lr": 0.02, "maximize": True, "foreach": True}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-6, 1e-2), "weight_decay": 0.1}),
    ("Adafactor", {"lr": 0.05, "d": 1.5, "maximize": True, "foreach": True}),
]


# ---- the model, twice -------------------------------------------------------------------------
def initial_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "w1": rng.normal(size=(8, 5)) * 0.5,
        "b1": rng.normal(size=8) * 0.1,
        "w2": rng.normal(size=(3, 8)) * 0.5,
        "b2": rng.normal(size=3) * 0.1,
        "unused": rng.normal(size=4),  # never in the loss: its .grad stays None
    }


def batch(step: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + step)
    return rng.normal(size=(16, 5)), rng.integers(0, 3, size=16)


def gg_params(w: dict[str, np.ndarray]) -> dict[str, gg.Tensor]:
    return {k: gg.tensor(v, requires_grad=True) for k, v in w.items()}


def torch_params(w: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(v, requires_grad=True) for k, v in w.items()}


def gg_loss(p: dict[str, gg.Tensor], step: int) -> gg.Tensor:
    x, y = batch(step)
    h = gg.tanh(F.linear(gg.tensor(x), p["w1"], p["b1"]))
    return F.cross_entropy(F.linear(h, p["w2"], p["b2"]), gg.tensor(y))


def torch_loss(p: dict[str, torch.Tensor], step: int) -> torch.Tensor:
    x, y = batch(step)
    h = torch.tanh(TF.linear(torch.tensor(x), p["w1"], p["b1"]))
    return TF.cross_entropy(TF.linear(h, p["w2"], p["b2"]), torch.tensor(y))


def train_gg(opt: optim.Optimizer, p: dict[str, gg.Tensor], steps: range) -> list[dict]:
    history = []
    for step in steps:
        opt.zero_grad()
        gg_loss(p, step).backward()
        opt.step()
        history.append({k: v._data.copy() for k, v in p.items()})
    return history


def train_torch(opt: torch.optim.Optimizer, p: dict[str, torch.Tensor], steps: range) -> list:
    history = []
    for step in steps:
        opt.zero_grad()
        torch_loss(p, step).backward()
        opt.step()
        history.append({k: v.detach().numpy().copy() for k, v in p.items()})
    return history


def assert_same_trajectory(ours: list[dict], theirs: list[dict]) -> None:
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for name in b:
            np.testing.assert_allclose(
                a[name], b[name], rtol=RTOL, atol=ATOL, err_msg=f"{name} after step {step + 1}"
            )


def assert_same_state(opt: optim.Optimizer, topt: torch.optim.Optimizer) -> None:
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for i, tstate in theirs["state"].items():
        assert sorted(ours["state"][i]) == sorted(tstate), f"state keys of parameter {i}"
        for key, tval in tstate.items():
            val = ours["state"][i][key]
            assert isinstance(val, gg.Tensor)
            assert val.shape == tuple(tval.shape)
            if key == "step":
                assert val.dtype == np.dtype(str(tval.dtype).removeprefix("torch."))
            np.testing.assert_allclose(val._data, tval.numpy(), rtol=RTOL, atol=ATOL, err_msg=key)
    for group, tgroup in zip(ours["param_groups"], theirs["param_groups"]):
        assert group["params"] == tgroup["params"]
        assert sorted(group) == sorted(tgroup)  # the same options, flags included
        for key, value in group.items():
            assert value == tgroup[key] or list(value) == list(tgroup[key]), key


# ---- trajectories -----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=lambda c: str(c))
def test_trajectory_matches_torch(name, kwargs):
    w = initial_weights()
    p, tp = gg_params(w), torch_params(w)
    opt = OPTIMIZERS[name](p.values(), **kwargs)
    topt = getattr(torch.optim, name)(tp.values(), **kwargs)
    assert_same_trajectory(train_gg(opt, p, range(STEPS)), train_torch(topt, tp, range(STEPS)))
    assert p["unused"].grad is None
    np.testing.assert_array_equal(p["unused"]._data, w["unused"])  # skipped: grad is None
    assert_same_state(opt, topt)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=lambda c: str(c))
def test_zero_dim_parameters_step_as_torch(name, kwargs):
    """A 0-d parameter (CLIP's ``logit_scale``, a temperature) beside a matrix: the same steps
    and 0-d state as torch's (NumPy's arithmetic on 0-d arrays gives scalars, which broke the
    in-place updates)."""
    rng = np.random.default_rng(1)
    w = {"w": rng.normal(size=(3, 5)), "scale": np.array(1.5)}
    p, tp = gg_params(w), torch_params(w)
    opt = OPTIMIZERS[name](p.values(), **kwargs)
    topt = getattr(torch.optim, name)(tp.values(), **kwargs)
    ours, theirs = [], []
    for step in range(STEPS):
        x = batch(step)[0]
        opt.zero_grad()
        (gg.tanh(gg.tensor(x) @ p["w"].T) * p["scale"]).pow(2).mean().backward()
        opt.step()
        ours.append({k: v._data.copy() for k, v in p.items()})
        topt.zero_grad()
        (torch.tanh(torch.tensor(x) @ tp["w"].T) * tp["scale"]).pow(2).mean().backward()
        topt.step()
        theirs.append({k: v.detach().numpy().copy() for k, v in tp.items()})
    assert_same_trajectory(ours, theirs)
    assert p["scale"].shape == () and p["scale"].grad.shape == ()
    assert_same_state(opt, topt)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_parameters_stay_float32(name):
    w = {k: v.astype(np.float32) for k, v in initial_weights().items()}
    p, tp = gg_params(w), torch_params(w)
    opt = OPTIMIZERS[name](p.values(), lr=0.01)
    topt = getattr(torch.optim, name)(tp.values(), lr=0.01)
    for step in range(5):
        x, y = batch(step)
        opt.zero_grad()
        h = gg.tanh(F.linear(gg.tensor(x, dtype=gg.float32), p["w1"], p["b1"]))
        F.cross_entropy(F.linear(h, p["w2"], p["b2"]), gg.tensor(y)).backward()
        opt.step()
        topt.zero_grad()
        th = torch.tanh(TF.linear(torch.tensor(x, dtype=torch.float32), tp["w1"], tp["b1"]))
        TF.cross_entropy(TF.linear(th, tp["w2"], tp["b2"]), torch.tensor(y)).backward()
        topt.step()
    for k in w:
        assert p[k].dtype == np.float32
        np.testing.assert_allclose(p[k]._data, tp[k].detach().numpy(), rtol=1e-4, atol=1e-5)
    for state in opt.state.values():
        for key, val in state.items():
            assert key == "step" or val.dtype == np.float32


def make_groups(p: dict) -> list[dict]:
    return [
        {"params": [p["w1"], p["b1"]], "lr": 0.05},
        {"params": [p["w2"]], "lr": 0.01, "weight_decay": 0.1},
        {"params": [p["b2"], p["unused"]]},
    ]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("SGD", {"lr": 0.1, "momentum": 0.8}),
        ("Adam", {"lr": 0.02}),
        ("AdamW", {"lr": 0.02, "amsgrad": True}),
        ("RMSprop", {"lr": 0.003, "centered": True}),
        ("Adagrad", {"lr": 0.1}),
    ],
)
def test_param_groups_with_their_own_options(name, kwargs):
    w = initial_weights(1)
    p, tp = gg_params(w), torch_params(w)
    opt = OPTIMIZERS[name](make_groups(p), **kwargs)
    topt = getattr(torch.optim, name)(make_groups(tp), **kwargs)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.01, kwargs["lr"]]
    assert_same_trajectory(train_gg(opt, p, range(STEPS)), train_torch(topt, tp, range(STEPS)))
    assert_same_state(opt, topt)


def test_changing_lr_between_steps_and_add_param_group():
    w = initial_weights(2)
    p, tp = gg_params(w), torch_params(w)
    opt = optim.SGD([p["w1"], p["b1"]], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([tp["w1"], tp["b1"]], lr=0.1, momentum=0.9)
    ours = train_gg(opt, p, range(5))
    theirs = train_torch(topt, tp, range(5))
    opt.add_param_group({"params": [p["w2"], p["b2"]], "lr": 0.3, "nesterov": True})
    topt.add_param_group({"params": [tp["w2"], tp["b2"]], "lr": 0.3, "nesterov": True})
    for o in (opt, topt):
        o.param_groups[0]["lr"] = 0.02
    ours += train_gg(opt, p, range(5, 12))
    theirs += train_torch(topt, tp, range(5, 12))
    assert_same_trajectory(ours, theirs)
    assert opt.param_groups[1]["momentum"] == 0.9  # filled from the defaults


def test_closure_is_evaluated_with_grad_and_its_loss_returned():
    w = initial_weights()
    p, tp = gg_params(w), torch_params(w)
    opt, topt = optim.SGD(p.values(), lr=0.1), torch.optim.SGD(tp.values(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = gg_loss(p, 0)
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = torch_loss(tp, 0)
        loss.backward()
        return loss

    with gg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(topt.step(tclosure).item(), rel=1e-12)
    np.testing.assert_allclose(p["w1"]._data, tp["w1"].detach().numpy(), rtol=RTOL)
    assert gg.is_grad_enabled()


def test_zero_grad():
    p = gg_params(initial_weights())
    opt = optim.SGD(p.values(), lr=0.1)
    gg_loss(p, 0).backward()
    grad = p["w1"].grad
    opt.zero_grad(set_to_none=False)
    assert p["w1"].grad is grad and not grad._data.any()
    assert p["unused"].grad is None
    opt.zero_grad()
    assert all(t.grad is None for t in p.values())


def test_step_bumps_the_version_counter():
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()  # saves w for backward
    y.backward(retain_graph=True)
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError):
        y.backward()


# ---- checkpoints ------------------------------------------------------------------------------
def to_file_format(sd: dict) -> dict:
    """What a non-pickle checkpoint keeps: arrays, JSON numbers, lists and string keys."""
    state = {str(i): {k: np.array(v._data) for k, v in s.items()} for i, s in sd["state"].items()}
    return {"state": state, "param_groups": json.loads(json.dumps(sd["param_groups"]))}


# NAdam's mu_product and ASGD's eta/mu are 0-d state of the default dtype (float32 here) that
# loading casts to the parameter's dtype, as torch does: a resumed run is not bitwise the same.
EXACT_RESUME = [
    c for c in CONFIGS[2:6] + CONFIGS[8:9] + CONFIGS[13:] if c[0] not in ("NAdam", "ASGD")
]


@pytest.mark.parametrize(("name", "kwargs"), EXACT_RESUME)
@pytest.mark.parametrize("via_file_format", [False, True])
def test_state_dict_round_trip_resumes_exactly(name, kwargs, via_file_format):
    w = initial_weights(3)
    p = gg_params(w)
    opt = OPTIMIZERS[name](make_groups(p), **kwargs)
    train_gg(opt, p, range(10))
    saved = copy.deepcopy(opt.state_dict())
    weights = {k: v._data.copy() for k, v in p.items()}
    uninterrupted = train_gg(opt, p, range(10, STEPS))

    p2 = gg_params(weights)
    opt2 = OPTIMIZERS[name](make_groups(p2), **kwargs)
    opt2.load_state_dict(to_file_format(saved) if via_file_format else saved)
    resumed = train_gg(opt2, p2, range(10, STEPS))
    for a, b in zip(resumed, uninterrupted):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert opt2.param_groups[0]["params"][0] is p2["w1"]
    if "betas" in opt2.defaults:
        assert isinstance(opt2.param_groups[0]["betas"], tuple)


def test_load_state_dict_copies_and_casts():
    p = gg_params(initial_weights())
    opt = optim.Adam(p.values(), lr=0.01)
    train_gg(opt, p, range(2))
    sd = opt.state_dict()
    p32 = {k: gg.tensor(v._data, dtype=gg.float32, requires_grad=True) for k, v in p.items()}
    opt32 = optim.Adam(p32.values(), lr=0.5)
    opt32.load_state_dict(sd)
    assert opt32.param_groups[0]["lr"] == 0.01
    ours = opt32.state[p32["w1"]]
    assert (
        ours["exp_avg"].dtype == np.float32 and ours["step"].dtype == sd["state"][0]["step"].dtype
    )
    assert ours["exp_avg"]._data is not sd["state"][0]["exp_avg"]._data
    assert float(ours["step"]._data) == 2.0


def test_state_dict_layout_matches_torch():
    w = initial_weights()
    p, tp = gg_params(w), torch_params(w)
    opt = optim.Adam(make_groups(p), lr=0.01)
    topt = torch.optim.Adam(make_groups(tp), lr=0.01)
    train_gg(opt, p, range(1))
    train_torch(topt, tp, range(1))
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert [g["params"] for g in ours["param_groups"]] == [[0, 1], [2], [3, 4]]
    assert [g["params"] for g in theirs["param_groups"]] == [[0, 1], [2], [3, 4]]
    assert sorted(ours["state"]) == sorted(theirs["state"]) == [0, 1, 2, 3]  # 4 had no grad
    for group, tgroup in zip(ours["param_groups"], theirs["param_groups"]):
        assert set(group) <= set(tgroup)


def test_load_state_dict_errors():
    p = gg_params(initial_weights())
    opt = optim.SGD(make_groups(p), lr=0.1, momentum=0.9)
    train_gg(opt, p, range(1))
    sd = opt.state_dict()
    one_group = optim.SGD(p.values(), lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        one_group.load_state_dict(sd)
    sizes = optim.SGD([{"params": [p["w1"]]}, {"params": [p["w2"]]}, {"params": [p["b2"]]}])
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        sizes.load_state_dict(sd)
    swapped = optim.SGD(
        [{"params": [p["b1"], p["w1"]]}, {"params": [p["w2"]]}, {"params": [p["b2"], p["unused"]]}]
    )
    with pytest.raises(ValueError, match=r"'momentum_buffer' of parameter 0 has shape \(8, 5\)"):
        swapped.load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"param_groups": []})


# ---- errors -----------------------------------------------------------------------------------
def torch_error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("SGD", {"lr": -1.0}),
        ("SGD", {"lr": 0.1, "momentum": -0.5}),
        ("SGD", {"lr": 0.1, "weight_decay": -1e-3}),
        ("SGD", {"lr": 0.1, "nesterov": True}),
        ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}),
        ("Adam", {"lr": -0.001}),
        ("Adam", {"eps": -1.0}),
        ("Adam", {"betas": (1.0, 0.999)}),
        ("Adam", {"betas": (0.9, -0.1)}),
        ("AdamW", {"weight_decay": -0.1}),
        ("RMSprop", {"alpha": -0.1}),
        ("RMSprop", {"momentum": -0.1}),
        ("RMSprop", {"eps": -0.1}),
        ("Adagrad", {"lr_decay": -0.1}),
        ("Adagrad", {"initial_accumulator_value": -0.1}),
        ("Adagrad", {"eps": -1e-10}),
    ],
)
def test_invalid_options_raise_like_torch(name, kwargs):
    expected = torch_error(lambda: getattr(torch.optim, name)([torch.zeros(1)], **kwargs))
    with pytest.raises(expected[0]) as info:
        OPTIMIZERS[name]([gg.zeros(1, requires_grad=True)], **kwargs)
    assert str(info.value) == expected[1]


def test_invalid_params():
    w = gg.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got a Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(
        TypeError, match="optimize Tensors, but params\\[1\\] of the group is ndarray"
    ):
        optim.SGD([w, np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="floating-point Tensors, but params\\[0\\] has dtype"):
        optim.SGD([gg.zeros(2, dtype=gg.int64)], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": w}], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([w, w], lr=0.1)


def test_named_params_and_repr():
    w, b = gg.zeros(2, requires_grad=True), gg.zeros(1, requires_grad=True)
    opt = optim.SGD([("weight", w), ("bias", b)], lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and "    momentum: 0.9\n" in text


def to_torch(value):
    """A glassgrad optimizer state dict's numbers as torch tensors (lists and dicts kept)."""
    if isinstance(value, gg.Tensor):
        return torch.from_numpy(value._data.copy())
    if isinstance(value, dict):
        return {k: to_torch(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_torch(v) for v in value]
    return value


def to_glassgrad(value):
    if isinstance(value, torch.Tensor):
        return gg.tensor(value.numpy().copy())
    if isinstance(value, dict):
        return {k: to_glassgrad(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_glassgrad(v) for v in value]
    return value


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS[20:], ids=lambda c: str(c))
def test_state_dict_moves_between_glassgrad_and_torch(name, kwargs):
    """glassgrad's state dict loaded into torch (and torch's into glassgrad) continues alike."""
    w = initial_weights(4)
    p = gg_params(w)
    opt = OPTIMIZERS[name](make_groups(p), **kwargs)
    train_gg(opt, p, range(10))
    weights = {k: v._data.copy() for k, v in p.items()}
    saved = copy.deepcopy(opt.state_dict())

    p2, tp = gg_params(weights), torch_params(weights)
    opt2 = OPTIMIZERS[name](make_groups(p2), **kwargs)
    topt = getattr(torch.optim, name)(make_groups(tp), **kwargs)
    opt2.load_state_dict(saved)
    topt.load_state_dict(to_torch(saved))
    assert_same_trajectory(
        train_gg(opt2, p2, range(10, STEPS)),
        train_torch(topt, tp, range(10, 15)) + train_torch(topt, tp, range(15, STEPS)),
    )
    assert_same_state(opt2, topt)

    p3 = gg_params({k: v.detach().numpy().copy() for k, v in tp.items()})  # and back
    opt3 = OPTIMIZERS[name](make_groups(p3), **kwargs)
    opt3.load_state_dict(to_glassgrad(topt.state_dict()))
    p4 = torch_params({k: v._data.copy() for k, v in p3.items()})
    topt4 = getattr(torch.optim, name)(make_groups(p4), **kwargs)
    topt4.load_state_dict(topt.state_dict())
    assert_same_trajectory(train_gg(opt3, p3, range(5)), train_torch(topt4, p4, range(5)))


def test_every_torch_optimizer_is_here():
    missing = {n for n in torch.optim.__all__ if isinstance(getattr(torch.optim, n), type)}
    missing -= set(optim.__all__)
    assert not missing
    for name, cls in [
        *OPTIMIZERS.items(),
        ("LBFGS", optim.LBFGS),
        ("SparseAdam", optim.SparseAdam),
        ("Muon", optim.Muon),
    ]:
        ours = inspect.signature(cls.__init__).parameters.values()
        theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters.values()
        assert [(a.name, a.kind, a.default) for a in ours] == [
            (a.name, a.kind, a.default) for a in theirs
        ], name


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_flag_conflicts_raise_like_torch(name):
    for kwargs in ({"fused": True, "differentiable": True}, {"fused": True, "foreach": True}):
        expected = torch_error(
            lambda kwargs=kwargs: getattr(torch.optim, name)([torch.zeros(1)], **kwargs)
        )
        with pytest.raises(expected[0], match=re.escape(expected[1])):
            OPTIMIZERS[name]([gg.zeros(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_differentiable_and_capturable_are_accepted(name):
    sig = inspect.signature(OPTIMIZERS[name].__init__).parameters
    flags = {k: True for k in ("differentiable", "capturable") if k in sig}
    w = initial_weights()
    p, tp = gg_params(w), torch_params(w)
    opt = OPTIMIZERS[name](p.values(), **flags)
    topt = getattr(torch.optim, name)(tp.values())
    assert_same_trajectory(train_gg(opt, p, range(3)), train_torch(topt, tp, range(3)))
    assert all(opt.param_groups[0][k] is True for k in flags)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("Adadelta", {"rho": 1.5}),
        ("Adadelta", {"lr": -1.0}),
        ("Adamax", {"betas": (0.9, 1.0)}),
        ("NAdam", {"momentum_decay": -0.1}),
        ("RAdam", {"eps": -1.0}),
        ("ASGD", {"weight_decay": -0.1}),
        ("Rprop", {"etas": (1.5, 1.2)}),
        ("Rprop", {"etas": (0.5, 0.9)}),
        ("Adafactor", {"beta2_decay": 0.1}),
        ("Adafactor", {"eps": (-1.0, 1e-3)}),
        ("Adafactor", {"eps": (None, -1.0)}),
        ("Adafactor", {"d": 0.5}),
        ("Adafactor", {"weight_decay": -0.1}),
    ],
)
def test_invalid_options_of_the_new_optimizers_raise_like_torch(name, kwargs):
    expected = torch_error(lambda: getattr(torch.optim, name)([torch.zeros(1)], **kwargs))
    with pytest.raises(expected[0]) as info:
        OPTIMIZERS[name]([gg.zeros(1, requires_grad=True)], **kwargs)
    assert str(info.value) == expected[1]


# ---- LBFGS: the closure protocol --------------------------------------------------------------
# L-BFGS runs up to max_iter inner iterations per step whose curvature estimates amplify the
# last-bit differences of dot products and gradients, so the objective is kept well conditioned
# (an L2 term) and the counters (which iterations ran, how many evaluations) must match exactly.
LBFGS_CONFIGS = [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"lr": 0.5, "history_size": 3, "max_iter": 7},
    {"history_size": 2, "max_iter": 10, "line_search_fn": "strong_wolfe", "tolerance_change": 1e-5},
    {"tolerance_grad": 1e-3, "max_iter": 50, "max_eval": 30, "line_search_fn": "strong_wolfe"},
    {"max_iter": 4, "tolerance_change": 1e-3},
]


def lbfgs_loss(lib, p, step):
    ops, fn = (gg, F) if lib is gg else (torch, TF)
    x, y = batch(step)
    h = ops.tanh(fn.linear(lib.tensor(x), p["w1"], p["b1"]))
    loss = fn.cross_entropy(fn.linear(h, p["w2"], p["b2"]), lib.tensor(y))
    return loss + 0.5 * sum((p[k] ** 2).sum() for k in ("w1", "b1", "w2", "b2"))


def run_lbfgs(lib, opt, p, steps):
    history = []
    for step in steps:

        def closure(step=step):
            opt.zero_grad()
            loss = lbfgs_loss(lib, p, step)
            loss.backward()
            return loss

        loss = opt.step(closure)
        values = [v._data if lib is gg else v.detach().numpy() for v in p.values()]
        history.append((loss.item(), [v.copy() for v in values]))
    return history


@pytest.mark.parametrize("kwargs", LBFGS_CONFIGS, ids=str)
def test_lbfgs_matches_torch(kwargs):
    w = initial_weights()
    p, tp = gg_params(w), torch_params(w)
    opt, topt = optim.LBFGS(p.values(), **kwargs), torch.optim.LBFGS(tp.values(), **kwargs)
    ours, theirs = run_lbfgs(gg, opt, p, range(8)), run_lbfgs(torch, topt, tp, range(8))
    for (loss, values), (tloss, tvalues) in zip(ours, theirs):
        assert loss == pytest.approx(tloss, rel=1e-9)
        for a, b in zip(values, tvalues):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    state, tstate = opt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert sorted(state) == sorted(tstate)
    assert (state["n_iter"], state["func_evals"]) == (tstate["n_iter"], tstate["func_evals"])
    assert len(state["old_dirs"]) == len(tstate["old_dirs"])
    assert opt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]


def test_lbfgs_state_dict_resumes_and_moves_to_torch():
    kwargs = {"history_size": 4, "max_iter": 5, "line_search_fn": "strong_wolfe"}
    p = gg_params(initial_weights())
    opt = optim.LBFGS(p.values(), **kwargs)
    run_lbfgs(gg, opt, p, range(3))
    saved = copy.deepcopy(opt.state_dict())
    weights = {k: v._data.copy() for k, v in p.items()}
    uninterrupted = run_lbfgs(gg, opt, p, range(3, 6))

    p2 = gg_params(weights)
    opt2 = optim.LBFGS(p2.values(), **kwargs)
    opt2.load_state_dict(saved)
    resumed = run_lbfgs(gg, opt2, p2, range(3, 6))
    for (loss, values), (loss2, values2) in zip(resumed, uninterrupted):
        assert loss == loss2
        for a, b in zip(values, values2):
            np.testing.assert_array_equal(a, b)

    tp = torch_params(weights)
    topt = torch.optim.LBFGS(tp.values(), **kwargs)
    topt.load_state_dict(to_torch(saved))
    for (loss, values), (tloss, tvalues) in zip(resumed, run_lbfgs(torch, topt, tp, range(3, 6))):
        assert loss == pytest.approx(tloss, rel=1e-9)
        for a, b in zip(values, tvalues):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def test_lbfgs_protocol_and_errors():
    w = gg.tensor([1.0, -2.0], dtype=gg.float64, requires_grad=True)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [w]}, {"params": [gg.zeros(1, requires_grad=True)]}])
    opt = optim.LBFGS([w], line_search_fn="bogus")
    calls = []

    def closure():
        calls.append(gg.is_grad_enabled())
        opt.zero_grad()
        loss = ((w - 3) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
    opt = optim.LBFGS([w], max_iter=3)
    with gg.no_grad():
        first = opt.step(closure)
    assert first.item() == 29.0 and all(calls)  # the closure always runs with grad enabled
    tw = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.LBFGS([tw], max_iter=3)

    def tclosure():
        topt.zero_grad()
        loss = ((tw - 3) ** 2).sum()
        loss.backward()
        return loss

    topt.step(tclosure)
    assert opt.state[w]["func_evals"] == topt.state[tw]["func_evals"] == 3
    assert opt.state[w]["n_iter"] == topt.state[tw]["n_iter"]
    np.testing.assert_allclose(w._data, tw.detach().numpy(), rtol=1e-12)
    assert opt.param_groups[0]["max_eval"] == 3 * 5 // 4


@pytest.mark.parametrize(
    "kwargs", [{}, {"lr": 0.3, "weight_decay": 0.05, "beta2_decay": -0.6}, {"maximize": True}]
)
def test_adafactor_factors_the_last_two_dims_of_every_param_like_torch(kwargs):
    """1-d (full variance), 2-d and 3-d (row/col factors over the last two dims) and 0-d params."""
    rng = np.random.default_rng(7)
    shapes = [(5,), (4, 3), (2, 3, 4), ()]
    init = [rng.normal(size=s) for s in shapes]
    ours = [gg.tensor(a, requires_grad=True) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt, topt = optim.Adafactor(ours, **kwargs), torch.optim.Adafactor(theirs, **kwargs)
    for step in range(10):
        targets = [np.random.default_rng(step).normal(size=s) for s in shapes]
        opt.zero_grad()
        topt.zero_grad()
        sum(((p - gg.tensor(t)) ** 4).sum() for p, t in zip(ours, targets)).backward()
        sum(((p - torch.tensor(t)) ** 4).sum() for p, t in zip(theirs, targets)).backward()
        opt.step()
        topt.step()
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(
                p._data, tp.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=f"step {step + 1}"
            )
    assert_same_state(opt, topt)
    assert tuple(opt.state[ours[2]]["row_var"].shape) == (2, 3, 1)
    assert tuple(opt.state[ours[2]]["col_var"].shape) == (2, 1, 4)
