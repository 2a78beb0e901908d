"""The graph walker (glassgrad.autograd.graph), the public node fields tools read, and the engine's
helpers (accumulate, sum_to_shape, grad_mode)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.autograd.grad_mode import grad_mode
from glassgrad.autograd.gradients import accumulate, sum_to_shape
from glassgrad.autograd.graph import dependencies, topological_order, walk
from glassgrad.autograd.introspection import AccumulateGrad
from glassgrad.autograd.node import Node
from glassgrad.autograd.state import state


def _diamond():
    x = gg.tensor([1.0, 2.0], requires_grad=True, name="x")
    a = x.exp()
    b = x * 2.0
    return x, a, b, (a + b).sum()


def test_topological_order_puts_every_node_after_its_inputs() -> None:
    out = _diamond()[-1]
    order = topological_order([out.grad_fn], leaves=True)
    pos = {id(o): k for k, o in enumerate(order)}
    assert len(order) == 5  # x, exp, mul, add, sum
    for o in order:
        if not isinstance(o, gg.Tensor):
            assert all(pos[id(e)] < pos[id(o)] for e in o.edges if e is not None)
    assert [n.name() for n in topological_order([out.grad_fn])][-2:] == [
        "AddBackward0",
        "SumBackward0",
    ]


def test_dependencies_count_the_edges_into_each_node() -> None:
    x, a, b, out = _diamond()
    deps = dependencies([out.grad_fn])
    assert deps[out.grad_fn] == 0
    assert deps[a.grad_fn] == deps[b.grad_fn] == 1
    y = x.exp()
    z = (y * y).sum()  # y's node feeds MulBackward0 twice
    assert dependencies([z.grad_fn])[y.grad_fn] == 2


def test_walk_orders_and_pruning() -> None:
    out = _diamond()[-1]
    names = [n.name() for n in walk([out.grad_fn], breadth_first=True)]
    assert names == ["SumBackward0", "AddBackward0", "ExpBackward0", "MulBackward0"]
    everything = list(walk([out.grad_fn], leaves=True))
    assert sum(isinstance(o, gg.Tensor) for o in everything) == 1  # x, once
    stopped = list(walk([out.grad_fn], follow=lambda n: n.name() != "AddBackward0"))
    assert [n.name() for n in stopped] == ["SumBackward0", "AddBackward0"]


def test_walks_are_iterative_on_deep_graphs() -> None:
    x = gg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    assert len(topological_order([y.grad_fn])) == 20_000
    assert sum(1 for _ in walk([y.grad_fn])) == 20_000
    y.backward()
    assert x.grad.item() == 1.0


def test_node_fields_for_tools() -> None:
    x, a, b, out = _diamond()
    add = out.grad_fn.edges[0]
    assert add.edges == (a.grad_fn, b.grad_fn)
    mul = b.grad_fn
    assert mul.edges == (x, None)
    (fn, _), (none, _) = mul.next_functions
    assert isinstance(fn, AccumulateGrad) and fn.variable is x and none is None
    # metadata: a dict of the user's, made on first use
    assert mul.metadata == {}
    mul.metadata["tag"] = 1
    assert mul.metadata == {"tag": 1}
    # what was saved, and where it came from
    (s,) = a.grad_fn.saved_values()  # exp saves its output
    assert s.role == "output" and s.tensor is None and s.current
    y = x * a
    roles = [(v.role, v.tensor) for v in y.grad_fn.saved_values()]
    assert roles == [("input", x), ("input", a)]
    with gg.no_grad():
        a.add_(1.0)  # in place: the saved value is stale
    assert [v.current for v in y.grad_fn.saved_values()] == [True, False]
    x, a, b, out = _diamond()
    assert not out.grad_fn.released
    out.backward()
    assert out.grad_fn.released and a.grad_fn.released
    assert a.grad_fn.saved_values() == ()


def test_nodes_run_their_forward_again_for_tools() -> None:
    """Node.rerun: each op's forward again from its inputs' values and the arguments that are
    no edge (numbers, shapes, indices, constant tensors), exactly as the forward computed it."""
    x = gg.randn(3, 4, requires_grad=True)
    c = gg.randn(4)  # a constant: no gradient, no edge
    ops = {
        "scale": lambda: x * 0.5,  # (the number fast path)
        "unary": lambda: x.tanh(),
        "constant": lambda: x + c,
        "slice": lambda: x[1:, ::2],
        "transpose": lambda: x.transpose(0, 1),
        "view": lambda: x.reshape(2, 6),
        "sum": lambda: x.sum(dim=1, keepdim=True),
        "embedding": lambda: gg.nn.functional.embedding(gg.tensor([[2, 0], [1, 1]]), x),
    }
    for what, make in ops.items():
        y = make()
        again = y.grad_fn.rerun([x.detach().numpy()])
        assert again is not None, what
        np.testing.assert_array_equal(again, y.detach().numpy(), err_msg=what)
        assert y.grad_fn.changed_since(x) is False
    y = (x * 2.0).sum()
    mul = y.grad_fn.edges[0]
    y.backward()  # frees what the graph kept: nothing to run again
    assert mul.rerun([x.detach().numpy()]) is None


class _Scribble(Node):
    """Writes into its input: against the contract, and refused when run again."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        out = x * 2
        x[...] = 0
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return 2 * g


