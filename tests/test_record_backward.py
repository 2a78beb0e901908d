"""record_backward: every rule, in order, with shapes, norms, sums, timing and freed memory."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad.autograd.record import BackwardStep, record_backward
from glassgrad.autograd.state import state


def _mlp(lib, x, w1, w2):
    h = lib.tanh(x @ w1)
    return ((h @ w2) ** 2).mean()


def test_steps_follow_the_engine_and_match_torch_gradient_norms() -> None:
    rng = np.random.default_rng(0)
    xs, w1s, w2s = rng.normal(size=(5, 4)), rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    x = gg.tensor(xs)
    w1 = gg.tensor(w1s, requires_grad=True, name="W1")
    w2 = gg.tensor(w2s, requires_grad=True, name="W2")
    loss = _mlp(gg, x, w1, w2)
    with record_backward() as rec:
        loss.backward()
    assert [s.op for s in rec.steps] == [
        "MeanBackward0",
        "PowBackward0",
        "MmBackward0",
        "TanhBackward0",
        "MmBackward0",
    ]
    assert all(isinstance(s, BackwardStep) for s in rec.steps)
    assert [s.index for s in rec.steps] == list(range(5))
    # the oracle: the same gradients in torch, with retain_grad on every intermediate
    tx = torch.tensor(xs)
    tw1 = torch.tensor(w1s, requires_grad=True)
    tw2 = torch.tensor(w2s, requires_grad=True)
    a = tx @ tw1
    h = torch.tanh(a)
    o = h @ tw2
    p = o**2
    tl = p.mean()
    for t in (a, h, o, p):
        t.retain_grad()
    tl.backward()
    mean, pow_, mm2, tanh, mm1 = rec.steps
    assert mean.grad_in_norm == pytest.approx(1.0)
    assert mean.input_shapes[0] == (5, 2) and mean.output_shape == ()
    assert mean.grad_out_norms[0] == pytest.approx(p.grad.norm().item(), rel=1e-12)
    assert pow_.grad_in_norm == pytest.approx(p.grad.norm().item(), rel=1e-12)
    assert pow_.grad_out_norms[0] == pytest.approx(o.grad.norm().item(), rel=1e-12)
    assert mm2.input_shapes == [(5, 3), (3, 2)] and mm2.output_shape == (5, 2)
    assert mm2.grad_out_norms == pytest.approx([h.grad.norm().item(), tw2.grad.norm().item()])
    assert "W2" in mm2.inputs
    assert tanh.grad_out_norms[0] == pytest.approx(a.grad.norm().item(), rel=1e-12)
    assert mm1.input_shapes[0] is None  # x does not require grad: no edge
    assert mm1.grad_out_norms[1] == pytest.approx(tw1.grad.norm().item(), rel=1e-12)
    assert all(s.seconds >= 0 for s in rec.steps)
    assert all(s.accumulates == [] and s.paths_in == 1 for s in rec.steps)


def test_accumulation_where_paths_meet() -> None:
    x = gg.tensor(3.0, requires_grad=True, name="x")
    y = gg.tensor(4.0, requires_grad=True, name="y")
    q = x * y
    f = (q + x) * q  # q feeds two nodes; x feeds two nodes
    with record_backward() as rec:
        f.backward()
    ops = [s.op for s in rec.steps]
    assert ops == ["MulBackward0", "AddBackward0", "MulBackward0"]
    top, add, mul = rec.steps
    assert mul.paths_in == 2  # q's node got a gradient from f and one from (q + x)
    assert top.paths_in == 1 and add.paths_in == 1
    assert mul.accumulates == ["x"]  # x also gets a gradient straight from the add
    assert "x" in add.accumulates
    assert any(name.startswith("MulBackward0 #2") for name in top.accumulates)


def test_saved_bytes_released_and_retained() -> None:
    x = gg.tensor(np.ones((10, 10)), requires_grad=True)
    y = (x.exp() * x).sum()
    with record_backward() as rec:
        y.backward(retain_graph=True)
    assert rec.total_saved_bytes_released == 0  # retained: nothing freed
    with record_backward() as rec:
        y.backward()
    by_op = {s.op: s.saved_bytes_released for s in rec.steps}
    assert by_op["MulBackward0"] == 2 * 10 * 10 * 8  # exp(x) and x, float64
    assert by_op["ExpBackward0"] == 10 * 10 * 8  # its output (the same array as mul's input)
    assert by_op["SumBackward0"] == 0


def test_observer_restored_and_chained() -> None:
    seen = []
    previous = lambda node, g, gin, dt, saved: seen.append(node.name())  # noqa: E731
    state.backward_observer = previous
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    with record_backward() as rec:
        (x * 2).sum().backward()
    assert state.backward_observer is previous
    assert seen == ["SumBackward0", "MulBackward0"] == [s.op for s in rec.steps]
    state.backward_observer = None
    with pytest.raises(ZeroDivisionError), record_backward():
        raise ZeroDivisionError
    assert state.backward_observer is None


def test_table_and_json() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True, name="x")
    with record_backward() as rec:
        (x * x).sum().backward()
    table = str(rec)
    lines = table.splitlines()
    assert lines[0].split() == [
        "#",
        "op",
        "input",
        "shapes",
        "output",
        "|grad",
        "in|",
        "|grads",
        "out|",
        "sums",
        "time",
        "freed",
    ]
    assert "MulBackward0" in lines[3] and "into x" in lines[3]
    assert len({len(line) for line in lines[:2]}) == 1  # header and rule aligned
    assert lines[-1].startswith("2 nodes")
    data = json.loads(rec.to_json())
    assert [s["op"] for s in data["steps"]] == ["SumBackward0", "MulBackward0"]
    assert data["steps"][1]["input_shapes"] == [[2], [2]]
    assert data["steps"][1]["accumulates"] == ["x"]
    assert data["total_saved_bytes_released"] == rec.total_saved_bytes_released
    assert "grad_in" not in data["steps"][0]


def test_keep_values_gives_gradients_and_local_derivatives() -> None:
    x = gg.tensor(-2.0, dtype=gg.float64, requires_grad=True)
    y = gg.tensor(5.0, dtype=gg.float64, requires_grad=True)
    z = gg.tensor(-4.0, dtype=gg.float64, requires_grad=True)
    f = (x + y) * z
    with record_backward(keep_values=True) as rec:
        f.backward()
    mul, add = rec.steps
    assert mul.local is not None and add.local is not None and add.grads_out is not None
    assert [float(v) for v in mul.local if v is not None] == [-4.0, 3.0]  # z and x + y
    assert [float(v) for v in add.local if v is not None] == [1.0, 1.0]
    assert float(add.grad_in) == -4.0 and [float(v) for v in add.grads_out] == [-4.0, -4.0]
    assert json.loads(rec.to_json())["steps"][0]["local"] == [-4.0, 3.0]
