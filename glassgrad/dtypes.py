"""Dtypes as PyTorch shows them: ``glassgrad.float32`` is a ``glassgrad.dtype`` that prints as
``torch.float32`` and answers ``is_floating_point``, ``itemsize``, ``to_complex()``...

Tensors hold NumPy arrays, and every op computes on NumPy dtypes (``x._data.dtype``); a
``glassgrad.dtype`` is the face of one NumPy dtype, its ``.dtype`` attribute. That attribute is
NumPy's own protocol for dtype-likes, so ``np.zeros(3, dtype=torch.float32)`` and
``a.astype(t.dtype)`` work as they would with ``np.float32``.

A NumPy user's habits keep working too, by decision: a ``glassgrad.dtype`` equals the NumPy
dtype it wraps and NumPy's scalar type (``t.dtype == np.float32``, ``np.dtype("float32") ==
t.dtype``) and hashes as that NumPy dtype (so either finds the other in a dict), and every
``dtype=`` argument accepts NumPy dtypes, NumPy types, ``float``/``int``/``bool`` and names
(``"float32"``, ``"torch.float32"``). Strings do not compare equal to a dtype, as in PyTorch.

>>> import glassgrad as torch
>>> torch.float32, torch.float32.is_floating_point, torch.int64.itemsize
(torch.float32, True, 8)
>>> torch.float64.to_complex(), torch.complex64.to_real()
(torch.complex128, torch.float32)
>>> import numpy as np
>>> np.zeros(2, dtype=torch.float64).dtype, torch.float32 == np.float32
(dtype('float64'), True)
"""

from __future__ import annotations

import builtins
from typing import Any, NoReturn

import numpy as np

_pyfloat = builtins.float  # `float` is rebound to a dtype in this module (`int` is glassgrad's)

# NumPy's dtypes, which tensors hold and ops compute in (each glassgrad dtype wraps one of these).
np_float16 = np.dtype("float16")
np_float32 = np.dtype("float32")
np_float64 = np.dtype("float64")
np_int8 = np.dtype("int8")
np_uint8 = np.dtype("uint8")
np_int16 = np.dtype("int16")
np_int32 = np.dtype("int32")
np_int64 = np.dtype("int64")
np_bool = np.dtype("bool")
np_complex64 = np.dtype("complex64")
np_complex128 = np.dtype("complex128")


class dtype:  # (lower case: PyTorch's name for the class)
    """The class of glassgrad's dtypes, as ``torch.dtype``: ``isinstance(t.dtype, torch.dtype)``.

    One instance per dtype (``torch.float32 is torch.float``); instances are not made by users.
    (Examples in the module's docstring: doctest skips a class it sees as ``glassgrad``'s.)
    """

    __slots__ = (
        "_abbr",
        "_complex",
        "_hash",
        "_itemsize",
        "_name",
        "_real",
        "char",
        "dtype",
        "kind",
        "name",
        "type",
    )

    # Instances are module constants below (and ``_wrap``'s, for NumPy dtypes outside the set);
    # the attributes are fixed at creation.
    dtype: np.dtype  # the NumPy dtype this one is (NumPy reads it: ``np.dtype(torch.float32)``)
    # NumPy's descriptive attributes besides PyTorch's: an op's rule is written with NumPy and
    # runs on tensors when it differentiates itself (``create_graph=True``), reading
    # ``x.dtype.kind`` or ``x.dtype.type(0)`` as on an array; NumPy users read them too.
    kind: str  # "f", "c", "i", "u", "b"
    char: str | None
    name: str  # "float32" (PyTorch's name less ``torch.``)
    type: Any  # np.float32 (a class)

    def __init__(self, name: str, np_dtype: np.dtype | None, abbr: str, itemsize: int) -> None:
        self._name, self._abbr, self._itemsize = name, abbr, itemsize
        self.name, self.kind, self.char, self.type = name, "f", None, None  # (bfloat16's)
        if np_dtype is not None:  # (bfloat16 has none: no ``.dtype``, so NumPy refuses it)
            self.dtype = np_dtype
            self.kind, self.char, self.type = np_dtype.kind, np_dtype.char, np_dtype.type
        self._real: _DType = self  # (to_real/to_complex links are set once all dtypes exist)
        self._complex: _DType | None = None
        # Hashed as its NumPy dtype, which it equals: a dict keyed by either finds the other.
        self._hash = hash(np_dtype) if np_dtype is not None else hash(name)  # (set last)

    # ---- what torch.dtype answers -----------------------------------------------------------
    @property
    def is_floating_point(self) -> bool:
        """True for float16/bfloat16/float32/float64."""
        return self._name.startswith(("float", "bfloat"))

    @property
    def is_complex(self) -> bool:
        return self._name.startswith("complex")

    @property
    def is_signed(self) -> bool:
        """Whether the dtype holds negative values (False for bool and unsigned integers)."""
        return not self._name.startswith(("bool", "uint"))

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self._itemsize

    @property
    def abbr(self) -> str:
        """PyTorch's short name: ``f32``, ``i64``, ``b8``, ``c64``..."""
        return self._abbr

    def to_real(self) -> _DType:
        """The dtype of a complex one's parts (complex64 -> float32); others as they are."""
        return self._real

    def to_complex(self) -> _DType:
        """The complex dtype of a floating one's precision (float64 -> complex128); complex
        dtypes as they are. PyTorch raises for integers and bool, and so does this."""
        if self._complex is None:
            raise RuntimeError(
                f"Unknown Complex ScalarType for {self!r}: to_complex() needs a "
                f"floating-point or complex dtype"
            )
        return self._complex

    # ---- printing, hashing, equality, pickling ----------------------------------------------
    def __repr__(self) -> str:
        return "torch." + self._name  # PyTorch's spelling: programs print and compare it

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dtype):
            return other is self
        np_dtype = getattr(self, "dtype", None)
        if np_dtype is not None and (
            isinstance(other, np.dtype)
            or (isinstance(other, type) and issubclass(other, np.generic))
        ):
            return bool(np_dtype == other)
        return NotImplemented

    # (no __ne__: Python's inverts __eq__, one Python call less for ``a.dtype != b.dtype``)

    def __reduce__(self) -> str | tuple[Any, ...]:
        if self._name in _BY_NAME:  # a module constant: pickled by name, one object per process
            return self._name
        return (_wrap, (self.dtype,))

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "_hash"):  # (set last in __init__: after it, the dtype is frozen)
            raise AttributeError(f"attribute {name!r} of 'torch.dtype' objects is not writable")
        object.__setattr__(self, name, value)


