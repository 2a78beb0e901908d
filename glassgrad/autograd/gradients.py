"""Summing and shaping gradients: the one place the engine adds or un-broadcasts them.

A node may get gradients along several paths (a tensor used twice): they are *summed*
(``accumulate``). An input that was broadcast in the forward gets a gradient in the broadcast
shape: it is *summed back* over the added or stretched axes (``sum_to_shape``), so no rule has to
undo broadcasting itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["accumulate", "sum_to_shape"]

# Set by glassgrad.tensor at import time (the tensor class imports the autograd modules).
Tensor: Any = None


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


def add_pending(prev: Any, g: Any, node: Any, owned: set[Any]) -> Any:
    """Add ``g`` to ``node``'s pending sum: in place once that sum is a buffer the engine made."""
    if prev is None or g is None:
        return g if prev is None else prev
    mine = node in owned
    if not mine and isinstance(prev, np.ndarray):
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


def sum_to_input(g: Any, shape: tuple[int, ...], node: Any, i: int) -> Any:
    """``sum_to_shape`` for the gradient ``node``'s rule returned for input ``i``, or the error."""
    try:
        return sum_to_shape(g, shape)
    except ValueError:
        got = tuple(g.shape)
        raise RuntimeError(
            f"{node.name()}: backward returned a gradient of shape {got} for input {i}, "
            f"which has shape {tuple(shape)} (and {got} does not sum down to it)"
        ) from None


def as_gradient(g: Any, create_graph: bool) -> Any:
    """What a rule returned, as the engine passes it on: a Tensor under create_graph, else an
    array."""
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor._make(np.asarray(g))
    return g._data if isinstance(g, Tensor) else np.asarray(g)


def stage_add(entry: list[Any], g: Any, owned: bool) -> None:
    """Add ``g`` to a staged sum ``[leaf, sum, owned]``: in place once the sum is ours."""
    prev = entry[1]
    if prev is None:
        entry[1], entry[2] = g, owned
    elif entry[2] and isinstance(prev, np.ndarray):
        accumulate(prev, g, in_place=True)
    else:
        entry[1], entry[2] = accumulate(prev, g), True
