"""Python data to arrays, with an error in the user's terms for anything that isn't numbers.

``as_array`` is what ``glassgrad.tensor`` (``Tensor(...)``) runs on its data. The common case
(numbers, nested lists of numbers, arrays) goes straight to NumPy; only when NumPy fails or
produces something that is not numbers does ``as_array`` walk the data (iteratively: no depth
limit of Python's) to say what is wrong and where: a string, ``None``, a ragged list, an integer
too large for int64, too many dimensions. No NumPy wording ("inhomogeneous", "<U3",
"setting an array element with a sequence") reaches the user.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from glassgrad import dtypes

__all__ = ["MAX_DIMS", "as_array", "as_shape", "check_arange", "describe", "describe_args"]

MAX_DIMS = 64  # NumPy's limit on dimensions (NPY_MAXDIMS), so a tensor's too
_NUMBER_KINDS = "fiubc"
_INT64 = np.iinfo(np.int64)


def as_array(data: Any, dtype: Any = None, op: str = "tensor()") -> np.ndarray:
    """Convert ``data`` as ``torch.tensor`` does (Python floats become the default dtype).

    Raises ``TypeError`` (not numbers: strings, None, objects) or ``ValueError`` (ragged nested
    lists, too deep, integers out of range), naming ``op`` and what was found where.
    """
    from glassgrad.tensor import Tensor

    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        target = dtypes.as_dtype(dtype)
        try:
            return np.array(data, dtype=target)
        except (ValueError, TypeError, OverflowError, RecursionError):
            _diagnose(data, op)
            raise _error(
                ValueError, op, f"cannot convert {describe(data)} to {dtypes.name(target)}"
            ) from None
    try:
        arr = np.array(data)
    except (ValueError, TypeError, OverflowError, RecursionError):
        _diagnose(data, op)
        raise _error(ValueError, op, f"cannot convert {describe(data)} to a tensor") from None
    if arr.dtype.kind not in _NUMBER_KINDS:
        _diagnose(data, op)
        raise _error(
            TypeError,
            op,
            f"cannot convert {describe(data)} (of {dtypes.name(arr.dtype)}) to a tensor",
        )
    if isinstance(data, (np.ndarray, np.generic)):
        return arr
    inferred = _inferred_dtype(data) if isinstance(data, list | tuple) else None
    if inferred is not None:
        return arr if arr.dtype == inferred else arr.astype(inferred)
    if arr.dtype.kind == "f" and arr.dtype != dtypes.default_float():
        arr = arr.astype(dtypes.default_float())
    elif arr.dtype.kind == "c" and arr.dtype != dtypes.default_complex():
        arr = arr.astype(dtypes.default_complex())  # Python complex: complex64, as in PyTorch
    elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
        arr = arr.astype(np.int64)
    return arr


def _inferred_dtype(data: list | tuple) -> np.dtype | None:
    """The dtype PyTorch gives nested sequences: each element's own (a Python float the default
    dtype, an int int64, a NumPy scalar, array or tensor its dtype), promoted together
    (``[np.float64(1.5)]`` is float64, ``[np.int32(1)]`` int32, ``[1.5, np.float64(2)]`` float64).
    None when an element is something else (then the caller's defaults apply) or there is none.

    Walks level by level, looking at the set of element types, so long lists of Python numbers
    cost one C-level pass each.
    """
    from glassgrad.tensor import Tensor

    result: np.dtype | None = None
    level: list[Any] = [data]
    while level:
        seqs: list[Any] = []
        for kind in set(map(type, level)):
            if kind is list or kind is tuple:
                seqs.extend(x for x in level if type(x) is kind)
                continue
            if issubclass(kind, np.generic):
                found = [np.dtype(kind)]
            elif kind in _PYTHON_NUMBER:
                found = [_PYTHON_NUMBER[kind]()]
            elif issubclass(kind, np.ndarray):
                found = list({x.dtype for x in level if type(x) is kind})
            elif issubclass(kind, Tensor):
                found = list({x._data.dtype for x in level if type(x) is kind})
            else:  # subclasses of Python numbers and other number-likes: the old defaults
                return None
            for d in found:
                if d.kind not in _NUMBER_KINDS:
                    return None
                result = d if result is None else dtypes.promote(result, d)
        level = [item for seq in seqs for item in seq]
    return result


_PYTHON_NUMBER = {
    float: dtypes.default_float,
    int: lambda: dtypes.np_int64,
    bool: lambda: dtypes.np_bool,
    complex: dtypes.default_complex,
}


def _error(kind: type[Exception], op: str, message: str) -> Exception:
    return kind(f"{op}: {message}")


def _diagnose(data: Any, op: str) -> None:
    """Walk ``data`` level by level and raise the first problem found (returns if none is)."""
    from glassgrad.tensor import Tensor

    level: list[tuple[Any, str]] = [(data, "")]
    depth = 0
    while level:
        seqs: list[tuple[Any, str]] = []
        leaves = 0
        first_len: int | None = None
        first_where = ""
        for item, where in level:
            if isinstance(item, Tensor):
                item = item._data
            if isinstance(item, (list, tuple)):
                if first_len is None:
                    first_len, first_where = len(item), where
                elif len(item) != first_len:
                    raise _error(
                        ValueError,
                        op,
                        f"expected a sequence of length {first_len} at dim {depth} (as at "
                        f"data{first_where}), got length {len(item)} at data{where}: nested "
                        "lists must be rectangular",
                    )
                seqs.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
            elif isinstance(item, np.ndarray) and item.ndim > 0:
                if item.dtype.kind not in _NUMBER_KINDS:
                    raise _error(
                        TypeError,
                        op,
                        f"data{where} is an array of {dtypes.name(item.dtype)}, expected numbers",
                    )
                if first_len is None:
                    first_len, first_where = len(item), where
                elif len(item) != first_len:
                    raise _error(
                        ValueError,
                        op,
                        f"expected a sequence of length {first_len} at dim {depth}, got an "
                        f"array of shape {item.shape} at data{where}",
                    )
                seqs.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
            else:
                _check_number(item, where, op)
                leaves += 1
        if seqs and leaves:
            raise _error(
                ValueError,
                op,
                f"data mixes numbers and sequences at dim {depth}: nested lists must be "
                "rectangular",
            )
        depth += 1
        if depth > MAX_DIMS and seqs:
            raise _error(
                ValueError,
                op,
                f"data is nested more than {MAX_DIMS} deep (at most {MAX_DIMS} dims)",
            )
        level = seqs


def _check_number(item: Any, where: str, op: str) -> None:
    if isinstance(item, np.ndarray):  # 0-d
        item = item[()]
    if isinstance(item, np.generic):
        if item.dtype.kind in _NUMBER_KINDS:
            return
        raise _error(TypeError, op, f"data{where} is {describe(item)}, expected a number")
    if isinstance(item, bool | float | complex):
        return
    if isinstance(item, int):
        if not _INT64.min <= item <= _INT64.max:
            raise _error(
                ValueError,
                op,
                f"data{where} = {_short(item)} does not fit in int64 (Overflow when unpacking "
                "long)",
            )
        return
    raise _error(
        TypeError,
        op,
        f"data{where} is {describe(item)}; expected a number, a (nested) sequence of numbers or "
        "a tensor",
    )


def _short(v: Any, limit: int = 40) -> str:
    try:
        text = repr(v)
    except Exception:  # a hostile __repr__, or an int too long to print
        text = f"<{type(v).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(value: Any) -> str:
    """A short, user's-terms description of an argument: ``Tensor of shape (3,), float32``."""
    from glassgrad.tensor import Tensor

    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value._data.shape)} and dtype {dtypes.name(value.dtype)}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {dtypes.name(value.dtype)}"
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    if isinstance(value, bytes):
        return f"the bytes {_short(value)}"
    if isinstance(value, bool | int | float | complex | np.generic):
        return f"the {type(value).__name__} {_short(value)}"
    if isinstance(value, list | tuple):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__}"


