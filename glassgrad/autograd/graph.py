"""Walking the recorded graph: the one place that follows a node's edges.

A node's edges (``node.edges``) hold, per forward argument, the node that produced it, the leaf
tensor itself, or None (a constant). Every walk here is iterative, never recursive: a graph may
be 100,000 ops deep. The engine and every tool (``explain``, ``inspect``, ``viz``, ``checkpoint``,
``autograd.functional``) walk through these three functions.

>>> import glassgrad as gg
>>> x = gg.tensor(2.0, requires_grad=True, name="x")
>>> y = (x * x).exp()
>>> [n.name() for n in topological_order([y.grad_fn])]  # each after what it takes input from
['MulBackward0', 'ExpBackward0']
>>> [getattr(o, "name", None) for o in walk([y.grad_fn], leaves=True)][2]  # then the leaf
'x'
>>> dependencies([y.grad_fn])[y.grad_fn.edges[0]]  # MulBackward0 waits for one gradient
1
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from glassgrad.autograd.node import Node
from glassgrad.autograd.saved_hooks import (
    disable_saved_tensors_hooks,
    save_on_cpu,
    saved_tensors_hooks,
)

__all__ = [
    "dependencies",
    "disable_saved_tensors_hooks",
    "save_on_cpu",
    "saved_tensors_hooks",
    "topological_order",
    "walk",
]


def dependencies(roots: Iterable[Any], leaves: dict[int, int] | None = None) -> dict[Any, int]:
    """For every node reachable from ``roots``: how many edges lead into it from those nodes.

    That is how many gradients the node waits for in a backward pass; the roots get 0 (their
    gradient is the seed). The engine runs a node once its count has dropped to 0. Given a dict
    ``leaves``, the same count is kept there for each leaf tensor with hooks, keyed by its ``id``
    (the engine runs a leaf's hooks once, when all its gradients have arrived).
    """
    deps: dict[Any, int] = {}
    stack = []
    for n in roots:
        if n is not None and n not in deps:
            deps[n] = 0
            stack.append(n)
    if leaves is not None:
        return _dependencies_and_leaves(stack, deps, leaves)
    while stack:
        for e in stack.pop().next:
            if e is not None and isinstance(e, Node):
                c = deps.get(e)
                if c is None:
                    deps[e] = 1
                    stack.append(e)
                else:
                    deps[e] = c + 1
    return deps


def _dependencies_and_leaves(
    stack: list[Any], deps: dict[Any, int], leaves: dict[int, int]
) -> dict[Any, int]:
    while stack:
        for e in stack.pop().next:
            if e is None:
                continue
            if isinstance(e, Node):
                c = deps.get(e)
                if c is None:
                    deps[e] = 1
                    stack.append(e)
                else:
                    deps[e] = c + 1
            elif getattr(e, "_hooks_", None):
                k = id(e)
                leaves[k] = leaves.get(k, 0) + 1
    return deps


def topological_order(roots: Iterable[Any], *, leaves: bool = False) -> list[Any]:
    """Every node reachable from ``roots``, each after all the nodes it takes input from.

    The forward (evaluation) order, read off a depth-first walk in argument order; reversed, it
    is an order the backward pass can run in. ``leaves=True`` includes the leaf tensors, each
    before its first consumer (a root may then be a leaf tensor itself).
    """
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(r, False) for r in reversed(list(roots)) if r is not None]
    while stack:
        x, done = stack.pop()
        if done:
            order.append(x)
            continue
        if id(x) in seen:
            continue
        seen.add(id(x))
        if not isinstance(x, Node):
            if leaves:
                order.append(x)
            continue
        stack.append((x, True))
        stack.extend((e, False) for e in reversed(x.next) if e is not None)
    return order


def walk(
    roots: Iterable[Any],
    *,
    leaves: bool = False,
    breadth_first: bool = False,
    follow: Callable[[Any], bool] | None = None,
) -> Iterator[Any]:
    """Yield every node reachable from ``roots`` once, each before the nodes it takes input from.

    Depth-first by default (last argument first), or ``breadth_first`` (nearest the roots first,
    in argument order). ``leaves=True`` also yields the leaf tensors. ``follow(node)``, when
    given, is asked once per node, right after it is yielded: False stops the walk there.
    """
    seen: set[int] = set()
    if breadth_first:  # a node is placed when first seen
        queue: deque[Any] = deque()
        for r in roots:
            if r is not None and id(r) not in seen:
                seen.add(id(r))
                queue.append(r)
        while queue:
            x = queue.popleft()
            if isinstance(x, Node):
                yield x
                if follow is None or follow(x):
                    for e in x.next:
                        if e is not None and id(e) not in seen:
                            seen.add(id(e))
                            queue.append(e)
            elif leaves:
                yield x
        return
    # depth-first: a node is placed when first taken off the stack
    stack = [r for r in roots if r is not None]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, Node):
            yield x
            if follow is None or follow(x):
                stack.extend(e for e in x.next if e is not None and id(e) not in seen)
        elif leaves:
            yield x
