"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` (contexts and decorators)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from glassgrad.autograd.engine import state

F = TypeVar("F", bound=Callable[..., Any])


class _GradModeContext:
    """Sets grad mode for a ``with`` block or, used as a decorator, for every call."""

    mode: bool = True

    def __enter__(self) -> None:
        self._prev = state.grad_enabled
        state.grad_enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        state.grad_enabled = self._prev

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = state.grad_enabled
            state.grad_enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                state.grad_enabled = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Record nothing and save nothing inside: for inference and parameter updates.

    >>> import glassgrad as gg
    >>> w = gg.ones(2, requires_grad=True)
    >>> with gg.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradModeContext):
    """Turn recording back on inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode to ``mode``: immediately when called, and restored after a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        self._prev = state.grad_enabled
        self.mode = bool(mode)
        state.grad_enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        state.grad_enabled = self._prev


class inference_mode(no_grad):
    """Same as ``no_grad`` in glassgrad."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode


def is_grad_enabled() -> bool:
    return state.grad_enabled
