"""``torch.utils.dlpack``: tensors shared with other array libraries through DLPack, no copy.

``from_dlpack(x)`` takes anything with ``__dlpack__`` (a PyTorch tensor, a NumPy or JAX array)
or a capsule ``to_dlpack`` made, and gives a glassgrad tensor over the same memory: a write on
one side shows on the other. Only CPU memory can be read (glassgrad runs on the CPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]

_CPU = 1  # DLPack's device type for host memory


class _Capsule:
    """A bare capsule (``to_dlpack``'s result) dressed as a producer, for ``np.from_dlpack``."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (_CPU, 0)


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A tensor over ``ext_tensor``'s memory (an object with ``__dlpack__``, or a capsule)."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    producer = ext_tensor if hasattr(ext_tensor, "__dlpack__") else _Capsule(ext_tensor)
    device = producer.__dlpack_device__()
    if device[0] != _CPU:
        raise RuntimeError(
            f"from_dlpack: the tensor lives on device type {device[0]} (DLPack's numbering), "
            "not in CPU memory; glassgrad runs on the CPU: move it there first"
        )
    try:
        array = np.from_dlpack(producer)
    except (TypeError, BufferError) as e:
        raise RuntimeError(f"from_dlpack: cannot read {type(ext_tensor).__name__}: {e}") from None
    return Tensor._make(array)


def to_dlpack(tensor: Tensor) -> Any:
    """The DLPack capsule of ``tensor``'s memory, for a library that takes capsules."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack: expected a Tensor, got {type(tensor).__name__}")
    return tensor.__dlpack__()