def test_rerun_hands_read_only_inputs() -> None:
    y = _Scribble.apply(gg.randn(3, requires_grad=True))
    given = np.ones(3, np.float32)
    assert y.grad_fn.rerun([given]) is None  # the write raised
    assert (given == 1).all()


def test_changed_since_tells_what_changed_after_a_node_ran() -> None:
    w = gg.randn(3, requires_grad=True)
    b = gg.randn(3, requires_grad=True)
    c = gg.randn(3)
    node = ((w * 2.0) + b + c).grad_fn  # (w*2 + b) + c
    inner = node.edges[0]
    assert node.changed_since(c) is False and inner.changed_since(b) is False
    with gg.no_grad():
        b.add_(1.0)  # an optimizer step on the bias, after the forward
    assert inner.changed_since(b) is True and inner.changed_since(w) is False
    assert node.rerun([np.zeros(3, np.float32)]) is not None  # c unchanged: still runs
    c.mul_(2.0)
    assert node.changed_since(c) is True
    assert node.rerun([np.zeros(3, np.float32)]) is None  # its constant changed since
    later = (b * 1.0).grad_fn  # recorded after the change: b is as it saw it
    assert later.changed_since(b) is False

    class Twice(gg.autograd.Function):  # a user's op knows when it ran too
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x * 2

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 2

    user = Twice.apply(b).grad_fn  # b was modified before this ran: not since
    assert user.changed_since(b) is False
    with gg.no_grad():
        b.sub_(1.0)
    assert user.changed_since(b) is True


def test_accumulate_and_sum_to_shape() -> None:
    a, b = np.array(1.0), np.array(2.0)
    s = accumulate(a, b)
    assert type(s) is np.ndarray and s.shape == () and s == 3.0  # not a NumPy scalar
    assert accumulate(None, b) is b and accumulate(a, None) is a
    buf = np.zeros(3)
    assert accumulate(buf, np.ones(3), in_place=True) is buf and buf.sum() == 3.0
    g = np.ones((4, 2, 3))
    np.testing.assert_array_equal(sum_to_shape(g, (2, 1)), np.full((2, 1), 12.0))
    assert sum_to_shape(g, (4, 2, 3)) is g
    with pytest.raises(ValueError, match="does not sum down"):
        sum_to_shape(g, (5, 3))
    with pytest.raises(ValueError, match="does not sum down"):
        sum_to_shape(np.ones(3), (2, 3))


def test_grad_mode_sets_and_restores_both_switches() -> None:
    with grad_mode(False):
        assert not state.grad_enabled and not state.create_graph
        with grad_mode(True, create_graph=True):
            assert state.grad_enabled and state.create_graph
        assert not state.grad_enabled and not state.create_graph
    assert state.grad_enabled and not state.create_graph
