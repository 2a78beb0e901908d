"""``torch.nn.modules`` paths (``from torch.nn.modules.rnn import LSTM``) for code that imports
layers from where PyTorch defines them; every name resolves to the layer in ``glassgrad.nn``."""

from __future__ import annotations

import importlib
from typing import Any

from glassgrad.nn.module import Module

__all__ = ["Module"]


def __getattr__(name: str) -> Any:
    import glassgrad.nn as nn

    if hasattr(nn, name):
        return getattr(nn, name)
    raise AttributeError(f"module 'glassgrad.nn.modules' has no attribute {name!r}")


# PyTorch's submodules, imported so that attribute paths work as in torch without imports
# (``torch.nn.modules.rnn.LSTM`` in pytorch/examples' word_language_model ``safe_globals`` list);
# imported by name, as ``from . import rnn`` would find ``__getattr__``'s glassgrad.nn.rnn instead
for _name in (
    "activation",
    "adaptive",
    "batchnorm",
    "container",
    "channelshuffle",
    "conv",
    "distance",
    "dropout",
    "flatten",
    "instancenorm",
    "lazy",
    "linear",
    "loss",
    "module",
    "normalization",
    "padding",
    "pixelshuffle",
    "pooling",
    "rnn",
    "sparse",
    "transformer",
    "upsampling",
    "utils",
):
    importlib.import_module(f"{__name__}.{_name}")
del _name
