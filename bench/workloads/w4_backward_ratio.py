"""W4: (forward + backward) time / forward time for W1's model (the forward records the graph).

The ratio shows what the backward pass costs relative to the forward pass (ideal: about 2, as the
backward of a matmul is two matmuls).
"""

from __future__ import annotations

from typing import Any

from ._mlp import MLP_CLASSES, mlp_data

TITLE = "W4 (fwd+bwd)/fwd, MLP 784-512-256-10, batch 128"
KIND = "time"
TARGET = {"kind": "fwd_bwd_ratio", "max": 2.3}


def setup() -> dict[str, Any]:
    return mlp_data((784, 512, 256, 10), batch=128, seed=1)


def build(impl: str, data: dict[str, Any]) -> Any:
    model = MLP_CLASSES[impl](data)
    model.timers = {"fwd": model.forward, "fwdbwd": model.forward_backward}
    return model
