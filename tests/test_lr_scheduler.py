"""glassgrad.optim.lr_scheduler against torch.optim.lr_scheduler: lr (and momentum) sequences.

Each case steps a glassgrad and a torch optimizer (two param groups with different lrs) and their
schedulers side by side, comparing the learning rates every step.
"""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import optim
from glassgrad.optim import lr_scheduler as sched

STEPS = 30


def halve(epoch: int) -> float:
    return 0.5 ** (epoch // 4)


class Warmup:
    """A callable object: LambdaLR saves its ``__dict__`` in the state dict."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, epoch: int) -> float:
        return min(1.0, (epoch + 1) / self.n)


CASES = {
    "StepLR": ("SGD", [("StepLR", {"step_size": 7, "gamma": 0.5})]),
    "MultiStepLR": ("SGD", [("MultiStepLR", {"milestones": [3, 10, 10, 25], "gamma": 0.3})]),
    "ExponentialLR": ("Adam", [("ExponentialLR", {"gamma": 0.9})]),
    "CosineAnnealingLR": ("SGD", [("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001})]),
    "CosineAnnealingLR-long": ("Adam", [("CosineAnnealingLR", {"T_max": 30})]),
    "LinearLR": (
        "SGD",
        [("LinearLR", {"start_factor": 0.25, "end_factor": 0.9, "total_iters": 12})],
    ),
    "LinearLR-default": ("RMSprop", [("LinearLR", {})]),
    "LambdaLR": ("SGD", [("LambdaLR", {"lr_lambda": lambda e: 0.95**e})]),
    "LambdaLR-per-group": ("Adagrad", [("LambdaLR", {"lr_lambda": [halve, Warmup(6)]})]),
    "OneCycleLR": ("SGD", [("OneCycleLR", {"max_lr": 1.0, "total_steps": STEPS + 1})]),
    "OneCycleLR-three-phase": (
        "SGD",
        [
            (
                "OneCycleLR",
                {
                    "max_lr": [0.5, 0.2],
                    "epochs": 3,
                    "steps_per_epoch": 11,
                    "pct_start": 0.4,
                    "anneal_strategy": "linear",
                    "three_phase": True,
                    "div_factor": 10.0,
                    "final_div_factor": 100.0,
                    "base_momentum": [0.8, 0.7],
                    "max_momentum": 0.99,
                },
            )
        ],
    ),
    "OneCycleLR-Adam-beta1": ("Adam", [("OneCycleLR", {"max_lr": 0.1, "total_steps": 40})]),
    "OneCycleLR-no-momentum": (
        "Adagrad",
        [("OneCycleLR", {"max_lr": 0.1, "total_steps": 35, "cycle_momentum": False})],
    ),
    "chained-Exponential-Step": (
        "SGD",
        [("ExponentialLR", {"gamma": 0.95}), ("StepLR", {"step_size": 5, "gamma": 0.5})],
    ),
    "chained-Linear-Cosine": (
        "SGD",
        [
            ("LinearLR", {"start_factor": 0.1, "total_iters": 5}),
            ("CosineAnnealingLR", {"T_max": 20}),
        ],
    ),
}


def scale(x: float) -> float:
    return 1.0 / (1.0 + 0.1 * x)


CASES |= {
    "MultiplicativeLR": ("SGD", [("MultiplicativeLR", {"lr_lambda": lambda e: 0.9 + 0.01 * e})]),
    "MultiplicativeLR-per-group": (
        "Adam",
        [("MultiplicativeLR", {"lr_lambda": [halve, Warmup(3)]})],
    ),
    "ConstantLR": ("SGD", [("ConstantLR", {"factor": 0.5, "total_iters": 4})]),
    "ConstantLR-default": ("Adam", [("ConstantLR", {})]),
    "PolynomialLR": ("SGD", [("PolynomialLR", {"total_iters": 20, "power": 2.0})]),
    "PolynomialLR-default": ("RMSprop", [("PolynomialLR", {})]),
    "CosineAnnealingWarmRestarts": ("SGD", [("CosineAnnealingWarmRestarts", {"T_0": 5})]),
    "CosineAnnealingWarmRestarts-mult": (
        "Adam",
        [("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.001})],
    ),
    "CyclicLR-triangular": (
        "SGD",
        [("CyclicLR", {"base_lr": 0.01, "max_lr": [0.1, 0.05], "step_size_up": 4})],
    ),
    "CyclicLR-triangular2": (
        "SGD",
        [
            (
                "CyclicLR",
                {
                    "base_lr": [0.01, 0.001],
                    "max_lr": 0.1,
                    "step_size_up": 3,
                    "step_size_down": 5,
                    "mode": "triangular2",
                    "base_momentum": [0.7, 0.8],
                    "max_momentum": 0.95,
                },
            )
        ],
    ),
    "CyclicLR-exp_range-Adam-beta1": (
        "Adam",
        [
            (
                "CyclicLR",
                {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 5, "mode": "exp_range"}
                | {"gamma": 0.9},
            )
        ],
    ),
    "CyclicLR-scale_fn-no-momentum": (
        "Adagrad",
        [
            (
                "CyclicLR",
                {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "scale_fn": scale}
                | {"scale_mode": "iterations", "cycle_momentum": False},
            )
        ],
    ),
    "SequentialLR": (
        "SGD",
        [
            (
                "SequentialLR",
                {
                    "schedulers": [
                        ("LinearLR", {"start_factor": 0.1, "total_iters": 5}),
                        ("ExponentialLR", {"gamma": 0.9}),
                        ("CosineAnnealingLR", {"T_max": 8}),
                    ],
                    "milestones": [5, 15],
                },
            )
        ],
    ),
    "SequentialLR-constant-lambda": (
        "Adam",
        [
            (
                "SequentialLR",
                {
                    "schedulers": [
                        ("ConstantLR", {"factor": 0.2, "total_iters": 3}),
                        ("LambdaLR", {"lr_lambda": halve}),
                    ],
                    "milestones": [6],
                },
            )
        ],
    ),
    "ChainedScheduler": (
        "SGD",
        [
            (
                "ChainedScheduler",
                {
                    "schedulers": [
                        ("ConstantLR", {"factor": 0.5, "total_iters": 4}),
                        ("ExponentialLR", {"gamma": 0.95}),
                        ("MultiStepLR", {"milestones": [10, 20]}),
                    ]
                },
            )
        ],
    ),
    "ReduceLROnPlateau": ("SGD", [("ReduceLROnPlateau", {"patience": 2, "factor": 0.5})]),
    "ReduceLROnPlateau-max-abs-cooldown": (
        "Adam",
        [
            (
                "ReduceLROnPlateau",
                {"mode": "max", "threshold_mode": "abs", "threshold": 0.01, "patience": 1}
                | {"cooldown": 2, "min_lr": [0.02, 0.0], "factor": 0.3},
            )
        ],
    ),
    "ReduceLROnPlateau-min-abs-eps": (
        "RMSprop",
        [
            (
                "ReduceLROnPlateau",
                {"threshold_mode": "abs", "threshold": 0.05, "patience": 0, "min_lr": 0.004}
                | {"eps": 1e-3},
            )
        ],
    ),
    "ReduceLROnPlateau-max-rel": (
        "SGD",
        [("ReduceLROnPlateau", {"mode": "max", "patience": 3, "threshold": 0.1})],
    ),
}
OPT_KWARGS = {"SGD": {"momentum": 0.9}, "Adam": {}, "RMSprop": {}, "Adagrad": {}}


def make_scheduler(lib, opt, name: str, kwargs: dict):
    sched_mod = sched if lib is gg else torch.optim.lr_scheduler
    kwargs = dict(kwargs)
    if "schedulers" in kwargs:
        kwargs["schedulers"] = [make_scheduler(lib, opt, n, k) for n, k in kwargs["schedulers"]]
        if name == "ChainedScheduler":
            return sched_mod.ChainedScheduler(**kwargs)
    return getattr(sched_mod, name)(opt, **kwargs)


def metric(step: int, mode: str) -> float:
    """A loss that improves, stalls, wobbles and improves again."""
    value = 1.0 / (1 + step // 5) + 0.03 * ((step * 7) % 3)
    return -value if mode == "max" else value


def build(lib, case: str, weights: list[np.ndarray]):
    """An optimizer with two param groups and the case's schedulers, in glassgrad or torch."""
    opt_name, specs = CASES[case]
    params = [lib.tensor(w, requires_grad=True) for w in weights]
    groups = [{"params": params[:1], "lr": 0.1}, {"params": params[1:], "lr": 0.01}]
    opt_mod = optim if lib is gg else torch.optim
    sched_mod = sched if lib is gg else torch.optim.lr_scheduler
    opt = getattr(opt_mod, opt_name)(groups, **OPT_KWARGS[opt_name])
    del sched_mod
    schedulers = [make_scheduler(lib, opt, name, kwargs) for name, kwargs in specs]
    return params, opt, schedulers


def run(params, opt, schedulers, steps: range) -> list[list[float]]:
    """Step optimizer then schedulers; record lrs, momenta and the parameters each step."""
    record = []
    for step in steps:
        for i, p in enumerate(params):
            g = np.full(tuple(p.shape), 0.1 * (i + 1) + 0.01 * step)
            p.grad = gg.tensor(g) if isinstance(p, gg.Tensor) else torch.tensor(g)
        opt.step()
        for s in schedulers:
            if type(s).__name__ == "ReduceLROnPlateau":
                s.step(metric(step, s.mode))
            else:
                s.step()
        row = [x for s in schedulers for x in s.get_last_lr()]
        row += [g["lr"] for g in opt.param_groups]
        row += [g["momentum"] for g in opt.param_groups if "momentum" in g]
        row += [g["betas"][0] for g in opt.param_groups if "betas" in g]
        row += [float(p.detach().numpy().sum()) for p in params]
        record.append(row)
    return record


def weights() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3, 2)), rng.normal(size=4)]


