"""Where the page draws each box: Graphviz's ``dot -Tjson`` layout, or a plain layered fallback.

Graphviz lays the whole graph out once, every module a cluster around its nodes, every edge
routed around the boxes with room kept for its label. The page then draws what is shown (some
modules folded into one box) by squeezing the empty space out of that one layout, so folding and
unfolding moves boxes without a new layout. Without Graphviz the fallback puts nodes in layers
by their longest path from the inputs (edges are then drawn as plain curves).

Coordinates are pixels, y pointing down; a box is given by its centre and its size.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from glassgrad.viz.dot import _q

__all__ = ["Box", "Layout", "layout"]


@dataclass
class Box:
    """One item to place: a node (``id``), its size, and the module (or run) it sits in."""

    id: str
    w: float
    h: float
    module: str | None


@dataclass
class Layout:
    """Centres of the boxes, edge routes and label spots, module rectangles, the drawing's size."""

    width: float
    height: float
    centres: dict[str, tuple[float, float]]
    routes: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # Bézier points
    labels: dict[int, tuple[float, float]] = field(default_factory=dict)
    clusters: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    engine: str = "graphviz"


def layout(
    boxes: Sequence[Box],
    edges: Sequence[tuple[str, str, str]],
    modules: Mapping[str, str | None],
    rankdir: str,
    use_graphviz: bool = True,
) -> Layout:
    """Place ``boxes``; ``edges`` are (source id, target id, label text reserving room),
    ``modules`` maps each module (or run of modules) to the one it sits in (None: the top)."""
    exe = shutil.which("dot") if use_graphviz else None
    if exe is not None:
        try:
            return _graphviz(exe, boxes, edges, modules, rankdir)
        except (OSError, ValueError, KeyError, subprocess.SubprocessError):
            pass  # a broken Graphviz install: the fallback still gives a usable page
    return _layered(boxes, edges, modules, rankdir)


