"""Why backprop uses vector-Jacobian products, not Jacobians: time both as the width D grows.

The chain rule says dL/dx = (dy/dx)ᵀ dL/dy. Written literally, it builds the Jacobian dy/dx and
multiplies the upstream gradient by it. For a ReLU on D units the Jacobian is a D×D matrix
(diagonal: 1 where x > 0); for a linear layer y = W x the Jacobian with respect to W is D×D×D
(dy_i/dW_jk = [i = j] x_k). Building them costs O(D²) and O(D³); the vector-Jacobian product
that autograd computes instead never forms them: g·[x > 0] is O(D), and gᵀx is O(D²).

    python examples/jacobian_vs_vjp.py                  # widths 64 ... 4096, slopes printed
    python examples/jacobian_vs_vjp.py --plot jac.png   # and a log-log plot (needs matplotlib)

Time per call against D on log-log axes is a line whose slope is the exponent: about 2 against 1
for the ReLU, 3 against 2 for the linear layer's weight (at small D fixed per-call costs flatten
the curves; the explicit Jacobians are capped so the run stays short and memory reasonable).
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import glassgrad as gg
import glassgrad.nn.functional as F

WIDTHS = (64, 128, 256, 512, 1024, 2048, 4096)
MAX_EXPLICIT = {"relu": 1024, "linear": 128}  # D×D and D×D×D float64 Jacobians: 8 / 16 MiB
EXPECTED = {"relu": (2, 1), "linear": (3, 2)}


# ---- the explicit chain rule: build the Jacobian, multiply by it ---------------------------------


def relu_jacobian(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """dy/dx of y = relu(x) for one example: a D×D diagonal matrix (written into ``out``)."""
    d = x.shape[0]
    jac = np.empty((d, d), x.dtype) if out is None else out
    jac.fill(0)
    np.fill_diagonal(jac, x > 0)
    return jac


def linear_weight_jacobian(x: np.ndarray, out_features: int, out: Any = None) -> np.ndarray:
    """dy/dW of y = W x for one example: J[i, j, k] = [i = j] x[k], shape (D_out, D_out, D_in)."""
    eye = np.eye(out_features, dtype=x.dtype)
    return np.multiply(eye[:, :, None], x, out=out)


def relu_explicit(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """dL/dx for a batch, one Jacobian per example: g_b ᵀ J_b (J built in one reused buffer)."""
    d = x.shape[1]
    jac = np.empty((d, d), x.dtype)
    return np.stack([g[b] @ relu_jacobian(x[b], jac) for b in range(len(x))])


def linear_explicit(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """dL/dW summed over the batch: Σ_b g_b ᵀ J_b, each J_b of shape (D, D, D)."""
    dout, din = g.shape[1], x.shape[1]
    jac = np.empty((dout, dout, din), x.dtype)
    dw = np.zeros((dout, din), x.dtype)
    for b in range(len(x)):
        dw += np.tensordot(g[b], linear_weight_jacobian(x[b], dout, jac), axes=1)
    return dw


# ---- the vector-Jacobian product: what glassgrad's backward pass computes ------------------------


def relu_vjp_setup(x: np.ndarray, g: np.ndarray) -> Callable[[], np.ndarray]:
    xt = gg.tensor(x, requires_grad=True)
    y = F.relu(xt)
    gt = gg.tensor(g)
    return lambda: gg.autograd.grad(y, xt, gt, retain_graph=True)[0]._data


def linear_vjp_setup(x: np.ndarray, g: np.ndarray, w: np.ndarray) -> Callable[[], np.ndarray]:
    wt = gg.tensor(w, requires_grad=True)
    y = F.linear(gg.tensor(x), wt)
    gt = gg.tensor(g)
    return lambda: gg.autograd.grad(y, wt, gt, retain_graph=True)[0]._data


# ---- measuring -----------------------------------------------------------------------------------


def best_time(fn: Callable[[], Any], budget: float = 0.05, min_runs: int = 3) -> float:
    """The fastest of several calls (the least disturbed by everything else running)."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 200:
            break
    return min(times)


def slope(widths: Sequence[int], times: Sequence[float]) -> float | None:
    """The exponent p of time ∝ D^p: the least-squares slope on log-log axes, fitted on the
    larger half of the widths (at small D a fixed cost per call flattens every curve)."""
    k = len(widths) // 2 if len(widths) > 3 else 0
    if len(widths) - k < 2:
        return None
    return float(np.polyfit(np.log(widths[k:]), np.log(times[k:]), 1)[0])


