"""Activation checkpointing: keep a segment's inputs, recompute its insides during backward.

A forward pass normally keeps every intermediate a backward rule needs. ``checkpoint(fn, *args)``
runs ``fn`` under ``no_grad`` instead, so nothing inside the segment is saved, and records one
node that keeps only the segment's inputs. When the backward pass reaches that node it runs ``fn``
again with grad enabled, on detached copies of the inputs, and backpropagates through the fresh
graph. Same gradients; memory traded for a second forward of the segment.

>>> import glassgrad as gg
>>> from glassgrad import nn
>>> block = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh())
>>> x = gg.randn(4, 8, requires_grad=True)
>>> checkpoint(block, x).sum().backward()
>>> g = x.grad.clone(); x.grad = None
>>> block(x).sum().backward()
>>> bool(gg.allclose(g, x.grad))
True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassgrad.autograd.engine import run_backward
from glassgrad.autograd.grad_mode import enable_grad, no_grad
from glassgrad.autograd.graph import walk
from glassgrad.autograd.node import Node
from glassgrad.autograd.state import state
from glassgrad.creation import generator
from glassgrad.tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Segment:
    """What the checkpoint node needs to run ``fn`` again: the function, where the tensor
    arguments go among the others, the keyword arguments, and the random state at the start."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]):
        self.fn, self.kwargs = fn, kwargs
        self.args = args
        self.tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.rng_state: Any = None

    def call(self, tensors: Sequence[Tensor]) -> Tensor:
        args = list(self.args)
        for i, t in zip(self.tensor_pos, tensors):
            args[i] = t
        out = self.fn(*args, **self.kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(
                f"checkpoint: the function must return one Tensor, got {type(out).__name__} "
                "(wrap a multi-output segment so it returns a single tensor)"
            )
        return out


class Checkpoint(Node):
    """The node standing for a whole segment; its backward re-runs the segment."""

    rerunnable = False  # runs the user's segment: hooks, buffers, random draws

    @staticmethod
    def forward(ctx: Any, seg: _Segment, n_inputs: int, *arrays: Any) -> Any:
        ctx.seg, ctx.n_inputs = seg, n_inputs
        ctx.params = None  # filled in by _checkpoint: the Tensors behind the parameter edges
        inputs = arrays[:n_inputs]
        ctx.save_for_backward(*inputs)  # only the inputs; the engine checks their versions
        with no_grad():
            out = seg.call([Tensor._make(a) for a in inputs])
        return out._data

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
        if state.create_graph:
            raise RuntimeError(
                "checkpoint: double backward (create_graph=True) through a checkpointed "
                "segment is not supported; call the function without checkpoint instead"
            )
        seg, n = ctx.seg, ctx.n_inputs
        needs = ctx.needs_input_grad[2:]
        inputs = []
        for a, need in zip(ctx.saved_tensors, needs):
            t = Tensor._make(a)  # detached: the recomputed graph ends here
            t.requires_grad = bool(need) and a.dtype.kind in "fc"
            inputs.append(t)
        rng = generator()
        now = rng.bit_generator.state
        if seg.rng_state is not None:
            rng.bit_generator.state = seg.rng_state  # dropout draws the same masks again
        try:
            with enable_grad():
                out = seg.call(inputs)
        finally:
            if seg.rng_state is not None:
                rng.bit_generator.state = now
        if not out.requires_grad:
            return (None,) * len(ctx.needs_input_grad)
        params = [p for p, need in zip(ctx.params, needs[n:]) if need]
        own = [t for t in inputs if t.requires_grad] + params
        known = {id(t) for t in own}
        others = [t for t in _leaves(out) if id(t) not in known]  # tensors fn closes over
        # autograd.grad's engine call, without its defensive copies of every gradient
        got = run_backward([out], [g], False, False, capture=own + others) or []
        for t, gt in zip(others, got[len(own) :]):
            if gt is not None:  # not an input of this node: accumulate directly, as PyTorch
                gt = Tensor._make(np.array(gt, copy=True))
                t.grad = gt if t.grad is None else t.grad + gt
        found = dict(zip(map(id, own), got))
        grads: list[Any] = [None, None]
        grads += [found.get(id(t)) if t.requires_grad else None for t in inputs]
        grads += [found.get(id(p)) for p in ctx.params]
        return tuple(grads)


def _leaves(out: Tensor) -> list[Tensor]:
    """The leaf tensors requiring grad that ``out``'s graph reaches (iterative walk)."""
    return [x for x in walk([out.grad_fn], leaves=True) if isinstance(x, Tensor)]


def _checkpoint(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    params: list[Tensor],
    preserve_rng_state: bool,
) -> Any:
    seg = _Segment(fn, args, kwargs)
    tensors = [args[i] for i in seg.tensor_pos]
    if not state.grad_enabled:
        return seg.call(tensors)  # nothing would be recorded anyway
    if not any(t.requires_grad for t in tensors) and not any(p.requires_grad for p in params):
        warnings.warn(
            "checkpoint: none of the inputs require grad and fn has no parameters requiring "
            "grad, so no gradient will flow through this segment (pass the tensors it uses "
            "as arguments, or a Module as fn)",
            UserWarning,
            stacklevel=3,
        )
    if preserve_rng_state:
        seg.rng_state = generator().bit_generator.state
    out = Checkpoint.apply(seg, len(tensors), *tensors, *params)
    node = out.grad_fn
    if isinstance(node, Checkpoint):
        setattr(node, "params", params)  # noqa: B010  (a ctx attribute: lives in its __dict__)
    return out


def _module_params(fn: Any) -> list[Tensor]:
    params = getattr(fn, "parameters", None)
    return [p for p in params() if p.requires_grad] if callable(params) else []


def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """Run ``function(*args, **kwargs)`` without storing its intermediates; recompute them in
    backward. Gradients are the same as without checkpointing.

    ``function`` must return one Tensor. Gradients reach the Tensor arguments and, when
    ``function`` is a Module, its parameters, as for any op. Tensors it merely closes over get
    their ``.grad`` accumulated directly during backward (as PyTorch's reentrant checkpoint
    does), so pass them as arguments if you use ``autograd.grad``. ``preserve_rng_state``
    replays the random state, so dropout masks match. ``use_reentrant`` is accepted for
    PyTorch compatibility; both variants behave the same here.
    """
    _ = use_reentrant
    return _checkpoint(function, args, kwargs, _module_params(function), preserve_rng_state)


def checkpoint_sequential(
    functions: Any,
    segments: int,
    input: Tensor,
    use_reentrant: bool | None = None,
    **kwargs: Any,
) -> Any:
    """Split a Sequential (or list of modules) into ``segments`` pieces and checkpoint each
    but the last, as ``torch.utils.checkpoint.checkpoint_sequential``."""
    _ = use_reentrant
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)
    if not 0 < segments <= len(functions):
        raise ValueError(
            f"checkpoint_sequential: segments must be between 1 and the number of functions "
            f"({len(functions)}), got {segments}"
        )

    def run(part: list[Any]) -> Callable[[Tensor], Tensor]:
        def forward(x: Tensor) -> Tensor:
            for f in part:
                x = f(x)
            return x

        return forward

    size = len(functions) // segments
    end = 0
    for start in range(0, size * (segments - 1), size):
        end = start + size
        part = functions[start:end]
        params = [p for f in part for p in _module_params(f)]
        input = _checkpoint(run(part), (input,), {}, params, kwargs.get("preserve_rng_state", True))
    return run(functions[end:])(input)


# ``torch.utils.checkpoint.checkpoint(...)`` spelt the glassgrad way: ``glassgrad.utils.checkpoint``
# is this function (the package imports it over the submodule's name), so give it the submodule's
# public names as attributes and ``glassgrad.utils.checkpoint.checkpoint(...)`` works as well.
checkpoint.checkpoint = checkpoint  # type: ignore[attr-defined]
checkpoint.checkpoint_sequential = checkpoint_sequential  # type: ignore[attr-defined]