def test_every_scheduler_has_a_case():
    def names(specs):
        for name, kwargs in specs:
            yield name
            yield from names(kwargs.get("schedulers", []))

    covered = {name for _, specs in CASES.values() for name in names(specs)}
    assert covered == set(sched.__all__) - {"LRScheduler"}
    assert set(sched.__all__) == set(torch.optim.lr_scheduler.__all__)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lr_sequence_matches_torch(case):
    ours = build(gg, case, weights())
    theirs = build(torch, case, weights())
    initial = [g["lr"] for g in ours[1].param_groups]
    assert initial == pytest.approx([g["lr"] for g in theirs[1].param_groups], rel=1e-15)
    ours_record = np.array(run(*ours, range(STEPS)))
    theirs_record = np.array(run(*theirs, range(STEPS)))
    np.testing.assert_allclose(ours_record, theirs_record, rtol=1e-12, atol=0)
    last = ours[2][-1]
    if hasattr(last, "last_epoch"):  # ChainedScheduler has none, in torch too
        assert last.last_epoch == theirs[2][-1].last_epoch == STEPS


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("via_json", [False, True])
def test_state_dict_round_trip_resumes_the_sequence(case, via_json):
    params, opt, schedulers = build(gg, case, weights())
    run(params, opt, schedulers, range(12))
    saved_opt = copy.deepcopy(opt.state_dict())
    saved_scheds = [copy.deepcopy(s.state_dict()) for s in schedulers]
    saved_weights = [p._data.copy() for p in params]
    uninterrupted = run(params, opt, schedulers, range(12, STEPS))

    if via_json:  # what a non-pickle checkpoint keeps: numbers, strings, lists, str keys
        saved_scheds = json.loads(json.dumps(saved_scheds))
        saved_opt = {
            "state": {
                str(i): {k: v._data.tolist() for k, v in s.items()}
                for i, s in saved_opt["state"].items()
            },
            "param_groups": json.loads(json.dumps(saved_opt["param_groups"])),
        }
        saved_opt["state"] = {
            i: {k: gg.tensor(v, dtype=gg.float64) for k, v in s.items()}
            for i, s in saved_opt["state"].items()
        }
    params2, opt2, schedulers2 = build(gg, case, saved_weights)  # schedulers first, as in torch
    opt2.load_state_dict(saved_opt)
    for s, state in zip(schedulers2, saved_scheds):
        s.load_state_dict(state)
    resumed = run(params2, opt2, schedulers2, range(12, STEPS))
    np.testing.assert_allclose(resumed, uninterrupted, rtol=1e-15, atol=0)


