"""PyTorch's legacy typed constructors: ``torch.FloatTensor([1, 2])``, ``torch.LongTensor(3)``.

Old programs build tensors with them and test types with ``isinstance(t, torch.FloatTensor)`` or
``t.type(torch.LongTensor)``. Each is a tensor factory of one dtype; ``isinstance`` compares the
dtype, as in PyTorch.

>>> import glassgrad as gg
>>> gg.LongTensor([1, 2]), isinstance(gg.zeros(2), gg.FloatTensor), gg.FloatTensor(2, 3).shape
(tensor([1, 2]), True, torch.Size([2, 3]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.size import Size

__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
]


class _TypedTensorMeta(type):
    dtype: dtypes.dtype  # (``torch.FloatTensor.dtype`` is ``torch.float32``)
    _np_dtype: np.dtype

    def __instancecheck__(cls, instance: Any) -> bool:
        from glassgrad.tensor import Tensor

        return isinstance(instance, Tensor) and instance._data.dtype == cls._np_dtype

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


class _TypedTensor(metaclass=_TypedTensorMeta):
    """``T(data)`` copies ``data`` into a tensor of this dtype; ``T(*sizes)`` gives an
    uninitialised one of that shape (zeros here); ``T()`` an empty one."""

    dtype: dtypes.dtype
    _np_dtype: np.dtype

    def __new__(cls, *args: Any) -> Any:
        from glassgrad.tensor import Tensor

        if not args:
            return Tensor._make(np.zeros(0, cls._np_dtype))
        if len(args) == 1 and isinstance(args[0], Size):  # LongTensor(x.size()): sizes
            args = tuple(args[0])
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            data = args[0]
            if isinstance(data, Tensor):
                return data.to(cls.dtype)
            return Tensor(data, dtype=cls.dtype)
        if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            raise TypeError(
                f"{cls.__name__}(): expected a sequence of data or sizes (ints), got "
                f"{tuple(type(a).__name__ for a in args)}"
            )
        return Tensor._make(np.zeros(tuple(int(a) for a in args), cls._np_dtype))


def _typed(name: str, dtype: dtypes.dtype) -> type:
    attrs = {"dtype": dtype, "_np_dtype": dtype.dtype, "__slots__": ()}
    return _TypedTensorMeta(name, (_TypedTensor,), attrs)


FloatTensor = _typed("FloatTensor", dtypes.float32)
DoubleTensor = _typed("DoubleTensor", dtypes.float64)
HalfTensor = _typed("HalfTensor", dtypes.float16)
LongTensor = _typed("LongTensor", dtypes.int64)
IntTensor = _typed("IntTensor", dtypes.int32)
ShortTensor = _typed("ShortTensor", dtypes.int16)
CharTensor = _typed("CharTensor", dtypes.int8)
ByteTensor = _typed("ByteTensor", dtypes.uint8)
BoolTensor = _typed("BoolTensor", dtypes.bool_)
