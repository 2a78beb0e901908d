"""glassgrad.inspect: gradient-flow reports, saved tensors and peak memory of the backward pass."""

from __future__ import annotations

import json

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import inspect as gi
from glassgrad import nn


def net(scale: float = 1.0, act: type = nn.Sigmoid) -> nn.Sequential:
    m = nn.Sequential(nn.Linear(10, 50), act(), nn.Linear(50, 3))
    with gg.no_grad():
        m[0].weight.mul_(scale)
    return m


def step(m: nn.Module, x: gg.Tensor, y: gg.Tensor) -> gi.Watcher:
    with gi.watch(m) as w:
        loss = F.cross_entropy(m(x), y)
    loss.backward()
    return w


# ---- gradient flow --------------------------------------------------------------------------


def test_sigmoid_with_weights_initialised_too_large_is_flagged_saturated() -> None:
    x, y = gg.randn(64, 10), gg.randint(0, 3, (64,))
    big = net(scale=40.0)
    report = gi.gradient_report(big, lr=0.1, activations=step(big, x, y))
    rows = {s.layer: s for s in report.layers}
    assert rows["1"].type == "Sigmoid" and "saturated" in rows["1"].flags
    h = big[1](big[0](x))._data  # the local derivative computed independently
    assert rows["1"].saturated == pytest.approx(np.mean(h * (1 - h) < 1e-3))
    assert rows["1"].saturated > 0.5

    small = net(scale=0.01)
    report = gi.gradient_report(small, lr=0.1, activations=step(small, x, y))
    assert report.flagged() == {}
    assert {s.layer: s for s in report.layers}["1"].saturated == 0.0


def test_norms_and_update_ratios_are_those_of_the_gradients() -> None:
    m = net(act=nn.Tanh)
    w = step(m, gg.randn(16, 10), gg.randint(0, 3, (16,)))
    rows = {s.layer: s for s in gi.gradient_report(m, lr=0.5, activations=w).layers}
    for path in ("0", "2"):
        g = np.concatenate([m[int(path)].weight.grad._data.ravel(), m[int(path)].bias.grad._data])
        p = np.concatenate([m[int(path)].weight._data.ravel(), m[int(path)].bias._data])
        assert rows[path].grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-5)
        assert rows[path].update_ratio == pytest.approx(
            0.5 * np.linalg.norm(g) / np.linalg.norm(p), rel=1e-5
        )
    assert rows["1"].type == "Tanh" and rows["1"].saturated is not None
    assert gi.grad_norms(m)["0"] == pytest.approx(rows["0"].grad_norm)


def test_dead_relus_vanishing_and_exploding_flags() -> None:
    m = net(act=nn.ReLU)
    with gg.no_grad():
        m[0].bias.fill_(-100.0)  # every ReLU unit is off for every example
    w = step(m, gg.randn(8, 10), gg.randint(0, 3, (8,)))
    report = gi.gradient_report(m, activations=w)
    rows = {s.layer: s for s in report.layers}
    assert rows["1"].dead == 1.0 and "dead" in rows["1"].flags
    assert "vanishing" in rows["0"].flags  # nothing flows back through dead units

    m2 = net(act=nn.Tanh)
    step(m2, gg.randn(8, 10), gg.randint(0, 3, (8,)))
    with gg.no_grad():
        m2[2].weight.grad.mul_(1e6)
    assert "exploding" in {s.layer: s for s in gi.gradient_report(m2).layers}["2"].flags
    m2.zero_grad()
    assert gi.gradient_report(m2).flagged() == {"0": ["no grad"], "2": ["no grad"]}


def test_report_prints_and_exports() -> None:
    m = net(scale=40.0)
    w = step(m, gg.randn(16, 10), gg.randint(0, 3, (16,)))
    report = gi.gradient_report(m, activations=w)
    text = str(report)
    assert "Sigmoid" in text and "saturated" in text and "grad norm" in text
    data = json.loads(report.to_json())
    assert [r["layer"] for r in data["layers"]] == ["0", "1", "2"]


