"""``autograd.grad``'s capture: the gradients of the tensors asked for, instead of ``.grad``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from glassgrad.autograd.graph import topological_order

# Set by glassgrad.tensor at import time (the tensor class imports the autograd modules).
Tensor: Any = None


class Capture:
    """The tensors ``autograd.grad`` asked for, and the gradients that reached them.

    Only nodes with a captured tensor somewhere below them (``leads``) run their rule: the rest of
    the graph is skipped.
    """

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
