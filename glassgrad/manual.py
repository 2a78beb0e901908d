"""Backpropagation by hand, in plain NumPy, and a node-by-node check against autograd.

Every layer of the notes' network is a pair of functions::

    out, cache = relu_forward(x)          # compute, and keep what the backward pass will need
    dx = relu_backward(dout, cache)       # dL/dx from dL/dout: the chain rule, one layer

``dout`` is the gradient of the loss with respect to the layer's output (the "upstream"
gradient); a backward function multiplies it by the layer's local derivative. Nothing here
uses glassgrad's engine: this is what autograd automates.

To check your own backward for one layer, describe the network as a list of steps and let
``compare`` run it twice: once with autograd (keeping the gradient of every intermediate with
``retain_grad``) and once with the hand-written functions, yours substituted where you say::

    >>> import numpy as np
    >>> from glassgrad import manual
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    >>> net = [
    ...     manual.Step("fc1", "linear", {"weight": rng.standard_normal((5, 3)),
    ...                                   "bias": np.zeros(5)}),
    ...     manual.Step("h1", "relu"),
    ...     manual.Step("fc2", "linear", {"weight": rng.standard_normal((3, 5)),
    ...                                   "bias": np.zeros(3)}),
    ...     manual.Step("loss", "softmax_cross_entropy"),
    ... ]
    >>> def my_relu_backward(dout, cache):
    ...     return dout * (cache >= 0)     # a slip: should be > 0 ... but no input is exactly 0
    >>> manual.compare(net, x, y, backward={"h1": my_relu_backward}).ok
    True

A wrong rule is reported at the first node, in backward order, whose gradient differs, with
both values; everything before it agreed, so the culprit is that step's backward.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "OPS",
    "Comparison",
    "Mismatch",
    "Step",
    "compare",
    "from_sequential",
    "linear_backward",
    "linear_forward",
    "mse_backward",
    "mse_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward",
    "tanh_backward",
    "tanh_forward",
]

# ---- the layers, forward and backward side by side -----------------------------------------------


def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> Any:
    """``out = x Wᵀ + b`` (PyTorch's layout: ``weight`` is (out_features, in_features))."""
    out = x @ weight.T
    if bias is not None:
        out = out + bias
    return out, (x, weight, bias is not None)


def linear_backward(dout: np.ndarray, cache: Any) -> dict[str, np.ndarray]:
    """Each output unit i is Σ_j W[i, j] x[j] + b[i], so
    dL/dx = dout W, dL/dW = doutᵀ x (summed over the batch), dL/db = Σ_batch dout."""
    x, weight, has_bias = cache
    grads = {"input": dout @ weight, "weight": dout.T @ x}
    if has_bias:
        grads["bias"] = dout.sum(axis=0)
    return grads


def relu_forward(x: np.ndarray) -> Any:
    """``max(x, 0)``; the cache is the input (its sign decides where gradients pass)."""
    return np.maximum(x, 0), x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """The local derivative is 1 where x > 0 and 0 elsewhere (0 at exactly 0, as PyTorch)."""
    return dout * (cache > 0)


def sigmoid_forward(x: np.ndarray) -> Any:
    """``h = 1 / (1 + e^-x)``; the cache is ``h`` itself, all the backward pass needs."""
    h = 1.0 / (1.0 + np.exp(-x))
    return h, h


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dh/dx = h (1 - h): at most 1/4, and ~0 when the unit saturates (h near 0 or 1)."""
    h = cache
    return dout * h * (1.0 - h)


def tanh_forward(x: np.ndarray) -> Any:
    """``h = tanh(x)``; the cache is ``h``."""
    h = np.tanh(x)
    return h, h


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dh/dx = 1 - h²: 1 at x = 0, ~0 once |x| is a few units."""
    h = cache
    return dout * (1.0 - h * h)


def softmax_cross_entropy_forward(logits: np.ndarray, target: np.ndarray) -> Any:
    """Mean over the batch of -log softmax(logits)[target], computed stably.

    Subtracting each row's maximum does not change the softmax but keeps ``exp`` from overflowing.
    """
    target = np.asarray(target)
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    rows = np.arange(len(target))
    loss = -log_p[rows, target].mean()
    return loss, (np.exp(log_p), target)


def softmax_cross_entropy_backward(dout: Any, cache: Any) -> np.ndarray:
    """dL/dlogits = (softmax(logits) - onehot(target)) / N: probability minus truth."""
    p, target = cache
    g = p.copy()
    g[np.arange(len(target)), target] -= 1.0
    return np.asarray(dout) * g / len(target)


def mse_forward(pred: np.ndarray, target: np.ndarray) -> Any:
    """Mean squared error, mean over every element (PyTorch's ``mse_loss`` default)."""
    diff = pred - np.asarray(target)
    return np.mean(diff * diff), diff


def mse_backward(dout: Any, cache: np.ndarray) -> np.ndarray:
    """d/dpred of mean((pred - t)²) = 2 (pred - t) / number of elements."""
    diff = cache
    return np.asarray(dout) * 2.0 * diff / diff.size


@dataclass(frozen=True)
class Op:
    """One kind of layer: its hand-written pair, and what autograd runs for the same thing."""

    forward: Callable[..., Any]
    backward: Callable[..., Any]
    params: tuple[str, ...] = ()  # parameter names, in forward's argument order
    loss: bool = False  # takes the target as a second input and ends the network


def _autograd_op(kind: str) -> Callable[..., Any]:
    import glassgrad.nn.functional as F

    ops: dict[str, Callable[..., Any]] = {
        "linear": F.linear,
        "relu": F.relu,
        "sigmoid": F.sigmoid,
        "tanh": F.tanh,
        "softmax_cross_entropy": F.cross_entropy,
        "mse": F.mse_loss,
    }
    return ops[kind]


OPS: dict[str, Op] = {
    "linear": Op(linear_forward, linear_backward, ("weight", "bias")),
    "relu": Op(relu_forward, relu_backward),
    "sigmoid": Op(sigmoid_forward, sigmoid_backward),
    "tanh": Op(tanh_forward, tanh_backward),
    "softmax_cross_entropy": Op(
        softmax_cross_entropy_forward, softmax_cross_entropy_backward, loss=True
    ),
    "mse": Op(mse_forward, mse_backward, loss=True),
}


# ---- describing a network ------------------------------------------------------------------------


@dataclass
class Step:
    """One layer of a network for ``compare``: a name, a kind from ``OPS``, its parameters.

    ``forward`` / ``backward`` replace the built-in hand-written pair for this step (a learner's
    own version); they follow the same contract as e.g. ``relu_forward`` / ``relu_backward``.
    A backward returns the input's gradient, or for a step with parameters a dict with
    ``"input"`` and one entry per parameter.
    """

    name: str
    kind: str
    params: dict[str, np.ndarray] = field(default_factory=dict)
    forward: Callable[..., Any] | None = None
    backward: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in OPS:
            raise ValueError(
                f"Step {self.name!r}: unknown kind {self.kind!r}; choose one of {', '.join(OPS)}"
            )
        op = OPS[self.kind]
        unknown = set(self.params) - set(op.params)
        if unknown:
            raise ValueError(
                f"Step {self.name!r} ({self.kind}): unknown parameter(s) {sorted(unknown)}; "
                f"a {self.kind} step takes {list(op.params) or 'no parameters'}"
            )
        if op.params and "weight" not in self.params:
            raise ValueError(f"Step {self.name!r} ({self.kind}): needs a 'weight' parameter")


def from_sequential(model: Any, loss: str = "softmax_cross_entropy") -> list[Step]:
    """Steps for an ``nn.Sequential`` of Linear / ReLU / Sigmoid / Tanh layers, then ``loss``.

    Step names are the module paths (``"0"``, ``"1"``, ...), parameters are copied as float64.
    """
    from glassgrad import nn

    kinds = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
    steps = []
    for name, m in model.named_children():
        if isinstance(m, nn.Linear):
            params = {k: p._data.astype(np.float64) for k, p in m.named_parameters()}
            steps.append(Step(name, "linear", params))
        elif type(m) in kinds:
            steps.append(Step(name, kinds[type(m)]))
        else:
            raise TypeError(
                f"from_sequential: layer {name!r} is a {type(m).__name__}; only Linear, ReLU, "
                "Sigmoid and Tanh have hand-written rules in glassgrad.manual"
            )
    if loss not in OPS or not OPS[loss].loss:
        losses = [k for k, o in OPS.items() if o.loss]
        raise ValueError(f"from_sequential: loss must be one of {losses}, got {loss!r}")
    steps.append(Step("loss", loss))
    return steps


# ---- comparing with autograd ---------------------------------------------------------------------


@dataclass
class Mismatch:
    """A value where the hand-written pass and autograd disagree."""

    step: str  # the step whose rule produced the value
    kind: str
    what: str  # "forward", or the gradient: "input" or a parameter name
    expected: np.ndarray  # autograd's
    got: np.ndarray  # the hand-written pass's
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...]

    def describe(self) -> str:
        if self.what == "forward":
            head = f"the forward output of step {self.step!r} ({self.kind})"
        else:
            wrt = "input" if self.what == "input" else self.what
            head = (
                f"dL/d({wrt} of step {self.step!r}), computed by the backward rule of step "
                f"{self.step!r} ({self.kind}),"
            )
        if self.expected.shape != self.got.shape:
            return f"{head} has shape {self.got.shape}; autograd's has shape {self.expected.shape}"
        i = self.worst_index
        return (
            f"{head} differs from autograd: max abs error {self.max_abs_error:.3g}, max rel "
            f"error {self.max_rel_error:.3g}; worst at index {i}: yours "
            f"{self.got[i] + 0.0:.6g}, autograd {self.expected[i] + 0.0:.6g}"
        )


