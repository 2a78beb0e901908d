"""Function transforms, as in ``torch.func``: ``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``,
``hessian``; plus ``jacobian`` and ``hvp`` as in ``torch.autograd.functional``.

Each transform takes a function of Tensors and returns a function (or a result) built from the
reverse-mode engine alone:

* ``grad`` / ``vjp``: one backward pass, ``vᵀ J``.
* ``jvp`` (forward mode, ``J v``) by the double-vjp trick: ``g(u) = Jᵀ u`` is linear in a dummy
  cotangent ``u``, so differentiating ``<g(u), v>`` with respect to ``u`` gives ``J v``.
* ``jacrev``: one vjp per output element (a row of J); ``jacfwd``: one jvp per input element (a
  column). ``hessian`` is the Jacobian of the gradient.

The inputs being differentiated are fresh graph nodes private to each call (a detached copy, or an
identity node on an input that already requires grad), so transforms nest: ``grad(grad(f))``, and a
function that differentiates with respect to one argument while closing over another tensor that
an outer transform differentiates. Results stay differentiable (computed with ``create_graph``)
exactly when the function's graph reaches a tensor from outside that requires grad; otherwise they
come back detached, as ``torch.func`` returns them.

Arguments and outputs may be pytrees: Tensors nested in tuples, lists and dicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad.autograd import grad as _autograd_grad
from glassgrad.autograd.engine import Function, state
from glassgrad.tensor import Tensor

__all__ = [
    "grad",
    "grad_and_value",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "value_and_grad",
    "vjp",
]

# ---- pytrees: Tensors nested in tuples, lists and dicts ------------------------------------------


def _flatten(tree: Any) -> tuple[list[Any], Any]:
    """The leaves of ``tree`` in order, and a spec to rebuild it (None marks a leaf)."""
    if isinstance(tree, (tuple, list)):
        leaves: list[Any] = []
        specs = []
        for x in tree:
            sub, spec = _flatten(x)
            leaves += sub
            specs.append((spec, len(sub)))
        return leaves, (type(tree), specs)
    if isinstance(tree, dict):
        leaves, spec = _flatten(list(tree.values()))
        return leaves, (dict, list(tree.keys()), spec)
    return [tree], None


def _unflatten(spec: Any, leaves: list[Any]) -> Any:
    if spec is None:
        return leaves[0]
    if spec[0] is dict:
        return dict(zip(spec[1], _unflatten(spec[2], leaves)))
    kind, specs = spec
    out = []
    k = 0
    for sub, n in specs:
        out.append(_unflatten(sub, leaves[k : k + n]))
        k += n
    return kind(out) if kind in (tuple, list) else kind(*out)  # namedtuples take positionals


def _describe(spec: Any) -> str:
    if spec is None:
        return "*"
    if spec[0] is dict:
        return "{" + ", ".join(f"{k!r}: ..." for k in spec[1]) + "}"
    return "(" + ", ".join(_describe(s) for s, _ in spec[1]) + ")"


# ---- the pieces every transform shares -----------------------------------------------------------


class _Alias(Function):
    """Identity with its own graph node: a transform's private handle on a tensor that already
    requires grad, so gradients with respect to it count only the uses inside the transform."""

    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return x.view()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g


class _Stack(Function):
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


def _stack(ts: list[Tensor], axis: int, shape: tuple[int, ...], dtype: Any) -> Tensor:
    """Stack Jacobian rows/columns and give the result ``shape`` (zeros when there are none)."""
    if not ts:
        return Tensor._make(np.zeros(shape, dtype))
    return _Stack.apply(axis, *ts).reshape(shape)


class _Transform:
    """Runs a function with grad mode on, on private copies of the differentiated inputs.

    ``outer_grad`` is grad mode at entry: results only stay attached to a graph if it was on.
    """

    __slots__ = ("outer_grad", "own", "prev")

    def __init__(self) -> None:
        self.own: set[int] = set()

    def __enter__(self) -> _Transform:
        self.outer_grad = self.prev = state.grad_enabled
        state.grad_enabled = True
        return self

    def __exit__(self, *exc: Any) -> None:
        state.grad_enabled = self.prev

    def track(self, x: Any, what: str) -> Tensor:
        """A fresh node for ``x`` that requires grad and that only this call differentiates."""
        if not isinstance(x, Tensor):
            raise TypeError(
                f"{what}: expected the inputs to differentiate to be Tensors, got {x!r}"
            )
        if x.dtype.kind not in "fc":
            raise TypeError(
                f"{what}: only Tensors of floating point dtype can be differentiated; got an "
                f"input of dtype {x.dtype} and shape {tuple(x.shape)}"
            )
        if x.requires_grad and self.outer_grad:
            t = _Alias.apply(x)
        else:
            t = x.detach()
            t.requires_grad = True
            self.own.add(id(t))
        return t

    def track_tree(self, tree: Any, what: str) -> tuple[list[Tensor], Any]:
        leaves, spec = _flatten(tree)
        return [self.track(x, what) for x in leaves], spec

    def reaches_outside(self, *trees: Any) -> bool:
        """Does any tensor in ``trees`` depend on a tensor requiring grad from outside this call?

        If so, results must be built with ``create_graph`` so the outside can differentiate them.
        """
        if not self.outer_grad:
            return False
        stack: list[Any] = []
        for tree in trees:
            for t in _flatten(tree)[0]:
                if isinstance(t, Tensor) and t.requires_grad:
                    if t.grad_fn is None:
                        if id(t) not in self.own:
                            return True
                    else:
                        stack.append(t.grad_fn)
        seen = set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            for e in node.next:
                if e is None:
                    continue
                if isinstance(e, Tensor):
                    if id(e) not in self.own:
                        return True
                elif e not in seen:
                    stack.append(e)
        return False


def _vjp(outs: list[Any], ins: list[Tensor], cts: list[Any], keep: bool) -> list[Tensor]:
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


def _detach_tree(tree: Any) -> Any:
    leaves, spec = _flatten(tree)
    return _unflatten(spec, [x.detach() if isinstance(x, Tensor) else x for x in leaves])


def _argnums(argnums: Any, nargs: int, what: str) -> tuple[tuple[int, ...], bool]:
    """Normalise ``argnums`` to a tuple of non-negative ints; also say whether it was one int."""
    single = isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool)
    nums = (argnums,) if single else argnums
    if not isinstance(nums, tuple) or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in nums
    ):
        raise RuntimeError(f"{what}: argnums must be int or Tuple[int, ...], got: {argnums!r}")
    if not nums:
        raise RuntimeError(f"{what}: argnums must be non-empty")
    out = []
    for a in nums:
        if not -nargs <= a < nargs:
            raise RuntimeError(f"{what}: Got argnum={a}, but only {nargs} positional inputs")
        out.append(int(a) % nargs)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{what}: argnums elements must be unique, got {argnums}")
    return tuple(out), single


def _split_aux(out: Any, has_aux: bool, what: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(
            f"{what}: output of function f should be a tuple: (output, aux) if has_aux is True"
        )
    return out


def _call_tracked(
    tr: _Transform, func: Callable[..., Any], args: tuple, kwargs: dict, nums: tuple, what: str
) -> tuple[Any, list[list[Tensor]], list[Any]]:
    """Call ``func`` with the arguments at ``nums`` replaced by tracked copies."""
    args = list(args)
    leaves, specs = [], []
    for i in nums:
        ls, spec = tr.track_tree(args[i], what)
        args[i] = _unflatten(spec, ls)
        leaves.append(ls)
        specs.append(spec)
    return func(*args, **kwargs), leaves, specs


def _regroup(flat: list[Any], leaves: list[list[Any]], specs: list[Any], single: bool) -> Any:
    """One result per argnum (each with that argument's structure); bare if argnums was an int."""
    out, k = [], 0
    for ls, spec in zip(leaves, specs):
        out.append(_unflatten(spec, flat[k : k + len(ls)]))
        k += len(ls)
    return out[0] if single else tuple(out)


# ---- grad, vjp, jvp ------------------------------------------------------------------------------


def grad_and_value(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """Like ``grad``, returning ``(gradient, value)`` (``(gradient, (value, aux))`` with aux).

    >>> import glassgrad as gg
    >>> from glassgrad.func import grad_and_value
    >>> grad_and_value(lambda x: (x**3).sum())(gg.tensor([1.0, 2.0]))
    (tensor([ 3., 12.]), tensor(9.))
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        what = "grad_and_value(f)(*args)"
        nums, single = _argnums(argnums, len(args), what)
        with _Transform() as tr:
            out, leaves, specs = _call_tracked(tr, func, args, kwargs, nums, what)
            value, aux = _split_aux(out, has_aux, what)
            if not isinstance(value, Tensor) or value.ndim != 0:
                got = f"tensor with {value.ndim} dims" if isinstance(value, Tensor) else value
                raise RuntimeError(
                    f"{what}: Expected f(*args) to return a scalar Tensor, got {got}. Maybe you "
                    "wanted to use the vjp or jacrev APIs instead?"
                )
            keep = tr.reaches_outside(value, aux)
            flat = [x for ls in leaves for x in ls]
            g = _vjp([value], flat, [Tensor._make(np.ones((), value.dtype))], keep)
        result = _regroup(g, leaves, specs, single)
        if not keep:
            value, aux = value.detach(), _detach_tree(aux)
        return (result, (value, aux)) if has_aux else (result, value)

    return wrapper


def grad(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The gradient of a scalar-valued ``func`` with respect to the arguments at ``argnums``.

    >>> import glassgrad as gg
    >>> from glassgrad.func import grad
    >>> x = gg.tensor(2.0)
    >>> grad(grad(lambda t: t**3))(x)  # d²/dx² x³ = 6x
    tensor(12.)
    """
    inner = grad_and_value(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g  # value is (value, aux) with has_aux

    return wrapper


def value_and_grad(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """JAX's order: ``(value, gradient)`` (``((value, aux), gradient)`` with aux)."""
    inner = grad_and_value(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = inner(*args, **kwargs)
        return value, g

    return wrapper


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """``(func(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` gives ``vᵀ J`` for every primal.

    ``cotangents`` has the structure of the output; ``vjp_fn`` may be called many times.

    >>> import glassgrad as gg
    >>> from glassgrad.func import vjp
    >>> out, vjp_fn = vjp(lambda x: x * x, gg.tensor([1.0, 2.0]))
    >>> vjp_fn(gg.tensor([1.0, 10.0]))
    (tensor([ 2., 40.]),)
    """
    what = "vjp(f, *primals)"
    with _Transform() as tr:
        out, leaves, specs = _call_tracked(tr, func, primals, {}, tuple(range(len(primals))), what)
        out, aux = _split_aux(out, has_aux, what)
        keep = tr.reaches_outside(out, aux)
    outs, out_spec = _flatten(out)
    flat = [x for ls in leaves for x in ls]

    def vjp_fn(cotangents: Any) -> tuple[Any, ...]:
        cts, ct_spec = _flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "vjp_fn: Expected pytree structure of cotangents to be the same as pytree "
                f"structure of outputs to the function. cotangents: {_describe(ct_spec)}, "
                f"primal output: {_describe(out_spec)}"
            )
        for k, (o, c) in enumerate(zip(outs, cts)):
            if tuple(np.shape(c)) != tuple(o.shape):
                raise RuntimeError(
                    f"vjp_fn: cotangent {k} has shape {tuple(np.shape(c))}, but the output it "
                    f"belongs to has shape {tuple(o.shape)}"
                )
        ct_grad = any(isinstance(c, Tensor) and c.requires_grad for c in cts)
        with _Transform() as tr2:
            g = _vjp(outs, flat, cts, keep or (ct_grad and tr2.outer_grad))
        return tuple(_regroup(g, leaves, specs, False))

    if not keep:
        out, aux = _detach_tree(out), _detach_tree(aux)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def _check_tangents(primals: Any, tangents: Any, what: str) -> tuple[list, list]:
    if not isinstance(primals, (tuple, list)):
        raise RuntimeError(
            f"{what}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals)."
        )
    if not isinstance(tangents, (tuple, list)):
        raise RuntimeError(f"{what}: Expected tangents to be a tuple, like primals.")
    ps, pspec = _flatten(tuple(primals))
    ts, tspec = _flatten(tuple(tangents))
    if pspec != tspec:
        raise RuntimeError(
            f"{what}: Expected primals and tangents to have the same python structure; got "
            f"primals {_describe(pspec)} and tangents {_describe(tspec)}"
        )
    for k, (p, t) in enumerate(zip(ps, ts)):
        if not isinstance(t, Tensor) or tuple(t.shape) != tuple(p.shape):
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise RuntimeError(
                f"{what}: tangent {k} must be a Tensor of the primal's shape "
                f"{tuple(p.shape)}, got {shape}"
            )
    return ps, ts


def _linearize(outs: list[Any], flat: list[Tensor]) -> tuple[list[Tensor], list[Tensor], list]:
    """Dummy cotangents ``us`` and ``gs = Jᵀ us`` with its graph, for forward mode by double vjp."""
    us = []
    for o in outs:
        u = Tensor._make(np.zeros(o.shape, o.dtype))
        u.requires_grad = True
        us.append(u)
    gs = _vjp(outs, flat, us, keep=True)
    return us, gs, [g.requires_grad for g in gs]


def _jv(us: list[Tensor], gs: list[Tensor], vs: list[Any], keep: bool) -> list[Tensor]:
    """``J v`` for each output: the derivative of ``<Jᵀ u, v>`` with respect to ``u``."""
    return _vjp(gs, us, vs, keep)


def jvp(
    func: Callable[..., Any],
    primals: Any,
    tangents: Any,
    *,
    strict: bool = False,
    has_aux: bool = False,
) -> tuple[Any, ...]:
    """Forward mode: ``(func(*primals), J @ tangents)``, by differentiating a vjp once more.

    >>> import glassgrad as gg
    >>> from glassgrad.func import jvp
    >>> jvp(gg.sin, (gg.tensor(0.0),), (gg.tensor(2.0),))
    (tensor(0.), tensor(2.))
    """
    what = "jvp(f, primals, tangents)"
    _, ts = _check_tangents(primals, tangents, what)
    with _Transform() as tr:
        out, leaves, _ = _call_tracked(
            tr, func, tuple(primals), {}, tuple(range(len(primals))), what
        )
        out, aux = _split_aux(out, has_aux, what)
        outs, out_spec = _flatten(out)
        keep = tr.reaches_outside(out, aux) or (tr.outer_grad and any(t.requires_grad for t in ts))
        us, gs, _ = _linearize(outs, [x for ls in leaves for x in ls])
        jv = _jv(us, gs, ts, keep)
    if not keep:
        out, aux, jv = _detach_tree(out), _detach_tree(aux), [t.detach() for t in jv]
    result = (out, _unflatten(out_spec, jv))
    return (*result, aux) if has_aux else result


# ---- Jacobians and Hessians ----------------------------------------------------------------------


def _jac_rev(outs: list[Any], ins: list[Tensor], keep: bool) -> list[list[Tensor]]:
    """``J[o][i]`` of shape ``outs[o].shape + ins[i].shape``, one vjp per output element."""
    jac = []
    for o in outs:
        rows: list[list[Tensor]] = [[] for _ in ins]
        for k in range(o.numel()):
            e = np.zeros(o.numel(), o.dtype)
            e[k] = 1
            for i, g in enumerate(_vjp([o], ins, [Tensor._make(e.reshape(o.shape))], keep)):
                rows[i].append(g)
        jac.append(
            [
                _stack(r, 0, (*o.shape, *x.shape), np.result_type(o.dtype, x.dtype))
                for r, x in zip(rows, ins)
            ]
        )
    return jac


def _jac_fwd(outs: list[Any], ins: list[Tensor], keep: bool) -> list[list[Tensor]]:
    """``J[o][i]``, one jvp per input element (columns), sharing one linearization."""
    us, gs, live = _linearize(outs, ins)
    jac: list[list[Tensor]] = [[] for _ in outs]
    for x, g, lv in zip(ins, gs, live):
        cols: list[list[Tensor]] = [[] for _ in outs]
        for k in range(x.numel()):
            if lv:
                e = np.zeros(x.numel(), x.dtype)
                e[k] = 1
                col = _jv(us, [g], [Tensor._make(e.reshape(x.shape))], keep)
            else:  # the outputs do not depend on x
                col = [Tensor._make(np.zeros(o.shape, o.dtype)) for o in outs]
            for o, c in enumerate(col):
                cols[o].append(c)
        for o, (out, c) in enumerate(zip(outs, cols)):
            shape = (*out.shape, *x.shape)
            jac[o].append(_stack(c, out.ndim, shape, np.result_type(out.dtype, x.dtype)))
    return jac


def _jac_transform(
    func: Callable[..., Any], argnums: Any, has_aux: bool, forward: bool, what: str
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, single = _argnums(argnums, len(args), what)
        with _Transform() as tr:
            out, leaves, specs = _call_tracked(tr, func, args, kwargs, nums, what)
            out, aux = _split_aux(out, has_aux, what)
            outs, out_spec = _flatten(out)
            for o in outs:
                if not isinstance(o, Tensor):
                    raise RuntimeError(f"{what}: f must return Tensors, got {type(o).__name__}")
            keep = tr.reaches_outside(out, aux)
            flat = [x for ls in leaves for x in ls]
            jac = (_jac_fwd if forward else _jac_rev)(outs, flat, keep)
        if not keep:
            jac = [[j.detach() for j in row] for row in jac]
            aux = _detach_tree(aux)
        result = _unflatten(out_spec, [_regroup(row, leaves, specs, single) for row in jac])
        return (result, aux) if has_aux else result

    return wrapper


def jacrev(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False
) -> Callable[..., Any]:
    """The Jacobian by reverse mode, one row per output element; shape ``out.shape + in.shape``.

    >>> import glassgrad as gg
    >>> from glassgrad.func import jacrev
    >>> jacrev(lambda x: x**2)(gg.tensor([1.0, 3.0]))
    tensor([[2., 0.],
            [0., 6.]])
    """
    return _jac_transform(func, argnums, has_aux, False, "jacrev(f)(*args)")


def jacfwd(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The Jacobian by forward mode, one column (jvp) per input element; same result as jacrev.

    Cheaper than ``jacrev`` when there are fewer inputs than outputs (in a true forward-mode
    engine; here each jvp is two reverse passes, so it mainly shows the idea).
    """
    return _jac_transform(func, argnums, has_aux, True, "jacfwd(f)(*args)")


def hessian(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """The Hessian (Jacobian of the gradient); shape ``out.shape + in.shape + in.shape``.

    >>> import glassgrad as gg
    >>> from glassgrad.func import hessian
    >>> hessian(lambda x: (x[0] * x[1] ** 2))(gg.tensor([1.0, 2.0]))
    tensor([[0., 4.],
            [4., 2.]])
    """
    # NOTE: torch.func uses jacfwd(jacrev); reverse-over-reverse gives the same matrix and here
    # costs n + 1 backward passes instead of 2n + 2.
    return jacrev(jacrev(func, argnums), argnums)


# ---- torch.autograd.functional-style: explicit inputs, create_graph ------------------------------


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
    with _Transform() as tr:
        xs = [tr.track(x, "jacobian") if create_graph else _fresh(tr, x) for x in ins]
        out = func(*xs)
        outs, out_tuple = _as_tuple(out)
        for o in outs:
            if not isinstance(o, Tensor):
                raise TypeError(f"jacobian: func must return Tensors, got {type(o).__name__}")
        if strict:
            _check_strict(outs, xs, "jacobian")
        jac = (_jac_fwd if strategy == "forward-mode" else _jac_rev)(outs, xs, create_graph)
    if not create_graph:
        jac = [[j.detach() for j in row] for row in jac]
    rows = [tuple(row) if in_tuple else row[0] for row in jac]
    return tuple(rows) if out_tuple else rows[0]


def _fresh(tr: _Transform, x: Any) -> Tensor:
    """Without create_graph torch detaches every input, even one that requires grad."""
    return tr.track(x.detach() if isinstance(x, Tensor) else x, "jacobian")


def _check_strict(outs: list[Any], xs: list[Tensor], what: str) -> None:
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
    >>> from glassgrad.func import hvp
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
    with _Transform() as tr:
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
        gs = _vjp([out], xs, [Tensor._make(np.ones(out.shape, out.dtype))], keep=True)
        hv = _vjp(gs, xs, list(vs), create_graph)
    if not create_graph:
        out, hv = out.detach(), [h.detach() for h in hv]
    return out, (tuple(hv) if in_tuple else hv[0])
