"""What tools read from a graph node: PyTorch's public fields, never its private slots.

``Node`` (recording, ``node.py``) inherits these from ``InspectableNode``: ``name()``,
``next_functions`` (or ``edges``), ``saved_tensors`` (or ``saved_values()``), ``released``,
``metadata`` and ``register_hook``. ``explain``, ``inspect``, ``viz`` and ``record_backward`` use
nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from glassgrad.autograd.hooks import RemovableHandle


class _SavedOutput:
    """Marks 'the op's own output' among saved values (saving the Tensor would be a ref cycle)."""

    __repr__ = lambda self: "<output>"  # noqa: E731


OUTPUT = _SavedOutput()


class SavedValue(NamedTuple):
    """One value a node saved for backward, as ``Node.saved_values()`` describes it."""

    value: Any  # the array (or other object) forward saved
    role: str  # "output" (the op's own), "input" (one of its inputs) or "other" (mask, index)
    tensor: Any  # the input Tensor, for role "input" (else None)
    current: bool  # False once that tensor was modified in place (the value is stale)


class AccumulateGrad:
    """The node PyTorch shows for a leaf: gradients arriving here add into ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    next_functions = ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class InspectableNode:
    """The read-only, PyTorch-named face of a graph node (``Node`` defines the slots)."""

    __slots__ = ()
    next: list[Any]
    _saved: Any
    _meta: Any
    _hooks: Any
    _metadata: dict[str, Any]
    op_name: str | None = None  # the name PyTorch shows, when it differs from the class name
    variant = 0  # PyTorch numbers overloads: PowBackward0 (x ** 2), PowBackward1, PowBackward2
    # the forward arguments in the order PyTorch's node lists them, where a fused node's differ
    # (addmm's are bias, input, weight; glassgrad's linear takes input, weight, bias)
    next_order: tuple[int, ...] | None = None

    def name(self) -> str:
        """PyTorch's name for this node: ``MulBackward0``, or ``CubeBackward`` for a user's op."""
        cls = type(self)
        suffix = f"Backward{cls.variant}" if cls.__dictoffset__ == 0 else "Backward"
        return (cls.op_name or cls.__name__) + suffix

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """Where gradients go next: ``(node, 0)``, ``(AccumulateGrad, 0)`` or ``(None, 0)``."""
        order = type(self).next_order
        edges = self.next if order is None else [self.next[i] for i in order]
        return tuple(
            (None if e is None else e if isinstance(e, InspectableNode) else AccumulateGrad(e), 0)
            for e in edges
        )

    @property
    def edges(self) -> tuple[Any, ...]:
        """Per forward argument: the Node that made it, the leaf Tensor itself, or None.

        ``next_functions`` without PyTorch's wrapping, for tools that walk the graph (a copy:
        changing it changes nothing). ``glassgrad.autograd.graph`` walks them for you.
        """
        return tuple(self.next)

    @property
    def metadata(self) -> dict[str, Any]:
        """A dict of your own per node, as in PyTorch (created on first use: free otherwise)."""
        try:
            return self._metadata
        except AttributeError:
            fresh: dict[str, Any] = {}
            setattr(self, "_metadata", fresh)  # noqa: B010  (the slot is Node's)
            return fresh

    @property
    def released(self) -> bool:
        """Did a backward pass free what ``forward`` saved (``retain_graph`` was not set)?"""
        return self._saved is None

    def saved_values(self) -> tuple[SavedValue, ...]:
        """What ``forward`` saved, with where each value came from (empty once released).

        For tools: ``role`` is ``"output"``, ``"input"`` (``tensor`` is that input) or
        ``"other"`` (a mask, an index); ``current`` is False once it was modified in place.
        """
        saved, meta = self._saved, self._meta
        if not saved:
            return ()
        if meta is None:
            return tuple(SavedValue(s, "other", None, True) for s in saved)
        refs, versions, out_vc, _ = meta
        return tuple(
            SavedValue(s, "output", None, out_vc[0] == v)
            if ref is OUTPUT
            else SavedValue(s, "other", None, True)
            if ref is None
            else SavedValue(s, "input", ref, ref._vc[0] == v)
            for s, ref, v in zip(saved, refs, versions)
        )

    def register_hook(self, fn: Callable[[Any], Any]) -> RemovableHandle:
        """Call ``fn(grad)`` with the gradient of this node's output before the rule runs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return RemovableHandle(self._hooks, fn)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"
