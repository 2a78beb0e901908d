"""The engine: walks the recorded graph backward (recording is in ``node.py``).

Nothing here knows about a particular op. Each node's rule (its ``backward``) turns the gradient
of the node's output into one gradient per input: a vector-Jacobian product. ``run_backward``
chains the rules, from the loss down to the leaves:

1. Count. ``graph.dependencies`` finds every node behind the roots and how many edges lead into
   each: the number of gradients it must wait for (a tensor used twice gets two).
2. Walk. A node whose count has dropped to 0 holds the sum of all its gradients. It runs: its
   hooks, a check that what it saved was not modified in place since, its rule. Each input's
   gradient is summed back to the input's shape (undoing broadcasting; rules never do) and
   *sent* along its edge: into a leaf's ``.grad``, or added to the next node's pending sum,
   lowering that node's count. The first node to reach 0 runs next, its gradient handed over
   directly; others wait on a stack. That is reverse topological order with no recursion (a
   graph may be 100,000 nodes deep), and each gradient is freed once it has been passed on.
3. Release. Unless ``retain_graph``, each node drops what it saved right after its rule ran.
4. Finish. Once every ``.grad`` is written, the callbacks queued during the walk
   (``queue_callback``, PyTorch's ``Variable._execution_engine.queue_callback``) run in order:
   how ``DistributedDataParallel`` waits for its gradient all-reduces before the optimizer runs.

``autograd.grad`` runs the same walk with a *capture*: the gradients of the tensors asked for are
returned instead of written to ``.grad``, and only nodes with one of them below run their rule.

With ``create_graph=True`` the rules receive ``Tensor`` objects instead of arrays; since rules are
written with NumPy functions and operators, and ``Tensor`` answers NumPy's dispatch protocols, the
same rule then records a differentiable graph of the backward pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassgrad.autograd.anomaly import check_finite
from glassgrad.autograd.capture import Capture
from glassgrad.autograd.checks import arity_error, check_versions, observed_backward
from glassgrad.autograd.grad_mode import grad_mode
from glassgrad.autograd.gradients import accumulate, add_pending, as_gradient, sum_to_input
from glassgrad.autograd.graph import dependencies
from glassgrad.autograd.hooks import run_hooks
from glassgrad.autograd.node import EPOCH
from glassgrad.autograd.staging import GradStage
from glassgrad.autograd.state import state

# Set by glassgrad.tensor at import time (the tensor class imports the autograd modules).
Tensor: Any = None
# Set once some leaf tensor got a hook: only then does a backward pass look for them (reading
# an unset slot costs as much as a small op).
LEAF_HOOKS = [False]
# .queue: the callbacks queued during the backward pass this thread is running (see
# queue_callback); a plain threading.local, cheaper to set than the switches in ``state``.
_callbacks = threading.local()


def queue_callback(callback: Callable[[], Any]) -> None:
    """Run ``callback()`` once the backward pass now running has finished (after ``.grad`` is
    written). Only during a backward pass: from a hook or a custom Function's ``backward``.

    >>> import glassgrad as gg
    >>> w = gg.tensor([1.0, 2.0], requires_grad=True)
    >>> _ = w.register_hook(lambda g: queue_callback(lambda: print("done:", w.grad)))
    >>> (w * w).sum().backward()
    done: tensor([2., 4.])
    """
    queued = getattr(_callbacks, "queue", None)
    if queued is None:
        raise RuntimeError(
            "queue_callback: final callbacks can only be installed during a backward pass (call "
            "it from a tensor hook or a custom Function's backward)"
        )
    queued.append(callback)


def run_backward(
    roots: Sequence[Any],
    root_grads: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Any] | None = None,
) -> list[Any] | None:
    """Propagate ``root_grads`` from ``roots`` to every leaf (or only to ``capture``).

    With ``capture`` (``autograd.grad``) nothing is written to ``.grad``; the summed gradient of
    each captured tensor is returned instead, in order (None where none arrived).

    All or nothing: the leaves' (and retained non-leaves') gradients are staged during the walk
    and written into ``.grad`` only once it has finished, so a rule or hook that raises leaves
    every ``.grad`` as it was. (What the nodes that already ran saved is freed all the same, as
    in PyTorch: going through the graph again needs ``retain_graph=True``.)
    """
    create_graph = create_graph is True or bool(create_graph)
    outer = getattr(_callbacks, "queue", None)  # (a backward run inside another has its own)
    queued: list[Callable[[], Any]] = []
    _callbacks.queue = queued
    try:
        return _walk(roots, root_grads, retain_graph, create_graph, capture, queued)
    finally:
        _callbacks.queue = outer


def _walk(
    roots: Sequence[Any],
    root_grads: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Any] | None,
    queued: list[Callable[[], Any]],
) -> list[Any] | None:
    """``run_backward``'s walk (steps 1 to 4 of the module docstring)."""
    retain = bool(retain_graph)
    if state.retain_graph is retain:  # (the usual case: no switch to set and restore)
        result = _walk_nodes(roots, root_grads, retain, create_graph, capture)
    else:
        state.retain_graph = retain
        try:
            result = _walk_nodes(roots, root_grads, retain, create_graph, capture)
        finally:
            state.retain_graph = not retain
    for callback in queued:  # (a callback may queue more: they run too)
        callback()
    return result


