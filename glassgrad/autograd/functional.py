"""Differentiating whole functions, as ``torch.autograd.functional``: ``jacobian`` and ``hvp``.

Also the machinery ``glassgrad.func`` builds its transforms from, all on the reverse-mode engine:

* ``vjp_of``: ``vᵀ J`` by one backward pass;
* ``linearize``: ``g(u) = Jᵀ u`` with its graph, for a dummy cotangent ``u``. ``g`` is linear in
  ``u``, so differentiating ``<g(u), v>`` with respect to ``u`` gives ``J v``: forward mode (a
  jvp) from two reverse passes, the "double-vjp trick";
* ``jac_rev`` builds a Jacobian row by row (one vjp per output element), ``jac_fwd`` column by
  column (one jvp per input element);
* ``Transform`` runs a function on private copies of its inputs, so transforms nest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassgrad.autograd import grad as _autograd_grad
from glassgrad.autograd.custom_function import jvp_mode
from glassgrad.autograd.grad_mode import grad_mode
from glassgrad.autograd.graph import walk
from glassgrad.autograd.node import Node
from glassgrad.autograd.state import state
from glassgrad.tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]

# ---- the pieces every transform shares -----------------------------------------------------------


class Alias(Node):
    """Identity with its own graph node: a transform's private handle on a tensor that already
    requires grad, so gradients with respect to it count only the uses inside the transform."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return x.view()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g


class Stack(Node):
    """``np.stack`` along ``axis``, differentiable (rows of a Jacobian under ``create_graph``)."""

    __slots__ = ("axis", "n")

    @staticmethod
    def forward(ctx: Any, axis: int, *arrays: Any) -> Any:
        ctx.axis, ctx.n = axis, len(arrays)
        return np.stack(arrays, axis)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        lead = (slice(None),) * ctx.axis
        return (None, *(g[(*lead, i)] for i in range(ctx.n)))


def stack_to(ts: list[Tensor], axis: int, shape: tuple[int, ...], dtype: Any) -> Tensor:
    """Stack Jacobian rows/columns and give the result ``shape`` (zeros when there are none)."""
    if not ts:
        return Tensor._make(np.zeros(shape, dtype))
    return Stack.apply(axis, *ts).reshape(shape)


class Transform:
    """Runs a function with grad mode on, on private copies of the differentiated inputs.

    ``outer_grad`` is grad mode at entry: results only stay attached to a graph if it was on.
    """

    __slots__ = ("mode", "outer_grad", "own")

    def __init__(self) -> None:
        self.own: set[int] = set()

    def __enter__(self) -> Transform:
        self.outer_grad = state.grad_enabled
        self.mode = grad_mode(True)
        self.mode.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.mode.__exit__(None, None, None)

    def track(self, x: Any, what: str) -> Tensor:
        """A fresh node for ``x`` that requires grad and that only this call differentiates."""
        if not isinstance(x, Tensor):
            raise TypeError(
                f"{what}: expected the inputs to differentiate to be Tensors, got {x!r}"
            )
        if x._data.dtype.kind not in "fc":
            raise TypeError(
                f"{what}: only Tensors of floating point dtype can be differentiated; got an "
                f"input of dtype {x.dtype} and shape {tuple(x.shape)}"
            )
        if x.requires_grad and self.outer_grad:
            t = Alias.apply(x)
        else:
            t = x.detach()
            t.requires_grad = True
            self.own.add(id(t))
        return t

    def reaches_outside(self, values: list[Any]) -> bool:
        """Does any tensor in ``values`` depend on a tensor requiring grad from outside this call?

        If so, results must be built with ``create_graph`` so the outside can differentiate them.
        (A walk over the forward graph only: cheap next to the backward passes that follow.)
        """
        if not self.outer_grad:
            return False
        starts = [t.grad_fn or t for t in values if isinstance(t, Tensor) and t.requires_grad]
        return any(
            isinstance(x, Tensor) and id(x) not in self.own for x in walk(starts, leaves=True)
        )


def vjp_of(
    outs: Sequence[Any], ins: Sequence[Tensor], cts: Sequence[Any], keep: bool
) -> list[Tensor]:
    """Σ_k ct_kᵀ ∂out_k/∂in for each input (zeros for inputs the outputs do not depend on)."""
    pairs = [(o, c) for o, c in zip(outs, cts) if isinstance(o, Tensor) and o.requires_grad]
    if not pairs:
        return [Tensor._make(np.zeros(t.shape, t.dtype)) for t in ins]
    return list(
        _autograd_grad(
            [o for o, _ in pairs],
            ins,
            grad_outputs=[c for _, c in pairs],
            retain_graph=True,  # never free nodes: the walk may reach graphs outside this call
            create_graph=keep,
            allow_unused=True,
            materialize_grads=True,
        )
    )


