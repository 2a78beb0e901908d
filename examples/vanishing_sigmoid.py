"""Why a saturated sigmoid kills gradients.

h = sigmoid(W x) has local gradient h(1 - h). With small weights the pre-activations are near 0
and h(1 - h) is near its maximum 1/4. Initialise W too large and W x spans hundreds or more: h is
almost exactly 0 or 1, h(1 - h) is ~0 for every unit, and so are the gradients for both x and W:
the chain rule multiplies everything downstream by that ~0.
"""

from __future__ import annotations

import numpy as np

import glassgrad as gg


def layer(scale: float, seed: int = 0, D: int = 100, H: int = 50) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    W = gg.tensor(rng.standard_normal((H, D)) * scale, requires_grad=True)
    x = gg.tensor(rng.standard_normal(D), requires_grad=True)
    a = W @ x
    h = gg.sigmoid(a)
    h.sum().backward()
    local = h._data * (1 - h._data)
    # the same gradients written out by hand: dx = Wᵀ (h(1-h)), dW = outer(h(1-h), x)
    assert np.allclose(x.grad._data, W._data.T @ local)
    assert np.allclose(W.grad._data, np.outer(local, x._data))
    return {
        "preactivation_range": float(np.abs(a._data).max()),
        "saturated_fraction": float(np.mean(local < 1e-6)),
        "max_local_gradient": float(local.max()),
        "grad_x_norm": float(np.linalg.norm(x.grad._data)),
        "grad_W_norm": float(np.linalg.norm(W.grad._data)),
    }


def main() -> dict[str, dict[str, float]]:
    small, large = layer(scale=0.01), layer(scale=40.0)
    for name, r in (("W ~ 0.01 N(0,1)", small), ("W ~ 40 N(0,1)  ", large)):
        print(
            f"{name}: |Wx| up to {r['preactivation_range']:7.1f}, "
            f"saturated units {r['saturated_fraction']:6.1%}, "
            f"max h(1-h) {r['max_local_gradient']:.2e}, "
            f"|dL/dx| {r['grad_x_norm']:.2e}, |dL/dW| {r['grad_W_norm']:.2e}"
        )
    return {"small": small, "large": large}


if __name__ == "__main__":
    main()
