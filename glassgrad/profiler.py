"""``torch.profiler``: glassgrad has no profiler (a profile needs per-op timings, which glassgrad
does not record), so ``profile`` and the rest raise ``NotImplementedError`` saying so.

``record_function(name)`` is here: it labels a range of code for a profiler, and with no
profiler running (never, here) it does nothing, as in PyTorch; model code that labels its
blocks runs unchanged. ``torch.utils.benchmark.Timer`` times statements;
``glassgrad.autograd.record.record_backward()`` times each backward rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["record_function"]

_HINT = (
    "glassgrad has no profiler (torch.profiler / torch.autograd.profiler): it records no per-op "
    "timings; time code with torch.utils.benchmark.Timer, or each backward rule with "
    "glassgrad.autograd.record.record_backward()"
)


# PyTorch's profiler names (both modules'): each raises NotImplementedError naming itself
_PROFILER_NAMES = frozenset(
    (
        "profile",
        "schedule",
        "ProfilerActivity",
        "ProfilerAction",
        "tensorboard_trace_handler",
        "supported_activities",
        "kineto_available",
        "ExecutionTraceObserver",
        "emit_nvtx",
        "emit_itt",
        "itt",
        "EventList",
        "FunctionEvent",
        "FunctionEventAvg",
        "KinetoStepTracker",
        "_KinetoProfile",
    )
)


class record_function:
    """``with record_function("name"):`` or ``@record_function("name")``: a labelled range,
    which only a running profiler would record (none runs in glassgrad)."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args

    def __enter__(self) -> record_function:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def labelled(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return labelled


def __getattr__(name: str) -> object:
    if name not in _PROFILER_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise NotImplementedError(f"torch.profiler.{name}: {_HINT}")
