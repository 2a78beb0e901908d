"""The checks and observation around one backward rule, as the engine runs it."""

from __future__ import annotations

import time
from typing import Any

from glassgrad.autograd.node import OUTPUT, Node


def check_versions(node: Node) -> None:
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


def arity_error(node: Node, got: int, want: int) -> RuntimeError:
    """The error for a rule that returned the wrong number of gradients."""
    return RuntimeError(
        f"{node.name()}: backward returned {got} gradients but forward took {want} inputs; "
        "return one per input (None for no gradient)"
    )


def observed_backward(node: Node, g: Any, observer: Any) -> Any:
    """Run the rule and tell the ``state.backward_observer`` (``record_backward``, ``viz``)."""
    saved, t0 = node._saved, time.perf_counter()
    gin = type(node).backward(node, g)
    observer(node, g, gin, time.perf_counter() - t0, saved)
    return gin
