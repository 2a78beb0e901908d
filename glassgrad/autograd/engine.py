"""The engine: walks the recorded graph backward (recording is in ``function.py``).

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

``autograd.grad`` runs the same walk with a *capture*: the gradients of the tensors asked for are
returned instead of written to ``.grad``, and only nodes with one of them below run their rule.

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

from glassgrad._errors import check_hook_result
from glassgrad.autograd.anomaly import check_finite
from glassgrad.autograd.graph import dependencies, topological_order

# The recording side, re-exported: ops and tools import these names from the engine.
from glassgrad.autograd.node import (  # noqa: F401
    _NO_GRAD_CTX,
    EPOCH,
    OUTPUT,
    AccumulateGrad,
    Node,
    RemovableHandle,
    RetainGrad,
    bump_version,
    state,
    switch,
)

# Set by glassgrad.tensor at import time (the engine and the tensor class refer to each other).
Tensor: Any = None
# Set once some leaf tensor got a hook: only then does a backward pass look for them (reading
# an unset slot costs as much as a small op).
LEAF_HOOKS = [False]


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
    hooked: dict[int, int] = {}  # id of a leaf with hooks -> gradients it still waits for
    deps = dependencies([r.grad_fn for r in roots], hooked if LEAF_HOOKS[0] else None)
    cap = _Capture(roots, capture) if capture is not None else None
    stage = _Stage(hooked, cap)
    staged = stage.leaves
    cap_leaves = None if cap is None else cap.leaves
    grads: dict[Any, Any] = {}  # node -> the sum of the gradients that reached it so far
    owned: set[Any] = set()  # nodes whose sum is a buffer the engine made (safe to add into)
    ready = _seed(roots, root_grads, deps, grads, owned, stage)  # nodes ready to run
    anomaly, observer = state.anomaly, state.backward_observer
    node = ready.pop() if ready else None
    g = grads.pop(node, None)
    st = state  # rules record a graph only under create_graph (this thread's switches)
    g0, c0 = st.grad_enabled, st.create_graph
    if g0 is not create_graph:
        switch("grad_enabled", create_graph)
    if c0 is not create_graph:
        switch("create_graph", create_graph)
    try:
        while node is not None:
            edges = node.next
            if g is not None and node._hooks is not None:
                g = _run_hooks(node._hooks, g, node.shape, node.name(), stage.retained)
            if g is None or (cap is not None and not cap.arrive(node, g)):
                gin: Any = (None,) * len(edges)  # nothing to send, but its inputs stop waiting
            else:
                meta = node._meta
                if meta is not None and meta[3] != EPOCH[0]:
                    _check_versions(node)  # something was modified in place since this op ran
                gin = _observed(node, g, observer) if observer else type(node).backward(node, g)
                if type(gin) is not tuple:
                    gin = (gin,)
                if len(gin) != len(edges):
                    raise _arity_error(node, len(gin), len(edges))
                if anomaly and state.anomaly_check_nan:
                    check_finite(node, gin)
            nxt = nxt_g = None  # the first input node this completes runs next, gradient in hand
            for e, gi in zip(edges, gin):
                if e is None:
                    continue
                if gi is not None:
                    if create_graph or type(gi) is not np.ndarray:
                        gi = _as_gradient(gi, create_graph)
                    if gi.shape != (e._data.shape if isinstance(e, Tensor) else e.shape):
                        i = next(k for k, x in enumerate(edges) if x is e)
                        gi = _sum_to_shape(gi, tuple(e.shape), node, i)
                if isinstance(e, Tensor):  # a leaf: its gradient is staged (one passed through
                    # is someone else's array: .grad will get a copy of it)
                    k = id(e)
                    if hooked and k in hooked:
                        stage.hooked_leaf(e, gi, gi is not g and getattr(gi, "base", None) is None)
                    elif gi is not None and (cap_leaves is None or k in cap_leaves):
                        ent = staged.get(k)
                        own = gi is not g and getattr(gi, "base", None) is None
                        if ent is None:
                            staged[k] = [e, gi, own]
                        else:
                            _stage_add(ent, gi, own)
                    continue
                left = deps[e] - 1  # release: e waits for one gradient less
                deps[e] = left
                if left == 0 and nxt is None:
                    prev = grads.pop(e, None)
                    nxt, nxt_g = e, gi if prev is None else _add_pending(prev, gi, e, owned)
                else:
                    if gi is not None:
                        grads[e] = _add_pending(grads.get(e), gi, e, owned)
                    if left == 0:
                        ready.append(e)
            if not retain_graph:
                node._saved = node._meta = None  # free what forward saved for this rule
            if nxt is not None:
                node, g = nxt, nxt_g
            else:
                node = ready.pop() if ready else None
                g = grads.pop(node, None)
        stage.commit()  # the walk finished: now .grad changes
    finally:
        if st.grad_enabled is not g0:
            switch("grad_enabled", g0)
        if st.create_graph is not c0:
            switch("create_graph", c0)
    return None if cap is None else cap.result()


def _seed(
    roots: Sequence[Any],
    root_grads: Sequence[Any],
    deps: dict[Any, int],
    grads: dict[Any, Any],
    owned: set[Any],
    stage: _Stage,
) -> list[Any]:
    """Hand each root's node its seed gradient; return the roots no other root feeds into."""
    ready = []
    for r, g in zip(roots, root_grads):
        n = r.grad_fn
        if n is None:  # backward() called on a leaf itself
            stage.seed(r, g)
        elif n in grads:  # the same node twice among the roots
            grads[n] = _add_pending(grads[n], g, n, owned)
        else:
            grads[n] = g
            if not deps[n]:
                ready.append(n)
    return ready


