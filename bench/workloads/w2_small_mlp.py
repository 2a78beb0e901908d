"""W2: one SGD step of MLP 64-32-10, batch 32: tiny matmuls, so the time is per-op overhead."""

from __future__ import annotations

from typing import Any

from ._mlp import MLP_CLASSES, mlp_data

TITLE = "W2 SGD step, MLP 64-32-10, batch 32, f32"
KIND = "time"
TARGET = {"kind": "ratio", "vs": "torch", "max": 0.75}
COMPILED_TARGET = {"vs": "numpy", "max": 1.1}  # issue 14


def setup() -> dict[str, Any]:
    return mlp_data((64, 32, 10), batch=32, seed=2)


def build(impl: str, data: dict[str, Any]) -> Any:
    model = MLP_CLASSES[impl](data)
    model.timers = {"step": model.step}
    return model
