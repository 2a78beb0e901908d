"""Self-contained HTML pages that step through ``backward()``, node by node.

>>> import glassgrad as gg
>>> from glassgrad.viz.html import to_html
>>> x = gg.tensor(-2.0, requires_grad=True, name="x")
>>> y = gg.tensor(5.0, requires_grad=True, name="y")
>>> z = gg.tensor(-4.0, requires_grad=True, name="z")
>>> page = to_html((x + y) * z)  # or to_html(f, "f.html") to write the file
>>> page.startswith("<!DOCTYPE html>"), page.count("<script"), "src=" in page
(True, 2, False)

``to_html`` writes the explorable page of ``glassgrad.viz.explore`` (any network: modules,
zoom, a side panel per node). ``page(walkthrough)`` below is the page ``glassgrad explain
--html`` writes for a small expression, with every number of every step. It needs nothing but
a browser: the layout (a layered drawing, inputs on the left, the
output on the right) is computed here, the graph is inline SVG, and a few lines of inline
JavaScript move through the steps ``glassgrad.explain.walkthrough`` recorded. Each step lights
up the node the backward pass visits, shows the gradient arriving, the local derivatives and
their products on the edges (red, as in the textbook figures), and adds the products into the
running gradients; after the last step they equal ``.grad``. Open ``page.html#autoplay`` to run
every step on load (``#step=3``: the first three). Every name and expression from the user is
escaped (text only, never markup).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from glassgrad.explain import Walkthrough, _fmt, visit_lines

__all__ = ["page", "svg", "to_html"]

BOX_W, BOX_H = 180, 62  # a node's box
GAP_X, GAP_Y = 90, 46  # between layers, between boxes of a layer
MARGIN = 24
MAX_NUMBERS = 64  # tensors up to this size travel as numbers; larger ones as a summary line


def to_html(
    tensor: Any,
    path: str | Path | None = None,
    title: str | None = None,
    params: Any = None,
) -> str:
    """The explorable page of ``tensor``'s backward pass (``glassgrad.viz.explore``).

    ``tensor`` must be a single number that requires grad, with its graph not yet freed (call
    this before ``backward()``, or after ``backward(retain_graph=True)``); ``.grad`` is left
    as it was. ``params`` names the leaves (a model, or ``dict(model.named_parameters())``);
    a model's parameters are found by themselves. Written to ``path`` if given.
    """
    from glassgrad.viz.explorer import to_html as explore_to_html

    return explore_to_html(tensor, path, title, params)


# ---- layout ------------------------------------------------------------------------------------


def _layout(w: Walkthrough) -> tuple[list[tuple[float, float]], float, float]:
    """Top-left corner of each item's box, and the drawing's size.

    Leaves form layer 0; a node sits one layer right of its rightmost input. Within a layer
    boxes are ordered by the mean height of their inputs, which keeps most edges uncrossed.
    """
    layer: list[int] = []
    for it in w.items:  # forward order: inputs come first
        layer.append(1 + max(layer[i] for i in it.inputs) if it.inputs else 0)
    leaf_layer: dict[int, int] = {}  # a leaf sits just left of its first user (z beside q)
    for i, it in enumerate(w.items):
        for j in it.inputs:
            if w.items[j].op is None:
                leaf_layer[j] = min(leaf_layer.get(j, layer[i] - 1), layer[i] - 1)
    for j, k in leaf_layer.items():
        layer[j] = k
    columns: dict[int, list[int]] = {}
    for i, k in enumerate(layer):
        columns.setdefault(k, []).append(i)
    ys: dict[int, float] = {}
    for k in sorted(columns):
        col = columns[k]  # nodes by the mean height of their inputs, then the leaves
        col.sort(
            key=lambda i: (
                sum(ys[j] for j in w.items[i].inputs) / len(w.items[i].inputs)
                if w.items[i].inputs
                else 1e9 + i
            )
        )
        for row, i in enumerate(col):
            ys[i] = row
    tallest = max(len(c) for c in columns.values())
    pos: list[tuple[float, float]] = []
    for i, k in enumerate(layer):
        offset = (tallest - len(columns[k])) / 2  # centre short columns
        pos.append(
            (MARGIN + k * (BOX_W + GAP_X), MARGIN + 18 + (ys[i] + offset) * (BOX_H + GAP_Y + 16))
        )
    width: float = 2 * MARGIN + (max(layer) + 1) * BOX_W + max(layer) * GAP_X
    height: float = 2 * MARGIN + 18 + tallest * (BOX_H + GAP_Y + 16)
    return pos, width, height


def _short(text: str, n: int = 26) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _value_text(a: Any) -> str:
    if a is None:
        return ""
    a = np.asarray(a)
    if a.size <= 8:
        return _fmt(a)
    return f"shape {tuple(a.shape)}, mean {_fmt(a.mean())}"


def _graph_svg(w: Walkthrough, final: bool) -> str:
    """The graph as an ``<svg>`` element. ``final``: label edges and nodes with the gradients
    after the whole backward pass (a static picture); otherwise leave them for the script."""
    pos, width, height = _layout(w)
    esc = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" '
        'font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#333"/></marker></defs>',
    ]
    grads_after: dict[tuple[int, int], Any] = {}
    node_grad: dict[int, Any] = dict(w.grads)
    for v in w.visits:
        node_grad[v.item] = v.incoming
        for t in v.terms:
            grads_after[(v.item, t.slot)] = t.product
    for i, it in enumerate(w.items):
        x1, y1 = pos[i]
        n_in = len(it.inputs)
        for slot, j in enumerate(it.inputs):
            x0, y0 = pos[j]
            sx, sy = x0 + BOX_W, y0 + BOX_H / 2
            ty = y1 + BOX_H * (slot + 1) / (n_in + 1)
            mx = (sx + x1) / 2
            eid = f"e{i}-{slot}"
            label = _value_text(grads_after.get((i, slot))) if final else ""
            out.append(
                f'<g class="edge" id="{eid}"><path d="M{sx:.1f},{sy:.1f} C{mx:.1f},{sy:.1f} '
                f'{mx:.1f},{ty:.1f} {x1:.1f},{ty:.1f}" fill="none" stroke="#222" '
                'stroke-width="1.4" marker-end="url(#arrow)"/>'
                f'<text class="eg" id="eg{i}-{slot}" x="{x1 - 14:.1f}" y="{ty - 5:.1f}" '
                'text-anchor="end" fill="#c00" stroke="#fff" stroke-width="3" '
                'paint-order="stroke">'
                f"{esc(_short(label, 30))}</text></g>"
            )
    for i, it in enumerate(w.items):
        x, y = pos[i]
        head = it.label if it.op is None else f"{it.label} = {it.text}"
        kind = "leaf" if it.op is None else "op"
        sub = "input" if it.op is None else it.op
        fill = "#eef5ff" if it.op is None else "#f7f7f7"
        grad = _value_text(node_grad.get(i)) if final else ""
        out.append(
            f'<g class="node {kind}" id="n{i}"><title>{esc(head)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="6" '
            f'fill="{fill}" stroke="#555"/>'
            f'<text x="{x + 8:.1f}" y="{y + 17:.1f}" font-weight="bold">'
            f"{esc(_short(head))}</text>"
            f'<text x="{x + 8:.1f}" y="{y + 33:.1f}" fill="#666">{esc(_short(sub))}</text>'
            f'<text x="{x + 8:.1f}" y="{y + 50:.1f}">= {esc(_short(_value_text(it.value)))}'
            "</text>"
            f'<text class="ng" id="ng{i}" x="{x + 4:.1f}" y="{y + BOX_H + 15:.1f}" '
            f'fill="#c00">{esc(_short(("grad " + grad) if grad else "", 34))}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


def svg(w: Walkthrough, title: str = "") -> str:
    """A standalone SVG picture: forward values in the boxes, final gradients in red."""
    body = _graph_svg(w, final=True)
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if title:
        body = body.replace(">", f"><title>{html.escape(title)}</title>", 1)
    return head + body + "\n"


# ---- the page ----------------------------------------------------------------------------------


def _numbers(a: Any) -> Any:
    """An array as JSON numbers (non-finite ones as strings the script turns back)."""
    a = np.asarray(a, dtype=np.float64)

    def one(v: float) -> Any:
        return (
            v
            if math.isfinite(v)
            else ("NaN" if math.isnan(v) else str(v).replace("inf", "Infinity"))
        )

    def rec(x: Any) -> Any:
        return [rec(v) for v in x] if isinstance(x, list) else one(x)

    return rec(a.tolist())


def _payload(a: Any) -> dict[str, Any]:
    a = np.asarray(a)
    if a.size <= MAX_NUMBERS:
        return {"v": _numbers(a)}
    return {"s": _value_text(a)}  # too big to add up in the page: Python's summary instead


def _data(w: Walkthrough) -> dict[str, Any]:
    out = w.items[w.output]
    running: dict[int, Any] = {w.output: np.ones(out.shape)}
    steps = []
    for n, v in enumerate(w.visits, 1):
        it = w.items[v.item]
        terms = []
        for t in v.terms:
            prev = running.get(t.to)
            running[t.to] = t.product.copy() if prev is None else prev + t.product
            product = _payload(t.product)
            term: dict[str, Any] = {"to": t.to, "slot": t.slot, "product": product}
            if "s" in product:
                term["after"] = _value_text(running[t.to])
            terms.append(term)
        steps.append(
            {
                "item": v.item,
                "inputs": w.items[v.item].inputs,
                "title": f"step {n}: {it.label} = {it.text}  [{it.op}]",
                "lines": visit_lines(w, v),
                "terms": terms,
            }
        )
    items = [
        {"label": it.label, "leaf": it.op is None, "d": w.d(i)} for i, it in enumerate(w.items)
    ]
    return {
        "items": items,
        "output": w.output,
        "seed": _payload(np.ones(out.shape)),
        "steps": steps,
    }


def _json_for_script(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` at all."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# nothing from the network, ever: only the page's own inline style and script may run
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
_CSS = """
body { font-family: sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; font-weight: normal; }
#controls button { font-size: 14px; margin-right: 4px; }
#wrap { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
#panel { min-width: 260px; }
#explain { white-space: pre; font-family: monospace; background: #fafafa; border: 1px solid #ddd;
           padding: 8px; margin: 10px 0; min-height: 6em; overflow-x: auto; }
