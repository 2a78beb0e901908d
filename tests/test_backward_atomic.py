"""A failed backward changes no ``.grad``: leaves' gradients are written only once the walk ends.

When a rule, a hook or anomaly mode raises midway through ``backward()`` (or ``autograd.grad``,
``backward(inputs=...)``), every leaf's ``.grad`` is what it was before the call: None stays
None, an existing gradient is the same Tensor with the same values; retained non-leaf gradients
likewise. The exception reaches the caller unchanged. What the nodes that already ran saved is
freed as in PyTorch (retrying needs ``retain_graph=True``, and then gives the right gradients).
Also here: PyTorch's order for hooks, a leaf's hooks run once on its summed gradient and
``retain_grad()`` sees what the other hooks let through (checked against PyTorch).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad.autograd import Function
from glassgrad.autograd.anomaly import set_detect_anomaly


class Boom(Exception):
    pass


class _Counter:
    """Counts the rules of ``Tick`` nodes as they run; raises at the ``k``-th (0: never)."""

    def __init__(self) -> None:
        self.k = 0
        self.seen = 0
        self.raised: list[BaseException] = []


COUNTER = _Counter()


class Tick(Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * 1.0

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        COUNTER.seen += 1
        if COUNTER.seen == COUNTER.k:
            e = Boom(f"TickBackward failed at node {COUNTER.seen}")
            COUNTER.raised.append(e)
            raise e
        return g


N = 5  # Tick nodes in the chain, one leaf weight next to each


def _graph(create: bool = False) -> tuple[list[Any], Any]:
    """A chain of N Tick nodes, each after a multiply by its own leaf weight (leaves w0..w4, x)."""
    rng = np.random.default_rng(7)
    x = gg.tensor(rng.standard_normal(3), requires_grad=True)
    ws = [gg.tensor(rng.standard_normal(3), requires_grad=True) for _ in range(N)]
    h = x
    for w in ws:
        h = Tick.apply(h * w).tanh()
    return [x, *ws], (h * h).sum()


def _snapshot(leaves: list[Any]) -> list[Any]:
    return [(t._grad, None if t._grad is None else t._grad._data.copy()) for t in leaves]


def _assert_unchanged(leaves: list[Any], before: list[Any]) -> None:
    for t, (obj, vals) in zip(leaves, before):
        if obj is None:
            assert t._grad is None
        else:
            assert t._grad is obj and np.array_equal(t._grad._data, vals)


def _prefill(leaves: list[Any]) -> None:
    """Give every other leaf an existing ``.grad`` (the others keep None)."""
    for i, t in enumerate(leaves):
        if i % 2:
            t.grad = gg.tensor(np.full(t.shape, 0.25 * i))


@pytest.fixture(autouse=True)
def _reset_counter() -> Any:
    COUNTER.k, COUNTER.seen = 0, 0
    COUNTER.raised.clear()
    yield
    COUNTER.k, COUNTER.seen = 0, 0


def _expected() -> list[np.ndarray]:
    COUNTER.k, COUNTER.seen = 0, 0
    leaves, loss = _graph()
    loss.backward()
    return [t.grad._data.copy() for t in leaves]


@pytest.mark.parametrize("k", range(1, N + 1))
def test_a_rule_raising_at_the_kth_node_changes_no_grad(k: int) -> None:
    clean = _expected()
    leaves, loss = _graph()
    _prefill(leaves)
    before = _snapshot(leaves)
    COUNTER.k, COUNTER.seen = k, 0
    with pytest.raises(Boom) as info:
        loss.backward(retain_graph=True)
    assert info.value is COUNTER.raised[0]  # the very exception, unchanged
    assert str(info.value) == f"TickBackward failed at node {k}"
    _assert_unchanged(leaves, before)
    # retried (the graph was retained): exactly the gradients of one clean pass, added once
    COUNTER.k = 0
    loss.backward()
    for t, (obj, vals), want in zip(leaves, before, clean):
        expect = want if obj is None else vals + want
        np.testing.assert_allclose(t.grad._data, expect, rtol=1e-15, atol=0)
        if obj is not None:
            assert t._grad is obj  # the existing .grad was added into in place


def test_after_a_failed_pass_without_retain_graph_the_nodes_that_ran_are_freed() -> None:
    # as in PyTorch: the nodes that ran before the failure freed what they saved
    leaves, loss = _graph()
    COUNTER.k = 3
    with pytest.raises(Boom):
        loss.backward()
    assert all(t.grad is None for t in leaves)
    COUNTER.k = 0
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_torch_also_frees_the_nodes_that_ran_before_a_failure() -> None:
    class TBoom(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, i: Any) -> Any:
            return i * 1

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            raise Boom("boom")

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    z = TBoom.apply(x.exp() * 2).sum() + (x * x).sum()
    with pytest.raises(Boom):
        z.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.backward()


def test_a_leaf_hook_that_raises_changes_no_grad() -> None:
    leaves, loss = _graph()
    _prefill(leaves)
    before = _snapshot(leaves)

    def bad(g: Any) -> None:
        raise ValueError("hook on x says no")

    leaves[0].register_hook(bad)  # x: the last leaf the walk reaches
    with pytest.raises(ValueError, match="hook on x says no"):
        loss.backward()
    _assert_unchanged(leaves, before)


def test_a_non_leaf_hook_that_raises_changes_no_grad_nor_a_retained_grad() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    w = gg.tensor([3.0, 4.0], requires_grad=True)
    w.grad = gg.tensor([1.0, 1.0])
    a = x * w
    a.retain_grad()
    b = a.exp()
    b.retain_grad()
    c = (b * w).sum()  # w's gradient from this node arrives before a's hook runs
    first = gg.tensor([5.0, 5.0])
    a.grad = first
    before = _snapshot([x, w, a, b])
    a.register_hook(lambda g: (_ for _ in ()).throw(KeyError("no")))
    with pytest.raises(KeyError):
        c.backward()
    _assert_unchanged([x, w, a, b], before)
    assert b._grad is None


def test_anomaly_mode_nan_error_changes_no_grad() -> None:
    x = gg.tensor([0.0, 1.0], requires_grad=True)
    w = gg.tensor([2.0, 3.0], requires_grad=True)
    w.grad = gg.tensor([1.0, 1.0])
    before = _snapshot([x, w])
    with set_detect_anomaly(True), np.errstate(divide="ignore", invalid="ignore"):
        loss = (gg.sqrt(x) * w).sum() + (w * w).sum()
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned"):
            loss.backward()
    _assert_unchanged([x, w], before)


@pytest.mark.parametrize("k", [1, 3, N])
def test_create_graph_failure_changes_no_grad(k: int) -> None:
    leaves, loss = _graph()
    _prefill(leaves)
    before = _snapshot(leaves)
    COUNTER.k = k
    with pytest.raises(Boom):
        loss.backward(create_graph=True)
    _assert_unchanged(leaves, before)
    COUNTER.k, COUNTER.seen = 0, 0
    loss.backward(create_graph=True)  # retained (create_graph implies it): works now
    assert all(t.grad is not None for t in leaves)
    assert leaves[0].grad.grad_fn is not None  # a differentiable gradient


def test_autograd_grad_and_backward_inputs_failures_change_no_grad() -> None:
    leaves, loss = _graph()
    _prefill(leaves)
    before = _snapshot(leaves)
    COUNTER.k = 2
    with pytest.raises(Boom):
        gg.autograd.grad(loss, leaves, retain_graph=True)
    _assert_unchanged(leaves, before)
    COUNTER.k, COUNTER.seen = 4, 0
    with pytest.raises(Boom):
        loss.backward(inputs=leaves[:3], retain_graph=True)
    _assert_unchanged(leaves, before)
    COUNTER.k = 0
    loss.backward(inputs=leaves[:3])
    assert all(t.grad is not None for t in leaves[:3])
    _assert_unchanged(leaves[3:], before[3:])


def test_a_leaf_passed_through_gets_its_own_copy() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = gg.tensor([1.0, 2.0], requires_grad=True)
    (x + y).sum().backward()
    assert x.grad._data is not y.grad._data
    x.grad._data += 1
    assert np.array_equal(y.grad._data, [1.0, 1.0])


def test_an_existing_grad_is_added_into_in_place() -> None:
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    g = w.grad
    (w * w + w).sum().backward()
    assert w.grad is g and np.array_equal(g._data, [2.0 + 3.0, 4.0 + 5.0])


# ---- PyTorch's hook order ------------------------------------------------------------------------


def _hooks_run(lib: Any) -> tuple[list[list[float]], list[float], list[float], list[float]]:
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    calls: list[list[float]] = []
    x.register_hook(lambda g: calls.append(g.tolist()))
    ((x * 2).sum() + (x * 3).sum()).backward()  # the leaf's hook: once, on the sum
    a = x * 1.0
    a.retain_grad()
    a.register_hook(lambda g: g * 10)  # registered after retain_grad(): still runs before it
    (a * 2).sum().backward()
    b = x * 1.0
    b.retain_grad()
    (b * 2).sum().backward(retain_graph=True)
    (b * 2).sum().backward()  # a retained gradient adds up, like a leaf's
    return calls, a.grad.tolist(), b.grad.tolist(), x.grad.tolist()


def test_hook_order_and_retained_grads_match_torch() -> None:
    assert _hooks_run(gg) == _hooks_run(torch)


def test_leaf_hooks_run_when_the_leaf_is_complete_as_in_torch() -> None:
    def order(lib: Any) -> list[str]:
        seen: list[str] = []
        x = lib.tensor([1.0], requires_grad=True)
        w = lib.tensor([2.0], requires_grad=True)
        x.register_hook(lambda g: seen.append("x"))
        w.register_hook(lambda g: seen.append("w"))
        h = x * w
        h.register_hook(lambda g: seen.append("h"))
        y = (h * w).exp()
        y.register_hook(lambda g: seen.append("y"))
        y.sum().backward()
        return seen

    assert order(gg) == order(torch)
