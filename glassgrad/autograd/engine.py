"""The engine: walks the recorded graph backward (recording is in ``function.py``).

Nothing here knows about a particular op. A node is an instance of a ``Node`` subclass: its
``forward`` computes on NumPy arrays and its ``backward`` turns the gradient of the output into one
gradient per input (a vector-Jacobian product). The engine

* records nodes only when grad mode is on and some input requires a gradient,
* sums each input's gradient back to the input's shape after broadcasting (rules never do),
* visits nodes in reverse topological order with an explicit stack (no recursion: a graph may be
  100,000 nodes deep) and frees every gradient as soon as it has been passed on,
* checks that tensors a rule saved were not modified in place since,
* releases saved tensors after the walk unless ``retain_graph`` is set.

With ``create_graph=True`` the rules receive ``Tensor`` objects instead of arrays; since rules are
written with NumPy functions and operators, and ``Tensor`` answers NumPy's dispatch protocols, the
same rule then records a differentiable graph of the backward pass.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

# The recording side, re-exported: ops and tools import these names from the engine.
from glassgrad.autograd.function import (  # noqa: F401
    _NO_GRAD_CTX,
    OUTPUT,
    AccumulateGrad,
    Function,
    Node,
    RemovableHandle,
    bump_version,
    state,
)

# Set by glassgrad.tensor at import time (the engine and the tensor class refer to each other).
Tensor: Any = None


# ---- the backward walk -----------------------------------------------------------------------


def _sum_to_shape(g: Any, shape: tuple[int, ...], node: Any, i: int) -> Any:
    """Undo broadcasting: sum ``g`` over the axes that broadcasting added or stretched."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        raise _shape_error(node, i, gshape, shape)
    axes = tuple(range(lead)) + tuple(
        lead + k for k, n in enumerate(shape) if n == 1 and gshape[lead + k] != 1
    )
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    if lead:
        g = g.reshape(shape)
    if g.shape != shape:
        raise _shape_error(node, i, gshape, shape)
    return g


def _shape_error(node: Any, i: int, got: tuple, want: tuple) -> RuntimeError:
    return RuntimeError(
        f"{node.name()}: backward returned a gradient of shape {tuple(got)} for input {i}, "
        f"which has shape {tuple(want)} (and {tuple(got)} does not sum down to it)"
    )


def _plus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b as an array (NumPy gives a scalar for two 0-d arrays, which can't be added into)."""
    s = a + b
    return s if type(s) is np.ndarray else np.asarray(s)


def _check_versions(node: Node) -> None:
    if node._saved is None:
        return  # released: reading saved_tensors raises the retain_graph error
    refs, versions, out_vc, _ = node._meta
    for ref, v in zip(refs, versions):
        if v < 0:
            continue
        box = out_vc if ref is OUTPUT else ref._vc
        if box[0] != v:
            what = "output" if ref is OUTPUT else "input"
            shape = node.shape if ref is OUTPUT else tuple(ref.shape)
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: the {what} of shape {tuple(shape)} saved by {node.name()} "
                f"is at version {box[0]}; expected version {v} instead. Use an out-of-place op, "
                "or clone() the tensor before modifying it."
            )


def _check_finite(node: Node, grads: Sequence[Any]) -> None:
    for i, g in enumerate(grads):
        if g is None:
            continue
        arr = g._data if isinstance(g, Tensor) else g
        if not np.all(np.isfinite(arr)):
            site = getattr(node, "_trace", None)
            where = (
                f"\n  the op was created at {site.filename}:{site.lineno}\n    {site.line}"
                if site is not None
                else ""
            )
            bad = "nan" if np.any(np.isnan(arr)) else "inf"
            raise RuntimeError(
                f"Function '{node.name()}' returned {bad} values in its gradient for input {i} "
                f"(shape {tuple(np.shape(arr))}).{where}"
            )