table { border-collapse: collapse; margin-top: 10px; font-family: monospace; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
.node.current rect { stroke: #c00; stroke-width: 3; fill: #fff3d6; }
.node.done rect { fill: #e8f6e8; }
.edge.back path { stroke: #c00; stroke-width: 2.2; }
"""

_JS = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("walk").textContent);
  var N = D.steps.length, at = 0, running = {};
  function num(x) { return Array.isArray(x) ? x.map(num) : Number(x); }
  function add(a, b) {
    return Array.isArray(a) ? a.map(function (v, i) { return add(v, b[i]); }) : a + b;
  }
  function fmt(x) {
    if (Array.isArray(x)) return "[" + x.map(fmt).join(", ") + "]";
    if (!isFinite(x)) return String(x);
    var s = String(Number(x.toPrecision(6)));
    return s === "-0" ? "0" : s;
  }
  function byId(id) { return document.getElementById(id); }
  function text(id, s) { var e = byId(id); if (e) e.textContent = s; }
  function show(i) {
    var r = running[i];
    var s = r === undefined ? "" : (r.s !== undefined ? r.s : fmt(r.v));
    text("ng" + i, s === "" ? "" : "grad " + (s.length > 34 ? s.slice(0, 33) + "\u2026" : s));
    var cell = byId("g" + i);
    if (cell) {
      cell.textContent = s === "" ? "0 (nothing yet)" : s;
      var exact = r === undefined || r.v === undefined ? "" : JSON.stringify(r.v);
      cell.setAttribute("data-value", exact);
    }
  }
  function reset() {
    at = 0; running = {};
    running[D.output] = { v: num(D.seed.v) };
    var els = document.querySelectorAll(".node, .edge");
    for (var k = 0; k < els.length; k++) els[k].classList.remove("current", "done", "back");
    els = document.querySelectorAll(".eg");
    for (k = 0; k < els.length; k++) els[k].textContent = "";
    for (var i = 0; i < D.items.length; i++) show(i);
    text("explain", "Press \u201cstep\u201d: the backward pass starts at the output, " +
      D.items[D.output].d + " = 1.");
    status();
  }
  function status() {
    text("counter", "step " + at + " of " + N);
    document.body.setAttribute("data-step", String(at));
  }
  function forward() {
    if (at >= N) return;
    var s = D.steps[at], prev = document.querySelector(".node.current");
    if (prev) { prev.classList.remove("current"); prev.classList.add("done"); }
    byId("n" + s.item).classList.add("current");
    for (var k = 0; k < s.terms.length; k++) {
      var t = s.terms[k], p = t.product, r = running[t.to];
      if (p.v !== undefined) {
        var v = num(p.v);
        running[t.to] = { v: r === undefined ? v : add(r.v, v) };
        text("eg" + s.item + "-" + t.slot, fmt(v).slice(0, 30));
      } else {
        running[t.to] = { s: t.after };
        text("eg" + s.item + "-" + t.slot, p.s.slice(0, 30));
      }
      byId("e" + s.item + "-" + t.slot).classList.add("back");
      show(t.to);
    }
    text("explain", s.title + "\n" + s.lines.join("\n"));
    at += 1;
    if (at === N) {
      var last = byId("n" + s.item); last.classList.remove("current"); last.classList.add("done");
    }
    status();
  }
  function back() { var target = at - 1; reset(); while (at < target) forward(); }
  function all() { while (at < N) forward(); }
  byId("reset").onclick = reset;
  byId("back").onclick = back;
  byId("step").onclick = forward;
  byId("all").onclick = all;
  reset();
  // "#autoplay" runs every step on load; "#step=K" the first K (for tests and for links)
  var m = /^#step=(\d+)$/.exec(location.hash);
  if (location.hash === "#autoplay") all();
  else if (m) while (at < Math.min(Number(m[1]), N)) forward();
  document.body.setAttribute("data-ready", "1");
})();
"""


def page(w: Walkthrough, title: str = "backward, step by step") -> str:
    """The whole page as text: graph, controls, the current step, the running gradients."""
    esc = html.escape
    rows = "\n".join(
        f'<tr><td>{esc(w.d(i))}</td><td class="grad" id="g{i}" data-label="{esc(it.label)}" '
        f'data-value=""></td></tr>'
        for i, it in enumerate(w.items)
        if it.op is None
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>{esc(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{esc(title)}</h1>
<div id="controls">
<button id="reset">&laquo; reset</button><button id="back">&lsaquo; back</button>
<button id="step">step &rsaquo;</button><button id="all">run all &raquo;</button>
<span id="counter"></span>
</div>
<div id="explain"></div>
<div id="wrap">
<div id="drawing">
{_graph_svg(w, final=False)}
</div>
<div id="panel">
<table id="grads"><thead><tr><th>gradient of the output</th><th>running value</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p>Black edges: the forward pass. Red: the gradient each edge carries back. Where several
paths meet, their gradients add up.</p>
</div>
</div>
<script type="application/json" id="walk">{_json_for_script(_data(w))}</script>
<script>{_JS}</script>
</body>
</html>
"""
