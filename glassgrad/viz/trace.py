"""Turn a tensor's autograd graph into plain data (nodes, edges, values, gradients, modules).

``trace`` only reads: it walks the graph iteratively (no recursion; a chain may be 100,000 ops
deep), changes no attribute of any tensor or node, and the graph backpropagates afterwards
exactly as before. Renderers (``glassgrad.viz.dot``) sit on top of what it returns.

What values a trace can show. The engine does not keep op outputs (that would double the memory
of every forward pass), so a node's forward value is known only where something still holds it:

* leaves (parameters, inputs that require grad): their ``.data``, and ``.grad`` once computed;
* the traced tensor itself: its ``.data``, so the op that produced it shows its value too;
* an op whose output a later rule saved for backward (``MulBackward0`` saves both its inputs;
  ``ExpBackward0`` its output), until ``backward()`` releases saved tensors;
* a tensor named with ``glassgrad.viz.name(t, "h1")`` while ``t`` is alive (and its ``.grad`` if
  it called ``retain_grad()``);
* anything seen by ``capture_grads()`` during a backward pass, which also records the gradient
  arriving at each op and the gradient sent along each edge (the engine stores neither);
* with ``trace(..., recompute=True)`` (what ``explore`` asks for), every other op's output,
  its forward run again (``Node.rerun``) on its inputs' values, inputs first, from the leaves
  and the constant arguments the node kept: nothing runs the model again and the engine keeps
  no activation it would not keep in training. Leaves modified in place after the forward (an
  optimizer step) are found by their version counters: ops that used them show no recomputed
  value, and a note says why; a kept output that running its op again does not reproduce (a
  change through ``.data``, which bumps no version) withdraws every recomputed value.
Everything else is ``None``: the node's shape and dtype are always known.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from glassgrad.autograd.gradients import sum_to_shape
from glassgrad.autograd.graph import walk
from glassgrad.autograd.state import state
from glassgrad.tensor import Tensor
from glassgrad.viz.recompute import changed_leaves, changed_output, recompute_values

__all__ = [
    "Edge",
    "GradCapture",
    "Graph",
    "Node",
    "Summary",
    "capture_grads",
    "group_by_module",
    "name",
    "name_parameters",
    "summarize",
    "trace",
]


# ---- the plain data ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """A tensor value as plain data: its values when small, statistics always (when defined)."""

    shape: tuple[int, ...]
    dtype: str
    values: Any = None  # nested lists (``ndarray.tolist()``) when there are few elements
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    norm: float | None = None  # the L2 norm of all elements
    hist: tuple[int, ...] | None = None  # counts in HIST_BINS equal bins from min to max


@dataclass
class Node:
    """One box of the picture.

    ``kind`` is ``"op"`` (a recorded op; ``op`` is PyTorch's node name such as
    ``MulBackward0``), ``"leaf"`` (a tensor that requires grad and was made by no op),
    ``"output"`` (the traced tensor), ``"module"`` (a collapsed module, standing for ``count``
    nodes) or ``"more"`` (the ``count`` nodes left out past ``max_nodes``).
    """

    id: str
    kind: str
    op: str | None
    shape: tuple[int, ...]
    dtype: str
    name: str | None = None
    value: Summary | None = None  # the forward value, when known (see the module docstring)
    grad: Summary | None = None  # leaves: .grad; ops/outputs: the gradient of their output
    module: str | None = None  # dotted path of the nn.Module that produced it ('' = the model)
    count: int = 0
    note: str | None = None  # why ``value`` is not (or is missing for) what the forward saw


@dataclass
class Edge:
    """Data flows ``src -> dst`` in the forward pass (``src`` is argument ``index`` of ``dst``);
    in the backward pass the gradient ``grad`` flows back ``dst -> src``."""

    src: str
    dst: str
    index: int
    grad: Summary | None = None


@dataclass
class Graph:
    """Nodes (outputs first, then breadth-first from them) and forward-direction edges."""

    nodes: list[Node]
    edges: list[Edge]
    modules: dict[str, str] = field(default_factory=dict)  # module path -> class name
    omitted: int = 0  # nodes left out past max_nodes (stood for by one "more" node)

    def node(self, id: str) -> Node:
        """The node with this id."""
        for n in self.nodes:
            if n.id == id:
                return n
        raise KeyError(f"no node with id {id!r} in this graph")

    def named(self, name: str) -> Node:
        """The node carrying this variable name (the output first, if it is named)."""
        for n in self.nodes:
            if n.name == name:
                return n
        names = sorted({n.name for n in self.nodes if n.name is not None})
        raise KeyError(f"no node named {name!r} in this graph; names present: {names}")

    def inputs(self, id: str) -> list[Node]:
        """The nodes feeding node ``id``, in argument order."""
        return [self.node(e.src) for e in sorted(self.edges, key=lambda e: e.index) if e.dst == id]

    def to_dict(self) -> dict[str, Any]:
        """Nested dicts and lists (JSON-ready apart from NaN/inf values)."""
        return asdict(self)


HIST_BINS = 16


def summarize(value: Any, max_values: int = 16) -> Summary:
    """Describe an array (or Tensor): its values if it has at most ``max_values`` elements,
    and min/max/mean/std/norm and a histogram of the finite values for real dtypes.

    >>> summarize([1.0, 3.0]).values, summarize([1.0, 3.0]).mean
    ([1.0, 3.0], 2.0)
    """
    a = value._data if isinstance(value, Tensor) else np.asarray(value)
    values = a.tolist() if a.size <= max_values else None
    if a.size == 0 or a.dtype.kind not in "biuf":
        return Summary(tuple(a.shape), str(a.dtype), values)
    with np.errstate(all="ignore"):  # inf/nan values make stats inf/nan, which is the point
        f = a.astype(np.float64, copy=False)
        finite = f[np.isfinite(f)] if a.size > 1 else f.ravel()[:0]
        hist = tuple(int(c) for c in np.histogram(finite, HIST_BINS)[0]) if finite.size else None
        return Summary(
            tuple(a.shape),
            str(a.dtype),
            values,
            float(f.min()),
            float(f.max()),
            float(f.mean()),
            float(f.std()),
            float(np.sqrt(np.sum(f * f))),
            hist,
        )


# ---- identity-keyed weak registries --------------------------------------------------------------
class _WeakIdMap:
    """``obj -> value`` by identity, dropping entries when ``obj`` dies.

    (``WeakKeyDictionary`` compares keys with ``==``, which is elementwise on tensors.)
    """

    def __init__(self) -> None:
        self._d: dict[int, tuple[weakref.ref, Any]] = {}

    def set(self, obj: Any, value: Any) -> None:
        key, d = id(obj), self._d

        def drop(ref: weakref.ref) -> None:
            cur = d.get(key)
            if cur is not None and cur[0] is ref:
                del d[key]

        d[key] = (weakref.ref(obj, drop), value)

    def get(self, obj: Any) -> Any:
        item = self._d.get(id(obj))
        if item is None or item[0]() is not obj:
            return None
        return item[1]


@dataclass(frozen=True)
class _Placement:
    path: str  # the module that produced the node
    classes: dict[str, str]  # every module path of that model -> its class name
    param: str | None = None  # for parameters: the full dotted name


_NAMED = _WeakIdMap()  # op node -> (name, weakref to the tensor it produced)
_MODULE_OF = _WeakIdMap()  # op node or parameter -> _Placement
_MODULE_OUT = _WeakIdMap()  # op node -> (array a module returned, its counter, version)


# ---- naming ------------------------------------------------------------------------------------
def name(t: Tensor, label: str) -> Tensor:
    """Give ``t`` a variable name for graph pictures (sets ``t.name``) and return ``t``.

    Unlike assigning ``t.name`` directly, this also lets ``trace`` find an intermediate result
    (the graph links ops, not tensors), with its value while ``t`` is alive.

    >>> import glassgrad as gg
    >>> h = name(gg.tensor([1.0], requires_grad=True) * 2, "h1")
    >>> h.name
    'h1'
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"viz.name: expected a Tensor to name, got {type(t).__name__}")
    if not isinstance(label, str):
        raise TypeError(f"viz.name: the name must be a str, got {type(label).__name__}")
    t.name = label
    if t.grad_fn is not None:
        _NAMED.set(t.grad_fn, (label, weakref.ref(t)))
    return t


