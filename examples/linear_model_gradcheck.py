"""The linear model y = x W + b (N, D, C = 32, 128, 10), its gradients, and a numerical check.

With upstream gradient dy of shape (N, C): dW = xᵀ dy has W's shape (D, C), and db sums dy over
the batch because b was broadcast to every row. We compare autograd with these formulas, and both
with finite differences (f(W + δ) - f(W - δ)) / 2δ on random entries.
"""

from __future__ import annotations

import numpy as np

import glassgrad as gg


def main(seed: int = 0, checks: int = 100, delta: float = 1e-3) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    N, D, C = 32, 128, 10
    x = gg.tensor(rng.standard_normal((N, D)))
    W = gg.tensor(rng.standard_normal((D, C)), requires_grad=True)
    b = gg.tensor(rng.standard_normal(C), requires_grad=True)
    dy = rng.standard_normal((N, C))

    y = x @ W + b
    y.backward(gg.tensor(dy))
    print(f"y: {tuple(y.shape)}, dW: {tuple(W.grad.shape)}, db: {tuple(b.grad.shape)}")

    dW_formula = x._data.T @ dy
    db_formula = dy.sum(axis=0)
    err_formula = max(
        np.abs(W.grad._data - dW_formula).max(), np.abs(b.grad._data - db_formula).max()
    )

    def objective(Wv: np.ndarray, bv: np.ndarray) -> float:  # sum(y * dy): its gradient is the VJP
        return float(np.sum((x._data @ Wv + bv) * dy))

    worst = 0.0
    Wv, bv = W._data.copy(), b._data.copy()
    for _ in range(checks):
        i, j = rng.integers(D), rng.integers(C)
        Wp, Wm = Wv.copy(), Wv.copy()
        Wp[i, j] += delta
        Wm[i, j] -= delta
        numeric = (objective(Wp, bv) - objective(Wm, bv)) / (2 * delta)
        worst = max(worst, abs(numeric - W.grad._data[i, j]) / max(1.0, abs(numeric)))
        bp, bm = bv.copy(), bv.copy()
        bp[j] += delta
        bm[j] -= delta
        numeric_b = (objective(Wv, bp) - objective(Wv, bm)) / (2 * delta)
        worst = max(worst, abs(numeric_b - b.grad._data[j]) / max(1.0, abs(numeric_b)))
    print(f"autograd vs dW = xᵀ dy, db = Σ dy: max abs difference {err_formula:.2e}")
    print(
        f"autograd vs central differences on {checks} random entries: "
        f"max relative error {worst:.2e}"
    )
    ok = gg.autograd.gradcheck(lambda w, bb: x @ w + bb, (W, b))
    print(f"glassgrad.autograd.gradcheck on (W, b): {'passed' if ok else 'FAILED'}")
    return {"formula_error": float(err_formula), "numeric_error": worst, "gradcheck": ok}


if __name__ == "__main__":
    main()
