"""``torch.testing``: ``assert_close`` with PyTorch's default tolerances, and ``make_tensor``.

>>> import glassgrad as gg
>>> gg.testing.assert_close(gg.tensor([1.0, 2.0]), gg.tensor([1.0, 2.0 + 1e-7]))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.tensor import Tensor

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

# PyTorch's defaults (rtol, atol) per dtype; exact for integers and bool
_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
    np.dtype(np.complex64): (1.3e-6, 1e-5),
    np.dtype(np.complex128): (1e-7, 1e-7),
}


def _as_array(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _is_tensor_like(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray)) or type(x) in (bool, int, float, complex)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: Any = None,
) -> None:
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close, as PyTorch checks.

    Tensors (or numbers, or sequences and mappings of them, compared item by item) must have the
    same shape and, with ``check_dtype``, the same dtype; then ``|a - e| <= atol + rtol * |e|``
    elementwise, with the dtype's default tolerances unless both are given.
    """
    if (rtol is None) != (atol is None):
        raise ValueError(
            "assert_close: both 'rtol' and 'atol' must be either specified or omitted, but got "
            f"no {'atol' if atol is None else 'rtol'}"
        )
    _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, ())


def _compare(
    a: Any, e: Any, rtol: Any, atol: Any, equal_nan: bool, check_dtype: bool, msg: Any, at: tuple
) -> None:
    where = "".join(f"[{k!r}]" for k in at)
    if isinstance(e, Mapping) and not isinstance(e, Tensor):
        if not isinstance(a, Mapping) or set(a) != set(e):
            _fail(msg, f"The keys of the mappings do not match{' at ' + where if where else ''}")
        for k in e:
            _compare(a[k], e[k], rtol, atol, equal_nan, check_dtype, msg, (*at, k))
        return
    if isinstance(e, Sequence) and not isinstance(e, (str, bytes)) and not _is_tensor_like(e):
        if not isinstance(a, Sequence) or len(a) != len(e):
            got = len(a) if isinstance(a, Sequence) else type(a).__name__
            _fail(msg, f"The length of the sequences mismatch: {got} != {len(e)}")
        for k, (x, y) in enumerate(zip(a, e)):
            _compare(x, y, rtol, atol, equal_nan, check_dtype, msg, (*at, k))
        return
    if not (_is_tensor_like(a) and _is_tensor_like(e)):
        raise TypeError(
            f"assert_close: no comparison for {type(a).__name__} and {type(e).__name__}"
            f"{' at ' + where if where else ''}"
        )
    if isinstance(e, Tensor) != isinstance(a, Tensor):
        _fail(
            msg,
            f"Expected both inputs to be tensors, got {type(a).__name__} and {type(e).__name__}",
        )
    x, y = _as_array(a), _as_array(e)
    kind = "Tensor-likes" if isinstance(e, Tensor) else "Scalars"
    if x.shape != y.shape:
        _fail(msg, f"The values for attribute 'shape' do not match: {_shape(x)} != {_shape(y)}.")
    if check_dtype and x.dtype != y.dtype:
        _fail(
            msg,
            "The values for attribute 'dtype' do not match: "
            f"{dtypes.name(x.dtype)} != {dtypes.name(y.dtype)}.",
        )
    if rtol is None:
        rtol, atol = max(_TOLERANCES.get(x.dtype, (0.0, 0.0)), _TOLERANCES.get(y.dtype, (0.0, 0.0)))
    if x.dtype == np.bool_ or y.dtype == np.bool_:
        x, y = x.astype(np.int64), y.astype(np.int64)
    common = np.result_type(x.dtype, y.dtype, np.float64 if x.dtype.kind in "iub" else x.dtype)
    xc, yc = x.astype(common), y.astype(common)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(xc - yc)
        ok = diff <= atol + rtol * np.abs(yc)
        ok |= xc == yc  # equal infinities
        if equal_nan:
            ok |= np.isnan(xc) & np.isnan(yc)
    if ok.all():
        return
    _fail(msg, _mismatch_report(kind, x, y, ok, rtol, atol))


def _shape(a: np.ndarray) -> str:
    return f"torch.Size({list(a.shape)})"


