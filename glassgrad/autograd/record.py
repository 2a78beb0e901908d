"""``record_backward()``: watch ``loss.backward()`` run, one node at a time.

>>> import glassgrad as gg
>>> from glassgrad.autograd.record import record_backward
>>> x = gg.tensor([1.0, 2.0], requires_grad=True, name="x")
>>> with record_backward() as rec:
...     (x * x).sum().backward()
>>> [s.op for s in rec.steps]
['SumBackward0', 'MulBackward0']
>>> rec.steps[1].accumulates  # x is reached on two paths: its two gradients add up
['x']

The recorder sets the engine's ``state.backward_observer`` (restoring the previous one on exit),
so the engine itself stays free of tool code. Each step says what ran and what it cost: the op,
the shapes in and out, the norms of the gradient arriving and of the gradients leaving, which
inputs receive gradients on several paths (where the engine adds them up), the time the rule took
and the bytes of saved tensors the node let go of (zero when the graph is retained).
"""

from __future__ import annotations

import json
import weakref
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from glassgrad.autograd import node as node_module
from glassgrad.autograd.grad_mode import grad_mode
from glassgrad.autograd.gradients import sum_to_shape
from glassgrad.autograd.state import state

__all__ = ["BackwardRecord", "BackwardStep", "record_backward"]


@dataclass
class BackwardStep:
    """One backward rule as it ran. Shapes are tuples; an input outside the graph is ``None``."""

    index: int  # position in the order the engine ran the rules (0 = the output's node)
    op: str  # the node's name, as PyTorch shows it: ``MulBackward0``
    inputs: list[str | None]  # per forward argument: a node's name, a leaf's name, or None
    input_shapes: list[tuple[int, ...] | None]
    output_shape: tuple[int, ...]
    grad_in_norm: float  # 2-norm of the gradient arriving at the node's output
    grad_out_norms: list[float | None]  # per input: 2-norm of the gradient it is sent (or None)
    paths_in: int  # how many gradients were summed into the one arriving here (1: no sum)
    accumulates: list[str]  # inputs that receive gradients on several paths (the engine adds)
    seconds: float  # time the backward rule took
    saved_bytes_released: int  # bytes of saved arrays freed after this rule (0 if retained)
    # With ``record_backward(keep_values=True)``: the arrays themselves, and the rule applied to
    # a gradient of ones (for a scalar node that is its local derivative per input).
    grad_in: np.ndarray | None = field(default=None, repr=False)
    grads_out: list[np.ndarray | None] | None = field(default=None, repr=False)
    local: list[np.ndarray | None] | None = field(default=None, repr=False)


