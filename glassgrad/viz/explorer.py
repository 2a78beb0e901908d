"""The backward pass of a real network in the browser: one self-contained, explorable page.

>>> import glassgrad as gg
>>> from glassgrad import nn
>>> from glassgrad.viz.explorer import explore
>>> model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
>>> loss = model(gg.randn(16, 4)).square().mean()
>>> page = explore(loss)                # page.save("loss.html"), page.show(); Jupyter shows it
>>> sorted(n["label"] for n in page.data["nodes"] if n["kind"] == "leaf")
['0.bias', '0.weight', '2.bias', '2.weight']
>>> page.html.count("<script"), "src=" in page.html
(2, False)

What the page shows: every op (PyTorch's node name, output shape and dtype, its value as a
number or as mean, std, range and a histogram), grouped in one box per module that folds and
unfolds; edges labelled with the shape that flows forward and the gradient that flows back;
buttons that step the backward pass in the order the engine ran it, adding gradients where paths
meet; nodes coloured by the size of their gradient (log scale), saturated and dead units flagged
as ``glassgrad.inspect`` does; a click on a node opens the forward expression, the local
derivative rule, the gradients in and out and what the node saved for backward.

Parameters are named by their path in the model that owns them (found among live modules, or
given: ``params=model`` or ``params=dict(model.named_parameters())``). Ops run inside
``glassgrad.viz.group_by_module(model)`` are grouped by module; otherwise ops using a parameter
go in that parameter's module, and ops between two children of an ``nn.Sequential`` in the
child between them. Containers with many children fold them in runs (``glassgrad.viz.folds``),
and the page opens folded to a level that reads at 1400×900. Every value is the forward's:
kept by the graph, or recomputed by running the op again (``glassgrad.viz.recompute``), never
from a leaf changed in place since. The page is computed here (Graphviz positions when ``dot``
is installed) and needs no network: every user-given string travels as JSON and is set as
text, never as markup.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import tempfile
import webbrowser
from pathlib import Path
from typing import Any

import numpy as np

from glassgrad.autograd.graph import walk
from glassgrad.autograd.record import record_backward
from glassgrad.tensor import Tensor
from glassgrad.viz import folds
from glassgrad.viz.folds import MODULE_H, NODE_H, NODE_W, containers, default_folds, folded_graph
from glassgrad.viz.positions import Box, Layout, layout
from glassgrad.viz.rules import rule
from glassgrad.viz.trace import Summary, capture_grads, summarize, trace

__all__ = ["Page", "explore", "show", "to_html"]

MAX_NUMBERS = 1024  # gradients sent to a leaf up to this size travel as numbers (added up there)
SATURATION, FLAG_FRACTION = 1e-3, 0.5  # as glassgrad.inspect.gradient_report flags them
_ACTIVATIONS = {"TanhBackward0": "tanh", "SigmoidBackward0": "sigmoid", "ReluBackward0": "relu"}
_ASSETS = Path(__file__).resolve().parent


class Page:
    """The page for one backward pass: ``.html``, ``.save(path)``, ``.show()``; Jupyter shows it."""

    def __init__(self, data: dict[str, Any], title: str) -> None:
        self.data = data
        self.title = title
        self._html: str | None = None

    @property
    def html(self) -> str:
        """The whole page as text."""
        if self._html is None:
            self._html = _page(self.data, self.title)
        return self._html

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the page to ``path``; returns the path."""
        Path(path).write_text(self.html, encoding="utf-8")
        return os.fspath(path)

    def show(self) -> str:
        """Open the page in the default web browser (from a temporary file); returns its path."""
        fd, path = tempfile.mkstemp(prefix="glassgrad-", suffix=".html")
        os.close(fd)
        self.save(path)
        webbrowser.open(Path(path).resolve().as_uri())
        return path

    def _repr_html_(self) -> str:
        # an iframe keeps the page's script and style apart from the notebook's
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;'
            'height:720px;border:1px solid #ccc" sandbox="allow-scripts"></iframe>'
        )

    def __repr__(self) -> str:
        n = len(self.data["nodes"])
        return f"<glassgrad.viz.Page: {n} nodes, {len(self.data['steps'])} backward steps>"


