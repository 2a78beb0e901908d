"""Utilities beside the core, PyTorch-shaped: ``checkpoint`` (recompute instead of storing),
``data`` (``torch.utils.data``'s names: datasets, samplers, ``DataLoader``), ``swap_tensors``
(two Tensor objects exchange their contents), ``dlpack`` (memory shared with other libraries).

``glassgrad.utils.checkpoint(fn, *args)`` is the function; ``glassgrad.utils.checkpoint.checkpoint``
and ``from glassgrad.utils.checkpoint import checkpoint`` work too, as in PyTorch.
"""

from __future__ import annotations

from glassgrad.utils import data, dlpack
from glassgrad.utils.checkpoint import checkpoint, checkpoint_sequential
from glassgrad.utils.swap import swap_tensors

__all__ = ["checkpoint", "checkpoint_sequential", "data", "dlpack", "swap_tensors"]
