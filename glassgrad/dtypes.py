"""Dtypes are NumPy dtypes under PyTorch's names; the default float dtype is float32."""

from __future__ import annotations

from typing import Any

import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = short = np.dtype("int16")
int32 = np.dtype("int32")
int64 = long = np.dtype("int64")
bool_ = np.dtype("bool")
complex64 = cfloat = np.dtype("complex64")
complex128 = cdouble = np.dtype("complex128")


class _Unsupported:
    """A PyTorch dtype NumPy has no counterpart for: nameable (a dict key, compared, printed),
    but no tensor has it; asking for one says so."""

    is_floating_point = True
    is_complex = False
    is_signed = True

    def __init__(self, name: str, itemsize: int) -> None:
        self.name, self.itemsize = name, itemsize

    def __repr__(self) -> str:
        return f"glassgrad.{self.name}"


bfloat16 = _Unsupported("bfloat16", 2)

_NAMES = {
    float16: "float16",
    float32: "float32",
    float64: "float64",
    int8: "int8",
    uint8: "uint8",
    int16: "int16",
    int32: "int32",
    int64: "int64",
    bool_: "bool",
    complex64: "complex64",
    complex128: "complex128",
}
_KINDS = {  # dtypes glassgrad has no tensor for, named in the user's terms (not "<U3")
    "U": "str",
    "S": "bytes",
    "O": "object",
    "c": "complex",  # (complex64/complex128 are named above; other widths are not supported)
    "M": "datetime",
    "m": "timedelta",
    "V": "void",
}
_default = [float32]
_pyfloat = type(1.0)  # noqa: UP003 - `float` is rebound to a dtype in this module


def name(dtype: Any) -> str:
    """``glassgrad.float32``-style name of a dtype, for reprs and error messages."""
    if isinstance(dtype, _Unsupported):
        return repr(dtype)
    d = np.dtype(dtype)
    if d in _NAMES:
        return "glassgrad." + _NAMES[d]
    return _KINDS.get(d.kind, d.name)


def as_dtype(dtype: Any) -> np.dtype:
    """Accept a glassgrad/NumPy dtype, a type such as ``np.float32`` or ``bool``, or a string."""
    if dtype is None:
        return _default[0]
    if isinstance(dtype, str):
        dtype = dtype.removeprefix("glassgrad.").removeprefix("torch.")
        if dtype == "bool":
            return bool_
    if dtype is bool:
        return bool_
    if isinstance(dtype, _Unsupported) or dtype == "bfloat16":
        raise TypeError(
            f"unsupported dtype glassgrad.bfloat16: NumPy has no bfloat16; use one of "
            f"{sorted(_NAMES.values())}"
        )
    if dtype is _pyfloat:
        return _default[0]
    try:
        d = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"unknown dtype {dtype!r}; use one of {sorted(_NAMES.values())}") from None
    if d not in _NAMES:
        raise TypeError(f"unsupported dtype {name(d)}; use one of {sorted(_NAMES.values())}")
    return d


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype that Python floats become (float32 or float64), as in PyTorch."""
    d = as_dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point dtypes, got {name(d)}")
    _default[0] = d


def get_default_dtype() -> np.dtype:
    return _default[0]


def complex_of(dtype: Any) -> np.dtype:
    """The complex dtype with ``dtype``'s precision: float64 -> complex128, else complex64."""
    d = np.dtype(dtype)
    if d.kind == "c":
        return d
    return complex128 if d == float64 else complex64


def real_of(dtype: Any) -> np.dtype:
    """The real dtype of a complex one's parts (complex64 -> float32); real dtypes as they are."""
    d = np.dtype(dtype)
    return (float64 if d == complex128 else float32) if d.kind == "c" else d


def default_complex() -> np.dtype:
    """What Python complex numbers become: complex64, or complex128 under a float64 default."""
    return complex_of(_default[0])
