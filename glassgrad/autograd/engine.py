"""The engine: records each op as a node while the forward pass runs, then walks the graph backward.

Nothing here knows about a particular op. A node is an instance of a ``Function`` subclass: its
``forward`` computes on NumPy arrays and its ``backward`` turns the gradient of the output into one
gradient per input (a vector-Jacobian product). The engine

* records nodes only when grad mode is on and some input requires a gradient,
* sums each input's gradient back to the input's shape after broadcasting (rules never do),
* visits nodes in reverse topological order with an explicit stack (no recursion: a graph may be
  100,000 nodes deep) and frees every gradient as soon as it has been passed on,
* checks that tensors a rule saved were not modified in place since,
* releases saved tensors after the walk unless ``retain_graph`` is set.

With ``create_graph=True`` the rules receive ``Tensor`` objects instead of arrays; since rules are
written with NumPy functions and operators, and ``Tensor`` answers NumPy's dispatch protocols, the
same rule then records a differentiable graph of the backward pass.
"""

from __future__ import annotations

import os
import time
import traceback
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class _State:
    """Global switches read on every op; kept in one object so a lookup is one attribute access."""

    __slots__ = (
        "anomaly",
        "anomaly_check_nan",
        "backward_observer",
        "create_graph",
        "grad_enabled",
        "inplace_epoch",
    )

    def __init__(self) -> None:
        self.grad_enabled = True  # record ops into the graph?
        self.create_graph = False  # are backward rules being run on Tensors (higher order)?
        self.anomaly = False  # remember where each op was created and check gradients for NaN?
        self.anomaly_check_nan = True  # in anomaly mode, raise at the first NaN/Inf gradient?
        self.inplace_epoch = 0  # counts in-place modifications; unchanged => no version checks
        # called as observer(node, grad_in, grads_out, seconds, saved) after each rule runs
        # (tools that show the backward pass step by step set it; None costs one check a node)
        self.backward_observer: Any = None


state = _State()

# Set by glassgrad.tensor at import time (the engine and the tensor class refer to each other).
Tensor: Any = None


_new_tensor = object.__new__


def bump_version(t: Any) -> None:
    """Record an in-place modification of ``t`` (and of every view sharing its counter)."""
    t._vc[0] += 1
    state.inplace_epoch += 1


class _SavedOutput:
    """Marks 'the op's own output' among saved values (saving the Tensor would be a ref cycle)."""

    __repr__ = lambda self: "<output>"  # noqa: E731


OUTPUT = _SavedOutput()
_OUTPUT_REF = (OUTPUT,)
_NUMBERS = {int, float}
_VERSION_0 = (0,)


class _NoGradContext:
    """Stand-in ``ctx`` when nothing is recorded: saving goes nowhere.

    Built-in ops share one instance; a user's Function gets a fresh one per call, with
    ``needs_input_grad`` all False, so attributes it sets don't outlive the call.
    """

    needs_input_grad: tuple[bool, ...] = ()

    def __init__(self, nargs: int = 0) -> None:
        if nargs:
            self.needs_input_grad = (False,) * nargs

    # forwards may store ``ctx._saved`` directly; here that keeps nothing alive
    _saved = property(lambda self: (), lambda self, value: None)

    def save_for_backward(self, *values: Any) -> None:
        pass

    def mark_non_differentiable(self, *values: Any) -> None:
        pass


_NO_GRAD_CTX = _NoGradContext()
_NON_DIFFERENTIABLE: list[Any] = []  # marker stored by mark_non_differentiable()


