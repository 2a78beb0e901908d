"""``t.storage()`` and ``t.untyped_storage()``: the memory behind a tensor, as PyTorch's
``TypedStorage`` (its elements) and ``UntypedStorage`` (its bytes).

A view's storage is its base's: ``x[:, 1].storage()`` lists all of ``x``. Older programs read
numbers this way (``v.data.storage().tolist()``). Reading only: a write through a storage would
change saved values behind the version counters that guard backward, so it is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from glassgrad import dtypes

__all__ = ["TypedStorage", "UntypedStorage", "memory_of"]


def memory_of(a: np.ndarray) -> np.ndarray:
    """The array owning ``a``'s memory, flat in memory order."""
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root.flags.c_contiguous or root.flags.f_contiguous:
        return root.ravel(order="K")
    return np.ascontiguousarray(root).reshape(-1)  # (memory only NumPy's internals describe)


class _Storage:
    _flat: np.ndarray

    def __len__(self) -> int:
        return int(self._flat.size)

    def size(self) -> int:
        return len(self)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._flat.tolist())

    def tolist(self) -> list[Any]:
        return list(self._flat.tolist())

    def data_ptr(self) -> int:
        return int(self._flat.__array_interface__["data"][0])

    def nbytes(self) -> int:
        return int(self._flat.nbytes)

    def element_size(self) -> int:
        return int(self._flat.itemsize)

    @property
    def device(self) -> Any:
        from glassgrad.device import CPU

        return CPU

    def cpu(self) -> Any:
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        raise NotImplementedError(
            "writing through a storage is not supported in glassgrad (it would change values "
            "backward has saved without its in-place checks seeing it): write through the tensor"
        )

    def _lines(self) -> str:
        return "".join(f" {v}\n" for v in self._flat.tolist())


class TypedStorage(_Storage):
    """A tensor's memory as elements of its dtype: ``len``, indexing, ``tolist()``."""

    def __init__(self, flat: np.ndarray) -> None:
        self._flat = flat

    @property
    def dtype(self) -> dtypes.dtype:
        """The element type, ``torch.float32``-style, as a tensor's."""
        return dtypes.wrap(self._flat.dtype)

    def __getitem__(self, index: int) -> Any:
        if not isinstance(index, int | np.integer):
            raise RuntimeError(
                f"TypedStorage: only an int index is supported (slices are "
                f"UntypedStorage's), got {type(index).__name__}"
            )
        return self._flat[index].item()

    def untyped(self) -> UntypedStorage:
        return UntypedStorage(self._flat)

    def __repr__(self) -> str:
        return (
            f"{self._lines()}[torch.storage.TypedStorage(dtype="
            f"{self.dtype!r}, device=cpu) of size "
            f"{len(self)}]"
        )


class UntypedStorage(_Storage):
    """A tensor's memory as bytes."""

    def __init__(self, flat: np.ndarray) -> None:
        self._flat = flat.view(np.uint8)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return UntypedStorage(self._flat[index])
        return int(self._flat[index])

    def __repr__(self) -> str:
        return f"{self._lines()}[torch.storage.UntypedStorage(device=cpu) of size {len(self)}]"
