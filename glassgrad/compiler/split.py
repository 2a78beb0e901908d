"""A compiled forward whose backward runs after the call: ``compile(model)``, a compiled loss.

When a compiled function returns tensors whose graph a ``backward()`` after the call will use
(``logits = model(x)``, then ``loss.backward()`` outside), the recording goes on past the return:
``record_backward`` asks the recorded graph for the gradients of those outputs with respect to
every tensor from before the call that requires grad (the *boundary*: parameters, inputs, a
tensor another graph made), each output's gradient standing as an input of the code (a *seed*).
``Program`` cuts the statements there into two functions, the forward (which also returns the
arrays the backward reads) and the backward. A replay runs the forward and returns its outputs
joined to the boundary by one graph node, ``CompiledFunctionBackward`` as in PyTorch, whose rule
is the backward function: the engine then accumulates into ``.grad``, runs hooks and frees what
was saved exactly as for any other node. That node cannot be differentiated again
(``create_graph=True`` raises; the function then has to run uncompiled).

The gradients equal eager's bit for bit (the registry sweep, ``tests/test_compile_split.py``),
with one exception of rounding: where an output is also used inside the function (a VAE's
``mu`` and ``logvar``), the part of its gradient from outside arrives as one sum (its seed) and
the part from inside is added to it, where eager may group the terms otherwise (float addition
is not associative; a VAE's printed loss moved in its 8th digit). An output that receives no
gradient gets zeros, as PyTorch's compiled functions do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.autograd.custom_function import Function, once_differentiable
from glassgrad.autograd.state import state
from glassgrad.compiler.ir import Var
from glassgrad.compiler.trace import TracedArray
from glassgrad.tensor import Tensor


def record_backward(session: Any, trace: Any, outputs: list[Tensor]) -> str | None:
    """Record the gradients of ``outputs`` (made in the call) as code after the forward's.

    Returns None, or why the call cannot be split (it then runs eagerly)."""
    from glassgrad.autograd.engine import run_backward

    rec = session.rec
    boundary = [t for t, _, _ in session._sources.values() if t.requires_grad]
    if not boundary:
        return "its result requires grad but depends on no tensor from before the call"
    if trace.grad_writes or any(v.source[0] == "grad" for v in rec.sources):
        return "it reads or writes .grad and also returns a graph"
    for t in outputs:
        if t._retains():
            return "an output calls retain_grad(), which a replayed graph cannot honour"
    seeds = []
    for k, t in enumerate(outputs):
        traced: Any = t._data  # (a traced array: its plain array is copied)
        ones = traced._raw.copy()
        ones.fill(1)
        seeds.append(rec.source_array(ones, ("seed", k)))
    trace.split = len(rec.stmts)
    before = rec.phase
    rec.phase = "backward"
    # hooks on the boundary run at the real backward (the engine runs them on what the node
    # returns), so not here: the generated backward computes the gradients before them
    hooked = [
        (t, getattr(t, "_hooks_", None), getattr(t, "_post_hooks_", None))
        for t in boundary
        if t.grad_fn is None
    ]
    nodes = [(t.grad_fn, t.grad_fn._hooks) for t in boundary if t.grad_fn is not None]
    try:  # autograd.grad's walk, without the copies it hands a user
        for t, _, _ in hooked:
            t._hooks_ = t._post_hooks_ = None
        for n, _ in nodes:
            n._hooks = None
        grads = run_backward(outputs, seeds, True, False, capture=boundary) or []
    except Exception as e:  # (the user's call went well: it must not fail for this)
        return f"its backward could not be recorded ({type(e).__name__}: {e})"
    finally:
        rec.phase = before
        for t, pre, post in hooked:
            t._hooks_, t._post_hooks_ = pre, post
        for n, h in nodes:
            n._hooks = h
    session.boundary = {id(t) for t in boundary}
    grad_vars: list[Var | None] = []
    for g in grads:
        if g is None:
            grad_vars.append(None)
        elif type(g) is TracedArray:
            grad_vars.append(g._v)
        else:
            return "a gradient the trace did not follow"
    seed_vars = [s._v for s in seeds]
    trace.seeds = seed_vars
    trace.grads = grad_vars
    trace.boundary = boundary
    return None


class CompiledFunction(Function):
    """The one graph node of a replayed forward: its rule is the generated backward function.

    Named as in PyTorch, whose compiled modules' outputs show ``CompiledFunctionBackward``."""

    @staticmethod
    def forward(ctx: Any, outputs: tuple[Tensor, ...], *boundary: Any) -> Any:
        return outputs[0] if len(outputs) == 1 else outputs

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        d = ctx.__dict__
        if state.create_graph:
            raise RuntimeError(
                f"the backward of the compiled function {d.get('_title')} cannot be "
                "differentiated again (create_graph=True): it is generated NumPy code. Call the "
                "function uncompiled (glassgrad.compile(fn, disable=True)) for higher derivatives"
            )
        saved = ctx._saved
        if saved is None or "_backward" not in d:
            raise RuntimeError(
                "Trying to backward through CompiledFunctionBackward (a compiled function's "
                "outputs) a second time: what its forward saved was freed after the first "
                "backward. Pass retain_graph=True to the first backward() if you need to."
            )
        for t, version in d["_versions"]:
            if t._vc[0] != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: a tensor of shape {tuple(t.shape)} that the compiled "
                    f"function {d['_title']} saved is at version {t._vc[0]}; expected version "
                    f"{version} instead."
                )
        seeds = [np.asarray(g._data) for g in grad_outputs]
        arrays = list(saved)  # the generated backward empties it: each array goes after its
        if not state.retain_graph:  # last use, as eager frees each node's (W5: 81 -> 65 MiB)
            ctx._saved = saved = None
        grads = d["_backward"](arrays, seeds)
        return (None, *grads)


def replay(program: Any, leaves: list[Any], name: str) -> Any:
    """Run a split program's forward and join its outputs to the boundary by one node."""
    result, outputs, saved, holders, boundary = program.run(leaves)
    out = CompiledFunction.apply(outputs, *boundary)
    ctx = out.grad_fn if isinstance(out, Tensor) else out[0].grad_fn.owner
    d = ctx.__dict__
    d["_backward"] = program.backward
    d["_versions"] = [(t, t._vc[0]) for t in holders]
    d["_title"] = name
    ctx._saved = saved
    return result