def describe_args(args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> str:
    """Every argument described (``describe``), for an op's error message."""
    parts = [describe(a) for a in args]
    parts += [f"{k}={describe(v)}" for k, v in (kwargs or {}).items()]
    return ", ".join(parts) if parts else "no arguments"


def _index(value: Any) -> int | None:
    """An integer tensor of one element as the int it holds (PyTorch takes ``zeros(2, n)`` for a
    0-d ``n = lengths.max()``); None for anything else."""
    if isinstance(value, float | complex | str) or not hasattr(type(value), "__index__"):
        return None
    try:
        return operator.index(value)
    except (TypeError, ValueError):
        return None


def int_or_given(value: Any) -> Any:
    """``value`` as an int when it is an integer tensor of one element (PyTorch takes
    ``topk(x, n)`` for a 0-d ``n``), else ``value`` itself, for the op's own check."""
    if isinstance(value, int | np.integer):
        return value
    index = _index(value)
    return value if index is None else index


def as_shape(op: str, size: Any) -> tuple[int, ...]:
    """A factory's ``*size`` (``zeros(2, 3)``, ``zeros((2, 3))``) as a shape of non-negative
    ints, or a ``TypeError``/``ValueError`` naming ``op`` and what was given."""
    if len(size) == 1 and isinstance(size[0], list | tuple):
        size = size[0]
    dims = []
    for given in size:
        s = given if isinstance(given, int | np.integer) else _index(given)
        if isinstance(given, bool) or s is None:
            raise TypeError(
                f"{op}: sizes must be ints, got {describe(given)} in size {_short(size)}"
            )
        if s < 0:
            raise ValueError(f"{op}: sizes must be non-negative, got {int(s)} in {_short(size)}")
        dims.append(int(s))
    return tuple(dims)


def check_arange(start: Any, end: Any, step: Any) -> None:
    """PyTorch's refusals for ``arange(start, end, step)``, in its words."""
    for label, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, int | float | np.number):
            raise TypeError(f"arange: {label} must be a number, got {describe(v)}")
        if not np.isfinite(v):
            raise ValueError(f"arange: unsupported range: {label} is {v}")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(
            f"arange: upper bound and larger bound inconsistent with step sign "
            f"(start={start}, end={end}, step={step})"
        )
