"""Hooks on the tensors ops save for backward, as ``torch.autograd.graph``'s.

Inside ``with saved_tensors_hooks(pack, unpack):`` every tensor an op saves for its backward is
handed to ``pack`` as it is saved (the op's input itself, its output, or a new tensor for a mask
or an index), and what ``pack`` returns is kept instead; the backward gets ``unpack(kept)``,
which must return a tensor with the saved values. Hooks let a training script keep saved
activations elsewhere (on disk, compressed) between forward and backward.

>>> import glassgrad as gg
>>> from glassgrad.autograd.graph import saved_tensors_hooks
>>> x = gg.tensor([1.0, 2.0], requires_grad=True)
>>> seen = []
>>> with saved_tensors_hooks(lambda t: seen.append(t.shape) or t.clone(), lambda t: t):
...     y = (x * x).sum()
>>> y.backward()
>>> x.grad, seen
(tensor([2., 4.]), [torch.Size([2]), torch.Size([2])])

A node of a custom ``Function`` with several outputs keeps its tensors without the hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glassgrad.autograd import node as _node

__all__ = ["disable_saved_tensors_hooks", "save_on_cpu", "saved_tensors_hooks"]

_DISABLED: list[str] = []  # the messages of the disable_saved_tensors_hooks blocks open


class saved_tensors_hooks:
    """``with saved_tensors_hooks(pack_hook, unpack_hook):`` the ops recorded in the block save
    ``pack_hook(tensor)`` and their backward reads ``unpack_hook(packed)``. Blocks nest: the
    innermost pair applies."""

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        if _DISABLED:
            raise RuntimeError(_DISABLED[-1])
        _node.SAVED_HOOKS.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc: Any) -> None:
        _node.SAVED_HOOKS.pop()


class save_on_cpu(saved_tensors_hooks):
    """Keep saved tensors on the CPU until backward (where glassgrad keeps every tensor: they
    are kept as they are and handed back on their device)."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack(t: Any) -> tuple[Any, Any]:
            return t.device, t.cpu()

        def unpack(packed: tuple[Any, Any]) -> Any:
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:
    """While open, entering ``saved_tensors_hooks`` raises ``RuntimeError(error_message)``."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> None:
        _DISABLED.append(self.error_message)

    def __exit__(self, *exc: Any) -> None:
        _DISABLED.pop()
