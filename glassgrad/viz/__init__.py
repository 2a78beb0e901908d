"""See the graph behind ``loss.backward()``.

``trace(t)`` turns the graph into plain data (nodes, edges, values, gradients, modules) without
touching it; ``to_dot`` writes Graphviz DOT text, ``render`` an SVG/PNG file and ``draw`` an
object Jupyter shows inline. Name tensors with ``tensor(..., name="W1")`` or ``name(t, "h1")``,
parameters by their path with ``name_parameters(model)``; group ops by module with
``group_by_module(model)``; record the gradients each edge carries with ``capture_grads()``.
``to_html(t)`` writes the explorable page of the backward pass (``explore(t)`` returns it as an
object Jupyter shows inline; ``show(t)`` opens it in the browser from a script).

>>> import glassgrad as gg
>>> from glassgrad import viz
>>> x = gg.tensor(-2.0, requires_grad=True, name="x")
>>> y = gg.tensor(5.0, requires_grad=True, name="y")
>>> z = gg.tensor(-4.0, requires_grad=True, name="z")
>>> f = viz.name(viz.name(x + y, "q") * z, "f")
>>> with viz.capture_grads() as grads:
...     f.backward()
>>> g = viz.trace(f, grads=grads)
>>> g.named("q").value.values, g.named("q").grad.values
(3.0, -4.0)
>>> "color=red" in viz.to_dot(g)
True
"""

from typing import Any

from glassgrad.viz.dot import Drawing, GraphvizNotFoundError, collapse, draw, limit, render, to_dot
from glassgrad.viz.trace import (
    Edge,
    GradCapture,
    Graph,
    Node,
    Summary,
    capture_grads,
    group_by_module,
    name,
    name_parameters,
    summarize,
    trace,
)

__all__ = [
    "Drawing",
    "Edge",
    "GradCapture",
    "Graph",
    "GraphvizNotFoundError",
    "Node",
    "Summary",
    "capture_grads",
    "collapse",
    "draw",
    "explore",
    "group_by_module",
    "limit",
    "name",
    "name_parameters",
    "render",
    "show",
    "summarize",
    "to_dot",
    "to_html",
    "trace",
]


def __getattr__(attr: str) -> Any:
    if attr == "to_html":  # the pages need glassgrad.explain and the record: imported when asked
        from glassgrad.viz.html import to_html

        return to_html
    if attr in ("explore", "show", "Page"):
        from glassgrad.viz import explorer

        return getattr(explorer, attr)
    raise AttributeError(f"module 'glassgrad.viz' has no attribute {attr!r}")
