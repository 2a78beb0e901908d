"""Stateless neural-network ops with PyTorch's names (``import glassgrad.nn.functional as F``)."""

from glassgrad.nn.functional.activation import *
from glassgrad.nn.functional.attention import *
from glassgrad.nn.functional.conv import *
from glassgrad.nn.functional.loss import *
from glassgrad.nn.functional.norm import *
from glassgrad.nn.functional.pooling import *
from glassgrad.ops.elementwise import relu, sigmoid, tanh
from glassgrad.ops.linalg import linear

__all__ = ["linear", "relu", "sigmoid", "tanh"]
for _m in ("activation", "attention", "conv", "loss", "norm", "pooling"):
    __all__ += __import__(f"glassgrad.nn.functional.{_m}", fromlist=["__all__"]).__all__
__all__ = sorted(set(__all__))