# ---- .grad: staged during the walk, written after it ------------------------------------------


class _Stage:
    """The gradients bound for ``.grad``, held until the walk has finished (then ``commit``).

    A leaf's gradients are summed here as they arrive (``leaves``: id -> [leaf, sum, owned]). A
    leaf with hooks also counts them down: once the last has arrived (PyTorch's AccumulateGrad
    running), its hooks run on the sum, once. ``retain_grad()`` tensors get the gradient their
    node's other hooks let through. Under ``autograd.grad`` the captured leaves' sums go to the
    capture instead, and other leaves are skipped.
    """

    __slots__ = ("cap", "hooked", "leaves", "retained")

    def __init__(self, hooked: dict[int, int], cap: _Capture | None) -> None:
        self.hooked = hooked  # id -> gradients still to come; -1 once its hooks ran
        self.cap = cap
        self.leaves: dict[int, list[Any]] = {}
        self.retained: list[tuple[Any, Any]] = []  # (RetainGrad hook, gradient)

    def seed(self, leaf: Any, g: Any) -> None:
        """``backward()`` on a leaf itself: its seed (the caller's array) is staged."""
        k = id(leaf)
        if self.cap is not None and k not in self.cap.leaves:
            return
        if getattr(leaf, "_hooks_", None):
            self.hooked.setdefault(k, 0)  # its hooks run once every gradient is in
        ent = self.leaves.get(k)
        if ent is None:
            self.leaves[k] = [leaf, g, False]
        else:
            _stage_add(ent, g, False)

    def hooked_leaf(self, leaf: Any, g: Any, owned: bool) -> None:
        """A gradient (or None) along an edge into a leaf with hooks."""
        k = id(leaf)
        if self.cap is not None and k not in self.cap.leaves:
            return
        ent = self.leaves.get(k)
        if ent is None:
            ent = self.leaves[k] = [leaf, g, owned]
        elif g is not None:
            _stage_add(ent, g, owned)
        left = self.hooked[k] - 1
        self.hooked[k] = left
        if left == 0:  # every gradient arrived: run the leaf's hooks on the sum
            self._run_leaf_hooks(k)

    def _run_leaf_hooks(self, k: int) -> None:
        self.hooked[k] = -1
        ent = self.leaves.get(k)
        if ent is None or ent[1] is None:
            return
        leaf = ent[0]
        hooks = getattr(leaf, "_hooks_", None)  # the slot behind Tensor._hooks
        if hooks:
            ent[1] = _run_hooks(hooks, ent[1], leaf.shape, "a leaf tensor", None)
            ent[2] = False  # a hook may hand back someone else's array

    def commit(self) -> None:
        """Write the staged gradients into ``.grad``: work out every new value, then assign."""
        if self.hooked:
            for k, left in list(self.hooked.items()):
                if left >= 0:  # (a leaf seeded directly, or one still waiting: hooks run now)
                    self._run_leaf_hooks(k)
        cap = self.cap
        if cap is not None:
            for leaf, g, _ in self.leaves.values():
                if g is not None:
                    cap.got[cap.leaves[id(leaf)]] = g
            if not self.retained:
                return
            leaves: Any = ()
        else:
            leaves = self.leaves.values()
        writes = []  # (tensor, new .grad or None, array to add into its .grad in place)
        for leaf, g, owned in leaves:
            cur = leaf._grad
            if type(g) is not np.ndarray or g.dtype != leaf._data.dtype:
                if g is None:
                    continue
                if isinstance(g, Tensor):  # create_graph: keep the graph of the gradient
                    writes.append((leaf, accumulate(cur, g), None))
                    continue
                g, owned = np.asarray(g).astype(leaf._data.dtype), True
            if cur is None:
                writes.append((leaf, Tensor._make(g if owned else g.copy()), None))
            elif cur.grad_fn is None and cur._data.flags.writeable and cur.shape == g.shape:
                writes.append((leaf, None, g))  # added into the existing .grad in place
            else:
                writes.append((leaf, Tensor._make(accumulate(cur._data, g)), None))
        for hook, g in self.retained:
            t = hook.ref()
            if t is None:
                continue
            cur = t._grad
            if isinstance(g, Tensor):
                writes.append((t, g if cur is None else accumulate(cur, g), None))
            elif cur is None or cur.grad_fn is not None:
                writes.append((t, Tensor._make(np.array(g, copy=True)), None))
            else:
                writes.append((t, Tensor._make(accumulate(cur._data, g)), None))
        for t, new, add in writes:
            if add is None:
                t._grad = new
            else:
                accumulate(t._grad._data, add, in_place=True)


