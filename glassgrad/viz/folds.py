"""How the backward-pass page folds a network into boxes: modules, runs of sibling modules, and
which of them the page opens folded.

Every module with ops in the graph is a box that folds and unfolds. A container with many child
modules gets them grouped in *runs* of consecutive siblings (in forward order): a flat
``nn.Sequential`` of 25 layers has no parent module to fold into, so without runs its overview
is 25 boxes in a chain, too small to read. Runs follow the container's repeating pattern
(Linear, ReLU, Linear, ReLU ... splits between pairs) and are named by their first and last
member (``0–9``). The page opens folded to the deepest level that still reads at a laptop's
size, and each click unfolds one level.

Containment is explicit, not by dotted prefix (a run is no prefix of its members): every module
and run names its ``parent``, every node the innermost module or run it is drawn in (``in``).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["containers", "default_folds", "folded_graph", "owners", "rankdir"]

NODE_W, NODE_H = 188, 92  # an op or leaf box, in CSS pixels
MODULE_H = 78  # a folded module's box
FONT_PX = 11.5  # the box text's size at zoom 1 (explore.css)
READABLE_PX = 9.0  # the smallest text the opening view should show (font size × zoom)
MAX_VISIBLE = 25  # graphs with at most this many nodes open unfolded
MAX_CHILDREN = 6  # a container with more child modules than this groups them in runs
RUNS = 3  # ... about this many runs (each grouped again while it has too many)
VIEW_W, VIEW_H = 1000.0, 820.0  # the drawing's part of a 1400×900 window (panel, header off)


# ---- the tree of modules and runs ---------------------------------------------------------------
def containers(
    modules: dict[str, str], nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Modules and runs (path, label, class, parent, depth, ops, params) and each node's ``in``.

    ``modules`` maps every module path present to its class name; each node has ``module``
    (its module's path; ``''`` for the model's own ops, None outside the model).
    """
    mods = {p: c for p, c in modules.items() if p}
    parent_of: dict[str, str | None] = {}
    for p in mods:
        up = p.rpartition(".")[0]
        while up and up not in mods:
            up = up.rpartition(".")[0]
        parent_of[p] = up or None
    for n in nodes:
        n["in"] = n["module"] if n["module"] in mods else None
    order = _forward_order(nodes, edges)
    first: dict[str, float] = {}
    for n in nodes:  # each module's place in the forward pass: its earliest op
        box: str | None = n["in"]
        at = order[n["id"]] if n["kind"] == "op" else math.inf
        while box is not None:
            first[box] = min(first.get(box, math.inf), at)
            box = parent_of[box]
    out: dict[str, dict[str, Any]] = {
        p: {"path": p, "label": p, "cls": c, "parent": parent_of[p], "run": False}
        for p, c in mods.items()
    }
    kids: dict[str | None, list[str]] = {}
    for p in sorted(mods, key=lambda p: first.get(p, 0)):
        kids.setdefault(parent_of[p], []).append(p)
    for holder, members in list(kids.items()):
        if len(members) > MAX_CHILDREN:
            _group(holder, members, out, mods, first)
    _absorb(nodes, edges, out)
    for m in out.values():
        depth, p = 1, m["parent"]
        while p is not None:
            depth, p = depth + 1, out[p]["parent"]
        m["depth"] = depth
    for m in out.values():
        inside = [n for n in nodes if _within(n["in"], m["path"], out)]
        m["ops"] = sum(n["kind"] == "op" for n in inside)
        m["params"] = sum(n["kind"] == "leaf" for n in inside)
    return sorted(out.values(), key=lambda m: (m["depth"], first.get(m["path"], 0)))


def _forward_order(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, int]:
    """Each node's step in the forward pass: its longest path from the inputs (leaves: 0)."""
    ins = {n["id"]: 0 for n in nodes}
    outs: dict[str, list[str]] = {n["id"]: [] for n in nodes}
    for e in edges:
        ins[e["dst"]] += 1
        outs[e["src"]].append(e["dst"])
    step = {n["id"]: 0 for n in nodes}
    ready = [i for i, k in ins.items() if k == 0]
    while ready:  # Kahn's order, iteratively
        i = ready.pop()
        for j in outs[i]:
            step[j] = max(step[j], step[i] + 1)
            ins[j] -= 1
            if ins[j] == 0:
                ready.append(j)
    return step


def _period(classes: list[str]) -> int:
    """The shortest repeating pattern of the classes (Linear, ReLU: 2), at most 4; else 1."""
    n = len(classes)
    for p in range(1, 5):
        if n >= 2 * p and all(classes[i] == classes[i + p] for i in range(n - p)):
            return p
    return 1


def _group(
    holder: str | None,
    members: list[str],
    out: dict[str, dict[str, Any]],
    mods: dict[str, str],
    first: dict[str, float],
) -> None:
    """Put ``members`` (siblings, in forward order) into runs under ``holder``; runs with too
    many members are grouped again (iteratively: a list of thousands of layers nests a few
    levels deep)."""
    todo = [(holder, members)]
    while todo:
        up, items = todo.pop()
        classes = [out[m]["cls"] for m in items]
        p = _period(classes)
        units = [items[i : i + p] for i in range(0, len(items), p)]
        per = math.ceil(len(units) / RUNS)
        k = math.ceil(len(units) / per)
        base, extra = divmod(len(units), k)
        at = 0
        for j in range(k):
            chunk = units[at : at + base + (j < extra)]
            at += len(chunk)
            run = [m for u in chunk for m in u]
            if len(run) == 1:
                continue  # a run of one is the module itself
            a, b = (m.rpartition(".")[2] for m in (run[0], run[-1]))
            path = f"{up}.{a}–{b}" if up else f"{a}–{b}"
            while path in out or path in mods:
                path += "'"
            out[path] = {
                "path": path,
                "label": f"{a}–{b}",
                "cls": _pattern([out[m]["cls"] for m in run], p),
                "parent": up,
                "run": True,
                "size": len(run),
            }
            first[path] = first.get(run[0], 0)
            for m in run:
                out[m]["parent"] = path
            if len(chunk) > MAX_CHILDREN:
                todo.append((path, run))


