"""Every op of the registry through ``glassgrad.compile``: forward and backward replayed as
generated NumPy code give what eager gives, bit for bit, on inputs the recordings never saw.

Each example calls the compiled function on five perturbed copies of the drawn inputs: the first
calls are recorded (two recordings must agree before a program is trusted, and their inputs
differ, so a value baked into the code would show), the later ones replay. Ops whose Python
depends on their data keep being recorded (then fall back to eager, with a ``CompileWarning``):
``EAGER`` lists them, each with its reason; every other op must replay.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import glassgrad as gg
from glassgrad.compiler import CompileWarning
from tests.opinfo import ALL, OpInfo

# op name -> why its recordings may not agree (Python on the values): these are only checked to
# give eager's numbers, which a call that is recorded again always does
_SERIES = "the series runs in Python on values (float()), so each call records other guards"
EAGER: dict[str, str] = {
    "getitem_int_list": "the entry's own function turns an index tensor into a list",
    "ctc_loss": "the CTC recursion compares values in Python (float())",
    "ctc_loss_concatenated": "the CTC recursion compares values in Python (float())",
    **{
        name: _SERIES
        for name in (
            "digamma",
            "digamma_negative",
            "polygamma_0",
            "polygamma_1",
            "polygamma_2",
            "polygamma_3",
            "special_psi",
            "special_digamma",
            "special_polygamma",
        )
    },
}


pytestmark = pytest.mark.usefixtures("every_buffer_reused")  # (tests/conftest.py)


def _inputs(args, k: int):
    out = []
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            u = np.random.default_rng(k).uniform(-1, 1, a.shape)
            out.append(gg.tensor(a * (1 + 1e-3 * k * u), dtype=np.float64, requires_grad=True))
        elif isinstance(a, np.ndarray):
            out.append(gg.tensor(a))
        else:
            out.append(a)
    return out


def _run(op: OpInfo, args, seed: int):
    gg.manual_seed(seed)
    out = op.fn(gg, *args)
    leaves = [a for a in args if isinstance(a, gg.Tensor) and a.requires_grad]
    grads = None
    if out.requires_grad:
        v = gg.cos(gg.arange(out.numel(), dtype=out.dtype) * 0.7).reshape(out.shape)
        grads = gg.autograd.grad(out, leaves, v, allow_unused=True)
    return out.detach(), grads


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    x, y = a._data, b._data
    return x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)


@pytest.mark.parametrize("op", ALL, ids=lambda o: o.name)
@settings(max_examples=2, deadline=None, phases=(Phase.generate,), database=None)
@given(data=st.data())
def test_compiled_forward_and_backward_equal_eager(op: OpInfo, data) -> None:
    args = op.sample(data.draw)
    compiled = gg.compile(lambda *xs: _run(op, list(xs), 7))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompileWarning)
        for k in range(5):
            out, grads = compiled(*_inputs(args, k))
            ref, ref_grads = _run(op, _inputs(args, k), 7)
            assert _same(out, ref), f"{op.name}: output of call {k}"
            if ref_grads is None:
                assert grads is None
                continue
            for i, (g, r) in enumerate(zip(grads, ref_grads)):
                assert _same(g, r), f"{op.name}: gradient of input {i}, call {k}"
    fell_back = [w for w in caught if issubclass(w.category, CompileWarning)]
    if op.name not in EAGER:
        assert not fell_back, f"{op.name}: {fell_back[0].message}"
        assert compiled.stats["replays"] >= 1, (op.name, compiled.stats)


def _differentiate(out, args):
    """The gradients of ``out`` (weighted by a fixed pattern) for the tensors that need one."""
    leaves = [a for a in args if isinstance(a, gg.Tensor) and a.requires_grad]
    v = gg.cos(gg.arange(out.numel(), dtype=out.dtype) * 0.7).reshape(out.shape)
    return gg.autograd.grad(out, leaves, v, allow_unused=True)


@pytest.mark.parametrize("op", ALL, ids=lambda o: o.name)
@settings(max_examples=2, deadline=None, phases=(Phase.generate,), database=None)
@given(data=st.data())
def test_compiled_forward_with_the_backward_after_the_call_equals_eager(op: OpInfo, data) -> None:
    """The forward alone compiled, its output differentiated after the call: a replay returns
    the output joined to the inputs by one ``CompiledFunctionBackward`` node, whose generated
    backward gives eager's gradients bit for bit."""
    args = op.sample(data.draw)

    def forward(*xs):
        gg.manual_seed(7)
        return op.fn(gg, *xs)

    forward(*_inputs(args, 9))  # caches an op keeps are warm, as after eager use (the other
    compiled = gg.compile(forward)  # test records with them cold): they become constants
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompileWarning)
        for k in range(5):
            inputs, ref_inputs = _inputs(args, k), _inputs(args, k)
            out, ref = compiled(*inputs), forward(*ref_inputs)
            assert _same(out.detach(), ref.detach()), f"{op.name}: output of call {k}"
            assert out.requires_grad == ref.requires_grad
            if not ref.requires_grad:
                continue
            for i, (g, r) in enumerate(
                zip(_differentiate(out, inputs), _differentiate(ref, ref_inputs))
            ):
                assert _same(g, r), f"{op.name}: gradient of input {i}, call {k}"
    fell_back = [w for w in caught if issubclass(w.category, CompileWarning)]
    if op.name not in EAGER and op.name not in NOT_SPLIT:
        assert not fell_back, f"{op.name}: {fell_back[0].message}"
        assert compiled.stats["replays"] >= 1, (op.name, compiled.stats)


# ops whose backward cannot run as a function of its own after the forward (they run eagerly,
# with a CompileWarning): it selects from the output's gradient with a boolean mask, and checks
# the size of the selection (a count the forward's data chose, which the forward never reads)
_MASKED = "the backward checks the size of a masked selection of the output's gradient"
NOT_SPLIT: dict[str, str] = {
    name: _MASKED
    for name in (
        "setitem_mask",
        "masked_scatter",
        "grid_sample",
        "grid_sample_3d",
        "grid_sample_nearest",
        "grid_sample_nearest_3d",
    )
}