def test_gradient_history_records_epochs_and_plots(tmp_path) -> None:
    m = net(act=nn.Tanh)
    hist = gi.GradientHistory()
    for _ in range(3):
        m.zero_grad()
        w = step(m, gg.randn(8, 10), gg.randint(0, 3, (8,)))
        hist.record(gi.gradient_report(m, activations=w))
    hist.record(m)
    assert hist.epochs == 4 and set(hist.norms) == {"0", "2"}
    assert all(len(v) == 4 and all(x > 0 for x in v) for v in hist.norms.values())
    out = tmp_path / "norms.png"
    hist.plot(str(out))
    assert out.read_bytes()[:4] == b"\x89PNG"


# ---- saved tensors and memory ---------------------------------------------------------------


def test_saved_tensors_counts_each_array_once_with_its_bytes() -> None:
    x = gg.randn(100, 30, dtype=gg.float64, requires_grad=True)
    x.name = "x"
    a = x * x  # Mul saves x twice (both operands); counted once
    b = a.tanh()  # saves its output
    c = b * x  # saves b and x again
    rep = gi.saved_tensors(c.sum())
    by_name = {e.name: e for e in rep.entries}
    assert by_name["x"].leaf and by_name["x"].nbytes == 100 * 30 * 8
    assert len(rep.entries) == 2  # x, and tanh's output (also c's first operand)
    assert rep.total_bytes == 2 * 100 * 30 * 8
    assert rep.activation_bytes == 100 * 30 * 8
    # walking from the loss, b * x is met first: it names both arrays; tanh shares its output
    assert rep.by_op() == {"MulBackward0": 2 * 100 * 30 * 8}
    shared = next(e for e in rep.entries if not e.leaf)
    assert shared.saved_by == ["MulBackward0", "TanhBackward0"] and shared.role == "input 0"
    assert "arrays saved by" in str(rep)
    c.sum().backward()
    assert gi.saved_tensors(c.sum()).total_bytes == 0


def test_saved_tensors_by_module_and_after_backward() -> None:
    m = nn.Sequential(nn.Linear(20, 40), nn.ReLU(), nn.Linear(40, 5))
    x = gg.randn(64, 20)
    with gi.watch(m) as w:
        loss = F.cross_entropy(m(x), gg.randint(0, 5, (64,)))
    rep = gi.saved_tensors(loss, modules=w)
    mods = rep.by_module()
    assert {"0", "2"} <= set(mods)  # the linears; the ReLU's output is what layer 2 saved too
    names = {e.name for e in rep.entries if e.leaf}
    assert {"0.weight", "2.weight"} <= names
    # the activations the graph keeps: the input, relu's output (shared with layer 2)
    assert rep.activation_bytes >= (64 * 20 + 64 * 40) * 4
    assert json.loads(rep.to_json())["total_bytes"] == rep.total_bytes
    loss.backward()
    after = gi.saved_tensors(loss, modules=w)
    assert after.total_bytes == 0 and after.released == after.nodes
    assert "released" in str(after)
    with pytest.raises(TypeError, match="expected a Tensor"):
        gi.saved_tensors(np.zeros(3))


def test_memory_profile_sees_forward_and_backward_peaks() -> None:
    x = gg.randn(512, 256, dtype=gg.float64, requires_grad=True)
    nbytes = x._data.nbytes
    with gi.memory_profile() as mem:
        h = x.tanh().tanh().tanh()  # three outputs saved for backward
        loss = h.sum()
        loss.backward()
    assert mem.forward_peak >= 3 * nbytes
    assert mem.held_at_backward is not None and mem.held_at_backward >= 3 * nbytes
    assert mem.backward_peak >= nbytes  # gradients of the size of x
    assert mem.end >= nbytes  # x.grad stays
    assert [n for n, _ in mem.timeline][:2] == ["SumBackward0", "TanhBackward0"]
    assert mem.peak == max(mem.forward_peak, mem.backward_peak)
    assert "forward peak" in str(mem)

    with gi.memory_profile() as fwd, gg.no_grad():  # no backward: only a forward figure
        x.tanh().tanh()
    assert fwd.backward_peak is None and fwd.forward_peak >= nbytes