class Function:
    """A differentiable op: ``forward(ctx, *inputs)`` on arrays and ``backward(ctx, grad)``.

    Every built-in op is a subclass, and so are users' custom ops::

        class Cube(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x**3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x**2 * g

    ``Cube.apply(t)`` runs it on a Tensor and, if ``t`` requires grad, records an instance of
    ``Cube`` (the context, which is also the graph node) as the result's ``grad_fn``.

    The contract: ``apply`` hands ``forward`` each Tensor argument's array (``.data``) and other
    arguments unchanged; ``forward`` returns one array. ``backward`` receives ``g`` and
    ``ctx.saved_tensors`` as arrays, or as Tensors under ``create_graph=True``, and returns one
    gradient per forward argument (None where there is none; a gradient in a broadcast shape is
    summed back by the engine). ``ctx.needs_input_grad`` says which arguments need one. Extra
    state goes in ctx attributes. Write ``backward`` with NumPy functions and operators (or
    glassgrad ops), never in place, and save only inputs, the output, or values with zero
    derivative (masks, indices): under ``create_graph`` inputs and output are handed back as
    differentiable Tensors, so the rule differentiates itself.
    """

    __slots__ = (
        "__weakref__",
        "_hooks",
        "_meta",
        "_saved",
        "_trace",
        "dtype",
        "next",
        "shape",
    )

    forward: Callable[..., Any]
    backward: Callable[..., Any]
    # slots, annotated for type checkers
    next: list[Any]
    shape: tuple[int, ...]
    dtype: np.dtype
    _saved: Any
    _meta: Any
    _hooks: Any
    _trace: Any
    op_name: str | None = None  # the name PyTorch shows, when it differs from the class name
    broadcasts = False  # elementwise ops: NumPy's broadcasting errors are reworded to name them

    # ---- recording --------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Run ``forward`` on the inputs' arrays and record the node when a gradient is needed."""
        try:
            return cls._apply(*args)
        except ValueError as e:
            if not cls.broadcasts or "could not be broadcast" not in str(e):
                raise
            raise RuntimeError(_broadcast_message(cls, args)) from None

    @classmethod
    def _apply(cls, *args: Any) -> Any:
        n = len(args)
        x = args[0] if n else None
        if isinstance(x, Tensor) and (n == 1 or (n == 2 and type(args[1]) in _NUMBERS)):
            # NOTE: fast path (unary ops, tensor-with-number ops): no argument lists to build.
            if x.requires_grad and state.grad_enabled:
                fn = x.grad_fn
                ctx = _new_tensor(cls)
                ctx._saved = ()
                ctx._hooks = None
                if n == 1:
                    ctx.next = [x if fn is None else fn]
                    return _recorded(ctx, cls.forward(ctx, x.data), args)
                ctx.next = [x if fn is None else fn, None]
                return _recorded(ctx, cls.forward(ctx, x.data, args[1]), args)
            nctx = _NO_GRAD_CTX if cls.__dictoffset__ == 0 else _NoGradContext(n)
            if n == 1:
                return _constant(cls.forward(nctx, x.data), nctx)
            return _constant(cls.forward(nctx, x.data, args[1]), nctx)

        datas = []
        edges = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                datas.append(a.data)
                if a.requires_grad:
                    record = True
                    fn = a.grad_fn
                    edges.append(a if fn is None else fn)
                    continue
            else:
                datas.append(a)
            edges.append(None)
        if not (record and state.grad_enabled):
            nctx = _NO_GRAD_CTX if cls.__dictoffset__ == 0 else _NoGradContext(n)
            return _constant(cls.forward(nctx, *datas), nctx)
        ctx = _new_tensor(cls)
        ctx._saved = ()
        ctx._hooks = None
        ctx.next = edges
        return _recorded(ctx, cls.forward(ctx, *datas), args)

    # ---- what a forward uses -----------------------------------------------------------------
    def save_for_backward(self, *values: Any) -> None:
        """Keep inputs, the output, or masks/indices for ``backward``; nothing else."""
        self._saved = values

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """Declare the output not differentiable (e.g. indices): it won't require grad."""
        self._hooks = _NON_DIFFERENTIABLE

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """What ``forward`` saved: arrays, or differentiable Tensors under ``create_graph``."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(
                f"Trying to backward through {self.name()} a second time: its saved tensors "
                "were freed after the first backward. Pass retain_graph=True to the first "
                "backward() (or autograd.grad) if you need to go through the graph twice."
            )
        meta = self._meta
        if not state.create_graph or meta is None:
            return saved
        return tuple(self._differentiable(s, r) for s, r in zip(saved, meta[0]))

    def _differentiable(self, value: Any, ref: Any) -> Any:
        if ref is OUTPUT:  # reconnect the output to this very node, so it is a function of inputs
            t = Tensor._make(value)
            t.grad_fn = self
            t.requires_grad = True
            return t
        if ref is not None:
            return ref
        return value

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """One flag per forward argument: does it lead to something that requires grad?"""
        return tuple(e is not None for e in self.next)

    # ---- introspection, PyTorch-style ----------------------------------------------------------
    def name(self) -> str:
        """PyTorch's name for this node: ``MulBackward0``, or ``CubeBackward`` for a user's op."""
        cls = type(self)
        suffix = "Backward0" if cls.__dictoffset__ == 0 else "Backward"
        return (cls.op_name or cls.__name__) + suffix

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """Where gradients go next: ``(node, 0)``, ``(AccumulateGrad, 0)`` or ``(None, 0)``."""
        out: list[tuple[Any, int]] = []
        for e in self.next:
            if e is None:
                out.append((None, 0))
            elif isinstance(e, Tensor):
                out.append((AccumulateGrad(e), 0))
            else:
                out.append((e, 0))
        return tuple(out)

    def register_hook(self, fn: Callable[[Any], Any]) -> RemovableHandle:
        """Call ``fn(grad)`` with the gradient of this node's output before the rule runs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return RemovableHandle(self._hooks, fn)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"