def linearize(
    outs: Sequence[Any], flat: Sequence[Tensor], custom_jvp: bool = False
) -> tuple[list[Tensor], list[Tensor]]:
    """Dummy cotangents ``us`` and ``gs = Jᵀ us`` with its graph, for forward mode by double vjp.

    With ``custom_jvp`` (only when nothing outside needs ``gs`` differentiated with respect to
    the primals), a custom ``Function`` that defines ``jvp`` records its part of ``Jᵀ u`` as a
    node whose derivative with respect to ``u`` is that ``jvp``: forward mode then runs the
    user's forward rule, as ``torch.func.jvp`` does, and its ``backward`` need not be
    differentiable.
    """
    us = []
    for o in outs:
        u = Tensor._make(np.zeros(o.shape, o.dtype))
        u.requires_grad = True
        us.append(u)
    prev = jvp_mode.on
    jvp_mode.on = custom_jvp
    try:
        return us, vjp_of(outs, flat, us, keep=True)
    finally:
        jvp_mode.on = prev


def jac_rev(outs: Sequence[Any], ins: Sequence[Tensor], keep: bool) -> list[list[Tensor]]:
    """``J[o][i]`` of shape ``outs[o].shape + ins[i].shape``, one vjp per output element."""
    jac = []
    for o in outs:
        rows: list[list[Tensor]] = [[] for _ in ins]
        for k in range(o.numel()):
            e = np.zeros(o.numel(), o.dtype)
            e[k] = 1
            for i, g in enumerate(vjp_of([o], ins, [Tensor._make(e.reshape(o.shape))], keep)):
                rows[i].append(g)
        jac.append(
            [
                stack_to(r, 0, (*o.shape, *x.shape), np.result_type(o.dtype, x.dtype))
                for r, x in zip(rows, ins)
            ]
        )
    return jac


def jac_fwd(outs: Sequence[Any], ins: Sequence[Tensor], keep: bool) -> list[list[Tensor]]:
    """``J[o][i]``, one jvp per input element (columns), sharing one linearization."""
    us, gs = linearize(outs, ins, custom_jvp=not keep)
    jac: list[list[Tensor]] = [[] for _ in outs]
    for x, g in zip(ins, gs):
        cols: list[list[Tensor]] = [[] for _ in outs]
        for k in range(x.numel()):
            if g.requires_grad:
                e = np.zeros(x.numel(), x.dtype)
                e[k] = 1
                # J e_k: the derivative of <Jᵀ u, e_k> with respect to u
                col = vjp_of([g], us, [Tensor._make(e.reshape(x.shape))], keep)
            else:  # the outputs do not depend on x
                col = [Tensor._make(np.zeros(o.shape, o.dtype)) for o in outs]
            for o, column in enumerate(col):
                cols[o].append(column)
        for o, (out, c) in enumerate(zip(outs, cols)):
            shape = (*out.shape, *x.shape)
            jac[o].append(stack_to(c, out.ndim, shape, np.result_type(out.dtype, x.dtype)))
    return jac


# ---- torch.autograd.functional: explicit inputs, create_graph ------------------------------------


def _as_tuple(x: Any) -> tuple[tuple[Any, ...], bool]:
    return (tuple(x), True) if isinstance(x, (tuple, list)) else ((x,), False)


def jacobian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The explicit Jacobian of ``func`` at ``inputs``, as ``torch.autograd.functional.jacobian``.

    One tensor for one input and one output; a tuple over inputs (or outputs) when that is a
    tuple; a tuple over outputs of tuples over inputs when both are. ``vectorize`` is accepted
    and ignored; ``strategy`` is ``"reverse-mode"`` (rows) or ``"forward-mode"`` (columns).
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(
            f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}"
        )
    ins, in_tuple = _as_tuple(inputs)
    with Transform() as tr:
        xs = [tr.track(x, "jacobian") if create_graph else _fresh(tr, x) for x in ins]
        out = func(*xs)
        outs, out_tuple = _as_tuple(out)
        for o in outs:
            if not isinstance(o, Tensor):
                raise TypeError(f"jacobian: func must return Tensors, got {type(o).__name__}")
        if strict:
            _check_strict(outs, xs, "jacobian")
        jac = (jac_fwd if strategy == "forward-mode" else jac_rev)(outs, xs, create_graph)
    if not create_graph:
        jac = [[j.detach() for j in row] for row in jac]
    rows = [tuple(row) if in_tuple else row[0] for row in jac]
    return tuple(rows) if out_tuple else rows[0]


def _fresh(tr: Transform, x: Any) -> Tensor:
    """Without create_graph torch detaches every input, even one that requires grad."""
    return tr.track(x.detach() if isinstance(x, Tensor) else x, "jacobian")


def _check_strict(outs: Sequence[Any], xs: Sequence[Tensor], what: str) -> None:
    for k, o in enumerate(outs):
        if not o.requires_grad:
            raise RuntimeError(
                f"{what}: output {k} of the user-provided function does not require gradients; "
                "with strict=True every output must depend on the inputs"
            )


def hvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Tensor, Any]:
    """``(func(inputs), H @ v)`` for a scalar ``func``, as ``torch.autograd.functional.hvp``.

    Two reverse passes (the gradient with its graph, then that graph's vjp with ``v``); the
    Hessian itself is never built.

    >>> import glassgrad as gg
    >>> from glassgrad.autograd.functional import hvp
    >>> hvp(lambda x: (x**3).sum(), gg.tensor([1.0, 2.0]), gg.tensor([1.0, 1.0]))
    (tensor(9.), tensor([ 6., 12.]))
    """
    ins, in_tuple = _as_tuple(inputs)
    if v is None:
        if not all(x.numel() == 1 for x in ins):
            raise RuntimeError(
                "hvp: the vector v can only be None if the input to the user-provided function "
                "is a single Tensor with a single element."
            )
        vs: tuple[Any, ...] = tuple(Tensor._make(np.ones(x.shape, x.dtype)) for x in ins)
    else:
        vs, _ = _as_tuple(v)
    if len(vs) != len(ins) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(vs, ins)):
        raise RuntimeError(
            "hvp: v has invalid size: should be "
            f"{[tuple(x.shape) for x in ins]} but got {[tuple(a.shape) for a in vs]}"
        )
    with Transform() as tr:
        xs = [tr.track(x, "hvp") if create_graph else _fresh(tr, x) for x in ins]
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            got = f"shape {tuple(out.shape)}" if isinstance(out, Tensor) else type(out).__name__
            raise RuntimeError(
                "hvp: The function given to hvp should return a single Tensor with a single "
                f"element, got {got}"
            )
        if strict:
            _check_strict([out], xs, "hvp")
        gs = vjp_of([out], xs, [Tensor._make(np.ones(out.shape, out.dtype))], keep=True)
        hv = vjp_of(gs, xs, list(vs), create_graph)
    if not create_graph:
        out, hv = out.detach(), [h.detach() for h in hv]
    return out, (tuple(hv) if in_tuple else hv[0])


def _check_v(vs: tuple[Any, ...], like: Sequence[Any], what: str, of: str) -> None:
    if len(vs) != len(like) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(vs, like)):
        raise RuntimeError(
            f"{what}: v has invalid size: should be {[tuple(x.shape) for x in like]} (the "
            f"{of}) but got {[tuple(np.shape(a)) for a in vs]}"
        )


def _default_v(xs: Sequence[Any], what: str, of: str) -> tuple[Any, ...]:
    if not all(x.numel() == 1 for x in xs):
        raise RuntimeError(
            f"{what}: the vector v can only be None if the {of} of the user-provided function "
            "is a single Tensor with a single element."
        )
    return tuple(Tensor._make(np.ones(x.shape, x.dtype)) for x in xs)


def vjp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), vᵀ J)``, as ``torch.autograd.functional.vjp`` (one backward pass)."""
    ins, in_tuple = _as_tuple(inputs)
    with Transform() as tr:
        xs = [tr.track(x, "vjp") if create_graph else _fresh(tr, x) for x in ins]
        out = func(*xs)
        outs, out_tuple = _as_tuple(out)
        vs = _default_v(outs, "vjp", "output") if v is None else _as_tuple(v)[0]
        _check_v(vs, outs, "vjp", "outputs")
        if strict:
            _check_strict(outs, xs, "vjp")
        res = vjp_of(outs, xs, list(vs), create_graph)
    if not create_graph:
        outs, res = tuple(o.detach() for o in outs), [r.detach() for r in res]
    return (tuple(outs) if out_tuple else outs[0]), (tuple(res) if in_tuple else res[0])


def jvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), J v)``, as ``torch.autograd.functional.jvp`` (the double-vjp trick)."""
    ins, _ = _as_tuple(inputs)
    vs = _default_v(ins, "jvp", "input") if v is None else _as_tuple(v)[0]
    _check_v(vs, ins, "jvp", "inputs")
    with Transform() as tr:
        xs = [tr.track(x, "jvp") if create_graph else _fresh(tr, x) for x in ins]
        out = func(*xs)
        outs, out_tuple = _as_tuple(out)
        if strict:
            _check_strict(outs, xs, "jvp")
        us, gs = linearize(outs, xs)
        res = vjp_of(gs, us, list(vs), create_graph)
    if not create_graph:
        outs, res = tuple(o.detach() for o in outs), [r.detach() for r in res]
    return (tuple(outs) if out_tuple else outs[0]), (tuple(res) if out_tuple else res[0])


def vhp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Tensor, Any]:
    """``(func(inputs), vᵀ H)`` for a scalar ``func``; H is symmetric, so this is ``hvp``."""
    return hvp(func, inputs, v, create_graph, strict)


def hessian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar ``func`` at ``inputs``, as ``torch.autograd.functional.hessian``:
    the Jacobian of the gradient (a tuple of tuples for a tuple of inputs)."""
    in_tuple = _as_tuple(inputs)[1]

    def grad_of(*xs: Any) -> Any:
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError(
                "hessian: The function given to hessian should return a single Tensor with a "
                "single element"
            )
        gs = vjp_of([out], list(xs), [Tensor._make(np.ones(out.shape, out.dtype))], keep=True)
        return tuple(gs) if in_tuple else gs[0]

    return jacobian(
        grad_of, inputs, create_graph, strict, vectorize, strategy=outer_jacobian_strategy
    )