def _run_hooks(hooks: list[Any], g: Any, shape: tuple[int, ...], what: str) -> Any:
    for hook in list(hooks):
        gt = g if isinstance(g, Tensor) else Tensor._make(g)
        r = hook(gt)
        if r is not None:
            if tuple(r.shape) != tuple(shape):
                raise RuntimeError(
                    f"hook {getattr(hook, '__name__', hook)!r} on {what} returned a gradient of "
                    f"shape {tuple(r.shape)}, expected shape {tuple(shape)}"
                )
            g = r if state.create_graph else (r._data if isinstance(r, Tensor) else np.asarray(r))
    return g


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
    """
    # Which nodes hold a captured non-leaf's total gradient, and which leaves are captured.
    captured: dict[int, Any] = {}
    capture_nodes: dict[Any, int] = {}
    capture_leaves: dict[int, int] = {}
    if capture is not None:
        for k, t in enumerate(capture):
            if t.grad_fn is not None:
                capture_nodes[t.grad_fn] = k
            else:
                capture_leaves[id(t)] = k

    # Count how many edges point at each node, so a node runs once all its gradients are in.
    deps: dict[Any, int] = {}
    stack = []
    for r in roots:
        n = r.grad_fn
        if n is not None and n not in deps:
            deps[n] = 0
            stack.append(n)
    while stack:
        n = stack.pop()
        for e in n.next:
            if e is None or isinstance(e, Tensor):
                continue
            c = deps.get(e)
            if c is None:
                deps[e] = 1
                stack.append(e)
            else:
                deps[e] = c + 1

    grads: dict[Any, Any] = {}
    owned: set[int] = set()  # id of node grads the engine allocated itself (safe to add into)
    capturing = capture is not None
    # For autograd.grad: the nodes below which some captured tensor lies; only they run.
    leads = _leading_to(roots, capture_nodes, capture_leaves) if capturing else set()

    for r, g in zip(roots, root_grads):
        n = r.grad_fn
        if n is None:  # backward() called on a leaf itself
            _to_leaf(r, g, True, capturing, capture_leaves, captured)
        else:
            prev = grads.get(n)
            grads[n] = g if prev is None else (prev + g if create_graph else _plus(prev, g))

    ready = []
    for r in roots:
        n = r.grad_fn
        if n is not None and deps.get(n) == 0 and n not in ready:
            ready.append(n)

    def store(e: Any, gi: Any) -> None:  # add a gradient into the node's pending sum
        prev = grads.get(e)
        if prev is None:
            grads[e] = gi
        elif create_graph:
            grads[e] = prev + gi
        elif id(e) in owned:
            np.add(prev, gi, out=prev)
        else:
            grads[e] = _plus(prev, gi)
            owned.add(id(e))

    prev_create = state.create_graph
    prev_enabled = state.grad_enabled
    state.create_graph = create_graph
    state.grad_enabled = create_graph
    anomaly = state.anomaly
    observer = state.backward_observer
    node = ready.pop() if ready else None
    g = grads.pop(node, None)
    try:
        while node is not None:
            edges = node.next
            # The next node to run: a child whose last gradient this node delivers is handed
            # over directly (no trip through the dicts); other ready children wait in `ready`.
            nxt = nxt_g = None
            if g is None:  # nothing arrived here; still release the children waiting on it
                for e in edges:
                    if e is not None and not isinstance(e, Tensor):
                        left = deps[e] - 1
                        deps[e] = left
                        if left == 0:
                            ready.append(e)
            elif capturing and node not in leads:  # nothing to find below: capture and stop
                if node._hooks is not None:
                    g = _run_hooks(node._hooks, g, node.shape, node.name())
                if node in capture_nodes:
                    captured[capture_nodes[node]] = g
                for e in edges:
                    if e is not None and not isinstance(e, Tensor):
                        left = deps[e] - 1
                        deps[e] = left
                        if left == 0:
                            ready.append(e)
            else:
                if node._hooks is not None:
                    g = _run_hooks(node._hooks, g, node.shape, node.name())
                if capturing and node in capture_nodes:
                    captured[capture_nodes[node]] = g
                meta = node._meta
                if meta is not None and meta[3] != state.inplace_epoch:
                    _check_versions(node)  # something was modified in place since this op ran
                if observer is None:
                    gin = type(node).backward(node, g)
                else:
                    saved_before, t0 = node._saved, time.perf_counter()
                    gin = type(node).backward(node, g)
                    observer(node, g, gin, time.perf_counter() - t0, saved_before)
                if type(gin) is not tuple:
                    gin = (gin,)
                if len(gin) != len(edges):
                    raise RuntimeError(
                        f"{node.name()}: backward returned {len(gin)} gradients but forward "
                        f"took {len(edges)} inputs; return one per input (None for no gradient)"
                    )
                if anomaly and state.anomaly_check_nan:
                    _check_finite(node, gin)
                for e, gi in zip(edges, gin):
                    if e is None:
                        continue
                    if gi is not None:
                        if create_graph:
                            if not isinstance(gi, Tensor):
                                gi = Tensor._make(np.asarray(gi))
                        elif type(gi) is not np.ndarray:
                            gi = gi._data if isinstance(gi, Tensor) else np.asarray(gi)
                        if gi.shape != e.shape:
                            i = next(k for k, x in enumerate(edges) if x is e)
                            gi = _sum_to_shape(gi, tuple(e.shape), node, i)
                    if isinstance(e, Tensor):
                        if gi is not None:
                            passthrough = gi is g or getattr(gi, "base", None) is not None
                            _to_leaf(e, gi, passthrough, capturing, capture_leaves, captured)
                        continue
                    left = deps[e] - 1
                    deps[e] = left
                    if left == 0 and nxt is None:
                        nxt = e
                        prev = grads.pop(e, None)
                        if prev is None:
                            nxt_g = gi
                        elif gi is None:
                            nxt_g = prev
                        elif create_graph:
                            nxt_g = prev + gi
                        elif id(e) in owned:
                            nxt_g = prev
                            np.add(prev, gi, out=prev)
                        else:
                            nxt_g = _plus(prev, gi)
                    else:
                        if gi is not None:
                            store(e, gi)
                        if left == 0:
                            ready.append(e)
            if not retain_graph:
                node._saved = node._meta = None
            if nxt is not None:
                node, g = nxt, nxt_g
            elif ready:
                node = ready.pop()
                g = grads.pop(node, None)
            else:
                node = None
    finally:
        state.create_graph = prev_create
        state.grad_enabled = prev_enabled
    if capture is None:
        return None
    return [captured.get(k) for k in range(len(capture))]


def _leading_to(roots: Sequence[Any], nodes: dict[Any, int], leaves: dict[int, int]) -> set[Any]:
    """Nodes from which a captured node or leaf can be reached (children visited first)."""
    order: list[Any] = []
    seen: set[Any] = set()
    stack = [(r.grad_fn, False) for r in roots if r.grad_fn is not None]
    while stack:
        n, done = stack.pop()
        if done:
            order.append(n)
            continue
        if n in seen:
            continue
        seen.add(n)
        stack.append((n, True))
        stack.extend((e, False) for e in n.next if e is not None and not isinstance(e, Tensor))
    leads: set[Any] = set()
    for n in order:
        for e in n.next:
            if e is None:
                continue
            if id(e) in leaves if isinstance(e, Tensor) else (e in nodes or e in leads):
                leads.add(n)
                break
    return leads


def _to_leaf(
    leaf: Any,
    g: Any,
    passthrough: bool,
    capturing: bool,
    capture_leaves: dict[int, int],
    captured: dict[int, Any],
) -> None:
    """A gradient reached a leaf: run its hooks, then add it into ``.grad`` (or capture it)."""
    if capturing and id(leaf) not in capture_leaves:
        return
    hooks = getattr(leaf, "_hooks_", None)  # the slot behind Tensor._hooks
    if hooks:
        g = _run_hooks(hooks, g, leaf.shape, "a leaf tensor")
        passthrough = True
    if capturing:
        k = capture_leaves.get(id(leaf))
        if k is not None:
            prev = captured.get(k)
            captured[k] = g if prev is None else prev + g
        return
    if isinstance(g, Tensor):  # create_graph: keep the graph of the gradient itself
        leaf._grad = g if leaf._grad is None else leaf._grad + g
        return
    if g.dtype != leaf._data.dtype:
        g = g.astype(leaf._data.dtype)
        passthrough = False
    cur = leaf._grad
    if cur is None:
        if passthrough or type(g) is not np.ndarray:
            g = np.array(g, copy=True)
        leaf._grad = Tensor._make(g)
    elif cur.grad_fn is None and cur._data.flags.writeable and cur.shape == g.shape:
        np.add(cur._data, g, out=cur._data)
    else:
        leaf._grad = Tensor._make(cur._data + g)


def weak(t: Any) -> weakref.ref:
    return weakref.ref(t)