def test_scheduler_state_dict_keys_match_torch():
    for case in (
        "StepLR",
        "OneCycleLR",
        "LambdaLR-per-group",
        "MultiplicativeLR-per-group",
        "ReduceLROnPlateau",
        "CyclicLR-triangular2",
        "CosineAnnealingWarmRestarts",
        "SequentialLR",
        "ChainedScheduler",
        "PolynomialLR",
        "ConstantLR",
    ):
        ours = build(gg, case, weights())[2][0].state_dict()
        theirs = build(torch, case, weights())[2][0].state_dict()
        assert set(ours) <= set(theirs), case
        assert set(theirs) - set(ours) <= {"_get_lr_called_within_step"}, case
    theirs = build(torch, "LambdaLR-per-group", weights())[2][0].state_dict()
    ours = build(gg, "LambdaLR-per-group", weights())[2][0].state_dict()
    assert ours["lr_lambdas"] == theirs["lr_lambdas"] == [None, {"n": 6}]


def test_closed_form_with_an_epoch_argument():
    for lib, mod in ((gg, sched), (torch, torch.optim.lr_scheduler)):
        opt_mod = optim if lib is gg else torch.optim
        opt = opt_mod.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        s = mod.MultiStepLR(opt, milestones=[2, 5], gamma=0.5)
        opt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            s.step(6)
        assert s.get_last_lr() == [0.25]


