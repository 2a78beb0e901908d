"""What a profiler records and how it reports it: ``torch.autograd.profiler_util``'s events.

While a profiler records, every op's forward and every backward rule runs through a timing
wrapper: ``start_recording`` puts one on each ``Node`` class (and on the in-place Tensor methods
and optimizer steps that run no node), ``stop_recording`` takes them off again, so an op costs
nothing more when no profiler runs. A wrapper notes the op's name under PyTorch's names
(``aten::addmm`` forward, ``AddmmBackward0`` backward), when it started and ended, the input
shapes and the bytes of its result; ``record_function`` notes a labelled range. Nesting is
rebuilt afterwards from the time ranges of each thread, which gives every event its children,
its self time (total minus the children's) and its self memory.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "Interval"]


class Interval:
    """An event's start and end, in microseconds since its profiler started."""

    __slots__ = ("end", "start")

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end

    def elapsed_us(self) -> float:
        return self.end - self.start


class _OnTheCpu:
    """The fields PyTorch's events have for devices and remote calls: none of them here."""

    node_id = -1
    is_async = is_remote = is_legacy = False
    device_type = "CPU"
    device_time_total = self_device_time_total = 0.0
    device_memory_usage = self_device_memory_usage = 0
    flops = 0
    # PyTorch's CUDA-era spellings of the device fields
    cuda_time = cuda_time_total = self_cuda_time_total = device_time = property(lambda self: 0.0)


class FunctionEvent(_OnTheCpu):
    """One recorded op, backward rule or labelled range (times in microseconds)."""

    def __init__(
        self,
        id: int,
        name: str,
        thread: int,
        start_us: float,
        end_us: float,
        input_shapes: list[list[int]] | None = None,
        cpu_memory_usage: int = 0,
        stack: list[str] | None = None,
        is_user_annotation: bool = False,
    ) -> None:
        self.id, self.name, self.thread = id, name, thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.cpu_memory_usage = cpu_memory_usage
        self.stack = stack if stack is not None else []
        self.is_user_annotation = is_user_annotation
        self.cpu_children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.count = 1

    @property
    def key(self) -> str:
        return self.name

    @property
    def cpu_time_total(self) -> float:
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total

    @property
    def self_cpu_memory_usage(self) -> int:
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    def __repr__(self) -> str:
        return (
            f"<FunctionEvent id={self.id} name={self.name} cpu_time={_time(self.cpu_time_total)} "
            f"start_us={self.time_range.start:.3f} end_us={self.time_range.end:.3f} "
            f"cpu_children={[c.id for c in self.cpu_children]} thread={self.thread} "
            f"input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage}>"
        )


