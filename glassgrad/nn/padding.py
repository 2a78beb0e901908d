"""Padding layers: ``ZeroPad1d/2d/3d ConstantPad1d/2d/3d ReflectionPad1d/2d/3d
ReplicationPad1d/2d/3d CircularPad1d/2d/3d``, thin modules over ``F.pad``.

``padding`` is an int (every side) or a tuple (left, right[, top, bottom[, front, back]]).

>>> import glassgrad as gg
>>> ZeroPad2d(1)(gg.ones(1, 1, 1, 1)).shape
torch.Size([1, 1, 3, 3])
"""

from __future__ import annotations

from typing import Any

from glassgrad.nn import functional as F
from glassgrad.nn.module import Module
from glassgrad.tensor import Tensor

__all__ = [
    f"{kind}Pad{d}d"
    for kind in ("Circular", "Constant", "Reflection", "Replication", "Zero")
    for d in (1, 2, 3)
]


def _sides(layer: str, padding: Any, d: int) -> tuple[int, ...]:
    if isinstance(padding, int) and not isinstance(padding, bool):
        return (padding,) * (2 * d)
    t = tuple(padding)
    if len(t) != 2 * d:
        raise ValueError(f"{layer}: padding must be an int or a tuple of {2 * d} ints, got {t}")
    return t


class _PadNd(Module):
    _d = 0
    _mode = "constant"

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _sides(type(self).__name__, padding, self._d)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _layer(base: type, kind: str, d: int, mode: str, doc: str) -> type:
    return type(f"{kind}Pad{d}d", (base,), {"_d": d, "_mode": mode, "__doc__": doc})


ConstantPad1d = _layer(_ConstantPadNd, "Constant", 1, "constant", "Pad the last dim with a value.")
ConstantPad2d = _layer(
    _ConstantPadNd, "Constant", 2, "constant", "Pad the last 2 dims with a value."
)
ConstantPad3d = _layer(
    _ConstantPadNd, "Constant", 3, "constant", "Pad the last 3 dims with a value."
)
ZeroPad1d = _layer(_ZeroPadNd, "Zero", 1, "constant", "Pad the last dim with zeros.")
ZeroPad2d = _layer(_ZeroPadNd, "Zero", 2, "constant", "Pad the last 2 dims with zeros.")
ZeroPad3d = _layer(_ZeroPadNd, "Zero", 3, "constant", "Pad the last 3 dims with zeros.")
ReflectionPad1d = _layer(_PadNd, "Reflection", 1, "reflect", "Mirror the last dim at its ends.")
ReflectionPad2d = _layer(
    _PadNd, "Reflection", 2, "reflect", "Mirror the last 2 dims at their ends."
)
ReflectionPad3d = _layer(
    _PadNd, "Reflection", 3, "reflect", "Mirror the last 3 dims at their ends."
)
ReplicationPad1d = _layer(_PadNd, "Replication", 1, "replicate", "Repeat the last dim's edges.")
ReplicationPad2d = _layer(_PadNd, "Replication", 2, "replicate", "Repeat the last 2 dims' edges.")
ReplicationPad3d = _layer(_PadNd, "Replication", 3, "replicate", "Repeat the last 3 dims' edges.")
CircularPad1d = _layer(_PadNd, "Circular", 1, "circular", "Wrap the last dim around.")
CircularPad2d = _layer(_PadNd, "Circular", 2, "circular", "Wrap the last 2 dims around.")
CircularPad3d = _layer(_PadNd, "Circular", 3, "circular", "Wrap the last 3 dims around.")