def explore(tensor: Tensor, params: Any = None, *, title: str | None = None) -> Page:
    """Record ``tensor``'s backward pass and build its page (``.grad`` is left untouched).

    ``tensor`` must be a single number that requires grad with its graph not yet freed (call
    this before ``backward()``, or after ``backward(retain_graph=True)``). ``params``: a model
    or a dict ``{name: parameter}`` naming the leaves (found by itself for a model's graph).
    """
    _check(tensor)
    if params is None:
        params = _owning_model(tensor)
    objs = list(walk([tensor.grad_fn], leaves=True, breadth_first=True))  # trace's own order
    leaves = [x for x in objs if isinstance(x, Tensor)]
    import glassgrad as gg  # (the package imports viz lazily; this is its public grad)

    with record_backward() as rec, capture_grads() as cap:
        gg.autograd.grad(tensor, leaves, retain_graph=True, allow_unused=True)
    graph = trace(tensor, params, grads=cap, recompute=True)
    default_title = f"backward of {tensor.name}" if tensor.name else "the backward pass"
    return Page(_data(graph, objs, rec, cap), title or default_title)


def to_html(
    tensor: Tensor,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    params: Any = None,
) -> str:
    """The page for ``tensor``'s backward pass as text; also written to ``path`` if given."""
    page = explore(tensor, params, title=title)
    if path is not None:
        page.save(path)
    return page.html


def show(tensor: Tensor, params: Any = None, *, title: str | None = None) -> str:
    """Open ``tensor``'s page in the web browser (from a script); returns the file's path."""
    return explore(tensor, params, title=title).show()


# ---- checks and names --------------------------------------------------------------------------
def _check(tensor: Any) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"explore: expected a Tensor, got {type(tensor).__name__}")
    if not tensor.requires_grad:
        raise ValueError("explore: the tensor does not require grad (there is no graph)")
    if tensor.numel() != 1:
        raise ValueError(
            f"explore: the tensor has shape {tuple(tensor.shape)}; a backward pass starts from "
            "a single number (reduce it first, e.g. .sum() or a loss)"
        )
    if tensor.grad_fn is None:
        raise ValueError("explore: the tensor is a leaf; there is no backward pass to show")
    stale: list[str] = []
    for x in walk([tensor.grad_fn]):
        if x.released:
            raise ValueError(
                f"explore: the graph's saved tensors were freed by an earlier backward() "
                f"({x.name()}); call it before backward(), or use backward(retain_graph=True)"
            )
        stale += [_tensor_label(s.tensor) for s in x.saved_values() if not s.current]
    if stale:
        names = ", ".join(dict.fromkeys(stale))
        raise ValueError(
            f"explore: {names} changed in place after the forward (an optimizer step?), and "
            "the backward pass needs the values the forward saw (saved for backward): build "
            "the page before the parameters change, e.g. right after the forward"
        )


def _tensor_label(t: Any) -> str:
    """A tensor's name for messages: its own, its path in a live model, or its shape."""
    if t is None:
        return "an op's output"
    if t.name:
        return str(t.name)
    model = _owning_model_of([t]) if t.grad_fn is None else None
    for path, p in model.named_parameters() if model is not None else ():
        if p is t:
            return str(path)
    kind = "a leaf" if t.grad_fn is None else "an intermediate tensor"
    return f"{kind} of shape {tuple(t.shape)}"


def _owning_model(tensor: Tensor) -> Any:
    """The live module owning most of the graph's parameters (the outermost one), or None."""
    return _owning_model_of(walk([tensor.grad_fn], leaves=True))


def _owning_model_of(objs: Any) -> Any:
    """The live root module owning most of the parameters among ``objs``, or None."""
    from glassgrad.nn.module import LIVE_MODULES, Parameter

    wanted = {id(x) for x in objs if isinstance(x, Parameter)}
    if not wanted:
        return None
    best, best_key = None, (0, 0)
    children: set[int] = set()
    candidates = []
    for m in list(LIVE_MODULES):
        mine = {id(p) for p in m._parameters.values() if p is not None}
        if not mine and not m._modules:
            continue
        children.update(id(c) for c in m._modules.values() if c is not None)
        candidates.append(m)
    for m in candidates:
        if id(m) in children:
            continue  # only roots: their paths are the model's own names
        found = sum(id(p) in wanted for p in m.parameters())
        key = (found, -sum(1 for _ in m.parameters()))
        if found and key > best_key:
            best, best_key = m, key
    return best


