"""Pictures of a traced graph: DOT text (always), SVG/PNG through Graphviz's ``dot`` program.

The drawing follows the classic textbook figures of backpropagation: data flows left to right
along black forward edges; red backward edges carry the gradient back, labelled with its value
when it is known (run the backward pass inside ``glassgrad.viz.capture_grads()`` for that).
Tensors with few elements show their values; larger ones show shape, dtype and statistics.
Ops are grouped in boxes by the ``nn.Module`` that produced them (see ``group_by_module``), a
module can be drawn as a single box (``collapse={'layers.0'}``), and past ``max_nodes`` the
nodes farthest from the output are summarised by one "... N more nodes" box.

Every label is escaped: names are user text and may hold quotes, brackets, backslashes or HTML.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from glassgrad.tensor import Tensor
from glassgrad.viz.trace import Edge, GradCapture, Graph, Node, Summary, _inside, trace

__all__ = ["Drawing", "GraphvizNotFoundError", "collapse", "draw", "limit", "render", "to_dot"]

FORMATS = ("svg", "png")
_FILL = {
    "leaf": "lightblue",
    "output": "palegreen",
    "op": "white",
    "module": "lightyellow",
    "more": "gainsboro",
}
_SHAPE = {"leaf": "box", "output": "box", "op": "ellipse", "module": "box3d", "more": "note"}
_INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH; it is needed to render SVG/PNG. "
    "Install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
    "(macOS) or from https://graphviz.org/download/. glassgrad.viz.to_dot(...) still works "
    "without it and returns the DOT text."
)


class GraphvizNotFoundError(RuntimeError):
    """Raised when rendering needs Graphviz's ``dot`` program and it is not installed."""


# ---- views of a graph: the cap, collapsed modules -------------------------------------------
def limit(graph: Graph, max_nodes: int) -> Graph:
    """Keep the outputs and the first ``max_nodes`` other nodes; one ``"more"`` node stands
    for the rest (a trace's nodes are ordered nearest-the-output first)."""
    if max_nodes < 1:
        raise ValueError(f"limit: max_nodes must be at least 1, got {max_nodes}")
    others = [n for n in graph.nodes if n.kind not in ("output", "more")]
    if len(others) <= max_nodes:
        return graph
    keep = {n.id for n in graph.nodes if n.kind == "output"} | {n.id for n in others[:max_nodes]}
    dropped = len(others) - max_nodes + graph.omitted
    nodes = [n for n in graph.nodes if n.id in keep]
    nodes.append(Node("more", "more", None, (), "", count=dropped))
    edges, into_more = [], set()
    for e in graph.edges:
        if e.dst not in keep:
            continue
        if e.src in keep:
            edges.append(e)
        elif e.dst not in into_more:
            into_more.add(e.dst)
            edges.append(Edge("more", e.dst, e.index))
    return Graph(nodes, edges, dict(graph.modules), dropped)


def collapse(graph: Graph, modules: Iterable[str]) -> Graph:
    """Replace every node of each module in ``modules`` (and its submodules) with one box.

    Edges inside a box disappear; edges crossing its border are kept once per outside node.
    """
    paths = sorted(set(modules), key=len)
    for p in paths:
        if p not in graph.modules:
            raise ValueError(
                f"collapse: no module {p!r} in this graph; modules present: {list(graph.modules)}"
            )
    box_of: dict[str, str] = {}
    members: dict[str, list[Node]] = {}
    for n in graph.nodes:
        if n.module is None:
            continue
        for p in paths:  # the outermost collapsed module containing the node wins
            if _inside(n.module, p):
                box_of[n.id] = f"module:{p}"
                members.setdefault(p, []).append(n)
                break
    nodes: list[Node] = []
    placed: set[str] = set()
    edges: list[Edge] = []
    seen: set[tuple[str, str]] = set()
    for e in graph.edges:
        src, dst = box_of.get(e.src, e.src), box_of.get(e.dst, e.dst)
        if src == dst or (src, dst) in seen:
            continue
        seen.add((src, dst))
        edges.append(replace(e, src=src, dst=dst))
    exits = {e.src for e in graph.edges if e.src in box_of and box_of.get(e.dst) != box_of[e.src]}
    for n in graph.nodes:
        box = box_of.get(n.id)
        if box is None:
            nodes.append(n)
            continue
        if box in placed:
            continue
        placed.add(box)
        path = box[len("module:") :]
        inside = members[path]
        outs = [m for m in inside if m.id in exits]
        shown = outs[0] if len(outs) == 1 else None
        nodes.append(
            Node(
                box,
                "module",
                graph.modules.get(path) or None,
                shown.shape if shown else (),
                shown.dtype if shown else "",
                path,
                shown.value if shown else None,
                shown.grad if shown else None,
                path.rpartition(".")[0] if path else None,
                count=len(inside),
            )
        )
    modules = {p: c for p, c in graph.modules.items() if not any(_inside(p, q) for q in paths)}
    return Graph(nodes, edges, modules, graph.omitted)


