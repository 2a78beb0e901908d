"""glassgrad's ops, one module per family; this file binds them onto ``Tensor`` as methods.

Each family module exposes ``METHODS`` (Tensor method name -> function) and may expose
``NUMPY_UFUNCS`` / ``NUMPY_FUNCTIONS`` (NumPy callable -> glassgrad op) for NumPy dispatch.
"""

from __future__ import annotations

from glassgrad.ops import (
    elementwise,
    indexing,
    inplace,
    linalg,
    numpy_dispatch,
    reductions,
    shape,
)
from glassgrad.tensor import Tensor

FAMILIES = (elementwise, reductions, shape, indexing, linalg, inplace)

_e = elementwise


def _swap(f):  # reflected operator: other OP self
    return lambda self, other: f(other, self)


_OPERATORS = {
    "__add__": _e.add,
    "__radd__": _e.add,  # commutative: one call layer less than _swap
    "__sub__": _e.sub,
    "__rsub__": _swap(_e.sub),
    "__mul__": _e.mul,
    "__rmul__": _e.mul,
    "__truediv__": _e.div,
    "__rtruediv__": _swap(_e.div),
    "__floordiv__": _e.floor_divide,
    "__rfloordiv__": _swap(_e.floor_divide),
    "__mod__": _e.remainder,
    "__rmod__": _swap(_e.remainder),
    "__pow__": _e.pow,
    "__rpow__": _swap(_e.pow),
    "__matmul__": linalg.matmul,
    "__rmatmul__": _swap(linalg.matmul),
    "__neg__": _e.neg,
    "__pos__": lambda self: self,
    "__abs__": _e.abs,
    "__eq__": _e.eq,
    "__ne__": _e.ne,
    "__lt__": _e.lt,
    "__le__": _e.le,
    "__gt__": _e.gt,
    "__ge__": _e.ge,
    "__and__": _e.bitwise_and,
    "__rand__": _swap(_e.bitwise_and),
    "__or__": _e.bitwise_or,
    "__ror__": _swap(_e.bitwise_or),
    "__xor__": _e.bitwise_xor,
    "__rxor__": _swap(_e.bitwise_xor),
    "__invert__": _e.bitwise_not,
}

_ELEMENTWISE_METHODS = """
add sub mul div pow neg exp expm1 log log1p log2 log10 sqrt rsqrt reciprocal square abs
sin cos tan tanh sigmoid relu erf sign floor ceil trunc round maximum minimum clamp clip
eq ne lt le gt ge logical_and logical_or logical_xor logical_not isnan isinf isfinite
signbit remainder floor_divide true_divide divide
""".split()

for _name in _ELEMENTWISE_METHODS:
    setattr(Tensor, _name, getattr(_e, _name))
for _name, _fn in _OPERATORS.items():
    setattr(Tensor, _name, _fn)
for _family in FAMILIES:
    for _name, _fn in getattr(_family, "METHODS", {}).items():
        setattr(Tensor, _name, _fn)
    numpy_dispatch.register(
        getattr(_family, "NUMPY_UFUNCS", {}), getattr(_family, "NUMPY_FUNCTIONS", {})
    )

_T = property(lambda self: shape.permute(self, *reversed(range(self.ndim))))
_mT = property(lambda self: shape.transpose(self, -2, -1))
Tensor.T = _T  # type: ignore[assignment]
Tensor.mT = _mT  # type: ignore[assignment]
