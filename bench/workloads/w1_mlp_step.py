"""W1: one SGD step (forward, mean cross-entropy, backward, update), MLP 784-512-256-10, batch 128.

BLAS-bound: measures whether the engine adds anything on top of the matmuls NumPy must do anyway.
"""

from __future__ import annotations

from typing import Any

from ._mlp import MLP_CLASSES, mlp_data

TITLE = "W1 SGD step, MLP 784-512-256-10, batch 128, f32"
KIND = "time"
TARGET = {"kind": "ratio", "vs": "numpy", "max": 1.05}
COMPILED_TARGET = {"vs": "numpy", "max": 1.0}  # issue 14


def setup() -> dict[str, Any]:
    return mlp_data((784, 512, 256, 10), batch=128, seed=1)


def build(impl: str, data: dict[str, Any]) -> Any:
    model = MLP_CLASSES[impl](data)
    model.timers = {"step": model.step}
    return model