def one_blas_thread() -> Any:
    """Single-threaded BLAS while timing (threads waking up blur the exponents), if
    threadpoolctl is installed; otherwise leave things as they are."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def check_against_func_jacobian(width: int = 16) -> None:
    """The hand-built Jacobians equal glassgrad.func.jacobian's (built one vjp per row)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(width)
    w = rng.standard_normal((width, width))
    auto = gg.func.jacobian(F.relu, gg.tensor(x))._data
    np.testing.assert_allclose(relu_jacobian(x), auto, rtol=1e-12, atol=0)
    auto = gg.func.jacobian(lambda W: F.linear(gg.tensor(x), W), gg.tensor(w))._data
    np.testing.assert_allclose(linear_weight_jacobian(x, width), auto, rtol=1e-12, atol=0)


def run(
    widths: Sequence[int] = WIDTHS,
    batch: int = 64,
    max_explicit: dict[str, int] | None = None,
    budget: float = 0.05,
    seed: int = 0,
) -> dict[str, Any]:
    """Time both methods for both layers at every width; check they give the same gradient."""
    caps = {**MAX_EXPLICIT, **(max_explicit or {})}
    rng = np.random.default_rng(seed)
    check_against_func_jacobian()
    with one_blas_thread():
        return {layer: _time_layer(layer, widths, batch, caps[layer], budget, rng)
                for layer in ("relu", "linear")}  # fmt: skip


def _time_layer(
    layer: str, widths: Sequence[int], batch: int, cap: int, budget: float, rng: Any
) -> dict[str, Any]:
    rows: dict[str, list[tuple[int, float]]] = {"explicit": [], "vjp": []}
    max_diff = 0.0
    for d in widths:
        x = rng.standard_normal((batch, d))
        g = rng.standard_normal((batch, d))
        if layer == "relu":
            vjp = relu_vjp_setup(x, g)
            explicit = lambda x=x, g=g: relu_explicit(x, g)  # noqa: E731
        else:
            vjp = linear_vjp_setup(x, g, rng.standard_normal((d, d)))
            explicit = lambda x=x, g=g: linear_explicit(x, g)  # noqa: E731
        rows["vjp"].append((d, best_time(vjp, budget)))
        if d <= cap:
            rows["explicit"].append((d, best_time(explicit, budget, min_runs=2)))
            max_diff = max(max_diff, float(np.abs(explicit() - vjp()).max()))
    res: dict[str, Any] = {
        method: {
            "widths": [d for d, _ in pts],
            "seconds": [t for _, t in pts],
            "slope": slope([d for d, _ in pts], [t for _, t in pts]),
        }
        for method, pts in rows.items()
    }
    res["max_abs_difference"] = max_diff
    return res


def report(res: dict[str, Any]) -> str:
    lines = []
    for layer, r in res.items():
        exp_e, exp_v = EXPECTED[layer]
        wrt = "dL/dx" if layer == "relu" else "dL/dW"
        lines.append(f"{layer} ({wrt}); explicit and VJP agree to {r['max_abs_difference']:.1e}")
        for method, expected in (("explicit", exp_e), ("vjp", exp_v)):
            m = r[method]
            times = "  ".join(f"D={d}: {t * 1e3:.3g} ms" for d, t in zip(m["widths"], m["seconds"]))
            s = "n/a" if m["slope"] is None else f"{m['slope']:.2f}"
            lines.append(f"  {method:<8} slope {s} (O(D^{expected}) asymptotically)  {times}")
    return "\n".join(lines)


def plot(res: dict[str, Any], path: str) -> None:
    """Time against width on log-log axes, one line per layer and method."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    styles = {"explicit": "-o", "vjp": "--s"}
    for layer, r in res.items():
        for method in ("explicit", "vjp"):
            m = r[method]
            if not m["widths"]:
                continue
            label = f"{layer} {'Jacobian' if method == 'explicit' else 'VJP'}"
            if m["slope"] is not None:
                label += f" (slope {m['slope']:.2f})"
            ax.plot(m["widths"], m["seconds"], styles[method], label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set(xlabel="width D", ylabel="seconds per backward step",
           title="explicit Jacobian chain rule vs vector-Jacobian product")  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default=",".join(map(str, WIDTHS)), help="comma-separated D")
    ap.add_argument("--batch", type=int, default=64, help="examples per backward step")
    ap.add_argument("--max-explicit-relu", type=int, default=MAX_EXPLICIT["relu"])
    ap.add_argument("--max-explicit-linear", type=int, default=MAX_EXPLICIT["linear"])
    ap.add_argument("--plot", metavar="PATH", help="save a log-log plot (PNG, SVG, PDF...)")
    args = ap.parse_args(argv)
    try:
        widths = sorted({int(w) for w in args.widths.split(",")})
    except ValueError:
        ap.error(f"--widths: expected comma-separated integers, got {args.widths!r}")
    caps = {"relu": args.max_explicit_relu, "linear": args.max_explicit_linear}
    res = run(widths, args.batch, caps)
    print(report(res))
    if args.plot:
        plot(res, args.plot)
        print(f"plot saved to {args.plot}")
    return res


if __name__ == "__main__":
    main()
