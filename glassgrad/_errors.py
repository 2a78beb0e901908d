"""Errors in the user's terms: one place that words every public op's failures.

The registry (``glassgrad/ops/registry.py``) runs each public op's function through ``guarded``,
so whatever an op raises reaches the user naming the op, with the shapes and dtypes it was given:

* a message that already names the op passes through as it is (its type too);
* one that does not is prefixed with the op's name (``sub: ...``);
* one in NumPy's or CPython's words ("operands could not be broadcast", "ufunc 'exp' not
  supported", "'float' object cannot be interpreted as an integer") is reworded;
* exceptions no user should see from inside a library (``ZeroDivisionError``,
  ``RecursionError``, ``MemoryError``, ``OverflowError``, ``KeyError``, ``AttributeError``)
  become ``ValueError``/``RuntimeError``/``TypeError`` saying what was wrong with the arguments.

``check_hook_result`` is the check the engine runs on what a gradient hook returned.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad._convert import describe, describe_args

__all__ = [
    "INTERNAL_PHRASES",
    "ArgumentAssertionError",
    "check_hook_result",
    "guarded",
    "internal",
    "reword",
]


class ArgumentAssertionError(ValueError, AssertionError):
    """A bad argument where PyTorch raises ``AssertionError`` (``MultiheadAttention``,
    ``embedding``'s padding_idx): caught by ``except AssertionError`` as in PyTorch, and by
    ``except ValueError`` as every other bad argument in glassgrad."""


# Wording that belongs to NumPy or CPython, never to a glassgrad message.
INTERNAL_PHRASES = (
    "could not be broadcast",
    "ufunc",
    "inhomogeneous",
    "setting an array element with a sequence",
    "allow_pickle",
    "object cannot be interpreted as an integer",
    "object is not iterable",
    "object is not subscriptable",
    "object has no attribute",
    "unsupported operand type",
    "maximum recursion depth",
    "dtype('",
    "numpy boolean",
    "array is too big",
    "maximum possible size",
    "Maximum allowed size exceeded",
    "negative dimensions are not allowed",
    "invalid literal for int()",
    "could not convert string to float",
    "Invalid integer data type",
)
# NumPy refusals PyTorch also makes, in PyTorch's words (RuntimeError, as PyTorch raises).
_PYTORCH_WORDING = {
    "numpy boolean subtract": "Subtraction, the `-` operator, with two bool tensors is not "
    "supported. Use the `^` or `logical_xor()` operator instead.",
    "numpy boolean negative": "Negation, the `-` operator, on a bool tensor is not supported. "
    "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.",
}
_DTYPE_STR = re.compile(r"(?<!\w)[<>|=][a-zA-Z]\d+\b")  # "<U3", "|S3", "<f8"
_PASS = (ValueError, TypeError, IndexError, RuntimeError, NotImplementedError)
# CPython's own exception types, never shown as they are (RecursionError is a RuntimeError)
CPYTHON_ERRORS = (ArithmeticError, MemoryError, LookupError, AttributeError, RecursionError)
_CAUGHT = (*_PASS, ArithmeticError, MemoryError, LookupError, AttributeError)


def internal(message: str) -> str | None:
    """The NumPy/CPython phrase ``message`` contains, or None when it is in glassgrad's words."""
    for phrase in INTERNAL_PHRASES:
        if phrase in message:
            return phrase
    m = _DTYPE_STR.search(message)
    return m.group(0) if m else None


def _names(message: str, op: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(op)}(?!\w)", message) is not None


def _shapes(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    from glassgrad.tensor import Tensor

    shapes = [
        f"{tuple(a.shape)} ({describe(a).rsplit(' ', 1)[-1]})"
        for a in (*args, *kwargs.values())
        if isinstance(a, Tensor | np.ndarray)
    ]
    return " and ".join(shapes) or "(none)"


class OutOfMemoryError(RuntimeError):
    """Not enough memory for an op's result (``torch.OutOfMemoryError``; ``torch.cuda``'s is the
    same class): a ``RuntimeError``, as PyTorch's CPU allocator raises."""


def reword(op: str, e: BaseException, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The exception to raise instead of ``e`` from op ``op`` called with ``args``/``kwargs``;
    None to raise ``e`` itself (it already names the op in the user's terms)."""
    message = str(e)
    given = describe_args(args, kwargs)
    if isinstance(e, RecursionError):
        return RuntimeError(f"{op}: arguments nested too deeply to process ({given})")
    if isinstance(e, MemoryError):
        return OutOfMemoryError(f"{op}: not enough memory for the result (arguments: {given})")
    if isinstance(e, ZeroDivisionError):
        return ValueError(f"{op}: an argument that must be nonzero is zero ({given})")
    if isinstance(e, OverflowError):
        return ValueError(f"{op}: a number is out of range ({given})")
    if isinstance(e, LookupError) and not isinstance(e, IndexError):  # KeyError
        return ValueError(f"{op}: unsupported argument value {message} ({given})")
    if isinstance(e, AttributeError):
        return TypeError(f"{op}: unsupported argument types ({given})")
    phrase = internal(message)
    if phrase is None:
        if _names(message, op):
            return None
        return _prefixed(e, f"{op}: {message}")
    for numpy_words, pytorch_words in _PYTORCH_WORDING.items():
        if numpy_words in message:
            return RuntimeError(f"{op}: {pytorch_words} (got {given})")
    if "could not be broadcast" in message:
        return RuntimeError(
            f"{op}: the shapes of its inputs, {_shapes(args, kwargs)}, do not broadcast together "
            "(trailing dimensions must be equal or 1)"
        )
    if "too big" in message or "maximum possible size" in message or "allowed size" in message:
        return RuntimeError(f"{op}: the result would be too large to allocate ({given})")
    if "negative dimensions" in message:
        return ValueError(f"{op}: sizes must be non-negative, got {given}")
    if "invalid literal" in message or "could not convert string" in message:
        return TypeError(f"{op}: expected numbers, got {given}")
    if "cannot be interpreted as an integer" in message:
        return TypeError(f"{op}: expected integers (sizes, dims, counts), got {given}")
    if "inhomogeneous" in message or "setting an array element" in message:
        return ValueError(f"{op}: nested sequences of unequal lengths in {given}")
    if "ufunc" in message or _DTYPE_STR.search(message) or "dtype('" in message:
        return TypeError(f"{op}: not supported for these argument types: {given}")
    kind = next(k for k in _PASS if isinstance(e, k))
    return kind(f"{op}: invalid arguments: {given}")


def forward_error(cls: Any, e: Exception, args: tuple[Any, ...]) -> Exception | None:
    """The error to raise instead of ``e`` from the forward of the built-in op ``cls`` (a Node),
    or None when ``e`` is in the user's terms already.

    The hot ops (unary and arithmetic) have no wrapper of their own to word NumPy's or CPython's
    errors; an elementwise op's broadcasting error names the op and its inputs' shapes and dtypes.
    """
    name = (cls.op_name or cls.__name__).lower()
    if cls.broadcasts and isinstance(e, ValueError) and "could not be broadcast" in str(e):
        shapes = [
            f"{tuple(np.shape(a))} ({np.asarray(a).dtype})"
            for a in (getattr(a, "_data", a) for a in args)
            if isinstance(a, np.ndarray)
        ]
        return RuntimeError(
            f"{name}: the shapes of its inputs, {' and '.join(shapes)}, do not broadcast together "
            "(trailing dimensions must be equal or 1)"
        )
    scalar_op = len(args) == 2 and type(args[1]) in (int, float)  # MulScalar: x * 2
    if len(args) != 1 and not (cls.broadcasts or scalar_op):
        return None  # a guarded op: its wrapper words the error with the user's arguments
    if internal(str(e)) is None and not isinstance(e, CPYTHON_ERRORS):
        return None
    return reword(name, e, args, {})


def _prefixed(e: BaseException, message: str) -> BaseException:
    """``e`` (same type) with ``message``; a fresh exception of its base type when ``e``'s class
    cannot be rebuilt from a message (NumPy's ``AxisError``)."""
    try:
        new = type(e)(message)
        if str(new) == message:
            return new
    except Exception:  # a constructor that wants other arguments
        pass
    kind = next(k for k in _PASS if isinstance(e, k))
    return kind(message)


def guarded(
    fn: Callable[..., Any],
    name: str | None,
    renames: dict[str, str] | None = None,
    write_out: Callable[..., Any] | None = None,
) -> Callable[..., Any]:
    """``fn`` with its errors worded for the user under op name ``name`` (see the module);
    ``name=None``: a method, worded under its instance's class name (``Conv1d``).
    ``renames``: other keyword names ``fn`` takes for its parameters (``axis`` for ``dim``).
    ``write_out``: it also takes PyTorch's keyword ``out=``, and ``write_out(name, result, out)``
    puts the result there (``glassgrad/ops/out.py``) in this same layer, so that a warning an
    op raises still points at the caller's line."""

    if not renames and write_out is None:

        @functools.wraps(fn)
        def op(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except _CAUGHT as e:
                _raise_worded(name, e, args, kwargs)
                raise

    else:

        @functools.wraps(fn)
        def op(*args: Any, **kwargs: Any) -> Any:
            out = kwargs.pop("out", None) if write_out is not None else None
            if renames and kwargs and not renames.keys().isdisjoint(kwargs):
                kwargs = _renamed(name, kwargs, renames)
            try:
                result = fn(*args, **kwargs)
            except _CAUGHT as e:
                _raise_worded(name, e, args, kwargs)
                raise
            return result if out is None else write_out(name, result, out)  # type: ignore[misc]

    op.__glassgrad_guarded__ = True  # type: ignore[attr-defined]
    return op


def _raise_worded(name: str | None, e: BaseException, args: Any, kwargs: Any) -> None:
    """Raise ``e`` reworded (``reword``); return when it is in the user's terms already."""
    if name is None:
        new = reword(type(args[0]).__name__, e, args[1:], kwargs)
    else:
        new = reword(name, e, args, kwargs)
    if new is not None:
        raise new from None


def _renamed(op: str | None, kwargs: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    """``kwargs`` with the other names in ``renames`` replaced by the parameters' own names."""
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        own = renames.get(key, key)
        if own in out or (own != key and own in kwargs):
            raise TypeError(f"{op}(): argument '{own}' given twice (as '{own}' and as '{key}')")
        out[own] = value
    return out


def check_hook_result(hook: Any, result: Any, what: str, shape: tuple[int, ...]) -> None:
    """Raise ``TypeError`` when a gradient hook returned something other than None or a tensor,
    and ``RuntimeError`` when the tensor has another shape than the gradient it replaces.

    ``what`` says where the hook is registered ("a leaf tensor", "MulBackward0").
    """
    if result is None:
        return
    from glassgrad.tensor import Tensor

    hook_name = getattr(hook, "__qualname__", None) or getattr(hook, "__name__", None)
    label = repr(hook_name) if hook_name else repr(hook)
    if not isinstance(result, Tensor | np.ndarray):
        raise TypeError(
            f"hook {label} on {what} returned {describe(result)}; a gradient hook must return "
            f"None or a tensor of shape {tuple(shape)}"
        )
    if tuple(result.shape) != tuple(shape):
        raise RuntimeError(
            f"hook {label} on {what} returned a gradient of shape {tuple(result.shape)}, "
            f"expected shape {tuple(shape)}"
        )
