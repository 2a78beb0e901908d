"""``torch.profiler``: where the time of a step goes, op by op, as PyTorch's profiler reports it.

``with profile() as prof: ...`` times every op's forward (``aten::addmm``), every backward rule
(``AddmmBackward0``), in-place updates and optimizer steps, and ``record_function`` ranges;
``prof.key_averages().table(sort_by="cpu_time_total")`` prints PyTorch's table, and
``export_chrome_trace`` writes a trace for chrome://tracing or Perfetto. ``schedule`` and
``prof.step()`` pick which steps of a loop are recorded, ``on_trace_ready`` (for instance
``tensorboard_trace_handler``) gets each recorded cycle. Only CPU activity exists here. The
timing wrappers are on only while a profiler records (``autograd/profiler_util.py``): an op
costs nothing more otherwise.
"""

from __future__ import annotations

import enum
import functools
import gzip
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from glassgrad.autograd.profiler_util import (
    Collector,
    EventList,
    note,
    start_recording,
    stop_recording,
)

__all__ = [
    "ProfilerAction",
    "ProfilerActivity",
    "kineto_available",
    "profile",
    "record_function",
    "schedule",
    "supported_activities",
    "tensorboard_trace_handler",
]


class ProfilerActivity(enum.Enum):
    """What a profiler may record: only ``CPU`` is recorded here (no accelerator exists)."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What a profiler does at a step of its ``schedule``."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set[ProfilerActivity]:
    return {ProfilerActivity.CPU}


def kineto_available() -> bool:
    """False: glassgrad's profiler is its own, not PyTorch's Kineto library."""
    return False


def schedule(
    *,
    wait: int,
    warmup: int,
    active: int,
    repeat: int = 0,
    skip_first: int = 0,
    skip_first_wait: int = 0,
) -> Callable[[int], ProfilerAction]:
    """PyTorch's schedule: skip ``skip_first`` steps, then cycles of ``wait`` idle steps,
    ``warmup`` steps and ``active`` recorded ones (the last saves), ``repeat`` times (0: for
    ever); ``skip_first_wait`` skips the first cycle's wait."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError(
            f"profiler schedule: expected wait >= 0, warmup >= 0, active > 0, repeat >= 0 and "
            f"skip_first >= 0, got wait={wait}, warmup={warmup}, active={active}, "
            f"repeat={repeat}, skip_first={skip_first}"
        )

    def action(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        at = step % cycle
        if at < wait:
            return ProfilerAction.NONE
        if at < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if at < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return action


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


class profile:
    """Record the ops run inside ``with`` (or between ``start()`` and ``stop()``).

    As PyTorch's: ``record_shapes`` keeps input shapes (``key_averages(group_by_input_shape=
    True)``), ``profile_memory`` the bytes each op's result takes, ``with_stack`` the
    caller's frames (``export_stacks``); ``with_flops``/``with_modules`` are accepted and record
    nothing more. Events of every thread are recorded.
    """

    def __init__(
        self,
        *,
        activities: Iterable[ProfilerActivity] | None = None,
        schedule: Callable[[int], ProfilerAction] | None = None,
        on_trace_ready: Callable[[profile], Any] | None = None,
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
        with_modules: bool = False,
        experimental_config: Any = None,
        execution_trace_observer: Any = None,
        acc_events: bool = False,
        use_cuda: bool | None = None,
        custom_trace_id_callback: Any = None,
    ) -> None:
        wanted = set(activities) if activities is not None else supported_activities()
        if use_cuda:
            wanted.add(ProfilerActivity.CUDA)
        if wanted - supported_activities():
            names = sorted(a.name for a in wanted - supported_activities())
            warnings.warn(
                f"profiler: only CPU activity can be recorded here; {', '.join(names)} "
                "is ignored (no accelerator)",
                stacklevel=2,
            )
        self.activities = wanted & supported_activities()
        self.schedule = schedule if schedule is not None else _always_record
        self.on_trace_ready = on_trace_ready
        self.record_shapes, self.profile_memory, self.with_stack = (
            record_shapes,
            profile_memory,
            with_stack,
        )
        self.with_flops, self.with_modules = with_flops, with_modules
        self.acc_events = acc_events
        self.step_num = 0
        self.current_action = ProfilerAction.NONE
        self._collector: Collector | None = None
        self._events: EventList | None = None
        self._metadata: dict[str, str] = {}

    # ---- the recording cycle ---------------------------------------------------------------
    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        self.step_num = 0
        self.current_action = self.schedule(0)
        if self.current_action in _RECORDING:
            self._begin()

    def stop(self) -> None:
        if self._collector is not None:
            self._finish(save=True)
        self.current_action = ProfilerAction.NONE

    def step(self) -> None:
        """Mark the end of one step of a loop: the schedule decides what the next one does."""
        before = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        if self._collector is not None and (
            before == ProfilerAction.RECORD_AND_SAVE or self.current_action not in _RECORDING
        ):
            self._finish(save=True)
        if self._collector is None and self.current_action in _RECORDING:
            self._begin()

    def _begin(self) -> None:
        self._collector = Collector(self.record_shapes, self.profile_memory, self.with_stack)
        start_recording(self._collector)

    def _finish(self, save: bool) -> None:
        collector, self._collector = self._collector, None
        if collector is None:
            return
        stop_recording(collector)
        self._events = collector.events()
        if save and self.on_trace_ready is not None:
            self.on_trace_ready(self)

    # ---- results -------------------------------------------------------------------------------
    def events(self) -> EventList:
        """Every event of the latest recorded cycle, in the order they started."""
        if self._events is None:
            raise RuntimeError(
                "profiler: no recorded events yet; leave the `with profile()` block (or call "
                "stop()) or let the schedule finish a recording cycle first"
            )
        return self._events

    def key_averages(
        self,
        group_by_input_shape: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """The events summed per name (and input shapes or stack frames, if asked)."""
        if group_by_input_shape and not self.record_shapes:
            raise ValueError(
                "profiler key_averages(group_by_input_shape=True) needs profile(record_shapes=True)"
            )
        if group_by_stack_n and not self.with_stack:
            raise ValueError(
                "profiler key_averages(group_by_stack_n=...) needs profile(with_stack=True)"
            )
        return self.events().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path: str) -> None:
        """Write the latest cycle as a Chrome trace (``.gz`` paths are gzipped)."""
        if path.endswith(".gz"):
            plain = f"{path[:-3]}.tmp{os.getpid()}"
            self.events().export_chrome_trace(plain)
            with open(plain, "rb") as src, gzip.open(path, "wb") as dst:
                dst.write(src.read())
            os.remove(plain)
        else:
            self.events().export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Write the recorded stacks for flame graphs (needs ``with_stack=True``)."""
        if not self.with_stack:
            raise ValueError("profiler export_stacks needs profile(with_stack=True)")
        self.events().export_stacks(path, metric)

    def add_metadata(self, key: str, value: str) -> None:
        self._metadata[key] = value

    def add_metadata_json(self, key: str, value: str) -> None:
        self._metadata[key] = value

    @property
    def profiler(self) -> profile:
        return self


def tensorboard_trace_handler(
    dir_name: str, worker_name: str | None = None, use_gzip: bool = False
) -> Callable[[profile], None]:
    """An ``on_trace_ready`` that writes each recorded cycle to ``dir_name`` as
    ``<worker>.<ms>.pt.trace.json``, the files TensorBoard's profiler plugin reads."""

    def handler(prof: profile) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns() // 1_000_000}.pt.trace.json"
        prof.export_chrome_trace(os.path.join(dir_name, name + (".gz" if use_gzip else "")))

    return handler


class record_function:
    """``with record_function("name"):`` or ``@record_function("name")``: a labelled range,
    shown as its own row by a running profiler (and doing nothing when none runs)."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args
        self._start = 0

    def __enter__(self) -> record_function:
        self._start = time.perf_counter_ns()
        return self

    def __exit__(self, *exc: Any) -> None:
        note(self.name, self._start, (), None, label=True)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def labelled(*args: Any, **kwargs: Any) -> Any:
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)

        return labelled


_HINT = (
    "glassgrad's profiler records CPU ops (torch.profiler.profile); it has no "
    "NVTX/ITT ranges or execution-trace observers"
)
_REFUSED = frozenset({"emit_nvtx", "emit_itt", "itt", "ExecutionTraceObserver"})


def __getattr__(name: str) -> object:
    if name == "_KinetoProfile":
        return profile
    if name in ("EventList", "FunctionEvent", "FunctionEventAvg"):
        from glassgrad.autograd import profiler_util

        return getattr(profiler_util, name)
    if name not in _REFUSED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise NotImplementedError(f"torch.profiler.{name}: {_HINT}")
