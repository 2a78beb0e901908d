"""W5: peak memory increase of forward+backward, MLP 1024 -> 16 x 1024 (ReLU) -> 10, batch 256, f32.

Parameters and inputs exist before the measurement; the peak includes the activations kept for
backward, the temporaries of the backward pass and the new gradients (64 MiB of them).
"""

from __future__ import annotations

from typing import Any

from ._mlp import MLP_CLASSES, mlp_data

TITLE = "W5 peak memory of fwd+bwd, MLP 16x1024 hidden, batch 256"
KIND = "memory"
TARGET = {"kind": "ratio", "vs": "numpy", "max": 1.1}
COMPILED_TARGET = {"vs": "numpy", "max": 1.0}  # issue 14


def setup() -> dict[str, Any]:
    return mlp_data((1024,) * 17 + (10,), batch=256, seed=5)


def build(impl: str, data: dict[str, Any]) -> Any:
    return MLP_CLASSES[impl](data)
