"""Gradients add where paths meet: y = a*x + b/x uses x twice.

Through u = a*x the gradient reaching x is a; through v = b/x it is -b/x**2. The engine sums
both contributions, giving dy/dx = a - b/x**2.
"""

from __future__ import annotations

import glassgrad as gg


def main(a: float = 3.0, b: float = 8.0, x: float = 2.0) -> dict[str, float]:
    tx = gg.tensor(x, dtype=gg.float64, requires_grad=True)
    y = a * tx + b / tx
    y.backward()
    print(f"y = a*x + b/x at a={a:g}, b={b:g}, x={x:g}: y = {y.item():g}")
    print(f"  dy/dx via u = a*x: {a:g};  via v = b/x: {-b / x**2:g}")
    print(f"  summed by the engine: {tx.grad.item():g}  (a - b/x**2 = {a - b / x**2:g})")
    return {"y": y.item(), "dx": tx.grad.item()}


if __name__ == "__main__":
    main()
