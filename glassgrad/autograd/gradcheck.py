"""Numerical gradient checks: compare autograd with central differences in float64.

For an input ``x`` and the function's outputs ``y``, the Jacobian ``J = ∂y/∂x`` is built twice:

* analytically, one backward pass per output element (a row ``e_rᵀ J``), and
* numerically, one pair of forward passes per input element (a column
  ``(y(x + h e_j) - y(x - h e_j)) / 2h``),

and every entry must satisfy ``|analytical - numerical| <= atol + rtol * |numerical|``. On failure
the error names the input, the worst entry (which output element, which input element) and both
values side by side.

Large inputs or outputs (more than 256 elements; or ``fast_mode=True``) are checked along random
projections instead: for a random cotangent ``v`` and direction ``u``, the analytical ``vᵀ J u``
(from one backward pass) must match ``(vᵀ y(x + h u) - vᵀ y(x - h u)) / 2h``.

``gradgradcheck`` checks second derivatives by running the same check on the map
``(inputs, v) -> vᵀ J`` computed with ``create_graph=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassgrad.autograd.grad_mode import enable_grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]

_FULL_JACOBIAN_LIMIT = 256  # elements (per input, and over all outputs) for the full Jacobian
_DIRECTIONS = 4  # random directions per input in projection mode


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical gradients disagree."""


def _tensor_cls() -> Any:
    from glassgrad.tensor import Tensor

    return Tensor


def _outputs(fn: Callable[..., Any], inputs: Sequence[Any]) -> list[Any]:
    """The floating-point Tensors ``fn`` returns (a Tensor, or a tuple/list of them)."""
    Tensor = _tensor_cls()
    with enable_grad():  # fn may itself differentiate (gradgradcheck), so keep recording on
        out = fn(*inputs)
    outs = [out] if isinstance(out, Tensor) else list(out)
    return [o for o in outs if isinstance(o, Tensor) and o._data.dtype.kind == "f"]


def _flat(fn: Callable[..., Any], inputs: Sequence[Any]) -> np.ndarray:
    """All float outputs of ``fn``, concatenated into one float64 vector."""
    outs = _outputs(fn, inputs)
    if not outs:
        return np.zeros(0)
    return np.concatenate([np.asarray(o._data, np.float64).reshape(-1) for o in outs])


class _Labels:
    """How a report names things: the check, its inputs and its outputs."""

    def __init__(self, what: str, inputs: list[str], outputs: list[str] | None = None) -> None:
        self.what, self.inputs, self.outputs = what, inputs, outputs

    def output(self, k: int, n: int) -> str:
        if self.outputs is not None:
            return self.outputs[k]
        return "output" if n == 1 else f"output {k}"


def _index(shape: tuple[int, ...], flat: int) -> str:
    return (
        "[" + ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]" if shape else ""
    )


def _analytical_vjp(fn: Callable, inputs: tuple, diff: list[int], outs: list, vs: list) -> list:
    """``vᵀ J`` for each differentiable input: one backward pass (zeros where unused)."""
    from glassgrad.autograd import grad

    Tensor = _tensor_cls()
    pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not pairs:
        return [np.zeros(inputs[i].shape) for i in diff]
    with enable_grad():
        got = grad(
            [o for o, _ in pairs],
            [inputs[i] for i in diff],
            grad_outputs=[Tensor._make(np.asarray(v, o.dtype).reshape(o.shape)) for o, v in pairs],
            retain_graph=True,
            allow_unused=True,
        )
    return [
        np.zeros(inputs[i].shape) if g is None else np.asarray(g._data, np.float64)
        for i, g in zip(diff, got)
    ]


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _check(
    fn: Callable[..., Any],
    inputs: tuple[Any, ...],
    eps: float,
    atol: float,
    rtol: float,
    raise_exception: bool,
    seed: int,
    nondet_tol: float,
    fast_mode: bool,
    labels: _Labels,
) -> bool:
    Tensor = _tensor_cls()
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError(f"{labels.what}: no input requires grad; nothing to check")
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise GradcheckError(
                f"{labels.what}: {labels.inputs[i]} has dtype {inputs[i].dtype}; gradient checks "
                "need float64 inputs (float32 differences are too coarse to mean anything). "
                "Convert with .double() first."
            )
    outs = _outputs(fn, inputs)
    if not outs:
        raise GradcheckError(f"{labels.what}: fn returned no floating-point tensor")
    rng = np.random.default_rng(seed)
    sizes = [o._data.size for o in outs]
    n_out = sum(sizes)
    v = rng.standard_normal(n_out)
    vs = np.split(v, np.cumsum(sizes)[:-1])

    # Reentrancy: the same backward twice must give the same answer (it catches rules that write
    # into g or into saved arrays, and rules that depend on hidden state).
    analytic = _analytical_vjp(fn, inputs, diff, outs, vs)
    again = _analytical_vjp(fn, inputs, diff, outs, vs)
    for i, a, b in zip(diff, analytic, again):
        if not np.allclose(a, b, rtol=0, atol=nondet_tol, equal_nan=True):
            return _fail(
                f"{labels.what}: backward is not reentrant for {labels.inputs[i]}: two backward "
                f"passes through the same graph differ by up to {float(np.max(np.abs(a - b)))!r} "
                f"(nondet_tol={nondet_tol}). Does a rule modify g or a saved array in place?",
                raise_exception,
            )

    full = not fast_mode and n_out <= _FULL_JACOBIAN_LIMIT
    rows = _analytical_rows(fn, inputs, diff, outs) if full else []
    for k, i in enumerate(diff):
        x = inputs[i]
        if x._data.size > _FULL_JACOBIAN_LIMIT or fast_mode:
            problem = _check_directions(fn, inputs, i, analytic[k], v, eps, atol, rtol, rng, labels)
        elif full:
            problem = _check_jacobian(fn, inputs, i, rows[k], outs, eps, atol, rtol, labels)
        else:
            problem = _check_projected(fn, inputs, i, analytic[k], v, eps, atol, rtol, labels)
        if problem is not None:
            return _fail(problem, raise_exception)
    return True


