"""Forward-mode AD with dual tensors, as ``torch.autograd.forward_ad``.

Inside ``with dual_level():``, ``make_dual(primal, tangent)`` gives a tensor carrying a tangent,
and ``unpack_dual(y)`` gives ``(primal, tangent)`` of anything computed from dual tensors, the
tangent being the directional derivative ``J @ tangent`` of ``y`` along the duals' tangents.

Tangents are not pushed through each op as PyTorch does; ``unpack_dual`` computes them from the
recorded graph by the double-vjp trick (``glassgrad.autograd.functional.linearize``), which gives
the same numbers. So a dual tensor is a graph node (it requires grad), and only ops recorded with
grad mode on carry tangents: under ``no_grad`` a result has no tangent (None), where PyTorch's has
one. A custom ``Function`` with a ``jvp`` staticmethod has its ``jvp`` used. On leaving the level
every tangent is dropped.

>>> import glassgrad as gg
>>> import glassgrad.autograd.forward_ad as fwAD
>>> with fwAD.dual_level():
...     x = fwAD.make_dual(gg.tensor([1.0, 2.0]), gg.tensor([1.0, 0.0]))
...     fwAD.unpack_dual((x * x).sum()).tangent
tensor(2.)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from glassgrad.autograd.functional import Alias, linearize, vjp_of
from glassgrad.autograd.grad_mode import grad_mode
from glassgrad.autograd.graph import walk
from glassgrad.autograd.state import state
from glassgrad.tensor import Tensor

__all__ = [
    "UnpackedDualTensor",
    "dual_level",
    "enter_dual_level",
    "exit_dual_level",
    "make_dual",
    "unpack_dual",
]


class UnpackedDualTensor(NamedTuple):
    primal: Any
    tangent: Any


class _Level:
    """One dual level: its dual tensors by id (kept alive) with their tangents."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.duals: dict[int, tuple[Tensor, Tensor, bool]] = {}  # id -> (dual, tangent, aliased)


_LEVELS: list[_Level] = []


def enter_dual_level() -> int:
    """Start a dual level (only one at a time, as in PyTorch); returns its index."""
    if _LEVELS:
        raise RuntimeError(
            "Entering a new forward AD level but the current level is not valid. Make sure "
            "you did not modified it directly."
        )
    _LEVELS.append(_Level(0))
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """End the level: its dual tensors become plain tensors, every tangent is dropped."""
    if not _LEVELS or (level is not None and level != _LEVELS[-1].index):
        raise RuntimeError(
            "Trying to exit a forward AD level that was not the last one that was created. "
            "This is not supported."
        )
    _LEVELS.pop()


class dual_level:
    """``with dual_level():`` the scope of dual tensors and their tangents."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()


def _level(level: int | None, what: str) -> _Level | None:
    if not _LEVELS:
        return None
    if level is not None and level != _LEVELS[-1].index:
        raise RuntimeError(f"{what}: level {level} is not the current dual level")
    return _LEVELS[-1]


def make_dual(tensor: Any, tangent: Any, *, level: int | None = None) -> Tensor:
    """A tensor with ``tensor``'s values (sharing its memory) carrying ``tangent``.

    The tangent is kept as given when it has the primal's layout, else copied into it. Gradients
    of the dual still reach ``tensor`` when that requires grad.
    """
    lv = _level(level, "make_dual")
    if lv is None:
        raise RuntimeError(
            "Trying to create a dual Tensor for forward AD but no level exists, make sure to "
            "enter_dual_level() first."
        )
    for name, t in (("primal", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dual: expected {name} to be a Tensor, got {type(t).__name__}")
        if t._data.dtype.kind not in "fc":
            raise ValueError(f"Expected {name} to be floating point or complex, but got: {t.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}."
        )
    if tangent.stride() != tensor.stride() or tangent.dtype != tensor.dtype:
        tangent = Tensor._make(np.array(tangent._data, dtype=tensor._data.dtype, order="C"))
    aliased = tensor.requires_grad and state.grad_enabled
    if aliased:  # a node of its own, so the graph to ``tensor`` stays for backward
        with grad_mode(True):
            dual = Alias.apply(tensor)
    else:
        dual = tensor.detach()
        dual.requires_grad = True
    lv.duals[id(dual)] = (dual, tangent, aliased)
    return dual


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)``: the tangent ``tensor`` carries (None if it depends on no dual
    tensor of the level, or outside a level)."""
    lv = _level(level, "unpack_dual")
    if lv is None or not isinstance(tensor, Tensor):
        return UnpackedDualTensor(tensor, None)
    own = lv.duals.get(id(tensor))
    if own is not None and own[0] is tensor:
        return UnpackedDualTensor(tensor if own[2] else tensor.detach(), own[1])
    if not tensor.requires_grad:
        return UnpackedDualTensor(tensor, None)
    reached: set[int] = set()
    outside = False  # reaches a tensor requiring grad that is no dual: results keep a graph
    own_rules = False  # a custom Function with its own jvp on the way
    for x in walk([tensor.grad_fn or tensor], leaves=True):
        reached.add(id(x))
        if isinstance(x, Tensor):
            outside = outside or id(x) not in lv.duals
        elif getattr(x, "_has_jvp", False):
            own_rules = True
    used = [(d, t) for d, t, _ in lv.duals.values() if id(d) in reached or id(d.grad_fn) in reached]
    if not used:
        return UnpackedDualTensor(tensor, None)
    # The tangent keeps a graph when something outside requires grad, except through a custom
    # Function's jvp: its part is a value only (PyTorch's would differentiate the jvp rule), so
    # the tangent is handed back detached rather than with a graph missing that part.
    keep = outside and not own_rules
    with grad_mode(True):
        us, gs = linearize([tensor], [d for d, _ in used], custom_jvp=True)
        jv = vjp_of(gs, us, [t for _, t in used], keep)[0]
    primal = tensor if outside else tensor.detach()
    return UnpackedDualTensor(primal, jv if keep else jv.detach())
