"""W3: 1000 chained elementwise ops on a float64 vector of 16, then sum and backward.

The ops cycle through ``* 1.002``, ``+ 0.001`` and ``tanh`` (333 times, then one last ``* 1.002``).
The arrays are tiny, so this is the engine's fixed cost per op: node creation, dispatch, the
backward walk. Reported per op: (forward + backward time) / 1000.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._mlp import norms, torch_module

TITLE = "W3 1000 chained elementwise ops, f64[16], per op"
KIND = "time"
N_OPS = 1000
TARGET = {"kind": "per_op", "max_us": 5.0, "ops": N_OPS}
COMPILED_TARGET = {"vs": "numpy", "max": 1.2}  # issue 14
MUL, ADD = 1.002, 0.001  # keeps values in tanh's live range: the gradient neither dies nor explodes


def setup() -> dict[str, Any]:
    return {"x": np.random.default_rng(3).standard_normal(16)}


class NumpyChain:
    def __init__(self, data: dict[str, Any]) -> None:
        self.x = data["x"].copy()
        self.timers = {"fwdbwd": self.run}

    def _run(self) -> tuple[float, Any]:
        y = self.x
        saved = []
        for _ in range(N_OPS // 3):
            y = y * MUL
            y = y + ADD
            y = np.tanh(y)
            saved.append(y)
        y = y * MUL
        loss = y.sum()
        g = np.full_like(y, MUL)  # d(sum)/dy, through the last mul
        for t in reversed(saved):
            g = g * (1.0 - t * t)  # tanh; the add passes g through unchanged
            g = g * MUL
        return float(loss), g

    def run(self) -> Any:
        return self._run()[1]  # the gradient: what a caller would use

    def check(self) -> dict[str, Any]:
        loss, g = self._run()
        return {"loss": loss, "grad_norms": norms([g])}


class _LibChain:
    """glassgrad and torch share the code: the user's program is the same."""

    def __init__(self, lib: Any, x: Any) -> None:
        self.lib, self.x = lib, x
        self.timers = {"fwdbwd": self.run}

    def _loss(self) -> Any:
        tanh = self.lib.tanh
        y = self.x
        for _ in range(N_OPS // 3):
            y = y * MUL
            y = y + ADD
            y = tanh(y)
        y = y * MUL
        return y.sum()

    def run(self) -> Any:
        self._loss().backward()
        g, self.x.grad = self.x.grad, None
        return g  # (returned: a compiled run that dropped it would compute nothing)

    def check(self) -> dict[str, Any]:
        loss = self._loss()
        loss.backward()
        out = {"loss": float(loss.item()), "grad_norms": norms([np.asarray(self.x.grad)])}
        self.x.grad = None
        return out


def build(impl: str, data: dict[str, Any]) -> Any:
    if impl == "numpy":
        return NumpyChain(data)
    if impl == "glassgrad":
        import glassgrad as gg

        return _LibChain(gg, gg.tensor(data["x"], requires_grad=True))
    torch = torch_module()
    return _LibChain(torch, torch.tensor(data["x"], requires_grad=True))