class BackwardRecord:
    """What ``record_backward`` saw: ``steps`` (a list of ``BackwardStep``), a table, JSON."""

    def __init__(self, keep_values: bool = False) -> None:
        self.steps: list[BackwardStep] = []
        self.keep_values = keep_values
        # per step, while recording: (weak ref to the node, bytes it saved, edge keys)
        self._pending: list[tuple[Any, int, list[Any]]] = []
        self._arrivals: dict[Any, int] = {}  # edge key -> gradients delivered to it
        self._names: dict[int, str] = {}  # id(leaf) -> display name for unnamed leaves
        self._keep: list[Any] = []  # leaves named by id stay alive while recording

    # ---- the observer --------------------------------------------------------------------------
    def _observe(self, node: Any, g: Any, gin: Any, seconds: float, saved: Any) -> None:
        if type(gin) is not tuple:
            gin = (gin,)
        edges = node.edges
        keys: list[Any] = []
        names: list[str | None] = []
        shapes: list[tuple[int, ...] | None] = []
        norms: list[float | None] = []
        for e, gi in zip(edges, gin):
            if e is None:
                keys.append(None)
                names.append(None)
                shapes.append(None)
                norms.append(None)
                continue
            key = e if not isinstance(e, node_module.Tensor) else ("leaf", id(e))
            keys.append(key)
            names.append(self._name_of(e))
            shapes.append(tuple(e.shape))
            norms.append(None if gi is None else _norm(gi))
            if gi is not None:
                self._arrivals[key] = self._arrivals.get(key, 0) + 1
        step = BackwardStep(
            index=len(self.steps),
            op=node.name(),
            inputs=names,
            input_shapes=shapes,
            output_shape=tuple(node.shape),
            grad_in_norm=_norm(g),
            grad_out_norms=norms,
            paths_in=max(self._arrivals.get(node, 1), 1),
            accumulates=[],
            seconds=seconds,
            saved_bytes_released=0,
        )
        if self.keep_values:
            step.grad_in = _array(g)
            step.grads_out = [None if gi is None else _array(gi) for gi in gin]
            step.local = _local_derivatives(node, len(edges))
        self.steps.append(step)
        self._pending.append((weakref.ref(node), _nbytes(saved), keys))

    def _name_of(self, e: Any) -> str:
        if not isinstance(e, node_module.Tensor):
            return str(e.name())
        if e.name:
            return str(e.name)
        name = self._names.get(id(e))
        if name is None:
            name = self._names[id(e)] = f"leaf{len(self._names)}"
            self._keep.append(e)
        return name

    def _finish(self) -> None:
        """After the walk: which inputs got several gradients, and what was really released."""
        ran = {}  # node -> the step where it ran, to tell apart two nodes of the same op
        for step, (ref, _, _) in zip(self.steps, self._pending):
            node = ref()
            if node is not None:
                ran[node] = step.index
        for step, (ref, nbytes, keys) in zip(self.steps, self._pending):
            node = ref()
            # a node that is gone, or whose saved values the engine dropped, released them
            if node is None or node.released:
                step.saved_bytes_released = nbytes
            step.inputs = [
                f"{name} #{ran[key]}" if name is not None and key in ran else name
                for key, name in zip(keys, step.inputs)
            ]
            many = [
                name
                for key, name in zip(keys, step.inputs)
                if key is not None and name is not None and self._arrivals.get(key, 0) > 1
            ]
            step.accumulates = list(dict.fromkeys(many))
        self._pending = [(ref, 0, []) for ref, _, _ in self._pending]
        self._keep.clear()

    # ---- reports -------------------------------------------------------------------------------
    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def total_saved_bytes_released(self) -> int:
        return sum(s.saved_bytes_released for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, numbers, strings); arrays kept with ``keep_values`` become lists."""
        steps = []
        for s in self.steps:
            d = asdict(s)
            for k in ("grad_in", "grads_out", "local"):
                if d[k] is None:
                    del d[k]
                else:
                    d[k] = _to_list(d[k])
            d["input_shapes"] = [None if sh is None else list(sh) for sh in s.input_shapes]
            d["output_shape"] = list(s.output_shape)
            steps.append(d)
        return {
            "steps": steps,
            "total_seconds": self.total_seconds,
            "total_saved_bytes_released": self.total_saved_bytes_released,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The record as JSON text (``json.loads`` gives back ``to_dict()``)."""
        return json.dumps(self.to_dict(), indent=indent)

    def node(self, i: int) -> Any:
        """The graph node step ``i`` ran (None once the graph is gone): for tools built on this."""
        return self._pending[i][0]()

    def __len__(self) -> int:
        return len(self.steps)

    def __str__(self) -> str:
        return format_table(self)

    def __repr__(self) -> str:
        return f"<BackwardRecord: {len(self.steps)} steps, {self.total_seconds * 1e3:.3f} ms>"


