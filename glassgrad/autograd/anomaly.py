"""Anomaly mode: find the op whose backward produced the first NaN or Inf, and where it was made.

While anomaly mode is on, every recorded op remembers the user's source line that created it
(``ctx._trace``, the innermost frame outside glassgrad), and the backward walk checks each
gradient a rule returns: the first non-finite one raises a ``RuntimeError`` naming the op (e.g.
``SqrtBackward0``) and that line. Off (the default), nothing is recorded or checked: finding the
creation site walks the Python stack, which is far too slow for every op of every forward pass.

>>> import numpy as np
>>> import glassgrad as gg
>>> from glassgrad.autograd.anomaly import set_detect_anomaly
>>> x = gg.tensor(0.0, requires_grad=True)
>>> with set_detect_anomaly(True), np.errstate(invalid="ignore"):  # doctest: +ELLIPSIS
...     (gg.sqrt(x) * 0).backward()
Traceback (most recent call last):
RuntimeError: Function 'SqrtBackward0' returned nan values in its gradient for input 0 (shape ()).
  the op was created at <doctest ...
"""

from __future__ import annotations

import functools
import os
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from glassgrad.autograd.state import state

__all__ = [
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_detect_anomaly",
]

F = TypeVar("F", bound=Callable[..., Any])


def _get() -> tuple[bool, bool]:
    return bool(state.anomaly), bool(state.anomaly_check_nan)


def _set(mode: bool, check_nan: bool) -> None:
    state.anomaly = mode
    state.anomaly_check_nan = check_nan


def is_anomaly_enabled() -> bool:
    """Is anomaly mode on (ops record their creation site, backward checks gradients)?"""
    return bool(state.anomaly)


def is_anomaly_check_nan_enabled() -> bool:
    """Does anomaly mode check gradients for NaN/Inf (``check_nan`` of ``detect_anomaly``)?"""
    return _get()[1]


class detect_anomaly:
    """Turn anomaly mode on for a ``with`` block or, as a decorator, for every call.

    Debugging only: each op then walks the Python stack to remember its creation site, and each
    backward rule's result is scanned for NaN/Inf. ``check_nan=False`` keeps the creation sites
    (for error messages) without the scan.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = bool(check_nan)
        self._prev: list[tuple[bool, bool]] = []
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        self._prev.append(_get())  # a stack, so the same object can be entered re-entrantly
        _set(True, self.check_nan)

    def __exit__(self, *exc: Any) -> None:
        _set(*self._prev.pop())

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class set_detect_anomaly:
    """Set anomaly mode to ``mode`` now; used with ``with``, the previous mode comes back after.

    >>> from glassgrad.autograd.anomaly import is_anomaly_enabled, set_detect_anomaly
    >>> with set_detect_anomaly(True):
    ...     is_anomaly_enabled()
    True
    >>> is_anomaly_enabled()
    False
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._prev = _get()
        _set(bool(mode), bool(check_nan))

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _set(*self._prev)


def check_finite(node: Any, grads: Sequence[Any]) -> None:
    """Anomaly mode: raise at the first NaN/Inf gradient, naming the op and where it was made."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        arr = getattr(g, "_data", g)  # a Tensor under create_graph: its array
        if not np.all(np.isfinite(arr)):
            site = getattr(node, "_trace", None)
            where = (
                f"\n  the op was created at {site.filename}:{site.lineno}\n    {site.line}"
                if site is not None
                else ""
            )
            bad = "nan" if np.any(np.isnan(arr)) else "inf"
            raise RuntimeError(
                f"Function '{node.name()}' returned {bad} values in its gradient for input {i} "
                f"(shape {tuple(np.shape(arr))}).{where}"
            )


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def creation_site() -> traceback.FrameSummary | None:
    """The innermost frame outside the glassgrad package: the user's line that created the op."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return frame
    return None