def _mismatch_report(
    kind: str, x: np.ndarray, y: np.ndarray, ok: np.ndarray, rtol: float, atol: float
) -> str:
    """PyTorch's message: how many elements mismatch, the greatest differences and where."""
    exact = rtol == 0 and atol == 0
    whole = x.dtype.kind in "iub" and y.dtype.kind in "iub"
    # as PyTorch: differences in the inputs' float dtype (integers: exact, relative in float32;
    # scalars: in Python floats)
    real = np.float64 if x.ndim == 0 else np.float32 if whole else np.result_type(x.dtype, y.dtype)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if whole:
            abs_diff = np.abs(x.astype(np.int64) - y.astype(np.int64))
        else:
            abs_diff = np.abs(x.astype(real) - y.astype(real))
        rel_diff = abs_diff.astype(real) / np.abs(y.astype(real))
    # (NaN is the greatest difference where there is one, as torch.max reports it)
    up_abs = "" if exact else f" (up to {atol} allowed)"
    up_rel = "" if exact else f" (up to {rtol} allowed)"
    head = f"{'Scalars' if x.ndim == 0 else kind} are not {'equal' if exact else 'close'}!\n\n"
    if x.ndim == 0:
        return (
            f"{head}Expected {_num(y.item(), whole)} but got {_num(x.item(), whole)}.\n"
            f"Absolute difference: {_num(abs_diff.item(), whole)}{up_abs}\n"
            f"Relative difference: {_num(rel_diff.item())}{up_rel}"
        )
    bad = int((~ok).sum())
    total = ok.size
    ia = np.unravel_index(int(np.argmax(abs_diff)), abs_diff.shape)
    ir = np.unravel_index(int(np.argmax(rel_diff)), rel_diff.shape)
    return (
        f"{head}Mismatched elements: {bad} / {total} ({bad / total * 100:.1f}%)\n"
        f"Greatest absolute difference: {_num(abs_diff[ia], whole)} at index "
        f"{tuple(int(i) for i in ia)}{up_abs}\n"
        f"Greatest relative difference: {_num(rel_diff[ir])} at index "
        f"{tuple(int(i) for i in ir)}{up_rel}"
    )


def _num(v: Any, whole: bool = False) -> str:
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        return repr(v)
    return str(int(v)) if whole else repr(v)


def _fail(msg: Any, default: str) -> None:
    if callable(msg):
        raise AssertionError(msg(default))
    raise AssertionError(default if msg is None else msg)


def assert_allclose(
    actual: Any,
    expected: Any,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = True,
    msg: str = "",
) -> None:
    """The deprecated older name: like ``assert_close`` without the dtype check."""
    if rtol is None and atol is None:
        rtol, atol = None, None
    elif rtol is None or atol is None:
        rtol, atol = rtol or 0.0, atol or 0.0
    assert_close(
        actual,
        expected,
        rtol=rtol,
        atol=atol,
        equal_nan=equal_nan,
        check_dtype=False,
        msg=msg or None,
    )


def make_tensor(
    *shape: Any,
    dtype: Any,
    device: Any = None,
    low: float | None = None,
    high: float | None = None,
    requires_grad: bool = False,
    noncontiguous: bool = False,
    exclude_zero: bool = False,
    memory_format: Any = None,
) -> Tensor:
    """A tensor of ``shape`` with values drawn uniformly from [low, high) (PyTorch's defaults:
    -9..9 for numbers, 0..10 for unsigned), from the default generator."""
    from glassgrad import creation

    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dt = dtypes.as_dtype(dtype)
    if dt == np.bool_:
        values = creation.randint(0, 2, shape).to(dtype)
    else:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        if dt.kind == "u":
            lo = max(lo, 0.0)
        if dt.kind in "iu":
            values = creation.randint(math.ceil(lo), math.floor(hi), shape).to(dtype)
        else:
            values = (creation.rand(*shape, dtype=dtype) * (hi - lo) + lo).to(dtype)
    if exclude_zero:
        values = values.masked_fill(values == 0, 1 if dt.kind in "iub" else float(np.finfo(dt).eps))
    if requires_grad:
        values.requires_grad_(True)
    return values
