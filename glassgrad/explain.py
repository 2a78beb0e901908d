"""``glassgrad explain``: run an expression forward and backward, printing every chain-rule step.

    $ glassgrad explain "(x + y) * z" --at x=-2 y=5 z=-4
    ...
    step 2  q = x + y  [AddBackward0]
      arriving:  df/dq = -4
      to x:      dq/dx = 1    df/dq * dq/dx = -4 * 1 = -4

The expression is read by a whitelist parser on Python's ``ast`` (never ``eval``): numbers, the
names given with ``--at``, ``+ - * / ** @``, unary minus, parentheses, a fixed table of functions
and ``name = expr`` statements separated by ``;`` (to name intermediates). Anything else is an
error naming the culprit. Intermediates without a name are called q, r, s, ... in forward order,
the output f, as in the textbook figures.

The local derivatives shown are each node's own backward rule applied to a gradient of ones (for
a scalar node, exactly its local derivative), so no op needs explaining code of its own.
``walkthrough()`` builds the same steps as data; ``glassgrad.viz.html`` turns them into a page.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.autograd.gradients import sum_to_shape
from glassgrad.autograd.graph import topological_order
from glassgrad.autograd.record import record_backward

__all__ = ["ExplainError", "Walkthrough", "add_subparser", "explain", "main", "walkthrough"]


class ExplainError(Exception):
    """A bad expression or binding: reported as one line, exit status 2."""


# ---- the whitelist ------------------------------------------------------------------------------


def _max(*a: Any) -> Any:
    return a[0].max() if len(a) == 1 else gg.maximum(*a)


def _min(*a: Any) -> Any:
    return a[0].min() if len(a) == 1 else gg.minimum(*a)


# name -> (allowed argument counts, function on Tensors)
FUNCTIONS: dict[str, tuple[tuple[int, ...], Callable[..., Any]]] = {
    "exp": ((1,), gg.exp),
    "log": ((1,), gg.log),
    "log1p": ((1,), gg.log1p),
    "sin": ((1,), gg.sin),
    "cos": ((1,), gg.cos),
    "tan": ((1,), gg.tan),
    "tanh": ((1,), gg.tanh),
    "sigmoid": ((1,), gg.sigmoid),
    "relu": ((1,), F.relu),
    "softplus": ((1,), F.softplus),
    "sqrt": ((1,), gg.sqrt),
    "square": ((1,), gg.square),
    "abs": ((1,), gg.abs),
    "max": ((1, 2), _max),
    "min": ((1, 2), _min),
    "sum": ((1,), lambda a: a.sum()),
    "mean": ((1,), lambda a: a.mean()),
    "prod": ((1,), lambda a: a.prod()),
    "dot": ((2,), gg.dot),
    "pow": ((2,), gg.pow),
}
_BINARY: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", lambda a, b: a + b),
    ast.Sub: ("-", lambda a, b: a - b),
    ast.Mult: ("*", lambda a, b: a * b),
    ast.Div: ("/", lambda a, b: a / b),
    ast.Pow: ("**", lambda a, b: a**b),
    ast.MatMult: ("@", lambda a, b: a @ b),
}
# Limits that keep any input to one line of error instead of a traceback or a hang: Python's
# parser and this evaluator recurse, and a walkthrough of thousands of steps explains nothing.
MAX_SOURCE = 10_000  # characters in the expression
MAX_DEPTH = 100  # nesting of the expression's syntax tree (operators, calls, parentheses)
MAX_VALUE = 100_000  # characters in one --at value
MAX_ELEMENTS = 100_000  # numbers in one --at value
# names for unnamed intermediates, in forward order (the textbook's q = x + y comes first)
_AUTO_NAMES = ("q", "r", "s", "t", "u", "v", "w", "p", "g", "h", "k", "m", "n")


def _clip(text: str, limit: int = 60) -> str:
    """``text`` as quoted in a one-line error: its repr, cut in the middle when long."""
    r = repr(text)
    return r if len(r) <= limit else f"{r[: limit // 2]}...{r[-(limit // 2) :]} ({len(text)} chars)"


def _parse(text: str, mode: str, what: str) -> ast.AST:
    """``ast.parse`` with every failure (syntax, nesting, a 5,000-digit literal) as one line."""
    try:
        tree = ast.parse(text, mode=mode)
    except SyntaxError as e:
        msg = e.msg
        if "digits" in msg:  # CPython's limit on int literals, in its own words
            msg = "a number literal is too long"
        raise ExplainError(f"cannot parse {what} {_clip(text)}: {msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExplainError(
            f"{what} {_clip(text)} is nested too deeply (at most {MAX_DEPTH} levels)"
        ) from None
    if _depth(tree) > MAX_DEPTH:
        raise ExplainError(
            f"{what} {_clip(text)} is nested too deeply (at most {MAX_DEPTH} levels)"
        )
    return tree


def _depth(tree: ast.AST) -> int:
    """How deeply the syntax tree nests (iterative: no recursion on a deep tree)."""
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, d = todo.pop()
        deepest = max(deepest, d)
        if d <= MAX_DEPTH:
            todo.extend((c, d + 1) for c in ast.iter_child_nodes(node))
    return deepest


def parse_bindings(items: Sequence[str]) -> dict[str, Any]:
    """``["x=2", "v=[1,2]"]`` -> ``{"x": 2.0, "v": [1.0, 2.0]}`` (numbers and lists only)."""
    values: dict[str, Any] = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier():
            raise ExplainError(f"--at {_clip(item)}: expected NAME=VALUE, e.g. x=2 or v=[1,2,3]")
        if name in FUNCTIONS:
            raise ExplainError(
                f"--at {_clip(item)}: {name!r} is a function name; pick another name"
            )
        if name in values:
            raise ExplainError(f"--at: {name!r} is given twice")
        if len(text) > MAX_VALUE:
            raise ExplainError(
                f"--at {name}=...: the value is {len(text)} characters long (at most {MAX_VALUE})"
            )
        try:
            tree = _parse(text.strip(), "eval", f"the value of {name}")
        except ExplainError:
            tree = None
        value = _literal(tree.body) if isinstance(tree, ast.Expression) else None
        if value is None:
            raise ExplainError(
                f"--at {_clip(item)}: the value must be a number or a list of numbers "
                f"(nested at most {MAX_DEPTH} deep), got {_clip(text)}"
            )
        try:
            arr = np.array(value, dtype=np.float64)
        except ValueError:
            raise ExplainError(f"--at {_clip(item)}: the nested lists are ragged") from None
        if arr.size > MAX_ELEMENTS:
            raise ExplainError(f"--at {name}=...: {arr.size} numbers (at most {MAX_ELEMENTS})")
        values[name] = value
    return values


def _literal(t: ast.AST) -> Any:
    """A number, a negated number, or (nested) lists of them; None for anything else."""
    if isinstance(t, ast.Constant) and isinstance(t.value, (int, float)):
        return None if isinstance(t.value, bool) else float(t.value)
    if isinstance(t, ast.UnaryOp) and isinstance(t.op, (ast.USub, ast.UAdd)):
        v = _literal(t.operand)
        return None if not isinstance(v, float) else (-v if isinstance(t.op, ast.USub) else v)
    if isinstance(t, (ast.List, ast.Tuple)) and t.elts:
        items = [_literal(e) for e in t.elts]
        return None if any(i is None for i in items) else items
    return None


@dataclass
class _Node:
    """What the evaluator knows about a graph node: its label, forward text and value."""

    label: str | None
    text: str
    value: np.ndarray


class _Evaluator:
    """Evaluates the parsed statements on glassgrad tensors, remembering each node's text."""

    def __init__(self, source: str, inputs: dict[str, Any]) -> None:
        self.source = source
        self.env: dict[str, Any] = {
            name: gg.tensor(v, dtype=gg.float64, requires_grad=True, name=name)
            for name, v in inputs.items()
        }
        self.inputs = dict(self.env)
        self.nodes: dict[Any, _Node] = {}  # grad_fn -> info, in the order the ops ran
        self.taken = set(inputs) | set(FUNCTIONS) | {"f", "out"}
        self._auto = 0

    def _next_name(self) -> str:
        """The next free name for an intermediate: q, r, s, ... then v1, v2, ..."""
        while True:
            k = self._auto
            self._auto += 1
            name = _AUTO_NAMES[k] if k < len(_AUTO_NAMES) else f"v{k - len(_AUTO_NAMES) + 1}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def fail(self, node: ast.AST, what: str) -> ExplainError:
        seg = ast.get_source_segment(self.source, node) or type(node).__name__
        return ExplainError(f"{what}: {_clip(seg)}")

    def run(self) -> tuple[Any, str]:
        if len(self.source) > MAX_SOURCE:
            raise ExplainError(
                f"the expression is {len(self.source)} characters long (at most {MAX_SOURCE})"
            )
        tree = _parse(self.source, "exec", "the expression")
        assert isinstance(tree, ast.Module)
        if not tree.body:
            raise ExplainError("the expression is empty")
        result, out_name = None, "f"
        for stmt in tree.body:  # names the statements assign are not free for intermediates
            if isinstance(stmt, ast.Assign):
                self.taken |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        for i, stmt in enumerate(tree.body):
            last = i == len(tree.body) - 1
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    raise self.fail(stmt, "only `name = expression` assignments are allowed")
                name = stmt.targets[0].id
                if name in self.inputs or name in FUNCTIONS:
                    raise self.fail(stmt, f"cannot assign to {name!r} (an input or a function)")
                result = self.eval(stmt.value)
                self.env[name] = result
                self._name(result, name)
                if last:
                    out_name = name
            elif isinstance(stmt, ast.Expr):
                if not last:
                    raise self.fail(stmt, "only the last statement may be a bare expression")
                result = self.eval(stmt.value)
            else:
                raise self.fail(stmt, "unsupported statement (only `name = expr` and `expr`)")
        if not isinstance(result, gg.Tensor) or not result.requires_grad:
            raise ExplainError(
                f"{_clip(self.source)} does not depend on any input given with --at; nothing to "
                "differentiate"
            )
        if result.numel() != 1:
            raise ExplainError(
                f"the expression's value has shape {tuple(result.shape)}; explain differentiates "
                "a single number: wrap it in sum(...) or mean(...)"
            )
        if out_name == "f" and "f" in self.inputs:
            out_name = "out"
        return result, out_name

    def _name(self, t: Any, name: str) -> None:
        info = self.nodes.get(getattr(t, "grad_fn", None))
        if info is not None and info.label is None:
            info.label = name

    def text(self, t: Any, node: ast.AST) -> str:
        """How an operand appears in its parent's forward text: its name, or its value."""
        if isinstance(t, gg.Tensor):
            if t.grad_fn is None and t.name:
                return str(t.name)
            info = self.nodes.get(t.grad_fn)
            if info is not None:
                if info.label is None:  # first use by another op: it gets its name now
                    info.label = self._next_name()
                return info.label
            return _fmt(t._data)
        return _fmt(np.asarray(t))

    def made(self, t: Any, text: str) -> Any:
        if isinstance(t, gg.Tensor) and t.grad_fn is not None and t.grad_fn not in self.nodes:
            self.nodes[t.grad_fn] = _Node(None, text, t._data)
        return t

    def eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise self.fail(node, "only numbers are allowed as constants")
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.env:
                hint = (
                    f"{node.id!r} is a function; call it"
                    if node.id in FUNCTIONS
                    else f"give it a value with --at {node.id}=..."
                )
                raise ExplainError(f"unknown name {node.id!r} ({hint})")
            return self.env[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            a = self.eval(node.operand)
            if isinstance(node.op, ast.UAdd):
                return a
            return self.made(-a, f"-{self.text(a, node.operand)}")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            symbol, fn = _BINARY[type(node.op)]
            a, b = self.eval(node.left), self.eval(node.right)
            if not isinstance(a, gg.Tensor) and not isinstance(b, gg.Tensor):
                a = gg.tensor(a, dtype=gg.float64)  # constants only: still no Python arithmetic
            out = self._call(node, fn, a, b)
            return self.made(out, f"{self.text(a, node.left)} {symbol} {self.text(b, node.right)}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.fail(node, "only calls of the listed functions are allowed")
            name = node.func.id
            if name not in FUNCTIONS:
                raise ExplainError(
                    f"unknown function {name!r}; known: {', '.join(sorted(FUNCTIONS))}"
                )
            if node.keywords:
                raise self.fail(node, f"{name}() takes no keyword arguments")
            counts, fn = FUNCTIONS[name]
            if len(node.args) not in counts:
                want = " or ".join(map(str, counts))
                raise self.fail(node, f"{name}() takes {want} argument(s), got {len(node.args)}")
            args = [self.eval(a) for a in node.args]
            tensors = [a if isinstance(a, gg.Tensor) else gg.tensor(a, gg.float64) for a in args]
            out = self._call(node, fn, *tensors)
            inner = ", ".join(self.text(a, n) for a, n in zip(args, node.args))
            return self.made(out, f"{name}({inner})")
        raise self.fail(node, f"unsupported syntax ({type(node).__name__})")

    def _call(self, node: ast.AST, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            with np.errstate(all="ignore"):
                return fn(*args)
        except (ValueError, RuntimeError, TypeError) as e:
            raise self.fail(node, f"cannot compute ({e})") from None


# ---- the walkthrough, as data -------------------------------------------------------------------


@dataclass
class Item:
    """A node or a leaf of the graph, in forward order (leaves and inputs before their users)."""

    label: str
    op: str | None  # the node's name (``MulBackward0``); None for a leaf
    text: str  # forward text: ``x + y`` (a leaf: its name)
    value: np.ndarray | None  # forward value, where known
    shape: tuple[int, ...]
    inputs: list[int]  # the items feeding this one, one per graph edge (no constants)


@dataclass
class Term:
    """One input of a visited node: its local derivative and the gradient it is sent."""

    to: int  # index into ``Walkthrough.items``
    slot: int  # which of the node's inputs (index into ``Item.inputs``): the edge it travels
    local: np.ndarray
    product: np.ndarray  # what the rule sent, summed to the input's shape
    elementwise: bool  # product == incoming * local, so the chain rule reads as a product


@dataclass
class Visit:
    """One step of the backward pass: the node it visits, what arrives, what leaves."""

    item: int
    incoming: np.ndarray
    parts: list[tuple[int, np.ndarray]]  # gradients summed into ``incoming`` (from, value)
    terms: list[Term]


@dataclass
class Walkthrough:
    """The backward pass of ``items[output]``, ready to print or to draw."""

    items: list[Item]
    output: int
    visits: list[Visit]
    grads: dict[int, np.ndarray | None]  # leaf item -> final gradient (None: not reached)
    parts: dict[int, list[tuple[int, np.ndarray]]] = field(default_factory=dict)  # per item

    def d(self, i: int) -> str:
        """``df/dq``: the output's derivative with respect to item ``i``."""
        return f"d{self.items[self.output].label}/d{self.items[i].label}"


def walkthrough(
    output: Any, labels: dict[Any, _Node] | None = None, out_label: str | None = None
) -> Walkthrough:
    """Run ``output``'s backward pass (``autograd.grad``: ``.grad`` is untouched), step by step.

    ``labels`` maps graph nodes to their name, forward text and value (``glassgrad explain``
    knows them from the expression); other nodes get q, r, s, ... and ``op(inputs)`` as text.
    The graph must still hold its saved tensors (call before ``backward()``, or retain it).
    """
    if not isinstance(output, gg.Tensor) or not output.requires_grad:
        raise ValueError("walkthrough: the tensor does not require grad (there is no graph)")
    if output.numel() != 1:
        raise ValueError(
            f"walkthrough: the tensor has shape {tuple(output.shape)}; a step-by-step backward "
            "starts from a single number (reduce it first, e.g. .sum())"
        )
    labels = labels or {}
    objs = topological_order([output.grad_fn or output], leaves=True)  # inputs first
    for x in objs:
        if not isinstance(x, gg.Tensor) and x.released:
            raise ValueError(
                f"walkthrough: the graph's saved tensors were freed by an earlier backward() "
                f"({x.name()}); call it before backward(), or use backward(retain_graph=True)"
            )
    index = {id(x): i for i, x in enumerate(objs)}
    taken = {str(x.name) for x in objs if isinstance(x, gg.Tensor) and x.name}
    taken |= {n.label for n in labels.values() if n.label}
    out_label = out_label or (output.name if output.name else None) or "f"
    taken.add(out_label)
    every = itertools.chain(_AUTO_NAMES, (f"v{k}" for k in itertools.count(1)))
    pool = (n for n in every if n not in taken)
    items: list[Item] = []
    leaves: list[Any] = []
    for k, x in enumerate(objs):
        inputs = (
            [] if isinstance(x, gg.Tensor) else [index[id(e)] for e in x.edges if e is not None]
        )
        if isinstance(x, gg.Tensor):
            label = str(x.name) if x.name else f"leaf{len(leaves)}"
            items.append(Item(label, None, label, x._data, tuple(x.shape), []))
            leaves.append(x)
            continue
        info = labels.get(x)
        label = out_label if k == len(objs) - 1 else (info.label if info and info.label else "")
        if not label:
            label = next(pool)
        text = (
            info.text
            if info
            else f"{x.name().rpartition('Backward')[0]}("  # SumBackward1 -> Sum(...)
            + ", ".join(items[i].label for i in inputs)
            + ")"
        )
        items.append(Item(label, x.name(), text, info.value if info else None, x.shape, inputs))
    out_i = len(items) - 1
    if output.grad_fn is None:  # the expression is an input itself: d x / d x = 1
        one = np.ones(output.shape, output.dtype)
        return Walkthrough(items, out_i, [], {out_i: one}, {out_i: [(out_i, one)]})

    with record_backward(keep_values=True) as rec:
        gg.autograd.grad(output, leaves, retain_graph=True, allow_unused=True)
    parts: dict[int, list[tuple[int, np.ndarray]]] = {out_i: []}
    visits = []
    node_of = {x: index[id(x)] for x in objs if not isinstance(x, gg.Tensor)}
    steps = rec.steps
    for k, step in enumerate(steps):
        i = node_of[rec.node(k)]
        g = step.grad_in if step.grad_in is not None else np.zeros(items[i].shape)
        terms = []
        slot = -1
        for e, gi, local in zip(objs[i].edges, step.grads_out or [], step.local or []):
            if e is None:
                continue
            slot += 1
            if gi is None or local is None:
                continue
            to = index[id(e)]
            product = sum_to_shape(gi, tuple(e.shape))
            # the chain rule reads as a product when incoming * local is what the rule sent
            same = g.shape == local.shape == product.shape and bool(
                np.allclose(g * local, product, rtol=1e-12, atol=0)
            )
            terms.append(Term(to, slot, local, product, same))
            parts.setdefault(to, []).append((i, product))
        visits.append(Visit(i, g, parts.get(i, []), terms))
    grads = {}
    for k, x in enumerate(objs):
        if isinstance(x, gg.Tensor):
            got = parts.get(k, [])
            grads[k] = sum((p for _, p in got[1:]), got[0][1].copy()) if got else None
    return Walkthrough(items, out_i, visits, grads, parts)


# ---- printing -----------------------------------------------------------------------------------


MAX_SHOWN = 24  # tensors up to this many numbers are printed in full


def _norm(a: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.abs(a) ** 2)))


def _num(v: float) -> str:
    s = f"{v:.6g}"
    return "0" if s == "-0" else s


def _fmt(a: Any) -> str:
    """Numbers as people write them: ``-4``, ``0.5``, ``[1, 2, 3]``."""
    a = np.asarray(a)
    if a.ndim == 0:
        return _num(float(a))
    if a.size > MAX_SHOWN:  # a big tensor: what it is, not every number
        return f"<shape {tuple(a.shape)}, mean {_num(float(a.mean()))}, norm {_num(_norm(a))}>"

    def rec(x: Any) -> str:
        return "[" + ", ".join(rec(v) for v in x) + "]" if isinstance(x, list) else _num(x)

    return rec(a.tolist())


def _factor(a: Any) -> str:
    """A number as the right operand of ``*``: negatives in parentheses, ``1 * (-4)``."""
    text = _fmt(a)
    return f"({text})" if text.startswith("-") else text


def visit_lines(w: Walkthrough, v: Visit) -> list[str]:
    """One backward step in words and numbers: what arrives, each local derivative, products."""
    items = w.items
    it = items[v.item]
    arriving = f"{w.d(v.item)} = {_fmt(v.incoming)}"
    if len(v.parts) > 1:
        summed = " + ".join(_fmt(p) for _, p in v.parts)
        arriving = (
            f"{w.d(v.item)} = {summed} = {_fmt(v.incoming)}"
            f"   ({len(v.parts)} paths meet: their gradients add)"
        )
    repeated = {t.to for t in v.terms if sum(u.to == t.to for u in v.terms) > 1}
    heads = [
        f"to {items[t.to].label}" + (f" (argument {t.slot + 1})" if t.to in repeated else "") + ":"
        for t in v.terms
    ]
    width = max([len("arriving:")] + [len(h) for h in heads])
    lines = [f"  {'arriving:'.ljust(width)}  {arriving}"]
    locals_ = [f"d{it.label}/d{items[t.to].label} = {_fmt(t.local)}" for t in v.terms]
    lw = max((len(s) for s in locals_), default=0)
    for h, loc, t in zip(heads, locals_, v.terms):
        names = f"{w.d(v.item)} * d{it.label}/d{items[t.to].label}"
        if t.elementwise:
            product = f"{names} = {_fmt(v.incoming)} * {_factor(t.local)} = {_fmt(t.product)}"
        else:
            product = f"{names} = {_fmt(t.product)}  (vector-Jacobian product)"
        lines.append(f"  {h.ljust(width)}  {loc.ljust(lw)}    {product}")
    return lines


def format_walkthrough(w: Walkthrough) -> list[str]:
    """The printout: the forward pass, then every backward step with its numbers."""
    items, out = w.items, w.output
    lines = ["forward:"]
    for it in items:
        if it.op is not None:
            value = "" if it.value is None else f" = {_fmt(it.value)}"
            lines.append(f"  {it.label} = {it.text}{value}")
    lines.append("")
    lines.append(f"backward (the chain rule, one node at a time, from {w.d(out)} = 1):")
    if any(it.shape != () for it in items):
        lines.append("  (on tensors, a local derivative shown is the node's rule applied to ones)")
    for n, v in enumerate(w.visits, 1):
        it = items[v.item]
        lines += ["", f"step {n}  {it.label} = {it.text}  [{it.op}]"] + visit_lines(w, v)
    return lines


def _format_grads(w: Walkthrough, grads: dict[int, Any]) -> list[str]:
    """One line per input: its gradient as the sum of what reached it, beside ``.grad``."""
    rows = []
    for k, total in w.grads.items():
        got = w.parts.get(k, [])
        text = f"{w.d(k)} = " + ("0 (not reached)" if total is None else _fmt(total))
        if len(got) > 1:
            text = f"{w.d(k)} = " + " + ".join(_fmt(p) for _, p in got) + f" = {_fmt(total)}"
            text += f"   ({len(got)} paths meet)"
        grad = grads.get(k)
        rows.append((text, f"{w.items[k].label}.grad = {'None' if grad is None else _fmt(grad)}"))
    width = max((len(t) for t, _ in rows), default=0)
    return ["", "gradients of the inputs (sums where paths meet):"] + [
        f"  {t.ljust(width)}    {g}" for t, g in rows
    ]


def explain(source: str, at: dict[str, Any]) -> tuple[Walkthrough, list[str], dict[str, Any]]:
    """Parse and run ``source`` at the values ``at``; return the walkthrough, its printout and
    the inputs' ``.grad`` after a real ``backward()`` (which the printout shows beside the sums).
    """
    ev = _Evaluator(source, at)
    result, out_name = ev.run()
    w = walkthrough(result, ev.nodes, out_name)
    result.backward()
    leaf_grads = {}
    for k, it in enumerate(w.items):
        if it.op is None and it.label in ev.inputs:
            g = ev.inputs[it.label].grad
            leaf_grads[k] = None if g is None else g._data
    bindings = ", ".join(f"{k} = {_fmt(np.asarray(v))}" for k, v in at.items())
    head = [f"{_statement_text(source, w.items[w.output].label)}   at {bindings}", ""]
    lines = head + format_walkthrough(w) + _format_grads(w, leaf_grads)
    grads = {w.items[k].label: g for k, g in leaf_grads.items()}
    return w, lines, grads


def _statement_text(source: str, out: str) -> str:
    """The expression as parsed (``f = (x + y) * z``), one ``;`` between statements."""
    body = ast.parse(source).body
    text = "; ".join(ast.unparse(s) for s in body)
    return text if isinstance(body[-1], ast.Assign) else f"{out} = {text}"


# ---- the command line ------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("expr", metavar="EXPR", help='e.g. "(x + y) * z" or "q = x + y; f = q * z"')
    p.add_argument(
        "--at",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="input values: numbers or small lists, e.g. --at x=-2 y=5 z=-4 v=[1,2,3]",
    )
    p.add_argument(
        "--html", metavar="OUT.html", help="also write the interactive step-by-step page"
    )
    p.add_argument(
        "--svg", metavar="OUT.svg", help="also write the graph with its gradients as SVG"
    )


def add_subparser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``explain`` on a ``glassgrad`` command line (``args.command == "explain"``)."""
    p = subparsers.add_parser(
        "explain",
        help="print every chain-rule step of an expression's backward pass",
        description=__doc__.split("\n")[0],
    )
    add_arguments(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``explain`` command: print the steps, write the requested files."""
    try:
        w, lines, _ = explain(args.expr, parse_bindings(args.at))
    except ExplainError as e:
        print(f"glassgrad explain: error: {e}", file=sys.stderr)
        return 2
    except (RecursionError, MemoryError) as e:  # past the limits above: still one line
        what = "too deeply nested" if isinstance(e, RecursionError) else "too large"
        print(f"glassgrad explain: error: the input is {what} to explain", file=sys.stderr)
        return 2
    print("\n".join(lines))
    from glassgrad.viz import html  # the page and the picture: only when asked for

    for path, render in ((args.html, html.page), (args.svg, html.svg)):
        if path:
            try:
                Path(path).write_text(render(w, title=args.expr), encoding="utf-8")
            except OSError as e:
                print(f"glassgrad explain: error: cannot write {path}: {e}", file=sys.stderr)
                return 1
            print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``glassgrad explain ...`` on its own (``main(["(x+y)*z", "--at", "x=-2", ...])``)."""

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> Any:
            raise ExplainError(message)

    p = Parser(prog="glassgrad explain", description=__doc__.split("\n")[0])
    add_arguments(p)
    try:
        args = p.parse_args(argv)
    except ExplainError as e:
        print(f"glassgrad explain: error: {e}", file=sys.stderr)
        return 2
    return run(args)