def _stage_add(ent: list[Any], g: Any, owned: bool) -> None:
    """Add ``g`` to a staged sum ``[leaf, sum, owned]``: in place once the sum is ours."""
    prev = ent[1]
    if prev is None:
        ent[1], ent[2] = g, owned
    elif ent[2] and type(prev) is np.ndarray:
        accumulate(prev, g, in_place=True)
    else:
        ent[1], ent[2] = accumulate(prev, g), True


# ---- summing gradients -------------------------------------------------------------------------


def accumulate(prev: Any, g: Any, in_place: bool = False) -> Any:
    """``prev + g``, the one place gradients are summed (None stands for no gradient yet).

    ``in_place`` adds into ``prev`` itself, saving an allocation: only for a buffer the caller
    owns. Tensors (``create_graph``) sum with their graph. A 0-d sum stays an array (NumPy gives
    a scalar, which could not be added into).
    """
    if prev is None:
        return g
    if g is None:
        return prev
    if in_place:
        np.add(prev, g, out=prev)
        return prev
    s = prev + g
    return np.asarray(s) if isinstance(s, np.generic) else s


def _add_pending(prev: Any, g: Any, node: Any, owned: set[Any]) -> Any:
    """Add ``g`` to ``node``'s pending sum: in place once that sum is a buffer the engine made."""
    if prev is None or g is None:
        return g if prev is None else prev
    mine = node in owned
    if not mine and type(prev) is np.ndarray:
        owned.add(node)  # the sum made below is the engine's own
    return accumulate(prev, g, mine)