def name_parameters(model: Any) -> Any:
    """Name every parameter of ``model`` by its path (``layers.0.weight``); returns ``model``."""
    for path, p in _named_parameters(model, "name_parameters"):
        p.name = path
    return model


def _named_parameters(model: Any, who: str) -> list[tuple[str, Tensor]]:
    if hasattr(model, "named_parameters"):
        items = list(model.named_parameters())
    elif isinstance(model, Mapping):
        items = list(model.items())
    else:
        raise TypeError(
            f"{who}: expected an nn.Module or a dict of name -> parameter, "
            f"got {type(model).__name__}"
        )
    for k, v in items:
        if not isinstance(v, Tensor):
            raise TypeError(f"{who}: parameter {k!r} is a {type(v).__name__}, not a Tensor")
    return items


# ---- grouping by module ------------------------------------------------------------------------
def _inside(child: str, parent: str) -> bool:
    return parent == "" or child == parent or child.startswith(parent + ".")


def _tensors_in(obj: Any) -> list[Tensor]:
    """Tensors found in (nested tuples/lists/dicts of) a module's arguments or output."""
    found, stack = [], [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            found.append(o)
        elif isinstance(o, (tuple, list)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
    return found


@contextmanager
def group_by_module(model: Any) -> Iterator[dict[str, str]]:
    """Record which ``nn.Module`` produced each op of the forward passes run inside.

    Pre/post forward hooks on every submodule: after a module's forward, every op reachable
    from its output and not behind its inputs is attributed to it (the innermost module wins,
    since inner hooks fire first). Parameters are attributed to the module that owns them.
    Yields ``{module path: class name}``; ``trace`` picks the grouping up by itself, and the
    value each module returned (kept while its graph lives, so traces can show it).

    >>> import glassgrad as gg
    >>> from glassgrad import nn
    >>> model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    >>> with group_by_module(model):
    ...     y = model(gg.ones(1, 2)).sum()
    >>> [(n.op, n.module) for n in trace(y).nodes if n.kind == "op"]  # the sum ran outside
    [('SumBackward0', None), ('ReluBackward0', '1'), ('AddmmBackward0', '0')]
    """
    if not hasattr(model, "named_modules") or not hasattr(model, "register_forward_hook"):
        raise TypeError(f"group_by_module: expected an nn.Module, got {type(model).__name__}")
    modules = list(model.named_modules())
    classes = {path: type(m).__name__ for path, m in modules}
    for path, p in model.named_parameters():
        _MODULE_OF.set(p, _Placement(path.rpartition(".")[0], classes, path))
    calls: list[tuple[int, set[int]]] = []  # (module id, ids of its inputs' nodes) per call

    def pre_hook(module: Any, args: Any) -> None:
        calls.append((id(module), {id(t.grad_fn or t) for t in _tensors_in(args)}))

    def make_post_hook(path: str) -> Any:
        def post_hook(module: Any, args: Any, out: Any) -> None:
            while calls:  # (a forward that raised leaves its entry behind; skip such entries)
                mid, boundary = calls.pop()
                if mid == id(module):
                    _claim(out, boundary, path, classes)
                    for t in _tensors_in(out):  # the module's output value, kept for pictures
                        if t.grad_fn is not None:  # (with its version: a later relu_ shows)
                            _MODULE_OUT.set(t.grad_fn, (t._data, t._vc, t._vc[0]))
                    break

        return post_hook

    handles = []
    try:
        for path, m in modules:
            handles.append(m.register_forward_pre_hook(pre_hook))
            handles.append(m.register_forward_hook(make_post_hook(path)))
        yield classes
    finally:
        for h in handles:
            h.remove()


def _claim(out: Any, boundary: set[int], path: str, classes: dict[str, str]) -> None:
    def claim(n: Any) -> bool:  # True: n is this module's, so are the ops it takes input from
        if id(n) in boundary:
            return False  # the module's inputs: made before it ran
        cur = _MODULE_OF.get(n)
        if cur is None:
            _MODULE_OF.set(n, _Placement(path, classes))
            return True
        return _inside(cur.path, path)  # else made by another module before this one ran

    for _ in walk([t.grad_fn for t in _tensors_in(out)], follow=claim):
        pass


# ---- capturing what the backward pass computes ---------------------------------------------------
class GradCapture:
    """Gradients (and saved forward values) seen by ``capture_grads()`` during backward."""

    def __init__(self) -> None:
        self._out = _WeakIdMap()  # node -> gradient of its output
        self._inputs = _WeakIdMap()  # node -> per-input gradients, summed to each input's shape
        self._values = _WeakIdMap()  # node -> its forward output, when some rule saved it

    def output_grad(self, node: Any) -> np.ndarray | None:
        """The gradient that arrived at ``node`` (the gradient of its output)."""
        return self._out.get(node)

    def input_grads(self, node: Any) -> tuple[np.ndarray | None, ...] | None:
        """The gradients ``node`` sent to each of its inputs."""
        return self._inputs.get(node)

    def value(self, node: Any) -> np.ndarray | None:
        """The forward output of ``node``, if a rule had saved it."""
        return self._values.get(node)

    def _observe(self, node: Any, g: Any, gin: Any, seconds: float, saved: Any) -> None:
        self._out.set(node, np.array(_array(g), copy=True))
        if type(gin) is not tuple:
            gin = (gin,)
        per_input: list[np.ndarray | None] = []
        for e, gi in zip(node.edges, gin):
            if e is None or gi is None:
                per_input.append(None)
                continue
            gi = np.array(_array(gi), copy=True)
            try:
                per_input.append(sum_to_shape(gi, tuple(e.shape)))
            except ValueError:  # a broken rule: the engine raises right after this
                per_input.append(gi)
        self._inputs.set(node, tuple(per_input))
        for n, value in _saved_values(node):
            self._values.set(n, value)


def _array(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


@contextmanager
def capture_grads() -> Iterator[GradCapture]:
    """Record, during the backward passes run inside, the gradient arriving at every op and the
    gradient it sends along each edge, plus the forward values rules had saved.

    >>> import glassgrad as gg
    >>> x = gg.tensor(3.0, requires_grad=True)
    >>> y = x * x
    >>> with capture_grads() as grads:
    ...     y.backward()
    >>> [e.grad.values for e in trace(y, grads=grads).edges]
    [1.0, 3.0, 3.0]
    """
    cap = GradCapture()
    prev = state.backward_observer

    def observer(node: Any, g: Any, gin: Any, seconds: float, saved: Any) -> None:
        if prev is not None:
            prev(node, g, gin, seconds, saved)
        cap._observe(node, g, gin, seconds, saved)

    state.backward_observer = observer
    try:
        yield cap
    finally:
        state.backward_observer = prev


def _saved_values(node: Any) -> Iterator[tuple[Any, np.ndarray]]:
    """(producing node, value) for each saved array that is an op's unmodified output."""
    for s in node.saved_values():
        if not s.current:
            continue
        if s.role == "output":
            yield node, s.value
        elif s.role == "input" and s.tensor.grad_fn is not None:
            yield s.tensor.grad_fn, s.value


# ---- the trace --------------------------------------------------------------------------------
def trace(
    tensor: Tensor | Sequence[Tensor],
    params: Any = None,
    *,
    grads: GradCapture | None = None,
    max_nodes: int | None = None,
    max_values: int = 16,
    recompute: bool = False,
) -> Graph:
    """The graph behind ``tensor`` as plain data, touching nothing.

    ``params``: an ``nn.Module`` or a dict ``{name: parameter}`` naming leaves (and grouping
    the ops that consume them by module) when they have no ``.name``. ``grads``: what
    ``capture_grads()`` saw, to show gradients on ops and edges. ``max_nodes``: keep the nodes
    nearest the output and stand for the rest with one ``"more"`` node. Tensors with at most
    ``max_values`` elements show their values; larger ones show statistics. ``recompute``:
    also recompute the outputs of ops nobody kept (see the module docstring).

    >>> import glassgrad as gg
    >>> x = gg.tensor(-2.0, requires_grad=True, name="x")
    >>> y = gg.tensor(5.0, requires_grad=True, name="y")
    >>> z = gg.tensor(-4.0, requires_grad=True, name="z")
    >>> g = trace((x + y) * z)
    >>> [(n.kind, n.op or n.name) for n in g.nodes]
    [('output', 'MulBackward0'), ('op', 'MulBackward0'), ('op', 'AddBackward0'), ('leaf', 'z'), ('leaf', 'x'), ('leaf', 'y')]
    >>> g.nodes[2].value.values  # AddBackward0's output, saved by the multiplication
    3.0
    """  # noqa: E501
    roots = [tensor] if isinstance(tensor, Tensor) else list(tensor)
    for k, r in enumerate(roots):
        if not isinstance(r, Tensor):
            raise TypeError(f"trace: expected a Tensor (or a list of them); item {k} is {r!r}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"trace: max_nodes must be at least 1, got {max_nodes}")
    param_names = {id(p): n for n, p in _named_parameters(params, "trace")} if params else {}
    classes = (
        {p: type(m).__name__ for p, m in params.named_modules()}
        if hasattr(params, "named_modules")
        else {}
    )

    # Structure first (cheap): every op and leaf, breadth-first from the outputs.
    order = list(walk([r.grad_fn for r in roots], leaves=True, breadth_first=True))
    index = {id(x): k for k, x in enumerate(order)}
    raw_edges = [  # (src, dst, argument index) as order indices
        (index[id(e)], dst, i)
        for dst, n in enumerate(order)
        if not isinstance(n, Tensor)
        for i, e in enumerate(n.edges)
        if e is not None
    ]
    kept = len(order) if max_nodes is None else min(len(order), max_nodes)

    values, names, retained = _known_values(roots, order if recompute else order[:kept], grads)
    placements = [_placement(obj, param_names, classes) for obj in order[:kept]]
    labels: dict[int, str] = {}  # leaves' names, for notes
    for k, obj in enumerate(order):
        if isinstance(obj, Tensor):
            place = _placement(obj, {}, {})
            label = obj.name or param_names.get(id(obj)) or (place.param if place else None)
            if label:
                labels[k] = label
    notes = changed_leaves(order, raw_edges)
    if recompute:
        notes.update(recompute_values(roots, order, values, labels))
    nodes: list[Node] = []
    g: np.ndarray | None
    for j, r in enumerate(roots):
        fn = r.grad_fn
        g = r._grad._data if r._grad is not None else None
        if g is None and fn is not None and grads is not None:
            g = grads.output_grad(fn)
        nodes.append(
            Node(
                f"out{j}",
                "output",
                fn.name() if fn is not None else None,
                tuple(r.shape),
                str(r._data.dtype),
                r.name if r.name is not None else param_names.get(id(r)),
                None if changed_output(r) else summarize(r._data, max_values),
                None if g is None else summarize(g, max_values),
            )
        )
    v: np.ndarray | None
    for k in range(kept):
        obj = order[k]
        place = placements[k]
        if isinstance(obj, Tensor):
            nm = obj.name or param_names.get(id(obj)) or (place.param if place else None)
            g = obj._grad._data if obj._grad is not None else None
            kind, op, v = "leaf", None, obj._data
        else:
            nm, kind, op, v = names.get(k), "op", obj.name(), values.get(k)
            g = grads.output_grad(obj) if grads is not None else None
            if g is None:
                g = retained.get(k)
        nodes.append(
            Node(
                f"n{k}",
                kind,
                op,
                tuple(obj.shape),
                str(np.dtype(obj.dtype)),  # (a tensor's or a node's: NumPy's name, "float32")
                nm,
                None if v is None else summarize(v, max_values),
                None if g is None else summarize(g, max_values),
                place.path if place else None,
                note=notes.get(k),
            )
        )
    _fallback_modules(nodes, order, kept, raw_edges, placements)
    _sequential_modules(nodes, kept, raw_edges, classes or _classes_of(placements))

    edges = []
    for j, r in enumerate(roots):
        fn = r.grad_fn
        if fn is not None:
            g = grads.output_grad(fn) if grads is not None else None
            edges.append(
                Edge(f"n{index[id(fn)]}", f"out{j}", 0, None if g is None else summarize(g))
            )
    edges += _edges(raw_edges, kept, order, grads, max_values)
    omitted = len(order) - kept
    if omitted:
        nodes.append(Node("more", "more", None, (), "", count=omitted))
    return Graph(nodes, edges, _modules_of(nodes, classes, placements), omitted)


def _known_values(
    roots: list[Tensor], ops: list[Any], grads: GradCapture | None
) -> tuple[dict[int, np.ndarray], dict[int, str], dict[int, np.ndarray]]:
    """Forward values, names and retained gradients of op nodes, by their position in ``ops``.

    Current tensors come first (the traced ones, those named with ``name``), then values some
    rule saved, then what ``capture_grads`` saw.
    """
    pos = {id(n): k for k, n in enumerate(ops)}
    values: dict[int, np.ndarray] = {}
    names: dict[int, str] = {}
    retained: dict[int, np.ndarray] = {}
    made_roots = {id(r.grad_fn) for r in roots}  # their name belongs to the output node

    def note(t: Tensor, k: int) -> None:
        if changed_output(t):
            return  # modified in place since: not the forward's value any more
        values[k] = t._data
        if t._grad is not None:
            retained.setdefault(k, t._grad._data)

    for r in roots:
        k = pos.get(id(r.grad_fn))
        if k is not None:
            note(r, k)
    for k, n in enumerate(ops):
        if isinstance(n, Tensor):
            continue
        entry = _NAMED.get(n)
        if entry is not None:
            label, ref = entry
            t = ref()
            if t is not None and t.grad_fn is n:
                note(t, k)
            if id(n) not in made_roots:
                names.setdefault(k, label)
        kept = _MODULE_OUT.get(n)
        if kept is not None and kept[1][0] == kept[2]:
            values.setdefault(k, kept[0])
        for src, value in _saved_values(n):
            j = pos.get(id(src))
            if j is not None:
                values.setdefault(j, value)
        for s in n.saved_values():  # saved inputs are Tensors: they may carry a name
            ref = s.tensor
            if ref is not None and ref.grad_fn is not None and ref.name is not None:
                j = pos.get(id(ref.grad_fn))
                if j is not None and id(ref.grad_fn) not in made_roots:
                    names.setdefault(j, ref.name)
        if grads is not None and k not in values:
            v = grads.value(n)
            if v is not None:
                values[k] = v
    return values, names, retained


def _placement(obj: Any, param_names: dict[int, str], classes: dict[str, str]) -> Any:
    """Where ``obj`` belongs: recorded by group_by_module, or derived from ``params``."""
    p = _MODULE_OF.get(obj)
    if p is not None:
        return p
    if isinstance(obj, Tensor) and id(obj) in param_names:
        return _Placement(param_names[id(obj)].rpartition(".")[0], classes)
    return None


def _fallback_modules(
    nodes: list[Node],
    order: list[Any],
    kept: int,
    raw_edges: list[tuple[int, int, int]],
    placements: list[Any],
) -> None:
    """Ops no hook attributed: the module of the (first) parameter they consume."""
    offset = len(nodes) - kept
    for src, dst, _ in raw_edges:
        if src >= kept or dst >= kept or placements[dst] is not None:
            continue
        node = nodes[offset + dst]
        if node.module is None and isinstance(order[src], Tensor) and placements[src]:
            node.module = placements[src].path


def _classes_of(placements: list[Any]) -> dict[str, str]:
    """Module path -> class name, as group_by_module recorded it (in the model's order)."""
    for p in placements:
        if p is not None:
            return p.classes
    return {}


def _sequential_modules(
    nodes: list[Node], kept: int, raw_edges: list[tuple[int, int, int]], classes: dict[str, str]
) -> None:
    """Ops still without a module that run between two children of an ``nn.Sequential`` (a ReLU
    between two Linear layers: it owns no parameter to place it by) go in the one child between
    them, since a Sequential feeds each child's output to the next child and nothing else."""
    if "Sequential" not in classes.values():
        return
    offset = len(nodes) - kept
    node = nodes[offset:]
    ins: list[list[int]] = [[] for _ in range(kept)]
    outs: list[list[int]] = [[] for _ in range(kept)]
    for src, dst, _ in raw_edges:
        if src < kept and dst < kept:
            ins[dst].append(src)
            outs[src].append(dst)
    loose = [node[k].kind == "op" and node[k].module is None for k in range(kept)]
    up = _nearest_modules(node, ins, outs, loose)  # modules feeding each loose op
    down = _nearest_modules(node, outs, ins, loose)  # modules it feeds
    children: dict[str, list[str]] = {}
    for path in classes:
        if path:
            children.setdefault(path.rpartition(".")[0], []).append(path)
    for k in range(kept):
        if not (loose[k] and up[k] and down[k]):
            continue
        holder = _common_parent(up[k] | down[k])
        if holder is None or classes.get(holder) != "Sequential":
            continue
        kids = children.get(holder, [])
        depth = holder.count(".") + 1 if holder else 0
        place = {c: i for i, c in enumerate(kids)}

        def child(m: str, depth: int = depth, holder: str = holder) -> str:
            return ".".join(m.split(".")[: depth + 1]) if holder else m.split(".")[0]

        a = max(place.get(child(m), -1) for m in up[k])
        b = min(place.get(child(m), -1) for m in down[k])
        if a >= 0 and b == a + 2:
            node[k].module = kids[a + 1]


def _nearest_modules(
    node: list[Node], ins: list[list[int]], outs: list[list[int]], loose: list[bool]
) -> list[set[str]]:
    """For each loose op, the modules of the nearest placed nodes along ``ins`` (through other
    loose ops), in one pass in topological order along ``ins`` (iteratively)."""
    found: list[set[str]] = [set() for _ in node]
    waiting = [len(i) for i in ins]
    ready = [k for k, w in enumerate(waiting) if w == 0]
    while ready:
        k = ready.pop()
        for j in ins[k]:
            m = node[j].module
            if m is not None:
                found[k].add(m)
            elif loose[j]:
                found[k] |= found[j]
        for j in outs[k]:
            waiting[j] -= 1
            if waiting[j] == 0:
                ready.append(j)
    return found


def _common_parent(paths: set[str]) -> str | None:
    """The deepest module path above all of ``paths`` (``''``: the model), or None when one of
    them is that path itself (no child of it tells where it sits)."""
    parts = [p.split(".") for p in paths]
    common: list[str] = []
    for level in zip(*parts):
        if len(set(level)) > 1:
            break
        common.append(level[0])
    if any(len(p) == len(common) for p in parts):
        return None
    return ".".join(common)


def _edges(
    raw: list[tuple[int, int, int]],
    kept: int,
    order: list[Any],
    grads: GradCapture | None,
    max_values: int,
) -> list[Edge]:
    edges: list[Edge] = []
    into_more: set[int] = set()
    for src, dst, i in raw:
        if dst >= kept:
            continue
        if src >= kept:  # one edge from the "more" node into each kept consumer
            if dst not in into_more:
                into_more.add(dst)
                edges.append(Edge("more", f"n{dst}", i))
            continue
        g = None
        if grads is not None:
            per_input = grads.input_grads(order[dst])
            if per_input is not None and per_input[i] is not None:
                g = summarize(per_input[i], max_values)
        edges.append(Edge(f"n{src}", f"n{dst}", i, g))
    return edges


def _modules_of(nodes: list[Node], classes: dict[str, str], placements: list[Any]) -> dict:
    """Every module path present (and its ancestors) -> class name ('' if unknown)."""
    known = dict(classes)
    for p in placements:
        if p is not None:
            for path, cls in p.classes.items():
                known.setdefault(path, cls)
    out: dict[str, str] = {}
    for n in nodes:
        path = n.module
        while path:
            out[path] = known.get(path, "")
            path = path.rpartition(".")[0]
    return dict(sorted(out.items()))
