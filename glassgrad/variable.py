"""``Variable``: PyTorch's pre-0.4 wrapper, now an alias for tensors (``torch.autograd.Variable``).

``Variable(t, requires_grad=True)`` returns a tensor sharing ``t``'s memory, cut from any graph,
with the flag set; ``isinstance(t, Variable)`` is True for every tensor, as in PyTorch.

>>> import glassgrad as gg
>>> v = Variable(gg.ones(2), requires_grad=True)
>>> v, isinstance(v, Variable)
(tensor([1., 1.], requires_grad=True), True)
"""

from __future__ import annotations

from typing import Any

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        from glassgrad.tensor import Tensor

        return isinstance(instance, Tensor)


class _ExecutionEngine:
    """``Variable._execution_engine``: where PyTorch code reaches the engine to queue a callback
    that runs once the current backward pass has finished (``autograd.engine.queue_callback``)."""

    @staticmethod
    def queue_callback(callback: Any) -> None:
        from glassgrad.autograd.engine import queue_callback

        queue_callback(callback)


class Variable(metaclass=_VariableMeta):
    """``Variable(data, requires_grad=False)``: a tensor (see the module docstring)."""

    _execution_engine = _ExecutionEngine()

    def __new__(cls, data: Any = None, requires_grad: bool = False, volatile: bool = False) -> Any:
        from glassgrad.tensor import Tensor

        if data is None:
            data = Tensor([])
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = data.detach()
        if requires_grad:
            t.requires_grad_(True)
        return t