# ---- the data the page draws ---------------------------------------------------------------
def _finite(x: float | None) -> Any:
    if x is None or math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _stats(s: Summary | None, numel: int | None = None) -> dict[str, Any] | None:
    """A Summary as JSON-ready numbers (the page formats them)."""
    if s is None:
        return None
    n = int(np.prod(s.shape)) if numel is None else numel
    out: dict[str, Any] = {"shape": list(s.shape), "n": n, "dtype": s.dtype}
    if s.mean is not None:
        out.update(
            mean=_finite(s.mean),
            std=_finite(s.std),
            min=_finite(s.min),
            max=_finite(s.max),
            norm=_finite(s.norm),
            rms=_finite(s.norm / math.sqrt(n)) if n and s.norm is not None else 0.0,
        )
    if s.values is not None and n <= 8:
        out["v"] = np.asarray(s.values, dtype=np.float64).ravel().tolist()
        out["v"] = [_finite(v) for v in out["v"]]
    if s.hist is not None:
        out["hist"] = list(s.hist)
    return out


def _numbers(a: np.ndarray) -> list[Any]:
    """Flat numbers exact enough to add up as the engine did (float32: 9 digits round-trip)."""
    digits = 9 if a.dtype.itemsize <= 4 else 17
    return [_finite(float(f"{v:.{digits}g}")) for v in np.asarray(a, np.float64).ravel().tolist()]


def _saved(node: Any) -> tuple[list[dict[str, Any]], int]:
    """What the node keeps for backward: one entry per saved array, and their distinct bytes."""
    out, seen, total = [], set(), 0
    for s in node.saved_values():
        a = s.value._data if isinstance(s.value, Tensor) else s.value
        if not isinstance(a, np.ndarray):
            continue
        what = {"output": "its output", "input": "an input"}.get(s.role, "other (mask, index)")
        if s.role == "input" and s.tensor is not None and s.tensor.name:
            what = f"input {s.tensor.name}"
        out.append({"what": what, "shape": list(a.shape), "dtype": str(a.dtype), "bytes": a.nbytes})
        if id(a) not in seen:
            seen.add(id(a))
            total += int(a.nbytes)
    return out, total


def _flag(op: str | None, value: Any) -> dict[str, Any] | None:
    """Saturated or dead units, measured as glassgrad.inspect does (None: not an activation)."""
    kind = _ACTIVATIONS.get(op or "")
    if kind is None or value is None:
        return None
    from glassgrad.inspect import _activation_stats

    what, frac = _activation_stats(kind, np.asarray(value, dtype=np.float64), SATURATION)
    return {"what": what, "fraction": frac, "flagged": frac >= FLAG_FRACTION}


def _data(graph: Any, objs: list[Any], rec: Any, cap: Any) -> dict[str, Any]:
    ids = {id(x): f"n{k}" for k, x in enumerate(objs)}
    tnodes = {n.id: n for n in graph.nodes}
    nodes: list[dict[str, Any]] = []
    leaf_count = 0
    values = _values(graph, objs, cap)
    for k, obj in enumerate(objs):
        t = tnodes[f"n{k}"]
        entry: dict[str, Any] = {
            "id": t.id,
            "kind": t.kind,
            "shape": list(t.shape),
            "dtype": t.dtype,
            "module": t.module,
            "value": _stats(t.value),
            "note": t.note,
        }
        if t.kind == "leaf":
            entry["label"] = t.name or f"leaf{leaf_count}"
            leaf_count += 1
            entry["numel"] = int(np.prod(t.shape))
        else:
            r = rule(str(t.op))
            saved, nbytes = _saved(obj)
            entry.update(
                label=str(t.op).rpartition("Backward")[0] or str(t.op),
                name=t.name,
                op=t.op,
                args=list(r.args),
                forward=r.forward,
                words=r.words,
                symbols=r.symbols,
                generic=r.generic,
                saved=saved,
                savedBytes=nbytes,
                flag=_flag(t.op, values.get(k)),
            )
        nodes.append(entry)
    nodes[0]["output"] = True
    edges: list[dict[str, Any]] = []
    edge_at: dict[tuple[str, str, int], int] = {}
    for e in graph.edges:
        if not (e.src.startswith("n") and e.dst.startswith("n")):
            continue  # the trace's separate "output" box: the page marks n0 instead
        edge_at[(e.src, e.dst, e.index)] = len(edges)
        edges.append(
            {"src": e.src, "dst": e.dst, "index": e.index, "shape": list(tnodes[e.src].shape)}
        )
    steps, leaves = _steps(objs, ids, rec, cap, edges, edge_at, nodes)
    modules = containers(graph.modules, nodes, edges)
    collapsed = default_folds(nodes, edges, modules)
    rankdir = folds.rankdir(*folded_graph(nodes, edges, modules, collapsed))  # as it opens
    placed = _place(nodes, edges, modules, rankdir)
    return {
        "overview": _overview(nodes, edges, modules, collapsed, rankdir) if collapsed else None,
        "nodes": nodes,
        "edges": edges,
        "steps": steps,
        "leaves": leaves,
        "modules": modules,
        "collapsed": collapsed,
        "rankdir": rankdir,
        "layout": placed,
        "sizes": {"w": NODE_W, "h": NODE_H, "mh": MODULE_H},
    }


