"""Look inside a model's backward pass: gradient flow per layer, and what backprop keeps in memory.

Gradient flow, after a backward pass::

    with glassgrad.inspect.watch(model) as w:   # forward hooks record the activations
        loss = loss_fn(model(x), y)
    loss.backward()
    print(glassgrad.inspect.gradient_report(model, lr=1e-3, activations=w))

gives, per layer (module path), the gradient norm, the update-to-weight ratio ``lr·|g|/|w|``,
the fraction of saturated sigmoid/tanh outputs, the fraction of dead ReLU units, and flags.

Memory, before the backward pass frees it::

    print(glassgrad.inspect.saved_tensors(loss, modules=w))  # every array kept for backward
    with glassgrad.inspect.memory_profile() as mem:
        model(x).sum().backward()
    print(mem)                                                # peak bytes, forward and backward

Everything here reads the graph and the modules; nothing changes how they compute.
"""

from __future__ import annotations

import json
import math
import tracemalloc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from glassgrad.autograd.graph import walk
from glassgrad.autograd.state import state
from glassgrad.tensor import Tensor

__all__ = [
    "GradientHistory",
    "GradientReport",
    "LayerStats",
    "MemoryProfile",
    "SavedTensor",
    "SavedTensors",
    "Watcher",
    "grad_norms",
    "gradient_report",
    "memory_profile",
    "saved_tensors",
    "watch",
]


# ---- watching a forward pass ---------------------------------------------------------------------