def _walk_nodes(
    roots: Sequence[Any],
    root_grads: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Any] | None,
) -> list[Any] | None:
    """The walk itself (``state.retain_graph`` tells rules whether they may free as they go)."""
    deps, grads, ready, stage, cap = _start(roots, root_grads, capture)
    owned: set[Any] = set()  # nodes whose sum is a buffer the engine made (safe to add into)
    anomaly, observer = state.anomaly, state.backward_observer
    node = ready.pop() if ready else None
    g = grads.pop(node, None)
    with grad_mode(create_graph, create_graph):  # rules record a graph only under create_graph
        while node is not None:
            edges = node.next
            if g is not None and node._hooks is not None:
                g = run_hooks(node._hooks, g, node.shape, node.name(), stage.retained)
            if g is None or (cap is not None and not cap.arrive(node, g)):
                gin: Any = (None,) * len(edges)  # nothing to send, but its inputs stop waiting
            else:
                meta = node._meta
                if meta is not None and meta[3] != EPOCH[0]:
                    check_versions(node)  # something was modified in place since this op ran
                if observer:
                    gin = observed_backward(node, g, observer)
                else:
                    gin = type(node).backward(node, g)  # the rule: one gradient per input
                if type(gin) is not tuple:
                    gin = (gin,)
                if len(gin) != len(edges):
                    raise arity_error(node, len(gin), len(edges))
                if anomaly and state.anomaly_check_nan:
                    check_finite(node, gin)
            nxt = nxt_g = None  # the first input node this completes runs next, gradient in hand
            for e, gi in zip(edges, gin):
                if e is None:
                    continue
                leaf = isinstance(e, Tensor)
                if gi is not None:
                    if create_graph or type(gi) is not np.ndarray:
                        gi = as_gradient(gi, create_graph)
                    if gi.shape != (e._data.shape if leaf else e.shape):
                        gi = sum_to_input(gi, tuple(e.shape), node, _position(edges, e))
                if leaf:
                    stage.receive(e, gi, gi is not g and getattr(gi, "base", None) is None)
                    continue
                left = deps[e] - 1  # release: e waits for one gradient less
                deps[e] = left
                if left == 0 and nxt is None:
                    prev = grads.pop(e, None)
                    nxt, nxt_g = e, gi if prev is None else add_pending(prev, gi, e, owned)
                else:
                    if gi is not None:
                        grads[e] = add_pending(grads.get(e), gi, e, owned)
                    if left == 0:
                        ready.append(e)
            if not retain_graph:
                node._saved = node._meta = node._consts = None  # free what forward kept
            if nxt is not None:
                node, g = nxt, nxt_g
            else:
                node = ready.pop() if ready else None
                g = grads.pop(node, None)
        stage.commit()  # the walk finished: now .grad changes
    return None if cap is None else cap.result()


def _start(roots: Sequence[Any], root_grads: Sequence[Any], capture: Sequence[Any] | None) -> tuple:
    """Count each node's gradients to wait for, and hand each root's node its seed gradient.

    Returns ``(deps, grads, ready, stage, capture)``: the counts, the pending sums (node ->
    the sum of the gradients that reached it so far), the nodes ready to run (roots no other
    root feeds into), where leaf gradients wait for ``.grad``, and ``autograd.grad``'s capture.
    """
    hooked: dict[int, int] = {}  # id of a leaf with hooks -> gradients it still waits for
    deps = dependencies([r.grad_fn for r in roots], hooked if LEAF_HOOKS[0] else None)
    cap = Capture(roots, capture) if capture is not None else None
    stage = GradStage(hooked, cap)
    grads: dict[Any, Any] = {}
    ready = []
    for r, g in zip(roots, root_grads):
        n = r.grad_fn
        if n is None:  # backward() called on a leaf itself
            stage.seed(r, g)
        elif n in grads:  # the same node twice among the roots
            grads[n] = accumulate(grads[n], g)
        else:
            grads[n] = g
            if not deps[n]:
                ready.append(n)
    return deps, grads, ready, stage, cap


def _position(edges: list[Any], e: Any) -> int:
    """Which input ``e`` is (by identity: a Tensor's ``==`` is elementwise)."""
    return next(k for k, x in enumerate(edges) if x is e)
