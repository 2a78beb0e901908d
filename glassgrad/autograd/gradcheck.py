"""Numerical gradient checks: compare autograd with central differences in float64.

Small inputs get the full Jacobian, one column per perturbed element. Large ones are checked along
random directions: for a random cotangent v and direction u, the analytical ``vᵀ J u`` (from one
backward pass) must match ``(vᵀ f(x + h u) - vᵀ f(x - h u)) / 2h``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassgrad.autograd.grad_mode import enable_grad

_FULL_JACOBIAN_LIMIT = 256  # elements per input up to which every element is perturbed


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical gradients disagree."""


def _tensor_cls() -> Any:
    from glassgrad.tensor import Tensor

    return Tensor


def _outputs(fn: Callable[..., Any], inputs: Sequence[Any]) -> list[Any]:
    out = fn(*inputs)
    Tensor = _tensor_cls()
    outs = [out] if isinstance(out, Tensor) else list(out)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _flat_value(fn: Callable[..., Any], inputs: Sequence[Any], vs: Sequence[np.ndarray]) -> float:
    """vᵀ f(inputs): the scalar whose gradient autograd and the differences both compute."""
    with enable_grad():  # fn may itself differentiate (gradgradcheck), so keep recording on
        outs = _outputs(fn, inputs)
    return float(sum(np.sum(o.data.astype(np.float64) * v) for o, v in zip(outs, vs)))


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
    nondet_tol: float = 0.0,
) -> bool:
    """Check ``fn``'s gradients for every input that requires grad (inputs must be float64).

    >>> import glassgrad as gg
    >>> x = gg.tensor([0.5, -1.0], dtype=gg.float64, requires_grad=True)
    >>> gg.autograd.gradcheck(lambda t: (t * t.sin()).sum(), (x,))
    True
    """
    from glassgrad.autograd import grad

    Tensor = _tensor_cls()
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise GradcheckError(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; gradcheck needs float64 "
                "inputs (float32 differences are too coarse to mean anything)"
            )
    rng = np.random.default_rng(seed)
    with enable_grad():
        outs = _outputs(fn, inputs)
    if not outs:
        raise GradcheckError("gradcheck: fn returned no floating-point tensor")
    vs = [rng.standard_normal(o.shape) for o in outs]
    if not any(o.requires_grad for o in outs):
        analytic = [np.zeros(inputs[i].shape) for i in diff]
    else:
        with enable_grad():
            outs = _outputs(fn, inputs)
            pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
            got = grad(
                [o for o, _ in pairs],
                [inputs[i] for i in diff],
                grad_outputs=[Tensor._make(v.astype(o.dtype)) for o, v in pairs],
                allow_unused=True,
            )
        analytic = [
            np.zeros(inputs[i].shape) if g is None else g.data.astype(np.float64)
            for i, g in zip(diff, got)
        ]

    for k, i in enumerate(diff):
        x = inputs[i]
        a = analytic[k]
        if x.data.size <= _FULL_JACOBIAN_LIMIT:
            numeric = np.zeros(x.shape)
            flat = x.data.reshape(-1)
            for j in range(flat.size):
                old = flat[j]
                flat[j] = old + eps
                plus = _flat_value(fn, inputs, vs)
                flat[j] = old - eps
                minus = _flat_value(fn, inputs, vs)
                flat[j] = old
                numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
            bad = np.abs(a - numeric) > atol + rtol * np.abs(numeric)
            if np.any(bad) or not np.all(np.isfinite(a) == np.isfinite(numeric)):
                worst = np.unravel_index(int(np.argmax(np.abs(a - numeric))), a.shape)
                msg = (
                    f"gradcheck: Jacobian mismatch for input {i} (shape {tuple(x.shape)}) at "
                    f"element {tuple(int(w) for w in worst)}: analytical {a[worst]!r} vs "
                    f"numerical {numeric[worst]!r} ({int(bad.sum())} of {a.size} elements "
                    f"outside atol={atol}, rtol={rtol})\nanalytical:\n{a}\nnumerical:\n{numeric}"
                )
                if raise_exception:
                    raise GradcheckError(msg)
                return False
        else:
            for trial in range(4):
                u = rng.standard_normal(x.shape)
                analytical = float(np.sum(a * u))
                old = x.data.copy()
                x.data[...] = old + eps * u
                plus = _flat_value(fn, inputs, vs)
                x.data[...] = old - eps * u
                minus = _flat_value(fn, inputs, vs)
                x.data[...] = old
                numerical = (plus - minus) / (2 * eps)
                scale = np.sqrt(x.data.size)
                if abs(analytical - numerical) > atol * scale + rtol * abs(numerical):
                    msg = (
                        f"gradcheck: directional derivative mismatch for input {i} (shape "
                        f"{tuple(x.shape)}, random direction {trial}): analytical "
                        f"{analytical!r} vs numerical {numerical!r}"
                    )
                    if raise_exception:
                        raise GradcheckError(msg)
                    return False
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck the map (inputs, v) -> vᵀ J built with create_graph."""
    from glassgrad.autograd import grad

    Tensor = _tensor_cls()
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    rng = np.random.default_rng(seed + 1)
    with enable_grad():
        outs = _outputs(fn, inputs)
    if grad_outputs is None:
        vs = [
            Tensor(rng.standard_normal(o.shape), dtype=np.float64, requires_grad=True) for o in outs
        ]
    else:
        gos = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
        vs = [v.detach().requires_grad_(True) for v in gos]
    n = len(inputs)

    def first_derivative(*args: Any) -> tuple[Any, ...]:
        xs, v = args[:n], args[n:]
        outs = _outputs(fn, xs)
        pairs = [(o, w) for o, w in zip(outs, v) if o.requires_grad]
        if not pairs:
            return tuple(Tensor._make(np.zeros(xs[i].shape)) for i in diff)
        got = grad(
            [o for o, _ in pairs],
            [xs[i] for i in diff],
            grad_outputs=[w for _, w in pairs],
            create_graph=True,
            allow_unused=True,
        )
        return tuple(
            g if g is not None else Tensor._make(np.zeros(xs[i].shape)) for i, g in zip(diff, got)
        )

    return gradcheck(
        first_derivative,
        (*inputs, *vs),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        seed=seed,
    )
