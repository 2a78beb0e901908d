"""Function transforms, as ``torch.func``: ``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``,
``hessian`` (with ``grad_and_value`` and JAX's ``value_and_grad``), ``vmap``,
``functional_call`` and ``stack_module_state``; ``jacobian`` and ``hvp`` from
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
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "stack_module_state",
    "value_and_grad",
    "vjp",
    "vmap",
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


# ---- vmap: a loop over the mapped dimension ------------------------------------------------------


def _name_of(func: Any) -> str:
    if hasattr(func, "__name__"):
        return str(func.__name__)
    if hasattr(func, "func"):  # functools.partial
        return f"functools.partial({_name_of(func.func)}, ...)"
    return repr(func)


def _broadcast_dims(dims: Any, tree: Any) -> list[Any] | None:
    """``dims`` (an int/None, or a tuple/list/dict prefix of ``tree``) spread over tree's leaves;
    None when the structures don't match."""
    if not isinstance(dims, (tuple, list, dict)):
        return [dims] * len(_flatten(tree)[0])
    if type(dims) is not type(tree) and not (
        isinstance(dims, tuple) and isinstance(tree, tuple)  # namedtuples match tuples
    ):
        return None
    if isinstance(dims, dict):
        if set(dims) != set(tree):
            return None
        pairs = [(dims[k], tree[k]) for k in tree]
    else:
        if len(dims) != len(tree):
            return None
        pairs = list(zip(dims, tree))
    out: list[Any] = []
    for d, t in pairs:
        sub = _broadcast_dims(d, t)
        if sub is None:
            return None
        out += sub
    return out


def _rng_state() -> tuple[Any, Any]:
    from glassgrad import creation

    g = creation._rng[0]
    return g, g.bit_generator.state


