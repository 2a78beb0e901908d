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
dtype = np.dtype  # ``torch.dtype``: the class of them all (``isinstance(x, torch.dtype)``)


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
    if dtype is _pyfloat:  # Python's float is a double: PyTorch's float64, whatever the default
        return float64
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


# ---- dtype queries: finfo, iinfo, promotion (PyTorch's rules, not NumPy's) ----------------------

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


class finfo:
    """Machine limits of a floating-point dtype (of its real part for complex), as ``torch.finfo``:
    ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``), ``resolution``."""

    def __init__(self, type: Any = None) -> None:
        d = as_dtype(type)
        if d.kind not in "fc":
            raise TypeError(f"torch.finfo() requires a floating point input type, got {name(d)}")
        info = np.finfo(real_of(d))
        self.bits: int = int(info.bits)
        self.eps = _pyfloat(info.eps)
        self.max = _pyfloat(info.max)
        self.min = _pyfloat(info.min)
        self.tiny = _pyfloat(info.tiny)
        self.smallest_normal = self.tiny
        self.resolution = 10.0 ** -int(info.precision)  # (exactly 1e-06, not float32's nearest)
        self.dtype: str = _NAMES[real_of(d)]

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


class iinfo:
    """Limits of an integer dtype, as ``torch.iinfo``: ``bits``, ``max``, ``min``."""

    def __init__(self, type: Any) -> None:
        d = as_dtype(type)
        if d.kind not in "iu":
            raise TypeError(f"torch.iinfo() requires an integer input type, got {name(d)}")
        info = np.iinfo(d)
        self.bits, self.min, self.max = int(info.bits), int(info.min), int(info.max)
        self.dtype: str = _NAMES[d]

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """The dtype two tensors of these dtypes compute in: the higher category (bool < integer <
    float < complex) wins as it is (``int64`` with ``float16``: ``float16``); within one category,
    the wider type."""
    a, b = as_dtype(type1), as_dtype(type2)
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb or {ca, cb} == {2, 3}:
        return np.promote_types(a, b)
    return a if ca > cb else b


def can_cast(from_: Any, to: Any) -> bool:
    """Whether PyTorch's in-place ops may write ``from_`` values into ``to`` (no category down)."""
    f, t = as_dtype(from_), as_dtype(to)
    if f.kind == "c" and t.kind != "c":
        return False
    if f.kind == "f" and t.kind in "iu":
        return False
    return not (f.kind != "b" and t.kind == "b")


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """PyTorch's ``combine_categories``: a lower-priority operand only counts when it brings a
    higher category."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "c":
        return higher
    if lower.kind == "c":
        return complex_of(higher) if higher.kind == "f" else lower
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def result_type(tensor1: Any, tensor2: Any) -> np.dtype:
    """The dtype of an arithmetic op on these operands (tensors or Python numbers), by PyTorch's
    priority: dimensioned tensors, then 0-d tensors, then Python numbers."""
    tiers: list[np.dtype | None] = [None, None, None]
    for v in (tensor1, tensor2):
        data = getattr(v, "_data", None)
        if data is not None:
            k, d = (0 if data.ndim else 1), data.dtype
        elif isinstance(v, bool):
            k, d = 2, bool_
        elif isinstance(v, int):
            k, d = 2, int64
        elif isinstance(v, _pyfloat):
            k, d = 2, _default[0]
        elif isinstance(v, complex):
            k, d = 2, default_complex()
        else:
            raise TypeError(f"result_type(): expected a tensor or a number, got {type(v).__name__}")
        tiers[k] = d if tiers[k] is None else promote_types(tiers[k], d)
    out = _combine(tiers[0], _combine(tiers[1], tiers[2]))
    assert out is not None
    return out