dtype.__module__ = "glassgrad"  # pickle finds ``glassgrad.float32`` there
_DType = dtype  # (for this module's functions, whose ``dtype`` parameters shadow the class)


def _make(name: str, np_dtype: np.dtype | None, abbr: str, itemsize: int = 0) -> dtype:
    return dtype(name, np_dtype, abbr, itemsize or (np_dtype.itemsize if np_dtype else 0))


float16 = half = _make("float16", np_float16, "f16")
# bfloat16 is nameable (a dict key, compared, printed), but NumPy has none: no tensor has it.
bfloat16 = _make("bfloat16", None, "bf16", 2)
float32 = float = _make("float32", np_float32, "f32")
float64 = double = _make("float64", np_float64, "f64")
int8 = _make("int8", np_int8, "i8")
uint8 = _make("uint8", np_uint8, "u8")
int16 = short = _make("int16", np_int16, "i16")
int32 = _make("int32", np_int32, "i32")
int64 = long = _make("int64", np_int64, "i64")
bool_ = _make("bool", np_bool, "b8")
complex64 = cfloat = _make("complex64", np_complex64, "c64")
complex128 = cdouble = _make("complex128", np_complex128, "c128")

_BY_NAME = {
    d._name: d
    for d in (float16, bfloat16, float32, float64, int8, uint8, int16, int32, int64, bool_)
    + (complex64, complex128)
}
for _real, _complex in ((float16, complex64), (bfloat16, complex64), (float32, complex64)):
    object.__setattr__(_real, "_complex", _complex)  # (PyTorch: float16 -> complex32, which
object.__setattr__(float64, "_complex", complex128)  # NumPy lacks; complex64 is the nearest)
for _c, _r in ((complex64, float32), (complex128, float64)):
    object.__setattr__(_c, "_complex", _c)
    object.__setattr__(_c, "_real", _r)


def by_name(name: str) -> dtype:
    """The dtype named ``name`` (``"float32"``, ``"bool"``...), as ``repr`` names it less
    ``torch.``; a KeyError for a name that is none."""
    if not isinstance(name, str):
        raise KeyError(name)
    return _BY_NAME[name]


class _ByNumpy(dict):  # type: ignore[type-arg]
    """NumPy dtype -> glassgrad dtype. A NumPy dtype equal to one of the set but not hashed as
    it (another byte order: ``from_numpy`` of a big-endian file) finds that one; a dtype outside
    the set (an array of uint16 handed to ``from_numpy``) gets its own, named as NumPy names it."""

    def __missing__(self, key: np.dtype) -> dtype:
        native = key.newbyteorder("=")
        made = next((d for d in _BY_NAME.values() if d is not bfloat16 and d.dtype == native), None)
        self[key] = made = made or _make(native.name, native, f"{native.kind}{native.itemsize * 8}")
        return made


BY_NUMPY = _ByNumpy({d.dtype: d for d in _BY_NAME.values() if d is not bfloat16})
wrap = BY_NUMPY.__getitem__  # ``wrap(arr.dtype)``: the glassgrad dtype of a NumPy dtype (a dict
# lookup: ``Tensor.dtype`` is ``BY_NUMPY[self._data.dtype]``)


def _wrap(np_dtype: Any) -> dtype:
    """(Unpickling: the glassgrad dtype of a NumPy dtype outside the module constants.)"""
    return BY_NUMPY[np.dtype(np_dtype)]


