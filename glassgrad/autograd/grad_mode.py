"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` (contexts and decorators)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from glassgrad.autograd.state import (
    set_create_graph_switch,
    set_grad_enabled_switch,
    state,
)

F = TypeVar("F", bound=Callable[..., Any])


class grad_mode:
    """Set grad mode (and, if given, ``create_graph``) inside a ``with`` block; restore both after.

    The one save/restore of these switches: the engine, tools and ``no_grad`` use it.
    ``with grad_mode(False): ...`` records nothing; ``grad_mode(True, create_graph=True)`` is
    how the engine runs rules whose results are differentiable again.
    """

    __slots__ = ("_prev", "create_graph", "enabled")

    def __init__(self, enabled: bool, create_graph: bool | None = None) -> None:
        self.enabled = enabled is True or bool(enabled)
        self.create_graph = (
            create_graph if create_graph is None or create_graph is True else bool(create_graph)
        )

    def __enter__(self) -> None:
        st = state  # this thread's switches (each is set only on a change)
        self._prev = g0, c0 = st.grad_enabled, st.create_graph
        if self.enabled is not g0:
            set_grad_enabled_switch(self.enabled)
        cg = self.create_graph
        if cg is not None and cg is not c0:
            set_create_graph_switch(cg)

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        st = state
        g0, c0 = self._prev
        if st.grad_enabled is not g0:
            set_grad_enabled_switch(g0)
        if st.create_graph is not c0:
            set_create_graph_switch(c0)


class _GradModeContext:
    """Sets grad mode for a ``with`` block or, used as a decorator, for every call."""

    mode: bool = True

    def __enter__(self) -> None:  # (inline, not through grad_mode: entered on every step)
        self._prev = prev = state.grad_enabled
        if prev is not self.mode:
            set_grad_enabled_switch(self.mode)

    def __exit__(self, *exc: Any) -> None:
        if state.grad_enabled is not self._prev:
            set_grad_enabled_switch(self._prev)

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with grad_mode(mode):
                return fn(*args, **kwargs)

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
        self.mode = bool(mode)
        super().__enter__()  # takes effect at once; __exit__ restores the previous mode

    def __enter__(self) -> None:
        pass


class inference_mode(no_grad):
    """``no_grad`` in glassgrad (nothing recorded, nothing saved); ``is_inference_mode_enabled``
    says whether one is active in this thread."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode
        self.inference = bool(mode)

    def __enter__(self) -> None:
        self._prev_inference = _inference.on
        _inference.on = self.inference
        super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        _inference.on = self._prev_inference

    def __call__(self, fn: F) -> F:
        context = self

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(context)(context.inference):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class _InferenceFlag(threading.local):
    on = False


_inference = _InferenceFlag()


def is_inference_mode_enabled() -> bool:
    """Is an ``inference_mode`` block (or decorated call) active in this thread?"""
    return _inference.on


def is_grad_enabled() -> bool:
    """Is grad mode on in this thread (each thread has its own; a new one starts with it on)?"""
    return state.grad_enabled