def _broadcast_message(cls: type, args: tuple[Any, ...]) -> str:
    shapes = [
        f"{tuple(np.shape(_data_of(a)))} ({np.asarray(_data_of(a)).dtype})"
        for a in args
        if isinstance(a, (Tensor, np.ndarray))
    ]
    name = (getattr(cls, "op_name", None) or cls.__name__).lower()
    return (
        f"{name}: the shapes of its inputs, {' and '.join(shapes)}, do not broadcast together "
        "(trailing dimensions must be equal or 1)"
    )


def _data_of(a: Any) -> Any:
    return a.data if isinstance(a, Tensor) else a


def _as_output(out: Any, cls: type) -> np.ndarray:
    if isinstance(out, (tuple, list)):
        raise TypeError(
            f"{cls.__name__}.forward returned a {type(out).__name__}; a glassgrad Function "
            "returns a single array (split multi-output ops into one Function per output)"
        )
    return np.asarray(out)


def _constant(out: Any, ctx: Any = None) -> Any:
    """Wrap a forward's result as a tensor outside the graph (and forget what ctx was told)."""
    if ctx is _NO_GRAD_CTX and ctx.__dict__:
        ctx.__dict__.clear()  # the shared stand-in ctx must not keep the last call's arrays alive
    t = _new_tensor(Tensor)
    t.data = out if type(out) is np.ndarray else _as_output(out, Tensor)
    t.grad_fn = t._grad = None
    t.requires_grad = False
    t._vc = [0]
    return t


def _recorded(ctx: Function, out: Any, args: tuple[Any, ...]) -> Any:
    """Wrap a forward's result as a tensor whose ``grad_fn`` is ``ctx``, and finish the node."""
    if type(out) is not np.ndarray:  # NumPy returns scalars for 0-d results
        raw, out = out, _as_output(out, type(ctx))
        if ctx._saved:
            ctx._saved = tuple(out if s is raw else s for s in ctx._saved)
    if ctx._hooks is not None:  # forward called mark_non_differentiable()
        return _constant(out)
    ctx.shape = out.shape
    ctx.dtype = dtype = out.dtype
    if dtype.kind not in "fc":
        raise TypeError(f"{type(ctx).__name__}: a differentiable op returned dtype {dtype}")
    result = _new_tensor(Tensor)
    result.data = out
    result.grad_fn = ctx
    result._grad = None
    result.requires_grad = True
    result._vc = vc = [0]
    # (refs, versions, the output's version counter, epoch) for the in-place checks
    saved = ctx._saved
    if not saved:
        ctx._meta = None
    elif len(saved) == 1 and saved[0] is out:  # just the output: the commonest case
        ctx._meta = (_OUTPUT_REF, _VERSION_0, vc, state.inplace_epoch)
    else:
        ctx._meta = _resolve_saved(saved, args, out, vc)
    if state.anomaly:
        ctx._trace = _creation_site()
    return result


class AccumulateGrad:
    """The node PyTorch shows for a leaf: gradients arriving here add into ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    next_functions = ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` takes the hook out again."""

    __slots__ = ("fn", "hooks")

    def __init__(self, hooks: list[Any], fn: Any) -> None:
        self.hooks, self.fn = hooks, fn

    def remove(self) -> None:
        if self.fn in self.hooks:
            self.hooks.remove(self.fn)