_NAMES = {d.dtype: d._name for d in BY_NUMPY.values()}
_KINDS = {  # dtypes glassgrad has no tensor for, named in the user's terms (not "<U3")
    "U": "str",
    "S": "bytes",
    "O": "object",
    "c": "complex",  # (complex64/complex128 are named above; other widths are not supported)
    "M": "datetime",
    "m": "timedelta",
    "V": "void",
}
_default = [np_float32]  # the default float dtype, as NumPy's (as_dtype(None) returns it)


def name(dtype: Any) -> str:
    """``torch.float32``-style name of a dtype, for reprs and error messages."""
    if isinstance(dtype, _DType):
        return repr(dtype)
    d = np.dtype(dtype)
    if d in _NAMES:
        return "torch." + _NAMES[d]
    if d.kind in "iu":  # (uint16/32/64: PyTorch has them too)
        return "torch." + d.name
    return _KINDS.get(d.kind, d.name)


def _refuse_bfloat16() -> NoReturn:
    raise TypeError(
        f"unsupported dtype torch.bfloat16: NumPy has no bfloat16 (so glassgrad has no bfloat16 "
        f"tensor); use one of {sorted(_NAMES.values())}"
    )


def as_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype that a ``dtype=`` argument names: a glassgrad dtype, a NumPy dtype or type
    such as ``np.float32``, Python's ``float``/``int``/``bool``, or a string; None is the
    default float dtype."""
    if dtype is None:
        return _default[0]
    if type(dtype) is _DType:  # (the common case, first)
        if dtype._name in _BY_NAME and dtype is not bfloat16:
            return dtype.dtype
        if dtype is bfloat16:
            _refuse_bfloat16()
        raise TypeError(f"unsupported dtype {dtype!r}; use one of {sorted(_NAMES.values())}")
    if isinstance(dtype, str) and dtype.removeprefix("torch.").removeprefix("glassgrad.") == (
        "bfloat16"
    ):
        _refuse_bfloat16()
    if isinstance(dtype, str):
        dtype = dtype.removeprefix("glassgrad.").removeprefix("torch.")
        if dtype == "bool":
            return np_bool
    if dtype is builtins.bool:
        return np_bool
    if dtype is _pyfloat:  # Python's float is a double: PyTorch's float64, whatever the default
        return np_float64
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


def get_default_dtype() -> dtype:
    """The dtype Python floats become: ``torch.float32`` unless ``set_default_dtype`` changed it."""
    return BY_NUMPY[_default[0]]


def default_float() -> np.dtype:
    """The default float dtype as NumPy's, for the package's own arrays."""
    return _default[0]


def complex_of(dtype: Any) -> np.dtype:
    """The complex dtype with ``dtype``'s precision: float64 -> complex128, else complex64."""
    d = np.dtype(dtype)
    if d.kind == "c":
        return d
    return np_complex128 if d == np_float64 else np_complex64


def real_of(dtype: Any) -> np.dtype:
    """The real dtype of a complex one's parts (complex64 -> float32); real dtypes as they are."""
    d = np.dtype(dtype)
    return (np_float64 if d == np_complex128 else np_float32) if d.kind == "c" else d


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
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"  # (torch's :g)


def promote_types(type1: Any, type2: Any) -> dtype:
    """The dtype two tensors of these dtypes compute in: the higher category (bool < integer <
    float < complex) wins as it is (``int64`` with ``float16``: ``float16``); within one category,
    the wider type."""
    return BY_NUMPY[promote(as_dtype(type1), as_dtype(type2))]


def promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """``promote_types`` on NumPy dtypes, for the package's own use."""
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
        return promote(higher, lower)
    return higher


def result_type(tensor1: Any, tensor2: Any) -> dtype:
    """The dtype of an arithmetic op on these operands (tensors or Python numbers), by PyTorch's
    priority: dimensioned tensors, then 0-d tensors, then Python numbers."""
    return BY_NUMPY[result_np(tensor1, tensor2)]


def result_np(tensor1: Any, tensor2: Any) -> np.dtype:
    """``result_type`` as a NumPy dtype, for the package's own use."""
    tiers: list[np.dtype | None] = [None, None, None]
    for v in (tensor1, tensor2):
        data = getattr(v, "_data", None)
        if data is not None:
            k, d = (0 if data.ndim else 1), data.dtype
        elif isinstance(v, bool):
            k, d = 2, np_bool
        elif isinstance(v, int):
            k, d = 2, np_int64
        elif isinstance(v, _pyfloat):
            k, d = 2, _default[0]
        elif isinstance(v, complex):
            k, d = 2, default_complex()
        else:
            raise TypeError(f"result_type(): expected a tensor or a number, got {type(v).__name__}")
        prev = tiers[k]
        tiers[k] = d if prev is None else promote(prev, d)
    out = _combine(tiers[0], _combine(tiers[1], tiers[2]))
    assert out is not None
    return out
