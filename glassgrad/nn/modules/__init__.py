"""``torch.nn.modules`` paths (``from torch.nn.modules.rnn import LSTM``) for code that imports
layers from where PyTorch defines them; every name resolves to the layer in ``glassgrad.nn``."""

from __future__ import annotations

from typing import Any

from glassgrad.nn.module import Module

__all__ = ["Module"]


def __getattr__(name: str) -> Any:
    import glassgrad.nn as nn

    if hasattr(nn, name):
        return getattr(nn, name)
    raise AttributeError(f"module 'glassgrad.nn.modules' has no attribute {name!r}")