def _analytical_rows(fn: Callable, inputs: tuple, diff: list[int], outs: list) -> list[np.ndarray]:
    """The full analytical Jacobian of each differentiable input, ``(n_out, x.size)``."""
    n_out = sum(o._data.size for o in outs)
    jac = [np.zeros((n_out, inputs[i]._data.size)) for i in diff]
    for r in range(n_out):
        e = np.zeros(n_out)
        e[r] = 1.0
        parts = np.split(e, np.cumsum([o._data.size for o in outs])[:-1])
        for J, g in zip(jac, _analytical_vjp(fn, inputs, diff, outs, parts)):
            J[r] = g.reshape(-1)
    return jac


def _numerical_column(fn: Callable, inputs: tuple, x: Any, j: int, eps: float) -> np.ndarray:
    idx = np.unravel_index(j, x.shape)  # perturb the input in place (works for any strides)
    old = x._data[idx]
    try:
        x._data[idx] = old + eps
        plus = _flat(fn, inputs)
        x._data[idx] = old - eps
        minus = _flat(fn, inputs)
    finally:
        x._data[idx] = old
    return (plus - minus) / (2 * eps)


def _mismatch(a: np.ndarray, n: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    return (np.abs(a - n) > atol + rtol * np.abs(n)) | (np.isfinite(a) != np.isfinite(n))


def _check_jacobian(
    fn: Callable,
    inputs: tuple,
    i: int,
    analytical: np.ndarray,
    outs: list,
    eps: float,
    atol: float,
    rtol: float,
    labels: _Labels,
) -> str | None:
    x = inputs[i]
    numerical = np.zeros_like(analytical)
    for j in range(x._data.size):
        numerical[:, j] = _numerical_column(fn, inputs, x, j, eps)
    bad = _mismatch(analytical, numerical, atol, rtol)
    if not np.any(bad):
        return None
    err = np.where(bad, np.abs(analytical - numerical), -1.0)
    err = np.where(np.isnan(err), np.inf, err)
    r, j = (int(n) for n in np.unravel_index(int(np.argmax(err)), err.shape))
    # which output does row r belong to, and where in it?
    ends = np.cumsum([o._data.size for o in outs])
    k = int(np.searchsorted(ends, r, side="right"))
    r_in = r - int(ends[k - 1] if k else 0)
    out_name = labels.output(k, len(outs)) + _index(tuple(outs[k].shape), r_in)
    in_name = labels.inputs[i] + _index(tuple(x.shape), j)
    msg = (
        f"{labels.what}: Jacobian mismatch for {labels.inputs[i]} (shape {tuple(x.shape)}): "
        f"{int(bad.sum())} of {bad.size} entries outside atol={atol}, rtol={rtol}; the worst is "
        f"d {out_name} / d {in_name}:\n"
        f"  analytical {float(analytical[r, j])!r}\n"
        f"  numerical  {float(numerical[r, j])!r}"
    )
    if analytical.size <= 64:
        msg += f"\nanalytical Jacobian:\n{analytical}\nnumerical Jacobian:\n{numerical}"
    return msg


def _check_projected(
    fn: Callable,
    inputs: tuple,
    i: int,
    analytical: np.ndarray,
    v: np.ndarray,
    eps: float,
    atol: float,
    rtol: float,
    labels: _Labels,
) -> str | None:
    """Many outputs: compare ``vᵀ J`` for one random cotangent ``v``, entry by entry."""
    x = inputs[i]
    a = analytical.reshape(-1)
    numerical = np.array([v @ _numerical_column(fn, inputs, x, j, eps) for j in range(a.size)])
    bad = _mismatch(a, numerical, atol, rtol)
    if not np.any(bad):
        return None
    err = np.where(bad, np.abs(a - numerical), -1.0)
    j = int(np.argmax(np.where(np.isnan(err), np.inf, err)))
    return (
        f"{labels.what}: gradient mismatch for {labels.inputs[i]} (shape {tuple(x.shape)}) "
        f"along a random output cotangent v: {int(bad.sum())} of {a.size} elements outside "
        f"atol={atol}, rtol={rtol}; the worst is (vᵀJ) at "
        f"{labels.inputs[i]}{_index(tuple(x.shape), j)}:\n"
        f"  analytical {float(a[j])!r}\n"
        f"  numerical  {float(numerical[j])!r}"
    )


def _check_directions(
    fn: Callable,
    inputs: tuple,
    i: int,
    analytical: np.ndarray,
    v: np.ndarray,
    eps: float,
    atol: float,
    rtol: float,
    rng: np.random.Generator,
    labels: _Labels,
) -> str | None:
    """Large input: compare ``vᵀ J u`` along a few random directions ``u``."""
    x = inputs[i]
    old = x._data.copy()
    try:
        for trial in range(_DIRECTIONS):
            u = rng.standard_normal(x.shape)
            a = float(np.sum(analytical * u))
            x._data[...] = old + eps * u
            plus = v @ _flat(fn, inputs)
            x._data[...] = old - eps * u
            minus = v @ _flat(fn, inputs)
            x._data[...] = old
            n = float((plus - minus) / (2 * eps))
            # a sum of size-many terms: its rounding error grows like sqrt(size)
            if not abs(a - n) <= atol * np.sqrt(x._data.size) + rtol * abs(n):
                return (
                    f"{labels.what}: directional derivative mismatch for {labels.inputs[i]} "
                    f"(shape {tuple(x.shape)}) along random direction u #{trial}, random "
                    "cotangent v (vᵀ J u):\n"
                    f"  analytical {a!r}\n"
                    f"  numerical  {n!r}"
                )
    finally:
        x._data[...] = old
    return None


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
    nondet_tol: float = 0.0,
    fast_mode: bool = False,
    *,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    masked: bool | None = None,
) -> bool:
    """Check ``fn``'s gradients for every input that requires grad (inputs must be float64).

    Returns True, or on a mismatch raises ``GradcheckError`` naming the input, the worst
    Jacobian entry and both values (returns False instead with ``raise_exception=False``).

    ``check_backward_ad`` checks reverse mode (the default), ``check_forward_ad`` forward mode
    (the Jacobian's columns from dual tensors, ``glassgrad.autograd.forward_ad``). The batched and
    undefined-gradient checks of PyTorch have no separate code path here to check (batched
    gradients are the plain backward run per sample), so those switches are accepted.

    >>> import glassgrad as gg
    >>> x = gg.tensor([0.5, -1.0], dtype=gg.float64, requires_grad=True)
    >>> gg.autograd.gradcheck(lambda t: (t * t.sin()).sum(), (x,))
    True
    """
    Tensor = _tensor_cls()
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    labels = _Labels("gradcheck", [f"input {i}" for i in range(len(inputs))])
    del check_undefined_grad, check_grad_dtypes, check_batched_grad, check_batched_forward_grad
    del masked
    if not (check_backward_ad or check_forward_ad):
        raise ValueError(
            "gradcheck: check_backward_ad and check_forward_ad are both False: nothing to check"
        )
    if check_backward_ad and not _check(
        fn, inputs, eps, atol, rtol, raise_exception, seed, nondet_tol, fast_mode, labels
    ):
        return False
    if check_forward_ad:
        problem = _check_forward(fn, inputs, eps, atol, rtol, seed, fast_mode, labels)
        if problem is not None:
            return _fail(problem, raise_exception)
    return True