def sum_to_shape(g: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting: sum ``g`` over the axes broadcasting added or stretched, to ``shape``.

    Raises ValueError when ``g``'s shape is no broadcast of ``shape``.
    """
    gshape = tuple(g.shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead >= 0:
        axes = tuple(range(lead)) + tuple(
            lead + k for k, n in enumerate(shape) if n == 1 and gshape[lead + k] != 1
        )
        if axes:
            g = np.sum(g, axis=axes, keepdims=True)
        if tuple(g.shape[lead:]) == shape:
            return g.reshape(shape) if lead else g
    raise ValueError(f"a gradient of shape {gshape} does not sum down to shape {shape}")


def _sum_to_shape(g: Any, shape: tuple[int, ...], node: Any, i: int) -> Any:
    """``sum_to_shape`` for the gradient ``node``'s rule returned for input ``i``, or the error."""
    try:
        return sum_to_shape(g, shape)
    except ValueError:
        got = tuple(g.shape)
        raise RuntimeError(
            f"{node.name()}: backward returned a gradient of shape {got} for input {i}, "
            f"which has shape {tuple(shape)} (and {got} does not sum down to it)"
        ) from None


def _as_gradient(g: Any, create_graph: bool) -> Any:
    """What a rule returned, as the engine passes it on: a Tensor under create_graph, else an
    array."""
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor._make(np.asarray(g))
    return g._data if isinstance(g, Tensor) else np.asarray(g)


# ---- autograd.grad: capture --------------------------------------------------------------------


class _Capture:
    """The tensors ``autograd.grad`` asked for, and the gradients that reached them."""

    __slots__ = ("count", "got", "leads", "leaves", "nodes")

    def __init__(self, roots: Sequence[Any], tensors: Sequence[Any]) -> None:
        self.count = len(tensors)
        self.nodes: dict[Any, int] = {}  # a captured non-leaf's node -> its position
        self.leaves: dict[int, int] = {}  # id of a captured leaf -> its position
        for k, t in enumerate(tensors):
            if t.grad_fn is not None:
                self.nodes[t.grad_fn] = k
            else:
                self.leaves[id(t)] = k
        self.got: dict[int, Any] = {}
        # the nodes below which some captured tensor lies: only they run their rule
        self.leads: set[Any] = set()
        for n in topological_order(r.grad_fn for r in roots):  # each node after its inputs
            for e in n.next:
                if e is not None and (
                    id(e) in self.leaves
                    if isinstance(e, Tensor)
                    else (e in self.nodes or e in self.leads)
                ):
                    self.leads.add(n)
                    break

    def arrive(self, node: Any, g: Any) -> bool:
        """Keep ``g`` if ``node``'s output was asked for; should ``node``'s rule run?"""
        k = self.nodes.get(node)
        if k is not None:
            self.got[k] = g
        return node in self.leads

    def result(self) -> list[Any]:
        return [self.got.get(k) for k in range(self.count)]


# ---- hooks, checks, observers --------------------------------------------------------------------


def _run_hooks(
    hooks: list[Any], g: Any, shape: tuple[int, ...], what: str, retained: list[Any] | None
) -> Any:
    """Call each hook with the gradient; one that returns a tensor replaces the gradient.

    ``retain_grad()``'s hook runs last, as in PyTorch: it is staged in ``retained`` with the
    gradient the other hooks let through.
    """
    keep = None
    for hook in list(hooks):
        if type(hook) is RetainGrad:
            keep = hook
            continue
        gt = g if isinstance(g, Tensor) else Tensor._make(g)
        r = hook(gt)
        if r is not None:
            check_hook_result(hook, r, what, shape)
            g = r if state.create_graph else (r._data if isinstance(r, Tensor) else np.asarray(r))
    if keep is not None and retained is not None:
        retained.append((keep, g))
    return g


def _check_versions(node: Node) -> None:
    """Raise if a tensor the rule saved was modified in place after the op ran."""
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


def _arity_error(node: Node, got: int, want: int) -> RuntimeError:
    return RuntimeError(
        f"{node.name()}: backward returned {got} gradients but forward took {want} inputs; "
        "return one per input (None for no gradient)"
    )


def _observed(node: Node, g: Any, observer: Any) -> Any:
    """Run the rule and tell the ``state.backward_observer`` (``record_backward``, ``viz``)."""
    saved, t0 = node._saved, time.perf_counter()
    gin = type(node).backward(node, g)
    observer(node, g, gin, time.perf_counter() - t0, saved)
    return gin


def weak(t: Any) -> weakref.ref:
    return weakref.ref(t)