class record_backward:
    """Record every backward rule that runs inside the ``with`` block.

    ``keep_values=True`` also keeps the gradient arrays and, per node, its rule applied to a
    gradient of ones (the local derivatives ``glassgrad explain`` prints); it costs a second
    call of each rule, so leave it off for timing.
    """

    def __init__(self, keep_values: bool = False) -> None:
        self.record = BackwardRecord(keep_values)
        self._previous: Any = None

    def __enter__(self) -> BackwardRecord:
        self._previous = state.backward_observer
        previous, observe = self._previous, self.record._observe
        if previous is None:
            state.backward_observer = observe
        else:  # chain to an observer that was already set (another tool watching)

            def both(node: Any, g: Any, gin: Any, seconds: float, saved: Any) -> None:
                previous(node, g, gin, seconds, saved)
                observe(node, g, gin, seconds, saved)

            state.backward_observer = both
        return self.record

    def __exit__(self, *exc: Any) -> None:
        state.backward_observer = self._previous
        self.record._finish()


# ---- helpers -----------------------------------------------------------------------------------


def _array(x: Any) -> np.ndarray:
    return np.array(x._data if isinstance(x, node_module.Tensor) else x, copy=True)


def _norm(x: Any) -> float:
    a = x._data if isinstance(x, node_module.Tensor) else np.asarray(x)
    return float(np.sqrt(np.sum(np.abs(a) ** 2))) if a.size else 0.0


def _nbytes(saved: Any) -> int:
    """Bytes of the distinct arrays among a node's saved values (each counted once)."""
    if not saved:
        return 0
    seen: set[int] = set()
    total = 0
    for s in saved:
        a = s._data if isinstance(s, node_module.Tensor) else s
        if isinstance(a, np.ndarray) and id(a) not in seen:
            seen.add(id(a))
            total += a.nbytes
    return total


def _local_derivatives(node: Any, n: int) -> list[np.ndarray | None]:
    """The node's own rule applied to a gradient of ones, summed back to each input's shape.

    For a scalar node this is exactly its local derivative with respect to each input; for an
    elementwise node it is the diagonal of the Jacobian. No op-specific code: the rule does it.
    """
    ones = np.ones(node.shape, node.dtype)
    with grad_mode(False, create_graph=False):  # plain arrays in, plain arrays out
        out = type(node).backward(node, ones)
    if type(out) is not tuple:
        out = (out,)
    result: list[np.ndarray | None] = []
    for e, gi in zip(node.edges, out):
        if e is None or gi is None:
            result.append(None)
            continue
        result.append(sum_to_shape(_array(gi), tuple(e.shape)))
    result.extend([None] * (n - len(result)))
    return result


def _to_list(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, list):
        return [_to_list(v) for v in x]
    return x


def _shape(s: tuple[int, ...] | None) -> str:
    if s is None:
        return "-"
    return "(" + ",".join(map(str, s)) + ")"


def _bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024**2:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024**2:.1f} MiB"


def _seconds(t: float) -> str:
    return f"{t * 1e6:.0f} us" if t < 1e-3 else f"{t * 1e3:.2f} ms"


def _norms(ns: list[float | None]) -> str:
    return ", ".join("-" if n is None else f"{n:.4g}" for n in ns)


def format_table(rec: BackwardRecord) -> str:
    """The aligned table ``print(rec)`` shows: one row per node, in the order it ran."""
    head = [
        "#",
        "op",
        "input shapes",
        "output",
        "|grad in|",
        "|grads out|",
        "sums",
        "time",
        "freed",
    ]
    rows = []
    for s in rec.steps:
        sums = []
        if s.paths_in > 1:
            sums.append(f"{s.paths_in} paths in")
        if s.accumulates:
            sums.append("into " + ", ".join(dict.fromkeys(s.accumulates)))
        rows.append(
            [
                str(s.index),
                s.op,
                " ".join(_shape(sh) for sh in s.input_shapes),
                _shape(s.output_shape),
                f"{s.grad_in_norm:.4g}",
                _norms(s.grad_out_norms),
                "; ".join(sums) or "-",
                _seconds(s.seconds),
                _bytes(s.saved_bytes_released),
            ]
        )
    right = {0, 4, 5, 7, 8}  # numbers align right
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out.append(
        f"{len(rec.steps)} nodes, {_seconds(rec.total_seconds)} in backward rules, "
        f"{_bytes(rec.total_saved_bytes_released)} of saved tensors released"
    )
    return "\n".join(out)
