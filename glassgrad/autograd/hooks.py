"""Gradient hooks: functions called with a gradient on its way through the backward pass.

``tensor.register_hook(fn)`` and ``node.register_hook(fn)`` add one; each is called with the
gradient (as a Tensor) and may return a replacement. ``retain_grad()`` is a hook too
(``RetainGrad``), run after the others so it keeps what they let through.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad._errors import check_hook_result
from glassgrad.autograd.state import state

# Set by glassgrad.tensor at import time (the tensor class imports the autograd modules).
Tensor: Any = None


def run_hooks(
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


class RetainGrad:
    """The hook ``retain_grad()`` puts on a non-leaf's node (weakly holding the tensor).

    The engine runs it after the node's other hooks and writes the gradient into the tensor's
    ``.grad`` (adding to what is there) once the backward pass has finished.
    """

    __slots__ = ("ref",)

    def __init__(self, ref: Any) -> None:
        self.ref = ref

    def __call__(self, g: Any) -> None:  # (the engine stages it instead of calling it)
        t = self.ref()
        if t is not None:
            t._grad = g if state.create_graph else Tensor._make(g._data.copy())


# hooks registered or removed so far, anywhere: code compiled while none ran must not be replayed
# once one is added (``glassgrad.compile`` checks it before every replay)
VERSION = [0]


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` takes the hook out again. ``hooks`` is a
    list holding ``fn``, or (a module's forward hooks, as PyTorch keeps them) a dict holding
    it under the handle's ``id``."""

    __slots__ = ("fn", "hooks", "id")
    next_id = 0  # PyTorch's handle ids: one counter for every handle

    def __init__(self, hooks: list[Any] | dict[int, Any], fn: Any) -> None:
        self.hooks, self.fn = hooks, fn
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        VERSION[0] += 1

    def remove(self) -> None:
        VERSION[0] += 1
        hooks = self.hooks
        if isinstance(hooks, dict):
            hooks.pop(self.id, None)
        elif self.fn in hooks:
            hooks.remove(self.fn)
