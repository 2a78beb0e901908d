"""A network of scalars, backpropagated by hand and by autograd.

    a1 = w1*x + b1,  h1 = relu(a1),  a2 = w2*h1 + b2,  h2 = relu(a2),
    f = w3*h2 + b3,  L = (f - y)**2 / 2

Going backwards, each gradient is the previous one times a local derivative:
dL/df = f - y; dL/dw3 = dL/df * h2; dL/db3 = dL/df; dL/dh2 = dL/df * w3;
dL/da2 = dL/dh2 * [a2 > 0]; dL/dw2 = dL/da2 * h1; ... down to dL/dw1 = dL/da1 * x.
"""

from __future__ import annotations

import glassgrad as gg


def by_hand(p: dict[str, float], x: float, y: float) -> dict[str, float]:
    """The chain rule written out, one line per op, in reverse order of the forward pass."""
    a1 = p["w1"] * x + p["b1"]
    h1 = max(a1, 0.0)
    a2 = p["w2"] * h1 + p["b2"]
    h2 = max(a2, 0.0)
    f = p["w3"] * h2 + p["b3"]
    loss = 0.5 * (f - y) ** 2
    df = f - y
    dw3, db3, dh2 = df * h2, df, df * p["w3"]
    da2 = dh2 * (1.0 if a2 > 0 else 0.0)
    dw2, db2, dh1 = da2 * h1, da2, da2 * p["w2"]
    da1 = dh1 * (1.0 if a1 > 0 else 0.0)
    dw1, db1 = da1 * x, da1
    return {"loss": loss, "w1": dw1, "b1": db1, "w2": dw2, "b2": db2, "w3": dw3, "b3": db3}


def main(x: float = 1.5, y: float = 2.0) -> dict[str, dict[str, float]]:
    p = {"w1": 0.8, "b1": 0.1, "w2": -1.2, "b2": 2.0, "w3": 1.7, "b3": -0.3}
    t = {k: gg.tensor(v, dtype=gg.float64, requires_grad=True) for k, v in p.items()}
    a1 = t["w1"] * x + t["b1"]
    h1 = gg.relu(a1)
    a2 = t["w2"] * h1 + t["b2"]
    h2 = gg.relu(a2)
    f = t["w3"] * h2 + t["b3"]
    loss = 0.5 * (f - y) ** 2
    loss.backward()
    auto = {"loss": loss.item(), **{k: t[k].grad.item() for k in p}}
    hand = by_hand(p, x, y)
    print(f"scalar network at x={x:g}, y={y:g}: loss = {auto['loss']:.6g}")
    for k in p:
        print(f"  dL/d{k}: autograd {auto[k]: .8f}   chain rule by hand {hand[k]: .8f}")
    return {"autograd": auto, "by_hand": hand}


if __name__ == "__main__":
    main()
