"""``torch.autograd.profiler``: ``record_function`` (a no-op with no profiler running, as in
PyTorch); ``profile(enabled=False)`` and ``emit_nvtx(enabled=False)`` (scripts call them to turn
the debugging tools off) are switched-off contexts; switched on, they and the rest raise
``NotImplementedError``: glassgrad has no profiler."""

from __future__ import annotations

from typing import Any

from glassgrad.profiler import _HINT, _PROFILER_NAMES, record_function

__all__ = ["emit_nvtx", "profile", "record_function"]


class _SwitchedOff:
    """A profiler made with ``enabled=False``: a context that records nothing."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __enter__(self) -> _SwitchedOff:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"torch.autograd.profiler.{self._what}().{name}: {_HINT}")


def profile(enabled: bool = True, *args: Any, **kwargs: Any) -> _SwitchedOff:
    """``profile(False)``: switched off, a context doing nothing; switched on: refused."""
    if enabled:
        raise NotImplementedError(f"torch.autograd.profiler.profile: {_HINT}")
    return _SwitchedOff("profile")


def emit_nvtx(enabled: bool = True, record_shapes: bool = False) -> _SwitchedOff:
    """``emit_nvtx(False)``: off, a context doing nothing; on: refused (no NVTX ranges here)."""
    if enabled:
        raise NotImplementedError(f"torch.autograd.profiler.emit_nvtx: {_HINT}")
    return _SwitchedOff("emit_nvtx")


def __getattr__(name: str) -> object:
    if name not in _PROFILER_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise NotImplementedError(f"torch.autograd.profiler.{name}: {_HINT}")