def _pattern(classes: list[str], p: int) -> str:
    """What a run holds, in words: ``5 × Linear, ReLU``, ``3 × Block``, or the classes."""
    units = [classes[i : i + p] for i in range(0, len(classes), p)]
    full = [u for u in units if len(u) == p and u == units[0]]
    text = f"{len(full)} × {', '.join(units[0])}" if len(full) > 1 else ", ".join(units[0])
    rest = [c for u in units[len(full) :] for c in u] if len(full) > 1 else classes[p:]
    return text + (" + " + ", ".join(rest) if rest else "")


def _within(box: str | None, path: str, out: dict[str, dict[str, Any]]) -> bool:
    """Is something drawn in ``box`` inside module or run ``path``?"""
    while box is not None:
        if box == path:
            return True
        box = out[box]["parent"]
    return False


def _absorb(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], out: dict) -> None:
    """The container's own ops (a residual add) between members of one run go in that run, so
    folding it leaves no box outside that both feeds it and is fed by it. Ops outside the model
    (module None: the loss) stay out."""
    near: dict[str, list[str]] = {n["id"]: [] for n in nodes}
    for e in edges:
        near[e["src"]].append(e["dst"])
        near[e["dst"]].append(e["src"])
    by_id = {n["id"]: n for n in nodes}
    changed = True
    while changed:
        changed = False
        for n in nodes:
            own = n["in"]
            if n["kind"] != "op" or n["module"] is None or (own or "") != n["module"]:
                continue  # only ops a module ran itself, not inside one of its children
            ops = [by_id[j] for j in near[n["id"]] if by_id[j]["kind"] == "op"]
            runs = {_run_below(o["in"], own, out) for o in ops}
            if len(runs) == 1 and None not in runs:
                n["in"] = runs.pop()
                changed = True


def _run_below(box: str | None, holder: str | None, out: dict[str, dict[str, Any]]) -> Any:
    """The run directly inside ``holder`` that ``box`` lies in, else None."""
    while box is not None:
        up = out[box]["parent"]
        if up == holder:
            return box if out[box]["run"] else None
        box = up
    return None


# ---- what opens folded ----------------------------------------------------------------------
def _hidden_by(box: str | None, folds: set[str], parents: dict[str, str | None]) -> str | None:
    """The outermost folded module or run around ``box`` (itself included), else None."""
    found = None
    while box is not None:
        if box in folds:
            found = box
        box = parents[box]
    return found


def owners(
    nodes: list[dict[str, Any]], modules: list[dict[str, Any]], folds: list[str]
) -> dict[str, str]:
    """Node id -> the box showing it: itself, or ``m:<path>`` of the folded module around it."""
    parents = {m["path"]: m["parent"] for m in modules}
    fold_set = set(folds)
    owner: dict[str, str] = {}
    for n in nodes:
        f = _hidden_by(n["in"], fold_set, parents)
        owner[n["id"]] = n["id"] if f is None else "m:" + f
    return owner


def folded_graph(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    modules: list[dict[str, Any]],
    folds: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The boxes and edges shown with ``folds`` folded (a folded module or run is one box)."""
    owner = owners(nodes, modules, folds)
    shown = list(dict.fromkeys(owner[n["id"]] for n in nodes))  # output first, as nodes are
    links = {(owner[e["src"]], owner[e["dst"]]) for e in edges}
    return [{"id": i} for i in shown], [{"src": a, "dst": b} for a, b in links if a != b]


def _estimate(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> tuple[str, float]:
    """Left to right or top to bottom (whichever shows the boxes larger), and that zoom."""
    ins: dict[str, list[str]] = {n["id"]: [] for n in nodes}
    for e in edges:
        ins[e["dst"]].append(e["src"])
    depth: dict[str, int] = {}
    for n in reversed(nodes):  # breadth-first from the output: reversed, inputs come first
        depth[n["id"]] = 1 + max((depth.get(s, 0) for s in ins[n["id"]]), default=0)
    layers = max(depth.values())
    breadth = max(list(depth.values()).count(d) for d in set(depth.values()))
    # a layer holds a box and an edge label (80×28 px) with a few pixels around it
    lr = min(VIEW_W / (layers * (NODE_W + 92)), VIEW_H / (breadth * (NODE_H + 20)))
    tb = min(VIEW_W / (breadth * (NODE_W + 20)), VIEW_H / (layers * (NODE_H + 40)))
    return ("LR", lr) if lr > tb else ("TB", tb)


def rankdir(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> str:
    """Left to right or top to bottom: whichever shows the boxes larger on a wide screen."""
    return _estimate(nodes, edges)[0]


def default_folds(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], modules: list[dict[str, Any]]
) -> list[str]:
    """Fold every module and run at or below one depth: the deepest whose view still reads
    (text of READABLE_PX at the estimated zoom), else the top level. Deeper ones are folded
    too, so that a click unfolds one level."""
    if len(nodes) <= MAX_VISIBLE or not modules:
        return []
    deepest = max(m["depth"] for m in modules)
    for d in range(deepest, 0, -1):
        folds = [m["path"] for m in modules if m["depth"] >= d]
        if _estimate(*folded_graph(nodes, edges, modules, folds))[1] * FONT_PX >= READABLE_PX:
            return folds
    return [m["path"] for m in modules]
