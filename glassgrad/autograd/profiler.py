"""``torch.autograd.profiler``: the older spelling of the profiler (``torch.profiler`` records
the same events). ``with profile() as prof:`` records the block; afterwards
``prof.key_averages().table(...)``, ``prof.table()``, ``prof.total_average()`` and
``prof.export_chrome_trace(path)`` report it. ``profile(enabled=False)`` records nothing.
``emit_nvtx`` is refused when switched on: there are no NVTX ranges without CUDA.
"""

from __future__ import annotations

from typing import Any

from glassgrad.autograd.profiler_util import (
    Collector,
    EventList,
    FunctionEventAvg,
    start_recording,
    stop_recording,
)
from glassgrad.profiler import record_function

__all__ = ["emit_nvtx", "profile", "record_function"]


class profile:
    """Record the ops run inside ``with``: ``record_shapes``, ``profile_memory`` and
    ``with_stack`` as in ``torch.profiler.profile``; ``use_cuda``/``use_device`` record
    nothing more (CPU only)."""

    def __init__(
        self,
        enabled: bool = True,
        *,
        use_cuda: bool = False,
        use_device: str | None = None,
        record_shapes: bool = False,
        with_flops: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_modules: bool = False,
        use_kineto: bool = False,
        use_cpu: bool = True,
        experimental_config: Any = None,
        acc_events: bool = False,
        custom_trace_id_callback: Any = None,
    ) -> None:
        self.enabled = enabled
        self.record_shapes, self.profile_memory, self.with_stack = (
            record_shapes,
            profile_memory,
            with_stack,
        )
        self._collector: Collector | None = None
        self.function_events: EventList | None = None

    def __enter__(self) -> profile:
        if self.enabled:
            if self._collector is not None:
                raise RuntimeError("torch.autograd.profiler.profile: the profiler is already on")
            self._collector = Collector(self.record_shapes, self.profile_memory, self.with_stack)
            start_recording(self._collector)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._collector is not None:
            stop_recording(self._collector)
            self.function_events = self._collector.events()
            self._collector = None

    def _events(self) -> EventList:
        if self.function_events is None:
            raise RuntimeError(
                "torch.autograd.profiler.profile: the profiler didn't finish running (read its "
                "results after the `with` block)"
                if self.enabled
                else "torch.autograd.profiler.profile: made with enabled=False, it records nothing"
            )
        return self.function_events

    def key_averages(
        self, group_by_input_shape: bool = False, group_by_stack_n: int = 0
    ) -> EventList:
        return self._events().key_averages(group_by_input_shape, group_by_stack_n)

    def table(self, sort_by: str | None = None, row_limit: int = 100, **kwargs: Any) -> str:
        return self._events().table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def total_average(self) -> FunctionEventAvg:
        return self._events().total_average()

    def export_chrome_trace(self, path: str) -> None:
        self._events().export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        self._events().export_stacks(path, metric)

    @property
    def self_cpu_time_total(self) -> float:
        return self._events().self_cpu_time_total

    def __str__(self) -> str:
        return str(self._events())


class emit_nvtx:
    """``emit_nvtx(enabled=False)``: a context doing nothing (scripts turn debugging tools off
    with it); switched on it is refused: NVTX ranges need CUDA."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        if enabled:
            raise NotImplementedError(
                "torch.autograd.profiler.emit_nvtx: glassgrad has no NVTX ranges (they need "
                "CUDA); use torch.profiler.profile to time ops on the CPU"
            )

    def __enter__(self) -> emit_nvtx:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None
