"""Function transforms, as ``torch.func``: ``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``,
``hessian`` (with ``grad_and_value`` and JAX's ``value_and_grad``); ``jacobian`` and ``hvp`` from
``glassgrad.autograd.functional`` are re-exported here too.

Each transform takes a function of Tensors and returns a function built from the reverse-mode
engine alone (see ``glassgrad.autograd.functional`` for how): ``grad`` and ``vjp`` are one backward
pass; ``jvp`` (forward mode) is a vjp differentiated once more; ``jacrev`` takes one vjp per output
element, ``jacfwd`` one jvp per input element; ``hessian`` is the Jacobian of the gradient.

The inputs being differentiated are fresh graph nodes private to each call, so transforms nest
(``grad(grad(f))``, a Hessian of an MLP loss) and an inner derivative never mixes up its variable
with an outer one bound to the same tensor. Results stay differentiable exactly when the function
reaches a tensor from outside that requires grad; otherwise they come back detached, as
``torch.func`` returns them. Arguments and outputs may be pytrees: Tensors nested in tuples, lists
and dicts (e.g. a dict of parameters).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad.autograd.functional import (
    Transform,
    hvp,
    jac_fwd,
    jac_rev,
    jacobian,
    linearize,
    vjp_of,
)
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
    tr: Transform, func: Callable[..., Any], args: tuple, kwargs: dict, nums: tuple, what: str
) -> tuple[Any, list[list[Tensor]], list[Any]]:
    """Call ``func`` with the arguments at ``nums`` replaced by tracked copies."""
    call = list(args)
    leaves, specs = [], []
    for i in nums:
        ls, spec = _flatten(call[i])
        ls = [tr.track(x, what) for x in ls]
        call[i] = _unflatten(spec, ls)
        leaves.append(ls)
        specs.append(spec)
    return func(*call, **kwargs), leaves, specs


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
        with Transform() as tr:
            out, leaves, specs = _call_tracked(tr, func, args, kwargs, nums, what)
            value, aux = _split_aux(out, has_aux, what)
            if not isinstance(value, Tensor) or value.ndim != 0:
                got = f"tensor with {value.ndim} dims" if isinstance(value, Tensor) else value
                raise RuntimeError(
                    f"{what}: Expected f(*args) to return a scalar Tensor, got {got}. Maybe you "
                    "wanted to use the vjp or jacrev APIs instead?"
                )
            keep = tr.reaches_outside([value, *_flatten(aux)[0]])
            flat = [x for ls in leaves for x in ls]
            g = vjp_of([value], flat, [Tensor._make(np.ones((), value.dtype))], keep)
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
    with Transform() as tr:
        out, leaves, specs = _call_tracked(tr, func, primals, {}, tuple(range(len(primals))), what)
        out, aux = _split_aux(out, has_aux, what)
        keep = tr.reaches_outside(_flatten((out, aux))[0])
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
        with Transform() as tr2:
            g = vjp_of(outs, flat, cts, keep or (ct_grad and tr2.outer_grad))
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
    with Transform() as tr:
        out, leaves, _ = _call_tracked(
            tr, func, tuple(primals), {}, tuple(range(len(primals))), what
        )
        out, aux = _split_aux(out, has_aux, what)
        outs, out_spec = _flatten(out)
        keep = tr.reaches_outside(_flatten((out, aux))[0]) or (
            tr.outer_grad and any(t.requires_grad for t in ts)
        )
        us, gs = linearize(outs, [x for ls in leaves for x in ls], custom_jvp=not keep)
        jv = vjp_of(gs, us, ts, keep)  # J v: the derivative of <Jᵀ u, v> with respect to u
    if not keep:
        out, aux, jv = _detach_tree(out), _detach_tree(aux), [t.detach() for t in jv]
    result = (out, _unflatten(out_spec, jv))
    return (*result, aux) if has_aux else result


# ---- Jacobians and Hessians ----------------------------------------------------------------------


def _jac_transform(
    func: Callable[..., Any], argnums: Any, has_aux: bool, forward: bool, what: str
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, single = _argnums(argnums, len(args), what)
        with Transform() as tr:
            out, leaves, specs = _call_tracked(tr, func, args, kwargs, nums, what)
            out, aux = _split_aux(out, has_aux, what)
            outs, out_spec = _flatten(out)
            for o in outs:
                if not isinstance(o, Tensor):
                    raise RuntimeError(f"{what}: f must return Tensors, got {type(o).__name__}")
            keep = tr.reaches_outside(_flatten((out, aux))[0])
            flat = [x for ls in leaves for x in ls]
            jac = (jac_fwd if forward else jac_rev)(outs, flat, keep)
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