def _resolve_saved(
    saved: tuple[Any, ...], args: tuple[Any, ...], out: np.ndarray, vc: list
) -> tuple:
    """Map each saved array back to the Tensor it came from, and note each one's version."""
    refs: list[Any] = []
    versions: list[int] = []
    for s in saved:
        ref = None
        if s is out:
            ref = OUTPUT
            versions.append(0)
        elif type(s) is np.ndarray:
            for a in args:
                if isinstance(a, Tensor) and a.data is s:
                    ref = a
                    versions.append(a._vc[0])
                    break
            else:
                versions.append(-1)
        else:
            versions.append(-1)
        refs.append(ref)
    return tuple(refs), tuple(versions), vc, state.inplace_epoch


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _creation_site() -> traceback.FrameSummary | None:
    """The innermost frame outside the glassgrad package: the user's line that created the op."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return frame
    return None


# ---- the backward walk -----------------------------------------------------------------------


def _sum_to_shape(g: Any, shape: tuple[int, ...], node: Any, i: int) -> Any:
    """Undo broadcasting: sum ``g`` over the axes that broadcasting added or stretched."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        raise _shape_error(node, i, gshape, shape)
    axes = tuple(range(lead)) + tuple(
        lead + k for k, n in enumerate(shape) if n == 1 and gshape[lead + k] != 1
    )
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    if lead:
        g = g.reshape(shape)
    if g.shape != shape:
        raise _shape_error(node, i, gshape, shape)
    return g


def _shape_error(node: Any, i: int, got: tuple, want: tuple) -> RuntimeError:
    return RuntimeError(
        f"{node.name()}: backward returned a gradient of shape {tuple(got)} for input {i}, "
        f"which has shape {tuple(want)} (and {tuple(got)} does not sum down to it)"
    )


def _plus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b as an array (NumPy gives a scalar for two 0-d arrays, which can't be added into)."""
    s = a + b
    return s if type(s) is np.ndarray else np.asarray(s)


def _check_versions(node: Function) -> None:
    if node._saved is None:
        return  # released: reading saved_tensors raises the retain_graph error
    refs, versions, out_vc, _ = node._meta
    for ref, v in zip(refs, versions):
        if v < 0:
            continue
        box = out_vc if ref is OUTPUT else ref._vc
        if box[0] != v:
            what = "output" if ref is OUTPUT else "input"
            shape = node.shape if ref is OUTPUT else tuple(ref.shape)
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: the {what} of shape {tuple(shape)} saved by {node.name()} "
                f"is at version {box[0]}; expected version {v} instead. Use an out-of-place op, "
                "or clone() the tensor before modifying it."
            )


def _check_finite(node: Function, grads: Sequence[Any]) -> None:
    for i, g in enumerate(grads):
        if g is None:
            continue
        arr = g.data if isinstance(g, Tensor) else g
        if not np.all(np.isfinite(arr)):
            site = getattr(node, "_trace", None)
            where = (
                f"\n  the op was created at {site.filename}:{site.lineno}\n    {site.line}"
                if site is not None
                else ""
            )
            bad = "nan" if np.any(np.isnan(arr)) else "inf"
            raise RuntimeError(
                f"Function '{node.name()}' returned {bad} values in its gradient for input {i} "
                f"(shape {tuple(np.shape(arr))}).{where}"
            )


def _run_hooks(hooks: list[Any], g: Any, shape: tuple[int, ...], what: str) -> Any:
    for hook in list(hooks):
        gt = g if isinstance(g, Tensor) else Tensor._make(g)
        r = hook(gt)
        if r is not None:
            if tuple(r.shape) != tuple(shape):
                raise RuntimeError(
                    f"hook {getattr(hook, '__name__', hook)!r} on {what} returned a gradient of "
                    f"shape {tuple(r.shape)}, expected shape {tuple(shape)}"
                )
            g = r if state.create_graph else (r.data if isinstance(r, Tensor) else np.asarray(r))
    return g


