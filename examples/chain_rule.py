"""The chain rule as a multiplication: f = (x + y) * z at x=-2, y=5, z=-4.

Forward: q = x + y = 3, f = q * z = -12. Backward: df/dz = q = 3, df/dq = z = -4, and since
dq/dx = dq/dy = 1, the chain rule multiplies them: df/dx = df/dq * dq/dx = -4, df/dy = -4.
Also: f = x * y (each input's gradient is the other input) and f = max(x, y) (the gradient goes
to the larger input only).
"""

from __future__ import annotations

import glassgrad as gg


def main() -> dict[str, object]:
    x = gg.tensor(-2.0, requires_grad=True)
    y = gg.tensor(5.0, requires_grad=True)
    z = gg.tensor(-4.0, requires_grad=True)
    q = x + y
    q.retain_grad()  # keep the intermediate's gradient so we can print df/dq
    f = q * z
    f.backward()
    print(f"f = (x + y) * z at x=-2, y=5, z=-4:  q = {q.item():g}, f = {f.item():g}")
    print(f"  df/dq = z = {q.grad.item():g};  dq/dx = dq/dy = 1")
    print(f"  df/dx = df/dq * dq/dx = {x.grad.item():g}")
    print(f"  df/dy = df/dq * dq/dy = {y.grad.item():g}")
    print(f"  df/dz = q = {z.grad.item():g}")

    a = gg.tensor(4.0, requires_grad=True)
    b = gg.tensor(-3.0, requires_grad=True)
    p = a * b
    p.backward()
    print(
        f"f = x * y at x=4, y=-3: f = {p.item():g}, df/dx = {a.grad.item():g}, "
        f"df/dy = {b.grad.item():g}"
    )

    m1 = gg.tensor(4.0, requires_grad=True)
    m2 = gg.tensor(2.0, requires_grad=True)
    m = gg.maximum(m1, m2)
    m.backward()
    print(
        f"f = max(x, y) at x=4, y=2: f = {m.item():g}, df/dx = {m1.grad.item():g}, "
        f"df/dy = {m2.grad.item():g} (only the larger input gets the gradient)"
    )
    return {
        "q": q.item(),
        "f": f.item(),
        "dq": q.grad.item(),
        "dx": x.grad.item(),
        "dy": y.grad.item(),
        "dz": z.grad.item(),
        "xy": (p.item(), a.grad.item(), b.grad.item()),
        "max": (m.item(), m1.grad.item(), m2.grad.item()),
    }


if __name__ == "__main__":
    main()
