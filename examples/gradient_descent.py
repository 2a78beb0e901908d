"""Gradient descent on f(x) = x**2 from x = 2 with learning rate 0.001 for 1000 steps.

Each step moves x against its gradient 2x; after 1000 steps x = 2 * 0.998**1000 ≈ 0.2701.
"""

from __future__ import annotations

import glassgrad as gg


def main(steps: int = 1000, lr: float = 1e-3) -> float:
    x = gg.tensor(2.0, dtype=gg.float64, requires_grad=True)
    for _ in range(steps):
        f = x**2
        f.backward()
        with gg.no_grad():
            x -= lr * x.grad
        x.grad = None
    print(f"x after {steps} steps of gradient descent on x**2: {x.item()!r}")
    return x.item()


if __name__ == "__main__":
    main()
