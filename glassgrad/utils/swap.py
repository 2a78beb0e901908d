"""``torch.utils.swap_tensors``: two Tensor objects exchange everything they hold."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from glassgrad.autograd.introspection import InspectableNode
from glassgrad.tensor import Tensor

__all__ = ["swap_tensors"]


def _in_a_graph(t: Tensor) -> bool:
    """Is ``t`` an edge of a recorded node (a leaf an op used)? Its gradient would then reach
    the other object's values after the swap."""
    for ref in gc.get_referrers(t):
        if isinstance(ref, list):
            for owner in gc.get_referrers(ref):
                if isinstance(owner, InspectableNode) and getattr(owner, "next", None) is ref:
                    return True
    return False


def swap_tensors(t1: Any, t2: Any) -> None:
    """Swap the two Tensor objects' classes, values, gradients, autograd state and attributes:
    every reference to ``t1`` now sees what ``t2`` held, and the other way round.

    >>> import glassgrad as gg
    >>> a, b = gg.tensor([1, 2]), gg.tensor([3, 4, 5])
    >>> swap_tensors(a, b)
    >>> a, b
    (tensor([3, 4, 5]), tensor([1, 2]))
    """
    for name, t in (("t1", t1), ("t2", t2)):
        if weakref.getweakrefcount(t):
            raise RuntimeError(f"Cannot swap {name} because it has weakref associated with it")
    for name, t in (("t1", t1), ("t2", t2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"swap_tensors: expected {name} to be a Tensor, got {type(t).__name__}")
        if _in_a_graph(t):
            raise RuntimeError(
                f"swap_tensors: {name} is an input of a recorded graph that has not run backward "
                "yet, so its gradient would reach the other tensor; swap it before the forward "
                "pass or after backward"
            )
    if type(t1) is not type(t2):
        t1.__class__, t2.__class__ = type(t2), type(t1)
    for slot in Tensor.__slots__:
        if slot in ("__weakref__", "__dict__"):
            continue
        a, b = getattr(t1, slot, _UNSET), getattr(t2, slot, _UNSET)
        for t, value in ((t1, b), (t2, a)):
            if value is _UNSET:
                if hasattr(t, slot):
                    delattr(t, slot)
            else:
                setattr(t, slot, value)
    d1, d2 = getattr(t1, "__dict__", None), getattr(t2, "__dict__", None)
    if d1 is not None and d2 is not None:
        saved = dict(d1)
        d1.clear()
        d1.update(d2)
        d2.clear()
        d2.update(saved)


_UNSET = object()
