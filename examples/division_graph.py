"""f = (a*b + c) / d through its graph: v = a*b, u = v + c, f = u / d.

Each local derivative is simple (df/du = 1/d, du/dv = du/dc = 1, dv/da = b, dv/db = a,
df/dd = -u/d**2) and the chain rule multiplies them along each path:
df/da = b/d, df/db = a/d, df/dc = 1/d, df/dd = -(a*b + c)/d**2.
"""

from __future__ import annotations

import glassgrad as gg


def main(a: float = 2.0, b: float = -3.0, c: float = 10.0, d: float = 4.0) -> dict[str, float]:
    ta, tb, tc, td = (gg.tensor(v, dtype=gg.float64, requires_grad=True) for v in (a, b, c, d))
    f = (ta * tb + tc) / td
    f.backward()
    got = {k: t.grad.item() for k, t in zip("abcd", (ta, tb, tc, td))}
    by_hand = {"a": b / d, "b": a / d, "c": 1 / d, "d": -(a * b + c) / d**2}
    print(f"f = (a*b + c)/d at a={a:g}, b={b:g}, c={c:g}, d={d:g}: f = {f.item():g}")
    for k in "abcd":
        print(f"  df/d{k}: autograd {got[k]: .6g}   by hand {by_hand[k]: .6g}")
    return {"f": f.item(), **{f"d{k}": v for k, v in got.items()}}


if __name__ == "__main__":
    main()
