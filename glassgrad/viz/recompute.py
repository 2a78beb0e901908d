"""Values the engine did not keep, recomputed for graph pictures, and what changed since.

``recompute_values`` runs each op's forward again (``Node.rerun``) on its inputs' values, inputs
first, from the leaves and the constant arguments each node kept: nothing runs the model again.
Version counters (``Node.changed_since``) tell which leaves were modified in place after the forward
(an optimizer step between ``backward()`` and the picture): ops computed from them get no value
and a note says why, never a value the forward did not see. A change that bumps no version
(through ``.data``) shows where running an op again disagrees with an output the graph kept, and
then no recomputed value is shown at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.autograd.graph import topological_order
from glassgrad.tensor import Tensor

__all__ = ["changed_leaves", "changed_output", "recompute_values"]

_CHANGED = "{} was modified in place after the forward"
_DRIFTED = (
    "running the ops again from the leaves does not give the recorded output: a leaf changed "
    "without a version bump (through .data?), so no value was recomputed"
)


def changed_output(t: Tensor) -> bool:
    """Was ``t`` (an op's output) modified in place after its op ran (or can't that be ruled
    out)?"""
    return t.grad_fn is not None and t.grad_fn.changed_since(t) is not False


def changed_leaves(order: list[Any], raw_edges: list[tuple[int, int, int]]) -> dict[int, str]:
    """Leaves modified in place after an op of the graph used them (an optimizer step between
    the forward and the picture): their ``.data`` is not what the forward saw."""
    notes: dict[int, str] = {}
    for src, dst, _ in raw_edges:
        leaf = order[src]
        if (
            isinstance(leaf, Tensor)
            and src not in notes
            and order[dst].changed_since(leaf) is not False
        ):
            notes[src] = (
                f"modified in place after the forward used it (now version {leaf._version}): "
                "this is its current value, not the one the forward saw"
            )
    return notes


def recompute_values(
    roots: list[Tensor], order: list[Any], values: dict[int, np.ndarray], labels: dict[int, str]
) -> dict[int, str]:
    """Fill ``values`` for ops whose output nothing kept: each op's forward run again on its
    inputs' values (``Node.rerun``), inputs first. Nothing runs where a leaf changed in place
    since the op used it; returns, per position, why its value is not the forward's.

    Where an op's output was kept (saved for backward, the traced tensor), running it again
    must give the kept numbers: if not, a leaf changed unseen and nothing recomputed is shown.
    """
    pos = {id(n): k for k, n in enumerate(order)}
    notes: dict[int, str] = {}
    redone: list[int] = []
    drifted = False
    for node in topological_order([r.grad_fn for r in roots if r.grad_fn is not None]):
        k = pos[id(node)]
        inputs, why = _inputs(node, pos, values, notes, labels)
        if inputs is None:
            if why is not None and k not in values:
                notes[k] = why
            continue
        again = node.rerun(inputs)
        if again is None:
            continue
        if k not in values:
            values[k] = again
            redone.append(k)
        elif not drifted and again.shape == values[k].shape:
            with np.errstate(all="ignore"):
                same = np.allclose(again, values[k], rtol=1e-4, atol=1e-6, equal_nan=True)
            drifted = not same
    if drifted:
        for k in redone:
            del values[k]
            notes[k] = _DRIFTED
    return notes


def _inputs(
    node: Any,
    pos: dict[int, int],
    values: dict[int, np.ndarray],
    notes: dict[int, str],
    labels: dict[int, str],
) -> tuple[list[np.ndarray] | None, str | None]:
    """The values of ``node``'s inputs as the forward saw them, or None and why not (a reason
    only where a leaf's change is to blame: other values are merely unknown)."""
    inputs = []
    for e in node.edges:
        if e is None:
            continue
        j = pos[id(e)]
        if isinstance(e, Tensor):
            if node.changed_since(e) is not False:
                return None, _CHANGED.format(labels.get(j) or "a leaf")
            inputs.append(e._data)
        elif j in values:
            inputs.append(values[j])
        else:
            return None, notes.get(j)
    return inputs, None