# ---- Graphviz --------------------------------------------------------------------------------
def _dot_source(
    boxes: Sequence[Box],
    edges: Sequence[tuple[str, str, str]],
    modules: Mapping[str, str | None],
    rankdir: str,
) -> tuple[str, dict[str, str]]:
    cluster_name = {m: f"cluster_{k}" for k, m in enumerate(modules)}
    children: dict[str, list[str]] = {}
    for m, parent in modules.items():
        children.setdefault(parent or "", []).append(m)
    members: dict[str, list[Box]] = {}
    for b in boxes:
        members.setdefault(b.module if b.module in cluster_name else "", []).append(b)

    def node(b: Box) -> str:
        return f"{_q(b.id)} [width={b.w / 72:.3f}, height={b.h / 72:.3f}];"

    lines = [
        "digraph page {",
        f"  graph [rankdir={rankdir}, nodesep=0.3, ranksep=0.45, newrank=true, margin=0];",
        '  node [shape=box, fixedsize=true, label=""];',
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.6];',
    ]
    lines += ["  " + node(b) for b in members.get("", [])]
    stack: list[tuple[str, bool]] = [(m, False) for m in reversed(children.get("", []))]
    while stack:  # nested clusters, iteratively
        m, closing = stack.pop()
        if closing:
            lines.append("  }")
            continue
        lines.append(f'  subgraph {cluster_name[m]} {{ graph [margin=10, label=" "];')
        lines += ["    " + node(b) for b in members.get(m, [])]
        stack.append((m, True))
        stack.extend((c, False) for c in reversed(children.get(m, [])))
    for k, (src, dst, label) in enumerate(edges):
        lines.append(
            f"  {_q(src)} -> {_q(dst)} [id={_q(f'e{k}')}, label={_q(label.splitlines())}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n", {v: k for k, v in cluster_name.items()}


def _graphviz(
    exe: str,
    boxes: Sequence[Box],
    edges: Sequence[tuple[str, str, str]],
    modules: Mapping[str, str | None],
    rankdir: str,
) -> Layout:
    source, module_of_cluster = _dot_source(boxes, edges, modules, rankdir)
    proc = subprocess.run(
        [exe, "-Tjson"], input=source.encode("utf-8"), capture_output=True, timeout=120
    )
    if proc.returncode != 0:
        raise ValueError(proc.stderr.decode("utf-8", "replace"))
    data = json.loads(proc.stdout.decode("utf-8"))
    x0, y0, x1, y1 = (float(v) for v in data["bb"].split(","))
    height = y1 - y0

    def pt(x: float, y: float) -> tuple[float, float]:
        return (x - x0, height - (y - y0))  # Graphviz's y points up

    centres: dict[str, tuple[float, float]] = {}
    clusters: dict[str, tuple[float, float, float, float]] = {}
    for obj in data.get("objects", []):
        name = obj.get("name", "")
        if name in module_of_cluster and "bb" in obj:
            a, b, c, d = (float(v) for v in obj["bb"].split(","))
            (l, t), (r, btm) = pt(a, d), pt(c, b)
            clusters[module_of_cluster[name]] = (l, t, r, btm)
        elif "pos" in obj:
            x, y = (float(v) for v in obj["pos"].split(","))
            centres[name] = pt(x, y)
    routes: dict[int, list[tuple[float, float]]] = {}
    labels: dict[int, tuple[float, float]] = {}
    for e in data.get("edges", []):
        k = int(str(e["id"])[1:])
        for op in e.get("_draw_", []):
            if op.get("op") == "b":
                routes[k] = [pt(float(x), float(y)) for x, y in op["points"]]
        if "lp" in e:
            lx, ly = (float(v) for v in e["lp"].split(","))
            labels[k] = pt(lx, ly)
    missing = [b.id for b in boxes if b.id not in centres]
    if missing:
        raise KeyError(f"Graphviz placed no box for {missing[:3]}")
    return Layout(x1 - x0, height, centres, routes, labels, clusters, "graphviz")


# ---- the fallback ------------------------------------------------------------------------------
def _layered(
    boxes: Sequence[Box],
    edges: Sequence[tuple[str, str, str]],
    modules: Mapping[str, str | None],
    rankdir: str,
) -> Layout:
    """Longest-path layers, boxes in a layer ordered by the mean position of their inputs."""
    ids = [b.id for b in boxes]
    size = {b.id: b for b in boxes}
    ins: dict[str, list[str]] = {i: [] for i in ids}
    outs: dict[str, list[str]] = {i: [] for i in ids}
    for src, dst, _ in edges:
        ins[dst].append(src)
        outs[src].append(dst)
    layer: dict[str, int] = {}
    pending = {i: len(ins[i]) for i in ids}
    ready = [i for i in ids if pending[i] == 0]
    while ready:  # Kahn's order: each box one layer past its deepest input
        i = ready.pop()
        layer[i] = max((layer[j] + 1 for j in ins[i]), default=0)
        for j in outs[i]:
            pending[j] -= 1
            if pending[j] == 0:
                ready.append(j)
    for i in ids:
        layer.setdefault(i, 0)  # (a cycle cannot happen in a graph; kept total anyway)
    columns: dict[int, list[str]] = {}
    for i in ids:
        columns.setdefault(layer[i], []).append(i)
    along = 0.0
    centres: dict[str, tuple[float, float]] = {}
    rank_gap, cross_gap = 70.0, 24.0
    across_max = 0.0
    slot: dict[str, float] = {}
    for k in sorted(columns):
        col = columns[k]
        col.sort(key=lambda i: sum(slot.get(j, 0.0) for j in ins[i]) / max(len(ins[i]), 1))
        depth = max((size[i].w if rankdir == "LR" else size[i].h) for i in col)
        across = 0.0
        for i in col:
            extent = size[i].h if rankdir == "LR" else size[i].w
            slot[i] = across + extent / 2
            across += extent + cross_gap
        across_max = max(across_max, across)
        for i in col:
            c = (along + depth / 2, slot[i]) if rankdir == "LR" else (slot[i], along + depth / 2)
            centres[i] = c
        along += depth + rank_gap
    clusters: dict[str, tuple[float, float, float, float]] = {}
    for m in modules:
        inside = [b for b in boxes if _within(b.module, m, modules)]
        if inside:
            pad = 8.0
            clusters[m] = (
                min(centres[b.id][0] - b.w / 2 for b in inside) - pad,
                min(centres[b.id][1] - b.h / 2 for b in inside) - pad,
                max(centres[b.id][0] + b.w / 2 for b in inside) + pad,
                max(centres[b.id][1] + b.h / 2 for b in inside) + pad,
            )
    width = max((c[0] + size[i].w / 2 for i, c in centres.items()), default=0.0)
    height = max((c[1] + size[i].h / 2 for i, c in centres.items()), default=0.0)
    return Layout(width, height, centres, {}, {}, clusters, "fallback")


def _within(box: str | None, path: str, modules: Mapping[str, str | None]) -> bool:
    """Is something in module (or run) ``box`` inside ``path``?"""
    while box is not None:
        if box == path:
            return True
        box = modules.get(box)
    return False