def _values(graph: Any, objs: list[Any], cap: Any) -> dict[int, np.ndarray]:
    """Forward output arrays of activation ops, for flags (the trace keeps only summaries)."""
    out: dict[int, np.ndarray] = {}
    for k, obj in enumerate(objs):
        if isinstance(obj, Tensor) or obj.name() not in _ACTIVATIONS:
            continue
        for s in obj.saved_values():
            if s.role == "output" and s.current:
                out[k] = np.asarray(s.value)
        if k not in out:
            v = cap.value(obj)
            if v is not None:
                out[k] = v
    return out


def _steps(
    objs: list[Any],
    ids: dict[int, str],
    rec: Any,
    cap: Any,
    edges: list[dict[str, Any]],
    edge_at: dict[tuple[str, str, int], int],
    nodes: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each backward step in the engine's order: what arrives, what goes to each input, and the
    running sum at every input it reaches (exact numbers for small leaves)."""
    running: dict[str, np.ndarray] = {}
    arrivals: dict[str, int] = {}
    leaf_ids = {n["id"] for n in nodes if n["kind"] == "leaf"}
    steps = []
    for k in range(len(rec.steps)):
        node = rec.node(k)
        nid = ids[id(node)]
        g = cap.output_grad(node)
        sends = []
        for i, (e, gi) in enumerate(zip(node.edges, cap.input_grads(node) or ())):
            if e is None or gi is None:
                continue
            to = ids[id(e)]
            prev = running.get(to)
            running[to] = gi.astype(np.float64) if prev is None else prev + gi
            arrivals[to] = arrivals.get(to, 0) + 1
            send: dict[str, Any] = {
                "edge": edge_at[(to, nid, i)],
                "to": to,
                "grad": _stats(summarize(gi)),
                "sum": _stats(summarize(running[to].astype(gi.dtype))),
                "arrival": arrivals[to],
            }
            if to in leaf_ids and gi.size <= MAX_NUMBERS:
                send["nums"] = _numbers(gi)
            sends.append(send)
            edges[send["edge"]]["grad"] = send["grad"]
        steps.append(
            {
                "node": nid,
                "incoming": None if g is None else _stats(summarize(g)),
                "paths": rec.steps[k].paths_in,
                "sends": sends,
            }
        )
    by_id = {n["id"]: n for n in nodes}
    for s in steps:
        by_id[s["node"]]["grad"] = s["incoming"]
    leaves = []
    for nid in sorted(leaf_ids, key=lambda i: int(i[1:])):
        final = running.get(nid)
        dtype = by_id[nid]["dtype"]
        by_id[nid]["grad"] = None if final is None else _stats(summarize(final.astype(dtype)))
        leaves.append({"id": nid, "label": by_id[nid]["label"], "numel": by_id[nid]["numel"]})
    return steps, leaves


def _edge_text(e: dict[str, Any]) -> str:
    """The longest text an edge label will hold, so the layout keeps room for it."""
    shape = "×".join(map(str, e["shape"])) or "scalar"
    return f"{shape}\n∇ rms 0.000e-00"


def _place(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    modules: list[dict[str, Any]],
    rankdir: str,
) -> dict[str, Any]:
    boxes = [Box(n["id"], NODE_W, NODE_H, n["in"]) for n in nodes]
    lay: Layout = layout(
        boxes,
        [(e["src"], e["dst"], _edge_text(e)) for e in edges],
        {m["path"]: m["parent"] for m in modules},
        rankdir,
        use_graphviz=os.environ.get("GLASSGRAD_VIZ_LAYOUT", "graphviz") != "fallback",
    )

    return {"engine": lay.engine, **_rounded(lay)}


def _overview(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    modules: list[dict[str, Any]],
    collapsed: list[str],
    rankdir: str,
) -> dict[str, Any]:
    """A layout of the view the page opens on (folded boxes only, as compact as the graph
    allows); routes and labels are keyed by ``"<from box>><to box>"``."""
    owner = folds.owners(nodes, modules, collapsed)
    parents = {m["path"]: m["parent"] for m in modules}
    frames = {p: up for p, up in parents.items() if not _inside_fold(p, collapsed, parents)}
    by_id = {n["id"]: n for n in nodes}
    boxes = []
    for box in dict.fromkeys(owner[n["id"]] for n in nodes):
        if box.startswith("m:"):
            boxes.append(Box(box, NODE_W, MODULE_H, parents[box[2:]]))
        else:
            boxes.append(Box(box, NODE_W, NODE_H, by_id[box]["in"]))
    links: dict[str, tuple[str, str, str]] = {}
    for e in edges:  # the first edge between two boxes labels them, as on the page
        a, b = owner[e["src"]], owner[e["dst"]]
        if a != b:
            links.setdefault(f"{a}>{b}", (a, b, _edge_text(e)))
    lay = layout(
        boxes,
        list(links.values()),
        frames,
        rankdir,
        use_graphviz=os.environ.get("GLASSGRAD_VIZ_LAYOUT", "graphviz") != "fallback",
    )
    out = _rounded(lay)
    keys = list(links)
    out["routes"] = {keys[int(k)]: v for k, v in out["routes"].items()}
    out["labels"] = {keys[int(k)]: v for k, v in out["labels"].items()}
    return out


def _inside_fold(path: str, collapsed: list[str], parents: dict[str, Any]) -> bool:
    """Is module ``path`` folded, or inside a folded one (so drawn as no frame)?"""
    up = parents[path]
    while up is not None:
        if up in collapsed:
            return True
        up = parents[up]
    return path in collapsed


def _rounded(lay: Layout) -> dict[str, Any]:
    """A layout as JSON-ready numbers (to 0.1 px: the page is smaller)."""

    def r(v: float) -> float:
        return round(v, 1)

    return {
        "width": r(lay.width),
        "height": r(lay.height),
        "pos": {k: [r(x), r(y)] for k, (x, y) in lay.centres.items()},
        "routes": {str(k): [[r(x), r(y)] for x, y in pts] for k, pts in lay.routes.items()},
        "labels": {str(k): [r(x), r(y)] for k, (x, y) in lay.labels.items()},
        "clusters": {k: [r(v) for v in bb] for k, bb in lay.clusters.items()},
    }


# ---- the page ----------------------------------------------------------------------------------
def _json_for_script(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` at all."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# nothing from the network, ever: only the page's own inline style and script may run
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def _page(data: dict[str, Any], title: str) -> str:
    esc = html.escape
    rows = "\n".join(
        f'<tr><td>{esc(leaf["label"])}</td><td class="grad" id="g{leaf["id"]}" '
        f'data-label="{esc(leaf["label"], quote=True)}" data-value="" data-norm=""></td></tr>'
        for leaf in data["leaves"]
    )
    parts = {
        "CSP": _CSP,
        "TITLE": esc(title),
        "CSS": (_ASSETS / "explore.css").read_text(encoding="utf-8"),
        "ROWS": rows,
        "DATA": _json_for_script(data),
        "JS": (_ASSETS / "explore.js").read_text(encoding="utf-8"),
    }
    template = (_ASSETS / "explore.html").read_text(encoding="utf-8")
    # one pass: text put in (a title, the data) is never searched for placeholders again
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], template)
