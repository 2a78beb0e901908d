"""``torch.autograd.function``'s names: the public ``Function`` and ``once_differentiable``.

The graph node every op records is ``Node`` (``glassgrad/autograd/node.py``); users subclass
``Function`` (``glassgrad/autograd/custom_function.py``), PyTorch's Tensor-level contract.
"""

from glassgrad.autograd.custom_function import Function, once_differentiable
from glassgrad.autograd.node import Node

__all__ = ["Function", "Node", "once_differentiable"]