def test_warns_when_stepped_before_the_optimizer():
    opt = optim.SGD([gg.zeros(1, requires_grad=True)], lr=1.0)
    s = sched.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    opt2 = optim.SGD([gg.zeros(1, requires_grad=True)], lr=1.0)
    s2 = sched.StepLR(opt2, step_size=2)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s2.step()


def test_one_cycle_past_total_steps_raises():
    opt = optim.SGD([gg.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        s.step()
    with pytest.raises(ValueError, match=r"Tried to step 4 times\. The specified number of total"):
        s.step()


def error_of(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    ("opt_name", "name", "kwargs"),
    [
        ("SGD", "OneCycleLR", {"max_lr": 1.0}),
        ("SGD", "OneCycleLR", {"max_lr": 1.0, "total_steps": 0}),
        ("SGD", "OneCycleLR", {"max_lr": 1.0, "epochs": 2, "steps_per_epoch": -1}),
        ("SGD", "OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "pct_start": 1}),
        ("SGD", "OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "anneal_strategy": "exp"}),
        ("SGD", "OneCycleLR", {"max_lr": [1.0, 2.0], "total_steps": 10}),
        ("Adagrad", "OneCycleLR", {"max_lr": 1.0, "total_steps": 10}),
        ("SGD", "LinearLR", {"start_factor": 0.0}),
        ("SGD", "LinearLR", {"end_factor": 1.5}),
        ("SGD", "LambdaLR", {"lr_lambda": [halve, halve]}),
        ("SGD", "StepLR", {"step_size": 2, "last_epoch": 3}),
        ("SGD", "ConstantLR", {"factor": 1.5}),
        ("SGD", "CosineAnnealingWarmRestarts", {"T_0": 0}),
        ("SGD", "CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 0}),
        ("SGD", "CosineAnnealingWarmRestarts", {"T_0": 2, "eta_min": "0"}),
        ("SGD", "CyclicLR", {"base_lr": 0.1, "max_lr": 1.0, "mode": "bogus"}),
        ("Adagrad", "CyclicLR", {"base_lr": 0.1, "max_lr": 1.0}),
        ("SGD", "CyclicLR", {"base_lr": [0.1, 0.2], "max_lr": 1.0}),
        ("SGD", "ReduceLROnPlateau", {"factor": 1.0}),
        ("SGD", "ReduceLROnPlateau", {"mode": "mid"}),
        ("SGD", "ReduceLROnPlateau", {"threshold_mode": "ratio"}),
        ("SGD", "ReduceLROnPlateau", {"min_lr": [0.1, 0.2]}),
        ("SGD", "SequentialLR", {"schedulers": [], "milestones": []}),
    ],
)
def test_errors_like_torch(opt_name, name, kwargs):
    def make(lib):
        opt_mod = optim if lib is gg else torch.optim
        sched_mod = sched if lib is gg else torch.optim.lr_scheduler
        opt = getattr(opt_mod, opt_name)([lib.zeros(1, requires_grad=True)], lr=0.1)
        return getattr(sched_mod, name)(opt, **kwargs)

    expected_type, expected_text = error_of(lambda: make(torch))
    ours_type, ours_text = error_of(lambda: make(gg))
    assert ours_type is expected_type
    assert (
        ours_text.split("(")[0].split(",")[0][:40] == expected_text.split("(")[0].split(",")[0][:40]
    )


def test_not_an_optimizer():
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        sched.StepLR([], step_size=1)


def test_composite_schedulers_check_their_children_like_torch():
    for lib, mod in ((gg, sched), (torch, torch.optim.lr_scheduler)):
        opt_mod = optim if lib is gg else torch.optim
        opt = opt_mod.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        other = opt_mod.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        a, b = mod.ConstantLR(opt), mod.ExponentialLR(other, gamma=0.9)
        with pytest.raises(ValueError, match="expects all schedulers to belong to the same"):
            mod.SequentialLR(opt, [a, b], milestones=[2])
        with pytest.raises(ValueError, match="number of milestones to be equal to 2"):
            mod.SequentialLR(opt, [a, mod.ExponentialLR(opt, 0.9)], milestones=[2, 3])
        with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
            mod.ChainedScheduler([a, mod.ReduceLROnPlateau(opt)])
        with pytest.raises(ValueError, match="at least one scheduler to be chained"):
            mod.ChainedScheduler([])


def test_verbose_is_accepted_and_deprecated():
    opt = optim.SGD([gg.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.StepLR(opt, step_size=2, verbose="deprecated")
    for make in (
        lambda: sched.StepLR(opt, step_size=2, verbose=True),
        lambda: sched.ReduceLROnPlateau(opt, verbose=False),
        lambda: sched.CyclicLR(opt, 0.1, 1.0, verbose=True),
        lambda: sched.LambdaLR(opt, halve, verbose=True),
    ):
        with pytest.warns(UserWarning, match="The verbose parameter is deprecated"):
            make()


def test_plateau_takes_tensors_and_warm_restarts_take_fractional_epochs():
    results = []
    for lib, mod in ((gg, sched), (torch, torch.optim.lr_scheduler)):
        opt_mod = optim if lib is gg else torch.optim
        opt = opt_mod.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        plateau = mod.ReduceLROnPlateau(opt, patience=0)
        for loss in (1.0, 2.0, 0.5, 0.5):
            plateau.step(lib.tensor(loss))
        opt2 = opt_mod.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        warm = mod.CosineAnnealingWarmRestarts(opt2, T_0=3, T_mult=2)
        lrs = []
        for epoch in (0.5, 1.25, 4.0, 10.5, 2.0):
            opt2.step()
            warm.step(epoch)
            lrs.append(warm.get_last_lr()[0])
        results.append((plateau.get_last_lr(), plateau.num_bad_epochs, lrs, warm.T_i))
    assert results[0][:2] == results[1][:2] and results[0][3] == results[1][3]
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-15)