def run_backward(
    roots: Sequence[Any],
    root_grads: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Any] | None = None,
) -> list[Any] | None:
    """Propagate ``root_grads`` from ``roots`` to every leaf (or only to ``capture``).

    With ``capture`` (``autograd.grad``) nothing is written to ``.grad``; the summed gradient of
    each captured tensor is returned instead, in order (None where none arrived).
    """
    # Which nodes hold a captured non-leaf's total gradient, and which leaves are captured.
    captured: dict[int, Any] = {}
    capture_nodes: dict[Any, int] = {}
    capture_leaves: dict[int, int] = {}
    if capture is not None:
        for k, t in enumerate(capture):
            if t.grad_fn is not None:
                capture_nodes[t.grad_fn] = k
            else:
                capture_leaves[id(t)] = k

    # Count how many edges point at each node, so a node runs once all its gradients are in.
    deps: dict[Any, int] = {}
    stack = []
    for r in roots:
        n = r.grad_fn
        if n is not None and n not in deps:
            deps[n] = 0
            stack.append(n)
    while stack:
        n = stack.pop()
        for e in n.next:
            if e is None or isinstance(e, Tensor):
                continue
            c = deps.get(e)
            if c is None:
                deps[e] = 1
                stack.append(e)
            else:
                deps[e] = c + 1

    grads: dict[Any, Any] = {}
    owned: set[int] = set()  # id of node grads the engine allocated itself (safe to add into)
    capturing = capture is not None
    # For autograd.grad: the nodes below which some captured tensor lies; only they run.
    leads = _leading_to(roots, capture_nodes, capture_leaves) if capturing else set()

    for r, g in zip(roots, root_grads):
        n = r.grad_fn
        if n is None:  # backward() called on a leaf itself
            _to_leaf(r, g, True, capturing, capture_leaves, captured)
        else:
            prev = grads.get(n)
            grads[n] = g if prev is None else (prev + g if create_graph else _plus(prev, g))

    ready = []
    for r in roots:
        n = r.grad_fn
        if n is not None and deps.get(n) == 0 and n not in ready:
            ready.append(n)

    def store(e: Any, gi: Any) -> None:  # add a gradient into the node's pending sum
        prev = grads.get(e)
        if prev is None:
            grads[e] = gi
        elif create_graph:
            grads[e] = prev + gi
        elif id(e) in owned:
            np.add(prev, gi, out=prev)
        else:
            grads[e] = _plus(prev, gi)
            owned.add(id(e))

    prev_create = state.create_graph
    prev_enabled = state.grad_enabled
    state.create_graph = create_graph
    state.grad_enabled = create_graph
    anomaly = state.anomaly
    observer = state.backward_observer
    node = ready.pop() if ready else None
    g = grads.pop(node, None)
    try:
        while node is not None:
            edges = node.next
            # The next node to run: a child whose last gradient this node delivers is handed
            # over directly (no trip through the dicts); other ready children wait in `ready`.
            nxt = nxt_g = None
            if g is None:  # nothing arrived here; still release the children waiting on it
                for e in edges:
                    if e is not None and not isinstance(e, Tensor):
                        left = deps[e] - 1
                        deps[e] = left
                        if left == 0:
                            ready.append(e)
            elif capturing and node not in leads:  # nothing to find below: capture and stop
                if node._hooks is not None:
                    g = _run_hooks(node._hooks, g, node.shape, node.name())
                if node in capture_nodes:
                    captured[capture_nodes[node]] = g
                for e in edges:
                    if e is not None and not isinstance(e, Tensor):
                        left = deps[e] - 1
                        deps[e] = left
                        if left == 0:
                            ready.append(e)
            else:
                if node._hooks is not None:
                    g = _run_hooks(node._hooks, g, node.shape, node.name())
                if capturing and node in capture_nodes:
                    captured[capture_nodes[node]] = g
                meta = node._meta
                if meta is not None and meta[3] != state.inplace_epoch:
                    _check_versions(node)  # something was modified in place since this op ran
                if observer is None:
                    gin = type(node).backward(node, g)
                else:
                    saved_before, t0 = node._saved, time.perf_counter()
                    gin = type(node).backward(node, g)
                    observer(node, g, gin, time.perf_counter() - t0, saved_before)
                if type(gin) is not tuple:
                    gin = (gin,)
                if len(gin) != len(edges):
                    raise RuntimeError(
                        f"{node.name()}: backward returned {len(gin)} gradients but forward "
                        f"took {len(edges)} inputs; return one per input (None for no gradient)"
                    )
                if anomaly and state.anomaly_check_nan:
                    _check_finite(node, gin)
                for e, gi in zip(edges, gin):
                    if e is None:
                        continue
                    if gi is not None:
                        if create_graph:
                            if not isinstance(gi, Tensor):
                                gi = Tensor._make(np.asarray(gi))
                        elif type(gi) is not np.ndarray:
                            gi = gi.data if isinstance(gi, Tensor) else np.asarray(gi)
                        if gi.shape != e.shape:
                            i = next(k for k, x in enumerate(edges) if x is e)
                            gi = _sum_to_shape(gi, tuple(e.shape), node, i)
                    if isinstance(e, Tensor):
                        if gi is not None:
                            passthrough = gi is g or getattr(gi, "base", None) is not None
                            _to_leaf(e, gi, passthrough, capturing, capture_leaves, captured)
                        continue
                    left = deps[e] - 1
                    deps[e] = left
                    if left == 0 and nxt is None:
                        nxt = e
                        prev = grads.pop(e, None)
                        if prev is None:
                            nxt_g = gi
                        elif gi is None:
                            nxt_g = prev
                        elif create_graph:
                            nxt_g = prev + gi
                        elif id(e) in owned:
                            nxt_g = prev
                            np.add(prev, gi, out=prev)
                        else:
                            nxt_g = _plus(prev, gi)
                    else:
                        if gi is not None:
                            store(e, gi)
                        if left == 0:
                            ready.append(e)
            if not retain_graph:
                node._saved = node._meta = None
            if nxt is not None:
                node, g = nxt, nxt_g
            elif ready:
                node = ready.pop()
                g = grads.pop(node, None)
            else:
                node = None
    finally:
        state.create_graph = prev_create
        state.grad_enabled = prev_enabled
    if capture is None:
        return None
    return [captured.get(k) for k in range(len(capture))]