@dataclass
class Comparison:
    """The result of ``compare``: every value checked, in order, and the first mismatch."""

    checks: list[dict[str, Any]]
    first_mismatch: Mismatch | None
    loss: float

    @property
    def ok(self) -> bool:
        return self.first_mismatch is None

    def to_dict(self) -> dict[str, Any]:
        m = self.first_mismatch
        first = None
        if m is not None:
            first = {
                "step": m.step,
                "kind": m.kind,
                "what": m.what,
                "expected": m.expected.tolist(),
                "got": m.got.tolist(),
                "max_abs_error": m.max_abs_error,
                "max_rel_error": m.max_rel_error,
            }
        return {"ok": self.ok, "loss": self.loss, "checks": self.checks, "first_mismatch": first}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def __str__(self) -> str:
        lines = [f"{'phase':<9} {'step':<12} {'kind':<22} {'value':<8} {'max abs err':>11}  ok"]
        for c in self.checks:
            err = "-" if c["max_abs_error"] is None else f"{c['max_abs_error']:.2e}"
            mark = "yes" if c["ok"] else "NO"
            lines.append(
                f"{c['phase']:<9} {c['step']:<12} {c['kind']:<22} {c['what']:<8} {err:>11}  {mark}"
            )
        if self.first_mismatch is None:
            lines.append("every value agrees with autograd")
        else:
            lines.append("first mismatch: " + self.first_mismatch.describe())
        return "\n".join(lines)


