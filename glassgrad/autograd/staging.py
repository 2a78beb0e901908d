"""Where gradients bound for ``.grad`` wait until the backward walk has finished.

``backward()`` is all or nothing: the walk sums each leaf's gradients here, and only once every
rule has run are they written into ``.grad`` (``commit``). A rule or hook that raises midway
leaves every ``.grad`` as it was before the call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.autograd.capture import Capture
from glassgrad.autograd.gradients import accumulate, stage_add
from glassgrad.autograd.hooks import run_hooks

# Set by glassgrad.tensor at import time (the tensor class imports the autograd modules).
Tensor: Any = None
POST_HOOKS = [False]  # set once a post-accumulate-grad hook is registered: commit looks for them


class GradStage:
    """The gradients bound for ``.grad``, held until the walk has finished (then ``commit``).

    A leaf's gradients are summed here as they arrive (``leaves``: id -> [leaf, sum, owned]). A
    leaf with hooks also counts them down: once the last has arrived (PyTorch's AccumulateGrad
    running), its hooks run on the sum, once. ``retain_grad()`` tensors get the gradient their
    node's other hooks let through. Under ``autograd.grad`` the captured leaves' sums go to the
    capture instead, and other leaves are skipped.
    """

    __slots__ = ("cap", "hooked", "leaves", "retained")

    def __init__(self, hooked: dict[int, int], cap: Capture | None) -> None:
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
            stage_add(ent, g, False)

    def receive(self, leaf: Any, g: Any, owned: bool) -> None:
        """A gradient (or None: nothing to add) sent along an edge into ``leaf``; ``owned``: the
        array is the engine's own (else ``.grad`` will get a copy of it)."""
        k = id(leaf)
        if self.hooked and k in self.hooked:
            self.hooked_leaf(leaf, g, owned)
        elif g is not None and (self.cap is None or k in self.cap.leaves):
            ent = self.leaves.get(k)
            if ent is None:
                self.leaves[k] = [leaf, g, owned]
            else:
                stage_add(ent, g, owned)

    def hooked_leaf(self, leaf: Any, g: Any, owned: bool) -> None:
        """A gradient (or None) along an edge into a leaf with hooks."""
        k = id(leaf)
        if self.cap is not None and k not in self.cap.leaves:
            return
        ent = self.leaves.get(k)
        if ent is None:
            ent = self.leaves[k] = [leaf, g, owned]
        elif g is not None:
            stage_add(ent, g, owned)
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
            ent[1] = run_hooks(hooks, ent[1], leaf.shape, "a leaf tensor", None)
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
            if not isinstance(g, np.ndarray) or g.dtype != leaf._data.dtype:
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
        if POST_HOOKS[0]:
            _run_post_accumulate_hooks(writes)


def _run_post_accumulate_hooks(writes: list[tuple[Any, Any, Any]]) -> None:
    """``register_post_accumulate_grad_hook``: each hook sees its leaf once ``.grad`` is written."""
    for t, _, _ in writes:
        for hook in list(getattr(t, "_post_hooks_", None) or ()):
            out = hook(t)
            if out is not None:
                raise RuntimeError(
                    f"post accumulate grad hooks should return None, got a {type(out).__name__}"
                )