def _leading_to(roots: Sequence[Any], nodes: dict[Any, int], leaves: dict[int, int]) -> set[Any]:
    """Nodes from which a captured node or leaf can be reached (children visited first)."""
    order: list[Any] = []
    seen: set[Any] = set()
    stack = [(r.grad_fn, False) for r in roots if r.grad_fn is not None]
    while stack:
        n, done = stack.pop()
        if done:
            order.append(n)
            continue
        if n in seen:
            continue
        seen.add(n)
        stack.append((n, True))
        stack.extend((e, False) for e in n.next if e is not None and not isinstance(e, Tensor))
    leads: set[Any] = set()
    for n in order:
        for e in n.next:
            if e is None:
                continue
            if id(e) in leaves if isinstance(e, Tensor) else (e in nodes or e in leads):
                leads.add(n)
                break
    return leads


def _to_leaf(
    leaf: Any,
    g: Any,
    passthrough: bool,
    capturing: bool,
    capture_leaves: dict[int, int],
    captured: dict[int, Any],
) -> None:
    """A gradient reached a leaf: run its hooks, then add it into ``.grad`` (or capture it)."""
    if capturing and id(leaf) not in capture_leaves:
        return
    hooks = getattr(leaf, "_hooks_", None)  # the slot behind Tensor._hooks
    if hooks:
        g = _run_hooks(hooks, g, leaf.shape, "a leaf tensor")
        passthrough = True
    if capturing:
        k = capture_leaves.get(id(leaf))
        if k is not None:
            prev = captured.get(k)
            captured[k] = g if prev is None else prev + g
        return
    if isinstance(g, Tensor):  # create_graph: keep the graph of the gradient itself
        leaf._grad = g if leaf._grad is None else leaf._grad + g
        return
    if g.dtype != leaf.data.dtype:
        g = g.astype(leaf.data.dtype)
        passthrough = False
    cur = leaf._grad
    if cur is None:
        if passthrough or type(g) is not np.ndarray:
            g = np.array(g, copy=True)
        leaf._grad = Tensor._make(g)
    elif cur.grad_fn is None and cur.data.flags.writeable and cur.shape == g.shape:
        np.add(cur.data, g, out=cur.data)
    else:
        leaf._grad = Tensor._make(cur.data + g)


def weak(t: Any) -> weakref.ref:
    return weakref.ref(t)