def _differs(got: Any, expected: np.ndarray, rtol: float, atol: float) -> tuple[bool, Any]:
    got = np.asarray(got, dtype=np.float64)
    if got.shape != expected.shape:
        return True, (np.inf, np.inf, ())
    err = np.abs(got - expected)
    if err.size == 0:
        return False, (0.0, 0.0, ())
    bad = ~(err <= atol + rtol * np.abs(expected))  # NaN counts as bad
    worst = np.unravel_index(int(np.nanargmax(np.where(np.isnan(err), np.inf, err))), err.shape)
    with np.errstate(divide="ignore", invalid="ignore"):  # an error where autograd has 0: inf
        rel = np.where(err == 0, 0.0, err / np.abs(expected))
    return bool(bad.any()), (float(err.max()), float(np.nanmax(rel)), tuple(int(k) for k in worst))


def _grad_of(t: Any) -> np.ndarray:
    return np.zeros(t.shape) if t.grad is None else t.grad._data


def _autograd_pass(steps: Sequence[Step], x: np.ndarray, target: Any) -> dict[str, Any]:
    """Forward values and gradients of every intermediate and parameter, from glassgrad."""
    import glassgrad as gg

    with gg.enable_grad():
        h = gg.tensor(x, dtype=gg.float64, requires_grad=True)
        inputs, outputs, params = [], [], []
        for s in steps:
            op = _autograd_op(s.kind)
            inputs.append(h)
            if OPS[s.kind].loss:
                t = gg.tensor(target)
                if s.kind == "mse":
                    t = t.to(gg.float64)
                out = op(h, t)
            else:
                ps = {
                    k: gg.tensor(v, dtype=gg.float64, requires_grad=True)
                    for k, v in s.params.items()
                }
                params.append(ps)
                out = op(h, *[ps[k] for k in OPS[s.kind].params if k in ps])
            out.retain_grad()
            outputs.append(out)
            h = out
        h.backward()
    return {
        "values": [o._data for o in outputs],
        "input_grads": [_grad_of(t) for t in inputs],
        "param_grads": [{k: _grad_of(p) for k, p in ps.items()} for ps in params],
    }