# ---- DOT text ----------------------------------------------------------------------------------
def to_dot(
    graph_or_tensor: Graph | Tensor | Sequence[Tensor],
    *,
    params: Any = None,
    grads: GradCapture | None = None,
    max_nodes: int | None = 2000,
    collapse: Iterable[str] = (),
    backward: bool | str = "auto",
    rankdir: str = "LR",
    max_values: int = 16,
) -> str:
    """The DOT source of a graph (from ``trace``) or of the graph behind a tensor.

    ``params``, ``grads`` and ``max_values`` are passed to ``trace`` when given a tensor.
    ``max_nodes`` caps the number of boxes (None: no cap); ``collapse`` names modules to draw
    as one box each; ``backward`` draws the red backward edges (``"auto"``: when some gradient
    is known); ``rankdir`` is Graphviz's layout direction (``"LR"`` or ``"TB"``, ...).

    >>> import glassgrad as gg
    >>> x = gg.tensor(2.0, requires_grad=True, name="x")
    >>> print(to_dot(x * 3).splitlines()[0])
    digraph glassgrad {
    """
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"to_dot: rankdir must be one of LR, RL, TB, BT, got {rankdir!r}")
    if backward not in (True, False, "auto"):
        raise ValueError(f"to_dot: backward must be True, False or 'auto', got {backward!r}")
    graph = _as_graph(graph_or_tensor, params, grads, max_nodes, max_values)
    folded = set(collapse) if not isinstance(collapse, str) else {collapse}
    if folded:
        graph = _collapse(graph, folded)
    if backward == "auto":
        backward = any(e.grad is not None for e in graph.edges) or any(
            n.grad is not None for n in graph.nodes
        )

    lines = [
        "digraph glassgrad {",
        f'  graph [rankdir={rankdir}, fontname="Helvetica", fontsize=10, newrank=true];',
        '  node [fontname="Helvetica", fontsize=10, style=filled];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    lines += _clusters(graph)
    for e in graph.edges:
        lines.append(f"  {_q(e.src)} -> {_q(e.dst)} [color=black];")
        if backward:
            label = f", label={_q(_grad_text(e.grad, 'grad'))}" if e.grad is not None else ""
            lines.append(
                f"  {_q(e.src)} -> {_q(e.dst)} [color=red, fontcolor=red, dir=back, "
                f"style=dashed{label}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _as_graph(obj: Any, params: Any, grads: Any, max_nodes: int | None, max_values: int) -> Graph:
    if isinstance(obj, Graph):
        if params is not None or grads is not None:
            raise ValueError(
                "to_dot: params= and grads= apply when tracing a tensor; pass them to "
                "glassgrad.viz.trace() instead of a ready Graph"
            )
        return obj if max_nodes is None else limit(obj, max_nodes)
    if isinstance(obj, Tensor) or (
        isinstance(obj, (list, tuple)) and all(isinstance(t, Tensor) for t in obj)
    ):
        return trace(obj, params, grads=grads, max_nodes=max_nodes, max_values=max_values)
    raise TypeError(f"expected a Graph from glassgrad.viz.trace() or a Tensor, got {obj!r:.80}")


_collapse = collapse  # the keyword argument of to_dot shadows the function's name


def _clusters(graph: Graph) -> list[str]:
    """Node statements, nested in one cluster per module path (iteratively)."""
    modules = graph.modules
    children: dict[str, list[str]] = {}
    for p in modules:
        parent = p.rpartition(".")[0]
        while parent and parent not in modules:
            parent = parent.rpartition(".")[0]
        children.setdefault(parent, []).append(p)
    members: dict[str, list[Node]] = {}
    for n in graph.nodes:
        key = n.module if n.module in modules else ""
        members.setdefault(key, []).append(n)

    lines = [f"  {_node_statement(n)}" for n in members.get("", [])]
    stack: list[tuple[str, int, bool]] = [(p, 1, False) for p in reversed(children.get("", []))]
    while stack:
        path, depth, closing = stack.pop()
        pad = "  " * depth
        if closing:
            lines.append(pad + "}")
            continue
        cls = modules[path]
        label = f"{path} ({cls})" if cls else path
        lines.append(f"{pad}subgraph {_q('cluster_' + path)} {{")
        lines.append(
            f'{pad}  graph [label={_q(label)}, style="rounded,dashed", color=gray40, '
            "fontcolor=gray25];"
        )
        lines += [f"{pad}  {_node_statement(n)}" for n in members.get(path, [])]
        stack.append((path, depth, True))
        stack.extend((c, depth + 1, False) for c in reversed(children.get(path, [])))
    return lines


def _node_statement(n: Node) -> str:
    return f"{_q(n.id)} [label={_q(_label(n))}, shape={_SHAPE[n.kind]}, fillcolor={_FILL[n.kind]}];"


def _label(n: Node) -> list[str]:
    """The lines of a node's label (escaped and joined by ``_q``)."""
    if n.kind == "more":
        return [f"... {n.count:,} more nodes"]
    if n.kind == "module":
        head = f"{n.name} ({n.op})" if n.op else str(n.name)
        lines = [head, f"{n.count:,} nodes collapsed"]
    elif n.kind == "op":
        lines = [n.name, str(n.op)] if n.name else [str(n.op)]
    elif n.kind == "output":
        lines = [f"output {n.name}" if n.name else "output"]
    else:
        lines = [n.name or "leaf"]
    lines.append(_shape_text(n.shape, n.dtype))
    if n.value is not None:
        lines += _value_text(n.value, "value")
    if n.grad is not None:
        lines += _value_text(n.grad, "grad")
    return lines


def _shape_text(shape: tuple[int, ...], dtype: str) -> str:
    dims = str(tuple(shape)) if shape else "scalar"
    return f"{dims} {dtype}".strip()


def _num(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _values(values: Any) -> str:
    a = np.asarray(values)
    if a.ndim == 0:
        return _num(a.item())
    return np.array2string(
        a, separator=", ", formatter={"float_kind": lambda v: f"{v:.4g}"}, max_line_width=60
    )


def _value_text(s: Summary, what: str) -> list[str]:
    if s.values is not None:
        first, *rest = _values(s.values).splitlines()
        return [f"{what} = {first}", *rest]
    if s.mean is None:
        return [f"{what}: {s.dtype}"]
    if what == "grad":
        return [f"grad norm {_num(s.norm)}, mean {_num(s.mean)}"]
    return [f"min {_num(s.min)}, max {_num(s.max)}", f"mean {_num(s.mean)}, std {_num(s.std)}"]


def _grad_text(s: Summary | None, what: str) -> list[str]:
    if s is None:
        return []
    if s.values is not None:
        return _values(s.values).splitlines()
    if s.norm is None:
        return [s.dtype]
    return [f"norm {_num(s.norm)}"]


def _q(text: str | list[str]) -> str:
    """A DOT double-quoted string. Backslashes are doubled (so Graphviz's ``\\N``, ``\\l``...
    never fire), quotes escaped, ``&`` written ``&amp;`` (Graphviz decodes entities even in
    plain labels), line breaks become centred ``\\n`` breaks, other control characters
    dropped. Angle brackets need nothing: only ``<...>`` labels are HTML, and the SVG writer
    escapes them."""
    lines = text if isinstance(text, list) else [text]
    out = []
    for line in lines:
        for part in str(line).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            part = "".join(ch for ch in part if ch >= " " and ch != "\x7f")
            part = part.replace("&", "&amp;")  # Graphviz decodes entities such as &amp;
            out.append(part.replace("\\", "\\\\").replace('"', '\\"'))
    return '"' + "\\n".join(out) + '"'


# ---- rendering through Graphviz ---------------------------------------------------------------
def _dot_program() -> str:
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizNotFoundError(_INSTALL_HINT)
    return exe


def _run_dot(source: str, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    proc = subprocess.run(
        [_dot_program(), f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True
    )
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz dot exited with status {proc.returncode}: {err}")
    return proc.stdout


def render(
    graph_or_tensor: Graph | Tensor | Sequence[Tensor],
    path: str | os.PathLike[str],
    format: str | None = None,
    **options: Any,
) -> str:
    """Write the picture to ``path`` as SVG or PNG (``format``, else the file's suffix, else
    SVG) using Graphviz; ``options`` are those of ``to_dot``. Returns the path written."""
    path = os.fspath(path)
    if format is None:
        suffix = os.path.splitext(path)[1].lstrip(".").lower()
        format = suffix if suffix in FORMATS else "svg"
    if format not in FORMATS:
        raise ValueError(f"render: format must be one of {', '.join(FORMATS)}; got {format!r}")
    data = _run_dot(to_dot(graph_or_tensor, **options), format)
    with open(path, "wb") as f:
        f.write(data)
    return path


class Drawing:
    """A picture of a graph: ``.source`` is its DOT text; Jupyter shows it (``_repr_svg_``)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._svg: str | None = None

    def svg(self) -> str:
        """The SVG text (Graphviz runs once; the result is kept)."""
        if self._svg is None:
            self._svg = _run_dot(self.source, "svg").decode("utf-8")
        return self._svg

    def _repr_svg_(self) -> str:
        return self.svg()

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> str:
        """Write the picture as SVG or PNG (by ``format`` or the file's suffix)."""
        path = os.fspath(path)
        if format is None:
            suffix = os.path.splitext(path)[1].lstrip(".").lower()
            format = suffix if suffix in FORMATS else "svg"
        data = self.svg().encode("utf-8") if format == "svg" else _run_dot(self.source, format)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def __repr__(self) -> str:
        n = self.source.count("->")
        return f"<glassgrad.viz.Drawing: {n} edges; shown inline in Jupyter, or .save(path)>"


def draw(graph_or_tensor: Graph | Tensor | Sequence[Tensor], **options: Any) -> Drawing:
    """A ``Drawing`` of the graph (shown inline in Jupyter); ``options`` as for ``to_dot``."""
    return Drawing(to_dot(graph_or_tensor, **options))