def vmap(
    func: Callable[..., Any],
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable[..., Any]:
    """Map ``func`` over dimension ``in_dims`` of its arguments, as ``torch.func.vmap``.

    The implementation is the simple, correct one: a Python loop that calls ``func`` on each
    slice (``x.select(in_dim, i)``) and stacks the results at ``out_dims``. Selecting and stacking
    are ordinary differentiable ops, so ``vmap`` composes with every transform in both orders:
    ``vmap(grad(f))`` gives per-sample gradients, ``jacrev(vmap(f))`` a batched Jacobian. It costs
    one call of ``func`` per sample (PyTorch's batching rules run one batched call instead), so
    ``chunk_size`` changes nothing here. ``in_dims`` is an int, None (not mapped) or a tuple with
    one entry per positional argument, itself nested to match a pytree argument; ``out_dims`` an
    int or a tuple matching the outputs. ``randomness``: 'error' (a random op inside ``func``
    raises), 'different' (each sample draws its own numbers) or 'same' (every sample sees the
    same draws).

    >>> import glassgrad as gg
    >>> from glassgrad.func import vmap
    >>> vmap(gg.dot)(gg.tensor([[1.0, 2.0], [3.0, 4.0]]), gg.tensor([[1.0, 1.0], [2.0, 0.0]]))
    tensor([3., 6.])
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    name = _name_of(func)

    def _check_out_dims() -> None:
        for d in _flatten(out_dims)[0]:
            if d is not None and (not isinstance(d, int) or isinstance(d, bool)):
                raise ValueError(
                    f"vmap({name}, ..., out_dims={out_dims}): `out_dims` must be an int, None or "
                    "a python collection of ints representing where in the outputs the vmapped "
                    "dimension should appear."
                )

    _check_out_dims()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
        if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
            raise ValueError(
                f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching "
                f"the structure of inputs, got: {type(in_dims)}."
            )
        if not args:
            raise ValueError(
                f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you "
                "are trying to vmap over a function with no inputs. The latter is unsupported."
            )
        flat, spec = _flatten(args)
        dims = _broadcast_dims(in_dims, args)
        if dims is None:
            raise ValueError(
                f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has "
                f"structure {_describe(_flatten(in_dims)[1])} but inputs has structure "
                f"{_describe(spec)}."
            )
        for k, (x, d) in enumerate(zip(flat, dims)):
            if d is None:
                continue
            if not isinstance(d, int) or isinstance(d, bool):
                raise ValueError(
                    f"{where}: Got in_dim={d} for an input but in_dim must be either an integer "
                    "dimension or None."
                )
            if not isinstance(x, Tensor):
                raise ValueError(
                    f"{where}: Got in_dim={d} for an input but the input is of type {type(x)}. "
                    "We cannot vmap over non-Tensor arguments, please use None as the "
                    "respective in_dim"
                )
            if not -x.ndim <= d < x.ndim:
                raise ValueError(
                    f"{where}: Got in_dim={d} for some input, but that input is a Tensor of "
                    f"dimensionality {x.ndim} so expected in_dim to satisfy "
                    f"-{x.ndim} <= in_dim < {x.ndim}."
                )
            dims[k] = d % x.ndim
        sizes = [x.shape[d] for x, d in zip(flat, dims) if d is not None]
        if not sizes:
            raise ValueError("vmap: Expected at least one Tensor to vmap over")
        if any(s != sizes[0] for s in sizes):
            raise ValueError(
                "vmap: Expected all tensors to have the same size in the mapped dimension, got "
                f"sizes {sizes} for the mapped dimension"
            )
        results = []
        gen, state = _rng_state()
        for i in range(sizes[0]):
            if randomness == "same":
                gen.bit_generator.state = state
            sliced = [x if d is None else x.select(d, i) for x, d in zip(flat, dims)]
            results.append(func(*_unflatten(spec, sliced), **kwargs))
            if randomness == "error":
                now, now_state = _rng_state()
                if now is not gen or now_state != state:
                    raise RuntimeError(
                        "vmap: called random operation while in randomness error mode. Please "
                        "either use the 'same' or 'different' randomness flags on vmap or perform "
                        "the randomness operation out of vmap"
                    )
        if not results:
            raise ValueError(f"vmap({name}, ...): cannot map over a dimension of size 0")
        return _stack_outputs(results, out_dims, name)

    wrapper.__name__ = f"vmap({name})"
    wrapper.__doc__ = func.__doc__
    return wrapper


def _stack_outputs(results: list[Any], out_dims: Any, name: str) -> Any:
    """Stack the per-sample outputs leaf by leaf at their out_dim (None: shared, not stacked)."""
    from glassgrad.ops.joining import stack

    _, spec = _flatten(results[0])
    if isinstance(results[0], Tensor):
        ok = (
            isinstance(out_dims, int)
            or out_dims is None
            or (isinstance(out_dims, tuple) and len(out_dims) == 1)
        )
        dims = list(_flatten(out_dims)[0]) if ok else None
    else:
        dims = _broadcast_dims(out_dims, results[0])
    if dims is None:
        raise ValueError(
            f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with "
            f"the structure of `outputs`. out_dims has structure {_describe(_flatten(out_dims)[1])}"
            f" but outputs has structure {_describe(spec)}."
        )
    columns = [_flatten(r)[0] for r in results]
    out = []
    for k, d in enumerate(dims):
        leaves = [c[k] for c in columns]
        if d is None:
            first = leaves[0]
            same = all(
                x is first
                or (isinstance(x, Tensor) and isinstance(first, Tensor) and x.equal(first))
                for x in leaves
            )
            if not same:
                raise ValueError(
                    f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is "
                    "None"
                )
            out.append(first)
            continue
        if not isinstance(leaves[0], Tensor):
            raise ValueError(
                f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                f"{type(leaves[0])}. Did you mean to set out_dims= to None for output?"
            )
        nd = leaves[0].ndim + 1
        if not -nd <= d < nd:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got "
                f"{d})"
            )
        out.append(stack(leaves, dim=d))
    return _unflatten(spec, out)


# ---- functional_call: a module run with other tensors as its parameters and buffers --------------


def _tensor_slots(module: Any) -> dict[str, Any]:
    """Every parameter and buffer name (tied ones repeated) with the tensor it holds."""
    out: dict[str, Any] = {}
    out.update(module.named_parameters(remove_duplicate=False))
    out.update(module.named_buffers(remove_duplicate=False))
    return out


def _untie(module: Any, given: dict[str, Any]) -> dict[str, Any]:
    """Extend ``given`` to every name tied to a given one (the same tensor under two names)."""
    names_of: dict[int, set[str]] = {}
    for n, t in _tensor_slots(module).items():
        names_of.setdefault(id(t), set()).add(n)
    tied = {n: ns for ns in names_of.values() if len(ns) > 1 for n in ns}
    out = dict(given)
    for n in [n for n in given if n in tied]:
        group = tied[n]
        values = {id(given[m]) for m in group if m in given}
        if len(values) > 1:
            raise ValueError(
                f"functional_call got multiple values for keys {sorted(group)}, which are tied. "
                "Consider using tie_weights=False"
            )
        for m in group:
            out[m] = given[n]
    return out


_MISSING = object()


def _swap(module: Any, name: str, value: Any) -> Any:
    """Put ``value`` at dotted ``name``; return what was there (_MISSING if nothing)."""
    *path, attr = name.split(".")
    owner = module.get_submodule(".".join(path)) if path else module
    for reg in (owner._parameters, owner._buffers):
        if attr in reg:
            old = reg[attr]
            if value is _MISSING:
                del reg[attr]
            else:
                reg[attr] = value  # bypasses the Parameter type check, as torch's swap does
            return old
    old = owner.__dict__.get(attr, _MISSING)
    if value is _MISSING:
        owner.__dict__.pop(attr, None)
    else:
        object.__setattr__(owner, attr, value)
    return old


def functional_call(
    module: Any,
    parameter_and_buffer_dicts: Any,
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Call ``module(*args, **kwargs)`` with the given tensors in place of its parameters and
    buffers (by dotted name), restoring the module's own afterwards, even if the call raises.

    Gradients flow to the passed tensors, which is what makes a module a function of its
    weights: ``grad(lambda p, x: functional_call(net, p, (x,)).sum())(params, x)``. Names not
    given keep the module's tensors; with ``tie_weights`` a tensor given for one of two tied names
    is used for both; ``strict=True`` requires exactly the module's names.

    >>> import glassgrad as gg
    >>> lin = gg.nn.Linear(2, 1)
    >>> p = {"weight": gg.tensor([[1.0, 2.0]]), "bias": gg.tensor([0.5])}
    >>> functional_call(lin, p, (gg.tensor([1.0, 1.0]),))
    tensor([3.5000])
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        given = dict(parameter_and_buffer_dicts)
    elif isinstance(parameter_and_buffer_dicts, (tuple, list)):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError(
                "Expected all elements of parameter_and_buffer_dicts to be dictionaries"
            )
        seen: dict[str, int] = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                seen[k] = seen.get(k, 0) + 1
        repeated = [k for k, n in seen.items() if n > 1]
        if repeated:
            raise ValueError(
                f"{repeated} appeared in multiple dictionaries; behavior of functional call is "
                "ambiguous"
            )
        given = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError(
            "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
            f"{type(parameter_and_buffer_dicts)}"
        )
    return _functional_call(module, given, args, kwargs, tie_weights=tie_weights, strict=strict)


def _functional_call(
    module: Any,
    given: dict[str, Any],
    args: Any,
    kwargs: dict[str, Any] | None,
    tie_weights: bool,
    strict: bool,
) -> Any:
    if tie_weights:
        given = _untie(module, given)
    if strict:
        names = set(_tensor_slots(module))
        unexpected = sorted(set(given) - names)
        missing = sorted(names - set(given))
        msgs = []
        if unexpected:
            msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if msgs:
            raise RuntimeError(
                f"Error(s) in reparametrizing for {module._get_name()}:\n\t" + "\n\t".join(msgs)
            )
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    originals: list[tuple[str, Any]] = []
    try:
        for n, t in given.items():
            originals.append((n, _swap(module, n, t)))
        return module(*args, **kwargs)
    finally:
        for n, old in reversed(originals):
            _swap(module, n, old)


def stack_module_state(models: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(params, buffers)`` of same-class modules, each stacked along a new first dimension
    (one slice per model), for running an ensemble as one ``vmap`` of ``functional_call``.

    Stacked parameters are new leaves (detached from the models) that require grad when every
    model's does; buffers are stacked as they are.

    >>> import glassgrad as gg
    >>> params, buffers = stack_module_state([gg.nn.Linear(3, 2) for _ in range(4)])
    >>> params["weight"].shape, params["weight"].is_leaf, buffers
    (torch.Size([4, 2, 3]), True, {})
    """
    from glassgrad.ops.joining import stack

    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) > 1:
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    if len({type(m) for m in models}) > 1:
        kinds = sorted({type(m).__name__ for m in models})
        raise RuntimeError(
            f"stack_module_state: Expected all models to be of the same class, got {kinds}."
        )

    def stacked(name: str, tensors: list[Any], trainable: bool) -> Any:
        needs = {t.requires_grad for t in tensors}
        if trainable and len(needs) > 1:
            raise RuntimeError(
                f"stack_module_state: Expected {name} from each model to have the same "
                ".requires_grad"
            )
        out = stack([t.detach() for t in tensors])
        return out.requires_grad_() if trainable and needs == {True} else out

    named = [dict(m.named_parameters()) for m in models]
    params = {k: stacked(k, [d[k] for d in named], True) for k in named[0]}
    named = [dict(m.named_buffers()) for m in models]
    buffers = {k: stacked(k, [d[k] for d in named], False) for k in named[0]}
    return params, buffers
