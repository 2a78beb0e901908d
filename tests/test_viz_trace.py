"""glassgrad.viz.trace: the graph as plain data, read without touching it (PyTorch as oracle)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn
from glassgrad.autograd.state import state
from glassgrad.viz import (
    capture_grads,
    collapse,
    group_by_module,
    limit,
    name,
    name_parameters,
    summarize,
    trace,
)


def _fxyz(**kw):
    x = gg.tensor(-2.0, requires_grad=True, name="x", **kw)
    y = gg.tensor(5.0, requires_grad=True, name="y", **kw)
    z = gg.tensor(-4.0, requires_grad=True, name="z", **kw)
    q = name(x + y, "q")
    f = name(q * z, "f")
    return x, y, z, q, f


def _torch_fxyz():
    x, y, z = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (-2, 5, -4))
    q = x + y
    q.retain_grad()
    f = q * z
    f.backward()
    return x, y, z, q, f


def test_trace_of_f_has_the_expected_nodes_edges_names_and_values() -> None:
    *_, f = _fxyz(dtype=gg.float64)
    g = trace(f)
    kinds = [(n.kind, n.op, n.name) for n in g.nodes]
    assert kinds == [
        ("output", "MulBackward0", "f"),
        ("op", "MulBackward0", None),  # f's name belongs to the output box
        ("op", "AddBackward0", "q"),
        ("leaf", None, "z"),
        ("leaf", None, "x"),
        ("leaf", None, "y"),
    ]
    ids = {n.name or n.op: n.id for n in g.nodes}
    edges = {(e.src, e.dst, e.index) for e in g.edges}
    assert edges == {
        (ids["MulBackward0"], ids["f"], 0),
        (ids["q"], ids["MulBackward0"], 0),
        (ids["z"], ids["MulBackward0"], 1),
        (ids["x"], ids["q"], 0),
        (ids["y"], ids["q"], 1),
    }
    tx, _, _, tq, tf = _torch_fxyz()
    assert g.named("f").value.values == pytest.approx(tf.item())
    assert g.named("q").value.values == pytest.approx(tq.item())
    assert g.named("x").value.values == pytest.approx(tx.item())
    assert all(n.shape == () and n.dtype == "float64" for n in g.nodes)
    assert all(n.grad is None for n in g.nodes)  # no backward yet
    assert [n.name for n in g.inputs(ids["q"])] == ["x", "y"]
    assert g.to_dict()["nodes"][0]["name"] == "f"


def test_gradients_after_backward_match_torch_on_nodes_and_edges() -> None:
    *_, q, f = _fxyz(dtype=gg.float64)
    with capture_grads() as grads:
        f.backward()
    del q  # its value survives in the capture even once the tensor is gone
    g = trace(f, grads=grads)
    tx, ty, tz, tq, _ = _torch_fxyz()
    for n, t in (("x", tx), ("y", ty), ("z", tz), ("q", tq)):
        assert g.named(n).grad.values == pytest.approx(t.grad.item()), n
    assert g.named("q").value.values == pytest.approx(tq.item())
    assert g.named("f").grad.values == pytest.approx(1.0)
    by_pair = {(g.node(e.src).name or g.node(e.src).op, e.dst): e.grad for e in g.edges}
    mul = g.nodes[1].id
    # the gradient sent to q along its edge is z, the one sent to z is q (the textbook figure)
    assert by_pair[("q", mul)].values == pytest.approx(tq.grad.item())
    assert by_pair[("z", mul)].values == pytest.approx(tz.grad.item())
    assert by_pair[("x", g.named("q").id)].values == pytest.approx(tx.grad.item())


def test_after_backward_without_capture_released_values_are_unknown() -> None:
    x = gg.tensor(-2.0, requires_grad=True)
    y = gg.tensor(5.0, requires_grad=True)
    z = gg.tensor(-4.0, requires_grad=True)
    f = (x + y) * z
    add = trace(f).nodes[2]
    assert add.op == "AddBackward0" and add.value.values == pytest.approx(3.0)  # saved by mul
    f.backward()
    add = trace(f).nodes[2]
    assert add.value is None and add.grad is None  # saved tensors were released
    assert trace(f).nodes[3].grad.values == pytest.approx(3.0)  # z.grad (leaf)


def test_names_set_directly_on_saved_inputs_are_found() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    h.name = "h"  # set directly, not through viz.name: found because mul saved h
    loss = (h * x).sum()
    assert trace(loss).named("h").op == "ExpBackward0"


def test_retained_gradients_of_named_intermediates() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True, dtype=gg.float64)
    h = name(x * 3.0, "h")
    h.retain_grad()
    (h**2).sum().backward()
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    th = tx * 3.0
    th.retain_grad()
    (th**2).sum().backward()
    node = trace((h**2).sum()).named("h")
    np.testing.assert_allclose(node.grad.values, th.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(node.value.values, th.detach().numpy(), rtol=1e-12)


def _snapshot(root):
    """Every slot of every node and tensor reachable from root, by identity and content."""
    slots_fn = ("_hooks", "_meta", "_saved", "dtype", "next", "shape")
    slots_t = ("_base_", "_grad", "_hooks_", "_name", "_retains_grad_", "_data", "grad_fn")
    seen, out, stack = set(), [], [root]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, gg.Tensor):
            vals = [getattr(o, s, "<unset>") for s in slots_t]
            out.append(
                (id(o), [id(v) for v in vals], o._data.tobytes(), o.requires_grad, list(o._vc))
            )
            if o.grad_fn is not None:
                stack.append(o.grad_fn)
        else:
            vals = [getattr(o, s, "<unset>") for s in slots_fn]
            out.append((id(o), [id(v) for v in vals], [id(e) for e in o.next]))
            stack.extend(e for e in o.next if e is not None)
    return sorted(out, key=lambda r: r[0])


def _model_loss(seed):
    gg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = gg.randn(5, 3)
    loss = (model(x) ** 2).mean()
    return model, loss


def test_trace_and_to_dot_touch_nothing() -> None:
    from glassgrad.viz import to_dot

    model, loss = _model_loss(1)
    before = _snapshot(loss)
    trace(loss, params=model)
    to_dot(loss, params=model, collapse={"0"})
    assert _snapshot(loss) == before
    loss.backward()
    model2, loss2 = _model_loss(1)  # the same graph, never traced
    loss2.backward()
    for (n, p), p2 in zip(model.named_parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.grad._data, p2.grad._data, err_msg=n)
    assert all(p.name is None for p in model.parameters())  # trace named nothing


def test_deep_chains_are_walked_without_recursion() -> None:
    x = gg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    g = trace(y, max_nodes=50)
    assert g.omitted == 100_001 - 50 and g.nodes[-1].count == g.omitted
    chain = x
    for _ in range(3000):
        chain = chain + 1.0
    depth = len(__import__("inspect").stack(0))
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 80)  # far fewer frames than the chain is long
    try:
        g = trace(chain)
    finally:
        sys.setrecursionlimit(old)
    assert len(g.nodes) == 3002 and g.nodes[-1].kind == "leaf"


def test_parameter_names_from_params_and_name_parameters() -> None:
    model, loss = _model_loss(0)
    g = trace(loss, params=dict(model.named_parameters()))
    leaves = {n.name for n in g.nodes if n.kind == "leaf"}
    assert leaves == {"0.weight", "0.bias", "2.weight", "2.bias"}
    # without hooks, an op is grouped with the parameters it consumes
    linear = [n for n in g.nodes if n.op == "AddmmBackward0"]
    assert sorted(n.module for n in linear) == ["0", "2"]
    assert g.modules == {"0": "", "2": ""}  # a dict of parameters knows no class names
    # given the model, the Tanh between its two Linear layers is known to be the Sequential's
    # middle child: a Sequential feeds each child's output to the next
    g = trace(loss, params=model)
    assert g.modules == {"0": "Linear", "1": "Tanh", "2": "Linear"}
    assert [n.module for n in g.nodes if n.op == "TanhBackward0"] == ["1"]
    assert name_parameters(model) is model
    assert model[0].weight.name == "0.weight"
    assert {n.name for n in trace(loss).nodes if n.kind == "leaf"} == leaves


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.fc(x)) + x  # the residual add belongs to the block itself


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([_Block(), _Block()])
        self.head = nn.Linear(3, 1)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


def test_group_by_module_attributes_ops_to_the_innermost_module() -> None:
    net = _Net()
    x = gg.randn(2, 3, requires_grad=True)
    with group_by_module(net) as classes:
        loss = net(x).sum()
    assert classes["layers.0"] == "_Block"
    g = trace(loss)
    mod = {(n.op, n.module) for n in g.nodes if n.kind == "op"}
    assert ("TanhBackward0", "layers.0.act") in mod and ("TanhBackward0", "layers.1.act") in mod
    assert ("AddBackward0", "layers.0") in mod and ("AddBackward0", "layers.1") in mod
    assert ("AddmmBackward0", "head") in mod and ("SumBackward0", None) in mod
    assert g.named("layers.1.fc.weight").module == "layers.1.fc"
    assert g.modules["layers"] == "ModuleList" and g.modules["layers.1.fc"] == "Linear"
    x_node = next(n for n in g.nodes if n.kind == "leaf" and n.name is None)
    assert x_node.module is None  # the model's input is no module's
    # the hooks are gone afterwards
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())


def test_collapse_makes_one_box_per_module() -> None:
    net = _Net()
    with group_by_module(net):
        loss = net(gg.randn(2, 3)).sum()
    g = trace(loss)
    c = collapse(g, {"layers.0", "head"})
    boxes = {n.name: n for n in c.nodes if n.kind == "module"}
    assert set(boxes) == {"layers.0", "head"}
    inside = [n for n in g.nodes if n.module and n.module.startswith("layers.0")]
    assert boxes["layers.0"].count == len(inside) and boxes["layers.0"].op == "_Block"
    assert boxes["layers.0"].module == "layers"  # drawn inside its parent's group
    assert boxes["head"].shape == (2, 1)
    ids = {n.id for n in c.nodes}
    assert all(e.src in ids and e.dst in ids for e in c.edges)
    assert ("module:layers.0", g.named("layers.1.fc.weight").id) not in {
        (e.src, e.dst) for e in c.edges
    }
    assert any(e.src == "module:layers.0" for e in c.edges)
    assert "layers.0.fc" not in c.modules and "layers.1.fc" in c.modules
    with pytest.raises(ValueError, match=r"no module 'nope'.*layers\.0"):
        collapse(g, {"nope"})


def test_cap_keeps_the_nodes_nearest_the_output() -> None:
    x = gg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(30):
        y = y.sin()
    g = trace(y, max_nodes=10)
    assert [n.kind for n in g.nodes] == ["output"] + ["op"] * 10 + ["more"]
    assert g.omitted == 21 and g.nodes[-1].count == 21
    assert sum(e.src == "more" for e in g.edges) == 1
    full = trace(y)
    capped = limit(full, 10)
    assert [n.id for n in capped.nodes] == [n.id for n in g.nodes]
    assert capped.edges == g.edges and capped.omitted == 21
    assert limit(full, 100) is full
    with pytest.raises(ValueError, match="max_nodes must be at least 1, got 0"):
        trace(y, max_nodes=0)


def test_edge_gradients_are_unbroadcast_like_torch() -> None:
    a = gg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True, dtype=gg.float64)
    b = gg.tensor([0.5], requires_grad=True, dtype=gg.float64)
    with capture_grads() as grads:
        ((a * b) ** 2).sum().backward()
    ta = torch.tensor(a._data, requires_grad=True)
    tb = torch.tensor(b._data, requires_grad=True)
    ((ta * tb) ** 2).sum().backward()
    g = trace(((a * b) ** 2).sum(), grads=grads)  # a new graph: its nodes were never seen
    assert all(e.grad is None for e in g.edges)
    with capture_grads() as grads:
        loss = ((a * b) ** 2).sum()
        a.grad = b.grad = None
        loss.backward()
    g = trace(loss, grads=grads)
    b_edge = next(e for e in g.edges if g.node(e.src).shape == (1,))
    assert b_edge.grad.shape == (1,)
    np.testing.assert_allclose(b_edge.grad.values, tb.grad.numpy(), rtol=1e-12)


def test_capture_grads_chains_and_restores_the_observer() -> None:
    seen = []
    state.backward_observer = lambda node, *rest: seen.append(node.name())
    x = gg.tensor(2.0, requires_grad=True)
    with capture_grads() as grads:
        (x * x).backward()
    assert seen == ["MulBackward0"]
    assert state.backward_observer is not None and state.backward_observer.__name__ == "<lambda>"
    state.backward_observer = None
    assert grads.output_grad(object()) is None


def test_summaries_values_when_small_stats_when_large() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 30))
    s = summarize(a)
    assert s.values is None and s.shape == (40, 30) and s.dtype == "float64"
    assert s.min == a.min() and s.max == a.max()
    assert s.mean == pytest.approx(a.mean()) and s.std == pytest.approx(a.std())
    assert s.norm == pytest.approx(np.linalg.norm(a))
    assert summarize(np.arange(4)).values == [0, 1, 2, 3]
    assert summarize(np.zeros((0, 3))).mean is None
    assert summarize(np.array([np.inf, 1.0])).max == np.inf  # no warning, no error
    w = gg.randn(50, 50, requires_grad=True)
    leaf = trace(w * 2).nodes[-1]
    assert leaf.value.values is None and leaf.value.mean == pytest.approx(float(w._data.mean()))


def test_trace_of_a_leaf_and_of_several_outputs() -> None:
    w = gg.tensor([1.0, 2.0], requires_grad=True, name="w")
    g = trace(w)
    assert [(n.kind, n.name) for n in g.nodes] == [("output", "w")] and g.edges == []
    a, b = w * 2, w.sum()
    g = trace([a, b])
    assert [n.kind for n in g.nodes] == ["output", "output", "op", "op", "leaf"]
    assert sum(n.kind == "leaf" for n in g.nodes) == 1  # shared leaf appears once


def test_bad_arguments_name_the_culprit() -> None:
    with pytest.raises(TypeError, match=r"item 1 is 3"):
        trace([gg.ones(1), 3])
    with pytest.raises(TypeError, match="name must be a str"):
        name(gg.ones(1), 5)
    with pytest.raises(TypeError, match="expected a Tensor to name, got list"):
        name([1.0], "a")
    with pytest.raises(TypeError, match="parameter 'w' is a float"):
        trace(gg.ones(1), params={"w": 1.0})
    with (
        pytest.raises(TypeError, match=r"group_by_module: expected an nn\.Module, got dict"),
        group_by_module({}),
    ):
        pass