class FunctionEventAvg(_OnTheCpu):
    """The events of one key (a name, optionally with its input shapes or stack) summed."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.input_shapes: list[list[int]] | None = None
        self.stack: list[str] | None = None
        self.is_user_annotation = False
        self.is_top_level = False
        self.cpu_parent = None
        self.cpu_children: list[Any] = []

    def add(self, other: FunctionEvent | FunctionEventAvg) -> FunctionEventAvg:
        """Add one event (or another average) of this key."""
        if self.count == 0:
            self.input_shapes, self.stack = other.input_shapes, other.stack
            self.is_user_annotation = other.is_user_annotation
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        self.is_top_level |= getattr(other, "cpu_parent", None) is None
        return self

    def __iadd__(self, other: FunctionEvent | FunctionEventAvg) -> FunctionEventAvg:
        return self.add(other)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return (
            f"<FunctionEventAvg key={self.key} self_cpu_time={_time(self.self_cpu_time_total)} "
            f"cpu_time={_time(self.cpu_time)}  self_cuda_time=0.000us cuda_time=0.000us "
            f"input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage} "
            "cuda_memory_usage=0>"
        )


class EventList(list):
    """A list of events (or of their averages) that prints as PyTorch's profiler table."""

    def __init__(self, events: Iterable[Any] = (), *, profile_memory: bool = False) -> None:
        super().__init__(events)
        self._profile_memory = profile_memory

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(
        self,
        group_by_input_shapes: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """One ``FunctionEventAvg`` per name (and input shapes, and top stack frames, if asked),
        in the order each first ran."""
        groups: dict[tuple[Any, ...], FunctionEventAvg] = {}
        for e in self:
            key: tuple[Any, ...] = (e.key,)
            if group_by_input_shapes:
                key += (str(e.input_shapes),)
            if group_by_stack_n > 0:
                key += tuple(e.stack[:group_by_stack_n])
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg(e.key)
            avg.add(e)
        if not group_by_input_shapes:  # (shapes differ within a group: none is shown)
            for avg in groups.values():
                avg.input_shapes = []
        return EventList(groups.values(), profile_memory=self._profile_memory)

    def total_average(self) -> FunctionEventAvg:
        """Every event summed, under the key ``Total``."""
        total = FunctionEventAvg("Total")
        for e in self:
            total.add(e)
        total.key = "Total"
        return total

    def table(
        self,
        sort_by: str | None = None,
        row_limit: int = 100,
        max_src_column_width: int = 75,
        max_name_column_width: int = 55,
        max_shapes_column_width: int = 80,
        header: str | None = None,
        top_level_events_only: bool = False,
        time_unit: str | None = None,
    ) -> str:
        """PyTorch's table: name, self and total CPU time (and memory, shapes where recorded),
        one row per event or average, sorted by ``sort_by`` (largest first)."""
        return _table(
            self,
            sort_by,
            row_limit,
            max_name_column_width,
            max_shapes_column_width,
            header,
            top_level_events_only,
            time_unit,
        )

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as a Chrome trace (open in chrome://tracing or Perfetto)."""
        trace = {
            "traceEvents": [
                {
                    "ph": "X",
                    "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                    "name": e.name,
                    "pid": os.getpid(),
                    "tid": e.thread,
                    "ts": e.time_range.start,
                    "dur": e.cpu_time_total,
                    "args": {"Input Dims": e.input_shapes},
                }
                for e in self
                if isinstance(e, FunctionEvent)
            ],
            "displayTimeUnit": "ms",
        }
        _write_atomically(path, json.dumps(trace).encode())

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Write one line per event with a stack: its frames (outermost first) and the metric,
        the input of flame-graph tools."""
        lines = [
            ";".join([*reversed(e.stack), e.name]) + f" {int(getattr(e, metric))}\n"
            for e in self
            if e.stack
        ]
        _write_atomically(path, "".join(lines).encode())

    def __str__(self) -> str:
        return self.table()


def _write_atomically(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---- the table --------------------------------------------------------------------------------


def _time(us: float, unit: str | None = None) -> str:
    if unit == "s" or (unit is None and us >= 1e6):
        return f"{us / 1e6:.3f}s"
    if unit == "ms" or (unit is None and us >= 1e3):
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _memory(nbytes: int) -> str:
    for size, unit in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


_SORT_KEYS = re.compile(r"cuda|xpu|privateuse1")


def _table(
    events: EventList,
    sort_by: str | None,
    row_limit: int,
    name_width_max: int,
    shapes_width_max: int,
    header: str | None,
    top_level_only: bool,
    unit: str | None,
) -> str:
    rows = list(events)
    if sort_by is not None:
        attribute = _SORT_KEYS.sub("device", sort_by)
        if not rows or not hasattr(rows[0], attribute):
            raise ValueError(
                f"profiler table: cannot sort by {sort_by!r}; sort by cpu_time_total, "
                "self_cpu_time_total, cpu_time, count, cpu_memory_usage or "
                "self_cpu_memory_usage"
            )
        rows.sort(key=lambda e: getattr(e, attribute), reverse=True)
    if top_level_only:
        rows = [e for e in rows if getattr(e, "is_top_level", e.cpu_parent is None)]
    self_total = sum(e.self_cpu_time_total for e in events)
    has_shapes = any(e.input_shapes for e in events)
    memory = events._profile_memory
    name_width = min(max((len(e.key) for e in events), default=4) + 4, name_width_max)
    columns = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if memory:
        columns += ["CPU Mem", "Self CPU Mem"]
    columns.append("# of Calls")
    widths = [name_width] + [12] * len(columns)
    if has_shapes:
        shape_width = min(max(len(str(e.input_shapes)) for e in events) + 4, shapes_width_max)
        columns.append("Input Shapes")
        widths.append(shape_width)
    line = "".join("-" * w + "  " for w in widths)
    out = []
    if header is not None:
        out += ["=" * len(line), header]
    out += [line, "".join(f"{c:>{w}}  " for c, w in zip(["Name", *columns], widths)), line]
    for e in rows[:row_limit] if row_limit > 0 else rows:
        name = e.key if len(e.key) <= name_width - 3 else e.key[: name_width - 6] + "..."
        cells = [
            name,
            f"{e.self_cpu_time_total / self_total * 100 if self_total else 0:.2f}%",
            _time(e.self_cpu_time_total, unit),
            f"{e.cpu_time_total / self_total * 100 if self_total else 0:.2f}%",
            _time(e.cpu_time_total, unit),
            _time(e.cpu_time, unit),
        ]
        if memory:
            cells += [_memory(e.cpu_memory_usage), _memory(e.self_cpu_memory_usage)]
        cells.append(str(e.count))
        if has_shapes:
            s = str(e.input_shapes)
            cells.append(s if len(s) <= widths[-1] - 3 else s[: widths[-1] - 6] + "...")
        out.append("".join(f"{c:>{w}}  " for c, w in zip(cells, widths)))
    out += [line, f"Self CPU time total: {_time(self_total, unit)}", ""]
    return "\n".join(out)


# ---- recording ------------------------------------------------------------------------------


class Collector:
    """The events one profiler records while ``recording`` is on (shared by every thread)."""

    def __init__(self, record_shapes: bool, profile_memory: bool, with_stack: bool) -> None:
        self.record_shapes, self.profile_memory, self.with_stack = (
            record_shapes,
            profile_memory,
            with_stack,
        )
        self.raw: list[tuple[Any, ...]] = []
        self.t0 = time.perf_counter_ns()

    def events(self) -> EventList:
        """The recorded events in start order, with parents and children rebuilt per thread."""
        made = []
        for i, (name, start, end, tid, shapes, mem, stack, label) in enumerate(self.raw):
            made.append(
                FunctionEvent(
                    i + 1,
                    name,
                    tid,
                    (start - self.t0) / 1e3,
                    (end - self.t0) / 1e3,
                    shapes,
                    mem,
                    stack,
                    label,
                )
            )
        made.sort(key=lambda e: (e.thread, e.time_range.start, -e.time_range.end))
        open_: list[FunctionEvent] = []
        for e in made:
            while open_ and (
                open_[-1].thread != e.thread or open_[-1].time_range.end < e.time_range.end
            ):
                open_.pop()
            if open_:
                e.cpu_parent = open_[-1]
                open_[-1].cpu_children.append(e)
            open_.append(e)
        made.sort(key=lambda e: e.time_range.start)
        for e in reversed(made):  # memory: what the event made plus what its children made
            e.cpu_memory_usage += sum(c.cpu_memory_usage for c in e.cpu_children)
        return EventList(made, profile_memory=self.profile_memory)


_COLLECTORS: list[Collector] = []
_LOCK = threading.Lock()
_PATCHED: list[tuple[type, str, Any]] = []  # (class, attribute, what its __dict__ had or _NONE)
_NONE = object()


def note(name: str, start: int, args: Any, result: Any, label: bool = False) -> None:
    """Add one finished event (``start`` from ``perf_counter_ns``) to every recording profiler."""
    end = time.perf_counter_ns()
    tid = threading.get_ident()
    for c in _COLLECTORS:
        shapes = _shapes(args) if c.record_shapes else None
        mem = _nbytes(result) if c.profile_memory else 0
        stack = _user_stack() if c.with_stack else None
        c.raw.append((name, start, end, tid, shapes, mem, stack, label))


def _shapes(args: Any) -> list[list[int]]:
    out = []
    for a in args:
        shape = getattr(a, "shape", None)
        out.append(list(shape) if isinstance(shape, tuple) else [])
    return out


def _nbytes(result: Any) -> int:
    if isinstance(result, (np.ndarray, np.generic)):
        return int(result.nbytes)
    data = getattr(result, "_data", None)
    if isinstance(data, np.ndarray):
        return data.nbytes
    if isinstance(result, (tuple, list)):
        return sum(_nbytes(r) for r in result)
    return 0


def _user_stack() -> list[str]:
    """The caller's frames outside glassgrad, innermost first (PyTorch's ``stack`` order)."""
    frames = traceback.extract_stack()[:-3]
    inside = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [
        f"{f.filename}({f.lineno}): {f.name}"
        for f in reversed(frames)
        if not f.filename.startswith(inside)
    ]


def start_recording(collector: Collector) -> None:
    """Make every op report to ``collector`` (the wrappers go on with the first profiler)."""
    with _LOCK:
        if not _COLLECTORS:
            _install()
        _COLLECTORS.append(collector)


def stop_recording(collector: Collector) -> None:
    """Stop reporting to ``collector`` (the wrappers come off with the last profiler)."""
    with _LOCK:
        if collector in _COLLECTORS:
            _COLLECTORS.remove(collector)
        if not _COLLECTORS:
            for cls, attr, had in reversed(_PATCHED):
                if had is _NONE:
                    delattr(cls, attr)
                else:
                    setattr(cls, attr, had)
            _PATCHED.clear()


def _subclasses(root: type) -> list[type]:
    seen: dict[type, None] = {root: None}
    todo: list[Any] = [root]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen[sub] = None
                todo.append(sub)
    return list(seen)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _install() -> None:
    """Put a timing wrapper on each node class's forward and backward, on the in-place Tensor
    methods (``p -= lr * g`` runs no node) and on the optimizers' ``step``/``zero_grad``.
    Every original is looked up before any is replaced, so a class inheriting its parent's
    forward is timed once, under its own name."""
    from glassgrad.autograd.node import Node
    from glassgrad.optim.optimizer import Optimizer
    from glassgrad.tensor import Tensor

    plan: list[tuple[type, str, Callable[..., Any], Callable[..., Any]]] = []
    for cls in _subclasses(Node):
        own = cls.__module__.startswith("glassgrad.")
        base = getattr(cls, "op_name", None) or cls.__name__
        forward_name = f"aten::{_snake(base)}" if own else cls.__name__
        for attr, make in (("forward", _timed_forward), ("backward", _timed_backward)):
            fn = getattr(cls, attr, None)
            if callable(fn):
                plan.append((cls, attr, fn, make(fn, forward_name)))
    for attr in list(vars(Tensor)):
        in_place = attr.endswith("_") and not attr.startswith("_") and attr not in _NOT_OPS
        if in_place or attr in _INPLACE_DUNDERS:
            fn = getattr(Tensor, attr)
            if callable(fn) and not isinstance(vars(Tensor)[attr], property):
                name = f"aten::{_INPLACE_DUNDERS.get(attr, attr)}"
                plan.append((Tensor, attr, fn, _timed_method(fn, name)))
    for cls in _subclasses(Optimizer):
        for attr in ("step", "zero_grad"):
            if attr in vars(cls):
                plan.append((cls, attr, vars(cls)[attr], _timed_optimizer(vars(cls)[attr], attr)))
    for cls, attr, _fn, _wrapper in plan:
        _PATCHED.append((cls, attr, vars(cls).get(attr, _NONE)))
    for cls, attr, _fn, wrapper in plan:
        setattr(cls, attr, wrapper)


_NOT_OPS = frozenset({"requires_grad_", "share_memory_", "retain_grad_"})
_INPLACE_DUNDERS = {
    "__iadd__": "add_",
    "__isub__": "sub_",
    "__imul__": "mul_",
    "__itruediv__": "div_",
    "__ifloordiv__": "floor_divide_",
    "__ipow__": "pow_",
    "__imatmul__": "matmul_",
    "__iand__": "bitwise_and_",
    "__ior__": "bitwise_or_",
    "__ixor__": "bitwise_xor_",
}


def _timed_forward(fn: Callable[..., Any], name: str) -> Any:
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        result = fn(ctx, *args, **kwargs)
        note(name, start, args, result)
        return result

    return staticmethod(forward)


def _timed_backward(fn: Callable[..., Any], _forward_name: str) -> Any:
    def backward(node: Any, *grads: Any) -> Any:
        start = time.perf_counter_ns()
        result = fn(node, *grads)
        note(node.name(), start, grads, result)
        return result

    return staticmethod(backward)


def _timed_method(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        result = fn(self, *args, **kwargs)
        note(name, start, (self, *args), None)
        return result

    method.__name__ = getattr(fn, "__name__", name)
    return method


def _timed_optimizer(fn: Callable[..., Any], attr: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        result = fn(self, *args, **kwargs)
        kind = type(self).__name__
        note(f"Optimizer.{attr}#{kind}.{attr}", start, (), None)
        return result

    method.__name__ = attr
    return method