def compare(
    steps: Any,
    x: Any,
    target: Any,
    backward: Mapping[str, Callable[..., Any]] | None = None,
    forward: Mapping[str, Callable[..., Any]] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> Comparison:
    """Run ``steps`` by hand and with autograd; report the first value that differs.

    ``steps``: a list of ``Step`` (the last one a loss: ``softmax_cross_entropy`` or ``mse``), or
    an ``nn.Sequential`` (see ``from_sequential``). ``x``: the batch, ``target``: class indices or
    regression targets. ``backward`` / ``forward`` map step names to your own rules, replacing the
    built-in ones for those steps (so does ``Step(..., backward=fn)``).

    Forward values are checked first, in forward order; then gradients in the order the backward
    pass produces them: for each step from the loss down, the gradient for each parameter, then
    for its input. Everything is float64; ``rtol`` / ``atol`` are the tolerances.
    """
    if not isinstance(steps, (list, tuple)):
        steps = from_sequential(steps)
    steps = list(steps)
    if not steps or not OPS[steps[-1].kind].loss:
        raise ValueError("compare: the last step must be a loss (softmax_cross_entropy or mse)")
    names = [s.name for s in steps]
    for label, table in (("backward", backward), ("forward", forward)):
        unknown = sorted(set(table or {}) - set(names))
        if unknown:
            raise ValueError(f"compare: {label}= names unknown step(s) {unknown}; steps: {names}")
    for s in steps[:-1]:
        if OPS[s.kind].loss:
            raise ValueError(f"compare: the loss step {s.name!r} must be the last step")
    x = np.asarray(x, dtype=np.float64)
    auto = _autograd_pass(steps, x, target)

    checks: list[dict[str, Any]] = []
    first: list[Mismatch] = []

    def check(phase: str, s: Step, what: str, got: Any, expected: np.ndarray) -> None:
        bad, (abs_err, rel_err, worst) = _differs(got, expected, rtol, atol)
        checks.append({"phase": phase, "step": s.name, "kind": s.kind, "what": what,
                       "max_abs_error": abs_err, "ok": not bad})  # fmt: skip
        if bad and not first:
            got_arr = np.asarray(got, dtype=np.float64)
            first.append(Mismatch(s.name, s.kind, what, expected, got_arr, abs_err, rel_err, worst))

    # forward by hand; a wrong forward would make every gradient below look wrong
    caches = []
    h: Any = x
    for k, s in enumerate(steps):
        op = OPS[s.kind]
        fwd = (forward or {}).get(s.name) or s.forward or op.forward
        if op.loss:
            h, cache = fwd(h, np.asarray(target))
        else:
            h, cache = fwd(h, *[s.params[p] for p in op.params if p in s.params])
        caches.append(cache)
        check("forward", s, "forward", h, auto["values"][k])
    loss = float(np.asarray(h))

    # backward by hand, from dL/dL = 1 down to the input
    dout: Any = np.float64(1.0)
    p_index = sum(1 for s in steps if not OPS[s.kind].loss)
    for k in reversed(range(len(steps))):
        s = steps[k]
        op = OPS[s.kind]
        bwd = (backward or {}).get(s.name) or s.backward or op.backward
        result = bwd(dout, caches[k])
        if not op.loss:
            p_index -= 1
        if isinstance(result, Mapping):
            if "input" not in result:
                raise ValueError(f"compare: the backward of step {s.name!r} returned no 'input'")
            for name in s.params:
                if name not in result:
                    raise ValueError(
                        f"compare: the backward of step {s.name!r} returned no {name!r} gradient"
                    )
                check("backward", s, name, result[name], auto["param_grads"][p_index][name])
            dout = result["input"]
        else:
            if s.params:
                raise ValueError(
                    f"compare: the backward of step {s.name!r} ({s.kind}) must return a dict "
                    f"with 'input' and {sorted(s.params)}"
                )
            dout = result
        check("backward", s, "input", dout, auto["input_grads"][k])
    return Comparison(checks, first[0] if first else None, loss)