def _check_forward(
    fn: Callable[..., Any],
    inputs: tuple[Any, ...],
    eps: float,
    atol: float,
    rtol: float,
    seed: int,
    fast_mode: bool,
    labels: _Labels,
) -> str | None:
    """Forward mode: each column ``J e_j`` (or ``J u`` for random directions ``u`` of a large
    input) from dual tensors, against central differences."""
    from glassgrad.autograd import forward_ad

    Tensor = _tensor_cls()
    rng = np.random.default_rng(seed + 2)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for i in diff:
        x = inputs[i]
        many = fast_mode or x._data.size > _FULL_JACOBIAN_LIMIT
        count = _DIRECTIONS if many else x._data.size
        for j in range(count):
            if many:
                u = rng.standard_normal(x.shape)
            else:
                u = np.zeros(x._data.size)
                u[j] = 1.0
                u = u.reshape(x.shape)
            with forward_ad.dual_level():
                args = list(inputs)
                args[i] = forward_ad.make_dual(x, Tensor._make(u))
                outs = _outputs(fn, args)
                cols = []
                for o in outs:
                    t = forward_ad.unpack_dual(o).tangent
                    cols.append(
                        np.zeros(o._data.size) if t is None else np.asarray(t._data).reshape(-1)
                    )
            got = np.concatenate(cols) if cols else np.zeros(0)
            old = x._data.copy()
            try:
                x._data[...] = old + eps * u
                plus = _flat(fn, inputs)
                x._data[...] = old - eps * u
                minus = _flat(fn, inputs)
            finally:
                x._data[...] = old
            numerical = (plus - minus) / (2 * eps)
            bad = _mismatch(got, numerical, atol, rtol)
            if np.any(bad):
                r = int(np.argmax(np.where(bad, np.abs(got - numerical), -1.0)))
                where = "a random direction u" if many else f"{labels.inputs[i]} element {j}"
                return (
                    f"{labels.what}: forward-mode (jvp) mismatch for {labels.inputs[i]} (shape "
                    f"{tuple(x.shape)}) along {where}: output element {r}:\n"
                    f"  analytical {float(got[r])!r}\n"
                    f"  numerical  {float(numerical[r])!r}"
                )
    return None


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
    nondet_tol: float = 0.0,
    fast_mode: bool = False,
) -> bool:
    """Check second derivatives: gradcheck the map ``(inputs, v) -> vᵀ J`` (with create_graph).

    ``v`` (``grad_outputs``) is random unless given; it is checked as an input too, since the
    backward pass must be differentiable in the incoming gradient as well.

    >>> import glassgrad as gg
    >>> x = gg.tensor([0.5, -1.0], dtype=gg.float64, requires_grad=True)
    >>> gg.autograd.gradgradcheck(lambda t: t.sin() * t, (x,))
    True
    """
    from glassgrad.autograd import grad

    Tensor = _tensor_cls()
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        vs = [Tensor(rng.standard_normal(o.shape), dtype=np.float64) for o in outs]
    else:
        gos = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
        vs = [
            Tensor(np.asarray(v._data if isinstance(v, Tensor) else v), dtype=np.float64)
            for v in gos
        ]
    for v in vs:
        v.requires_grad_(True)
    n = len(inputs)

    def first_derivative(*args: Any) -> tuple[Any, ...]:
        xs, w = args[:n], args[n:]
        outs = _outputs(fn, xs)
        pairs = [(o, c) for o, c in zip(outs, w) if o.requires_grad]
        zeros = tuple(Tensor._make(np.zeros(xs[i].shape)) for i in diff)
        if not pairs:
            return zeros
        with enable_grad():
            got = grad(
                [o for o, _ in pairs],
                [xs[i] for i in diff],
                grad_outputs=[c for _, c in pairs],
                create_graph=True,
                allow_unused=True,
            )
        return tuple(z if g is None else g for g, z in zip(got, zeros))

    labels = _Labels(
        "gradgradcheck",
        [f"input {i}" for i in range(n)] + [f"grad_outputs {k}" for k in range(len(vs))],
        [f"(vᵀ dy/d input {i})" for i in diff],
    )
    return _check(
        first_derivative,
        (*inputs, *vs),
        eps,
        atol,
        rtol,
        raise_exception,
        seed,
        nondet_tol,
        fast_mode,
        labels,
    )
