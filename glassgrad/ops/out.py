"""The ``out=`` keyword of ``torch.<op>(...)``: the result is written into a given tensor.

PyTorch's top-level functions (and those of ``torch.linalg``, ``torch.special``, ``torch.fft``)
take ``out=`` keyword-only, as tutorials write ``torch.matmul(a, b, out=c)``. The op runs as
usual and its result is copied into ``out``, which is returned (a tuple of tensors for ops that
return several, such as ``torch.max(x, 1, out=(values, indices))``). As in PyTorch:

* no gradient flows through ``out=``: it is an error while grad mode is on and the result (or
  ``out``) requires grad;
* the result is cast to ``out``'s dtype where the cast keeps its kind (int into float, float64
  into float32), and an error otherwise (float into int);
* an ``out`` of another shape is resized (with PyTorch's deprecation warning unless it was empty).

>>> import glassgrad as gg
>>> c = gg.empty(2)
>>> gg.add(gg.ones(2), 1, out=c) is c, c
(True, tensor([2., 2.]))
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad import dtypes


def with_out(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``fn`` taking the keyword ``out=`` as ``torch.<name>`` does (one call layer when absent)."""

    @functools.wraps(fn)
    def call(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        if out is None:
            return fn(*args, **kwargs)
        return write_out(name, fn(*args, **kwargs), out)

    return call


def write_out(name: str, result: Any, out: Any) -> Any:
    """Copy ``result`` (a tensor or a tuple of them) into ``out``; return ``out`` (as the same
    kind of tuple as ``result``)."""
    from glassgrad.tensor import Tensor

    if isinstance(result, Tensor):
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
        _write(name, result, out)
        return out
    if not (isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result)):
        raise TypeError(
            f"{name}() got an unexpected keyword argument 'out' (it returns "
            f"{type(result).__name__}, not tensors)"
        )
    if not (
        isinstance(out, (tuple, list))
        and len(out) == len(result)
        and all(isinstance(o, Tensor) for o in out)
    ):
        raise TypeError(
            f"{name}(): argument 'out' must be a tuple of {len(result)} tensors, got "
            f"{_describe(out)}"
        )
    for r, o in zip(result, out, strict=True):
        _write(name, r, o)
    return type(result)(*out) if hasattr(result, "_fields") else tuple(out)


def _describe(out: Any) -> str:
    if isinstance(out, (tuple, list)):
        return f"a {type(out).__name__} of {len(out)} ({', '.join(type(o).__name__ for o in out)})"
    return type(out).__name__


def _write(name: str, result: Any, out: Any) -> None:
    from glassgrad.autograd.state import bump_version, state

    if state.grad_enabled and (result.requires_grad or out.requires_grad):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    src, dst = result._data, out._data
    if not np.can_cast(src.dtype, dst.dtype, casting="same_kind"):
        raise RuntimeError(
            f"{name}(): result type {dtypes.name(src.dtype)} can't be cast to the desired output "
            f"type {dtypes.name(dst.dtype)} of out="
        )
    if dst.shape != src.shape:
        _resize(name, out, src.shape)
    np.copyto(out._data, src, casting="unsafe")
    bump_version(out)


def _resize(name: str, out: Any, shape: tuple[int, ...]) -> None:
    """Give ``out`` the result's shape (new memory), as PyTorch resizes an ``out=`` tensor."""
    if getattr(out, "_base", None) is not None:
        raise RuntimeError(
            f"{name}(): out= is a view of shape {tuple(out.shape)} and the result has shape "
            f"{shape}; a view can't be resized (pass a tensor of shape {shape})"
        )
    if out._data.size != 0:
        warnings.warn(
            f"An output with one or more elements was resized since it had shape "
            f"{list(out.shape)}, which does not match the required output shape {list(shape)}. "
            "This behavior is deprecated, and in a future PyTorch release outputs will not be "
            "resized unless they have zero elements. You can explicitly reuse an out tensor t by "
            "resizing it, inplace, to zero elements with t.resize_(0).",
            UserWarning,
            stacklevel=5,  # the caller of torch.<op>(..., out=)
        )
    out._data = np.empty(shape, out._data.dtype)