def _activation_kind(module: Any) -> str | None:
    from glassgrad import nn

    for cls, kind in ((nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"), (nn.ReLU, "relu")):
        if isinstance(module, cls):
            return kind
    return None


class Watcher:
    """What forward hooks saw: each activation module's latest output, and who made each node.

    ``activations[path]`` is ``(kind, array)`` for every ``Sigmoid`` / ``Tanh`` / ``ReLU``
    module (the latest forward's output; the array is referenced, not copied). ``module_of(node)``
    names the module whose forward produced a graph node (the innermost one).
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.activations: dict[str, tuple[str, np.ndarray]] = {}
        self._nodes: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._handles: list[Any] = []
        self.param_names = {id(p): n for n, p in model.named_parameters()}

    def _hook(self, path: str, kind: str | None) -> Any:
        def hook(module: Any, args: Any, output: Any) -> None:
            if not isinstance(output, Tensor):
                return
            if kind is not None:
                self.activations[path] = (kind, output._data)
            node = output.grad_fn
            if node is not None and node not in self._nodes:  # inner modules' hooks run first
                self._nodes[node] = path

        return hook

    def start(self) -> Watcher:
        for path, m in self.model.named_modules():
            hook = self._hook(path, _activation_kind(m))
            self._handles.append(m.register_forward_hook(hook))
        return self

    def stop(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def module_of(self, node: Any) -> str | None:
        """The module path that produced ``node``, or the one owning a parameter it uses."""
        path = self._nodes.get(node)
        if path is not None:
            return path
        for e in node.edges:
            if isinstance(e, Tensor) and id(e) in self.param_names:
                return self.param_names[id(e)].rpartition(".")[0]
        return None

    def __enter__(self) -> Watcher:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def watch(model: Any) -> Watcher:
    """``with watch(model) as w:`` records activations and node owners during the forward pass.

    Outside a ``with`` block, ``w = watch(model).start()`` ... ``w.stop()`` does the same (e.g.
    around a whole epoch: each forward overwrites the previous one's activations).
    """
    return Watcher(model)


# ---- gradient flow -------------------------------------------------------------------------------


@dataclass
class LayerStats:
    """One row of a gradient report (None where a figure does not apply)."""

    layer: str
    type: str
    grad_norm: float | None = None
    weight_norm: float | None = None
    update_ratio: float | None = None
    saturated: float | None = None  # fraction of sigmoid/tanh outputs with local derivative < thr
    dead: float | None = None  # fraction of ReLU units that are zero for the whole batch
    flags: list[str] = field(default_factory=list)


@dataclass
class GradientReport:
    """Per-layer gradient statistics; ``print`` it, or ``to_dict()`` / ``to_json()``."""

    layers: list[LayerStats]
    lr: float
    saturation: float

    def flagged(self) -> dict[str, list[str]]:
        """``{layer: flags}`` for the layers with at least one flag."""
        return {s.layer: s.flags for s in self.layers if s.flags}

    def to_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "saturation": self.saturation,
            "layers": [asdict(s) for s in self.layers],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def __str__(self) -> str:
        def num(v: float | None) -> str:
            return "-" if v is None else f"{v:.2e}"

        def pct(v: float | None) -> str:
            return "-" if v is None else f"{v:.1%}"

        width = max([5, *(len(s.layer) for s in self.layers)])
        head = f"{'layer':<{width}}  {'type':<10} {'grad norm':>10} {'update/w':>10} "
        head += f"{'saturated':>9} {'dead':>6}  flags"
        lines = [head, "-" * len(head)]
        for s in self.layers:
            lines.append(
                f"{s.layer or '(model)':<{width}}  {s.type:<10} {num(s.grad_norm):>10} "
                f"{num(s.update_ratio):>10} {pct(s.saturated):>9} {pct(s.dead):>6}  "
                + ", ".join(s.flags)
            )
        return "\n".join(lines)


def _norm(arrays: list[np.ndarray]) -> float:
    return math.sqrt(sum(float(np.vdot(a, a).real) for a in arrays))


def grad_norms(model: Any) -> dict[str, float | None]:
    """The gradient norm of each module with parameters, over its own parameters (None: no
    gradient yet). Cheap: what a training loop can call every epoch."""
    out: dict[str, float | None] = {}
    for path, m in model.named_modules():
        params = [p for _, p in m.named_parameters(recurse=False) if p.requires_grad]
        if params:
            grads = [p.grad._data for p in params if p.grad is not None]
            out[path] = _norm(grads) if grads else None
    return out


def _activation_stats(kind: str, h: np.ndarray, saturation: float) -> tuple[str, float]:
    if kind == "relu":
        flat = h.reshape(h.shape[0], -1) if h.ndim > 1 else h.reshape(1, -1)
        return "dead", float(np.mean(np.all(flat == 0, axis=0)))
    local = h * (1 - h) if kind == "sigmoid" else 1 - h * h
    return "saturated", float(np.mean(local < saturation))


def gradient_report(
    model: Any,
    lr: float = 1e-3,
    saturation: float = 1e-3,
    activations: Watcher | dict[str, tuple[str, np.ndarray]] | None = None,
    vanishing: float = 1e-7,
    exploding: float = 1e3,
    flag_fraction: float = 0.5,
) -> GradientReport:
    """Per-layer gradient flow after ``loss.backward()``.

    For each module with parameters: the norm of its gradient (over its own parameters) and
    the update-to-weight ratio ``lr·|g|/|w|`` (about 1e-3 is the usual healthy figure).
    For each Sigmoid/Tanh module watched during the forward pass (``activations``, from
    ``watch``): the fraction of outputs whose local derivative, h(1-h) or 1-h², is below
    ``saturation``; for each ReLU: the fraction of units that are zero for the whole batch.

    Flags: ``vanishing`` (gradient norm below ``vanishing``, or below 1e-4 of the largest
    layer's), ``exploding`` (non-finite, or above ``exploding``), ``saturated`` / ``dead`` (a
    fraction at or above ``flag_fraction``), ``no grad`` (parameters without ``.grad``).
    """
    acts = activations.activations if isinstance(activations, Watcher) else (activations or {})
    rows: list[LayerStats] = []
    for path, m in model.named_modules():
        params = [p for _, p in m.named_parameters(recurse=False) if p.requires_grad]
        s = LayerStats(path, type(m).__name__)
        if params:
            grads = [p.grad._data for p in params if p.grad is not None]
            if not grads:
                s.flags.append("no grad")
            else:
                s.grad_norm = _norm(grads)
                s.weight_norm = _norm([p._data for p in params])
                if s.weight_norm > 0:
                    s.update_ratio = lr * s.grad_norm / s.weight_norm
        if path in acts:
            kind, h = acts[path]
            what, frac = _activation_stats(kind, np.asarray(h), saturation)
            setattr(s, what, frac)
            if frac >= flag_fraction:
                s.flags.append(what)
        if params or path in acts:
            rows.append(s)
    finite = [s.grad_norm for s in rows if s.grad_norm is not None and math.isfinite(s.grad_norm)]
    top = max(finite, default=0.0)
    for s in rows:
        g = s.grad_norm
        if g is None:
            continue
        if not math.isfinite(g) or g > exploding:
            s.flags.insert(0, "exploding")
        elif g < vanishing or (top > 0 and g < 1e-4 * top):
            s.flags.insert(0, "vanishing")
    return GradientReport(rows, lr, saturation)


@dataclass
class GradientHistory:
    """Per-layer gradient norms over training: ``record`` once per epoch, then ``plot``."""

    norms: dict[str, list[float | None]] = field(default_factory=dict)
    epochs: int = 0

    def record(self, source: Any) -> dict[str, float | None]:
        """Add one epoch's norms, from a ``GradientReport`` or straight from a model."""
        if isinstance(source, GradientReport):
            now = {s.layer: s.grad_norm for s in source.layers if s.weight_norm is not None}
        else:
            now = grad_norms(source)
        for layer in sorted(set(self.norms) | set(now)):
            self.norms.setdefault(layer, [None] * self.epochs).append(now.get(layer))
        self.epochs += 1
        return now

    def to_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "norms": self.norms}

    def plot(self, path: str) -> None:
        """A log-scale line per layer: gradient norm against epoch (needs matplotlib)."""
        try:
            import matplotlib
        except ImportError:
            raise ImportError(
                "GradientHistory.plot needs matplotlib: pip install 'glassgrad[train]'"
            ) from None
        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        fig, ax = plt.subplots(figsize=(7, 4))
        epochs = range(1, self.epochs + 1)
        for layer, values in self.norms.items():
            ys = [math.nan if v is None or v <= 0 else v for v in values]
            ax.plot(epochs, ys, marker="o", label=layer or "(model)")
        ax.set(xlabel="epoch", ylabel="gradient norm", title="per-layer gradient norms")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only
        ax.grid(alpha=0.3, which="both")
        ax.legend(title="layer")
        fig.tight_layout()
        try:
            fig.savefig(path)
        finally:
            plt.close(fig)


# ---- what the graph keeps for backward -----------------------------------------------------------


@dataclass
class SavedTensor:
    """One array kept alive for the backward pass (counted once, however many nodes saved it)."""

    op: str  # the first node (from the loss down) that saved it
    module: str | None
    role: str  # "output", "input 0", ... or "other" (a mask, indices)
    name: str | None  # the tensor's variable name or parameter path, when known
    shape: tuple[int, ...]
    dtype: str
    nbytes: int  # of the whole buffer kept alive (a saved view keeps its base alive)
    leaf: bool  # the data of a leaf (a parameter or an input): held anyway, not by the graph
    saved_by: list[str] = field(default_factory=list)


@dataclass
class SavedTensors:
    """The report of ``saved_tensors``: entries, totals, and grouping by op and module."""

    entries: list[SavedTensor]
    nodes: int
    released: int  # nodes whose saved tensors were already freed by a backward pass

    @property
    def total_bytes(self) -> int:
        return sum(e.nbytes for e in self.entries)

    @property
    def activation_bytes(self) -> int:
        """The bytes the graph alone keeps alive (leaves' data is held anyway)."""
        return sum(e.nbytes for e in self.entries if not e.leaf)

    def by_op(self) -> dict[str, int]:
        return _group(self.entries, lambda e: e.op)

    def by_module(self) -> dict[str, int]:
        return _group(self.entries, lambda e: e.module or "-")

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "released": self.released,
            "total_bytes": self.total_bytes,
            "activation_bytes": self.activation_bytes,
            "by_op": self.by_op(),
            "by_module": self.by_module(),
            "entries": [asdict(e) for e in self.entries],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def __str__(self) -> str:
        head = f"{'op':<22} {'module':<12} {'role':<8} {'name':<14} {'shape':<16} "
        head += f"{'dtype':<8} {'bytes':>12}"
        lines = [head, "-" * len(head)]
        for e in self.entries:
            lines.append(
                f"{e.op:<22} {e.module or '-':<12} {e.role:<8} {e.name or '-':<14} "
                f"{e.shape!s:<16} {e.dtype:<8} {e.nbytes:>12,}" + (" (leaf)" if e.leaf else "")
            )
        lines.append("-" * len(head))
        lines.append(
            f"{len(self.entries)} arrays saved by {self.nodes} nodes: {_mib(self.total_bytes)} "
            f"in all, {_mib(self.activation_bytes)} kept alive only by the graph"
        )
        if self.released:
            lines.append(
                f"({self.released} nodes already released their saved tensors: call "
                "saved_tensors before backward(), or backward(retain_graph=True))"
            )
        return "\n".join(lines)


def _group(entries: list[SavedTensor], key: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in entries:
        out[key(e)] = out.get(key(e), 0) + e.nbytes
    return out


def _mib(n: float) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**16 else f"{n:,.0f} B"


def _owner(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (following views to their base)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _arrays(value: Any) -> Iterator[np.ndarray]:
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, Tensor):
        yield value._data
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _arrays(v)


def saved_tensors(loss: Tensor, modules: Any = None) -> SavedTensors:
    """Every array the graph behind ``loss`` keeps for the backward pass, each counted once.

    Walks the graph from ``loss.grad_fn`` (iteratively) and reads what each node saved. Arrays
    are deduplicated by the buffer they live in, so an input saved by two nodes, or a view of a
    saved array, counts once. ``modules``: a ``Watcher`` (from ``watch``) names the module
    that produced each node; a model names the modules owning the parameters nodes use.
    Call it before ``backward()``, which frees the saved tensors (unless ``retain_graph``).
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"saved_tensors: expected a Tensor, got {type(loss).__name__}")
    watcher = modules if isinstance(modules, Watcher) or modules is None else Watcher(modules)
    names: dict[int, str] = dict(watcher.param_names) if watcher is not None else {}
    order: list[Any] = []
    leaves: dict[int, Tensor] = {}
    for x in walk([loss.grad_fn], leaves=True):
        if isinstance(x, Tensor):
            leaves[id(_owner(x._data))] = x
        else:
            order.append(x)

    found: dict[int, SavedTensor] = {}
    released = 0
    for node in order:
        if node.released:
            released += 1
            continue
        module = watcher.module_of(node) if watcher is not None else None
        edges = node.edges
        for s in node.saved_values():
            ref = s.tensor
            for a in _arrays(s.value):
                owner = _owner(a)
                entry = found.get(id(owner))
                if entry is not None:
                    entry.saved_by.append(node.name())
                    continue
                role, name = "other", None
                if s.role == "output":
                    role = "output"
                elif ref is not None:
                    edge = ref if ref.grad_fn is None else ref.grad_fn
                    i = next((j for j, e in enumerate(edges) if e is edge), None)
                    role = "input" if i is None else f"input {i}"
                    name = names.get(id(ref)) or ref.name
                leaf = leaves.get(id(owner))
                if leaf is not None and name is None:
                    name = names.get(id(leaf)) or leaf.name
                found[id(owner)] = SavedTensor(
                    node.name(), module, role, name, tuple(owner.shape), str(owner.dtype),
                    int(owner.nbytes), leaf is not None, [node.name()],
                )  # fmt: skip
    return SavedTensors(list(found.values()), len(order), released)


# ---- peak memory ---------------------------------------------------------------------------------


@dataclass
class MemoryProfile:
    """Traced bytes above the level at entry: peaks of the forward and the backward phase.

    The forward phase ends when the first backward rule has run (the engine tells observers
    after each rule), so ``forward_peak`` includes that first rule's allocations.
    """

    forward_peak: int = 0
    held_at_backward: int | None = None  # what the graph (and results) held as backward began
    backward_peak: int | None = None
    end: int = 0  # still held at exit (gradients, outputs you kept)
    timeline: list[tuple[str, int]] = field(default_factory=list)  # (node, bytes) per rule

    @property
    def peak(self) -> int:
        return max(self.forward_peak, self.backward_peak or 0)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "peak": self.peak}

    def __str__(self) -> str:
        lines = [f"forward peak      {_mib(self.forward_peak)}"]
        if self.held_at_backward is not None:
            lines.append(f"held at backward  {_mib(self.held_at_backward)}")
            lines.append(f"backward peak     {_mib(self.backward_peak or 0)}")
        lines.append(f"held at exit      {_mib(self.end)}")
        return "\n".join(lines)


@contextmanager
def memory_profile() -> Iterator[MemoryProfile]:
    """Measure, with ``tracemalloc``, the peak bytes allocated during a forward and backward.

    NumPy reports its buffers to tracemalloc, so the figures are the arrays the graph keeps,
    the temporaries of each rule and the gradients, above what was allocated at entry.

    >>> import glassgrad as gg
    >>> x = gg.randn(256, 256, requires_grad=True)
    >>> with memory_profile() as mem:
    ...     (x.tanh() * 2).sum().backward()
    >>> mem.forward_peak >= 2 * x._data.nbytes   # tanh's output and the product
    True
    """
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    prof = MemoryProfile()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    prev = state.backward_observer

    def observer(node: Any, grad_in: Any, grads_out: Any, seconds: float, saved: Any) -> None:
        current, peak = tracemalloc.get_traced_memory()
        if prof.held_at_backward is None:
            prof.forward_peak = peak - base
            prof.held_at_backward = current - base
            tracemalloc.reset_peak()
        prof.timeline.append((node.name(), current - base))
        if prev is not None:
            prev(node, grad_in, grads_out, seconds, saved)

    state.backward_observer = observer
    try:
        yield prof
    finally:
        state.backward_observer = prev
        current, peak = tracemalloc.get_traced_memory()
        if prof.held_at_backward is None:
            prof.forward_peak = peak - base
        else:
            prof.backward_peak = peak - base
        prof.end = current - base
        if started:
            tracemalloc.stop()
