"""Recording: every op is a ``Node`` subclass whose instance is its node in the graph.

While the forward pass runs, ``Node.apply`` computes each op on NumPy arrays and, when grad
mode is on and some input requires a gradient, records the node: its edges to the inputs' nodes
(or to leaf tensors), what its backward rule saved, and each saved tensor's version. Nothing here
knows about a particular op; the backward walk lives in ``glassgrad/autograd/engine.py``.

``Node`` is the internal, array-level contract of the built-in ops. Users' own ops subclass the
public ``Function`` (``custom_function.py``, importable from ``glassgrad.autograd.function`` as
in ``torch.autograd.function``), whose contract is PyTorch's: Tensors in and out.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

# The switches (per thread) and the in-place epoch live in state.py; re-exported here for the
# modules that read them next to recording.
from glassgrad.autograd.state import (  # noqa: F401
    ANOMALY_ON,
    CREATE_GRAPH_ON,
    EPOCH,
    GRAD_OFF,
    bump_version,
    state,
    switch,
)

# Set by glassgrad.tensor at import time (the engine and the tensor class refer to each other).
Tensor: Any = None


_new_tensor = object.__new__


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


class Node:
    """The internal, array-level base of the built-in ops (fast and private; not for users).

    A subclass defines ``forward(ctx, *inputs)`` on NumPy arrays and ``backward(ctx, grad)``::

        class Cube(Node):
            __slots__ = ()

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
    state goes in slots. Write ``backward`` with NumPy functions and operators (or glassgrad
    ops), never in place, and save only inputs, the output, or values with zero derivative
    (masks, indices): under ``create_graph`` inputs and output are handed back as
    differentiable Tensors, so the rule differentiates itself.

    ``apply`` is the hot path of every op: keep it lean. Users' custom ops subclass the public
    ``Function`` instead, whose contract is PyTorch's (Tensors in ``forward`` and ``backward``).
    Tools read a node only through ``name()``, ``next_functions`` (or ``edges``),
    ``saved_tensors`` (or ``saved_values()``), ``released``, ``metadata`` and ``register_hook``.
    """

    __slots__ = (
        "__weakref__",
        "_hooks",
        "_meta",
        "_metadata",
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
    _metadata: dict[str, Any]
    _trace: Any
    op_name: str | None = None  # the name PyTorch shows, when it differs from the class name
    variant = 0  # PyTorch numbers overloads: PowBackward0 (x ** 2), PowBackward1, PowBackward2
    broadcasts = False  # elementwise ops: NumPy's broadcasting errors are reworded to name them

    # ---- recording --------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Run ``forward`` on the inputs' arrays and record the node when a gradient is needed."""
        n = len(args)
        x = args[0] if n else None
        if isinstance(x, Tensor) and (n == 1 or (n == 2 and type(args[1]) in _NUMBERS)):
            # NOTE: fast path (unary ops, tensor-with-number ops): no argument lists to build.
            try:  # (free unless raised) unary ops have no wrapper of their own to word errors
                if x.requires_grad and (not GRAD_OFF or state.grad_enabled):
                    fn = x.grad_fn
                    ctx = _new_tensor(cls)
                    ctx._saved = ()
                    ctx._hooks = None
                    if n == 1:
                        ctx.next = [x if fn is None else fn]
                        return _recorded(ctx, cls.forward(ctx, x._data), args)
                    ctx.next = [x if fn is None else fn, None]
                    return _recorded(ctx, cls.forward(ctx, x._data, args[1]), args)
                nctx = _NO_GRAD_CTX if cls.__dictoffset__ == 0 else _NoGradContext(n)
                if n == 1:
                    return _constant(cls.forward(nctx, x._data), nctx)
                return _constant(cls.forward(nctx, x._data, args[1]), nctx)
            except Exception as e:
                worded = _in_user_terms(cls, e, args) if n == 1 else None
                if worded is None:
                    raise
                raise worded from None

        datas = []
        edges = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                datas.append(a._data)
                if a.requires_grad:
                    record = True
                    fn = a.grad_fn
                    edges.append(a if fn is None else fn)
                    continue
            else:
                datas.append(a)
            edges.append(None)
        try:  # (free unless raised) only several tensors can fail to broadcast
            if not (record and (not GRAD_OFF or state.grad_enabled)):
                nctx = _NO_GRAD_CTX if cls.__dictoffset__ == 0 else _NoGradContext(n)
                return _constant(cls.forward(nctx, *datas), nctx)
            ctx = _new_tensor(cls)
            ctx._saved = ()
            ctx._hooks = None
            ctx.next = edges
            return _recorded(ctx, cls.forward(ctx, *datas), args)
        except Exception as e:
            if cls.broadcasts and isinstance(e, ValueError) and "could not be broadcast" in str(e):
                raise RuntimeError(_broadcast_message(cls, args)) from None
            worded = _in_user_terms(cls, e, args) if n == 1 else None
            if worded is None:
                raise
            raise worded from None

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
        if not CREATE_GRAPH_ON or meta is None or not state.create_graph:
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
        suffix = f"Backward{cls.variant}" if cls.__dictoffset__ == 0 else "Backward"
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

    @property
    def edges(self) -> tuple[Any, ...]:
        """Per forward argument: the Node that made it, the leaf Tensor itself, or None.

        ``next_functions`` without PyTorch's wrapping, for tools that walk the graph (a copy:
        changing it changes nothing). ``glassgrad.autograd.graph`` walks them for you.
        """
        return tuple(self.next)

    @property
    def metadata(self) -> dict[str, Any]:
        """A dict of your own per node, as in PyTorch (created on first use: free otherwise)."""
        try:
            return self._metadata
        except AttributeError:
            self._metadata = {}
            return self._metadata

    @property
    def released(self) -> bool:
        """Did a backward pass free what ``forward`` saved (``retain_graph`` was not set)?"""
        return self._saved is None

    def saved_values(self) -> tuple[SavedValue, ...]:
        """What ``forward`` saved, with where each value came from (empty once released).

        For tools: ``role`` is ``"output"``, ``"input"`` (``tensor`` is that input) or
        ``"other"`` (a mask, an index); ``current`` is False once it was modified in place.
        """
        saved, meta = self._saved, self._meta
        if not saved:
            return ()
        if meta is None:
            return tuple(SavedValue(s, "other", None, True) for s in saved)
        refs, versions, out_vc, _ = meta
        return tuple(
            SavedValue(s, "output", None, out_vc[0] == v)
            if ref is OUTPUT
            else SavedValue(s, "other", None, True)
            if ref is None
            else SavedValue(s, "input", ref, ref._vc[0] == v)
            for s, ref, v in zip(saved, refs, versions)
        )

    def register_hook(self, fn: Callable[[Any], Any]) -> RemovableHandle:
        """Call ``fn(grad)`` with the gradient of this node's output before the rule runs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return RemovableHandle(self._hooks, fn)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"


def _in_user_terms(cls: Any, e: Exception, args: tuple[Any, ...]) -> Exception | None:
    """The error to raise instead of NumPy's or CPython's wording from a unary ``cls.forward``
    (None: ``e`` is in the user's terms already)."""
    from glassgrad import _errors

    if _errors.internal(str(e)) is None and not isinstance(e, _errors.CPYTHON_ERRORS):
        return None
    return _errors.reword((cls.op_name or cls.__name__).lower(), e, args, {})


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
    return a._data if isinstance(a, Tensor) else a


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
    t._data = out if type(out) is np.ndarray else _as_output(out, Tensor)
    t.grad_fn = t._grad = None
    t.requires_grad = False
    t._vc = [0]
    return t


def _recorded(ctx: Node, out: Any, args: tuple[Any, ...]) -> Any:
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
    result._data = out
    result.grad_fn = ctx
    result._grad = None
    result.requires_grad = True
    result._vc = vc = [0]
    # (refs, versions, the output's version counter, epoch) for the in-place checks
    saved = ctx._saved
    if not saved:
        ctx._meta = None
    elif len(saved) == 1 and saved[0] is out:  # just the output: the commonest case
        ctx._meta = (_OUTPUT_REF, _VERSION_0, vc, EPOCH[0])
    else:
        ctx._meta = _resolve_saved(saved, args, out, vc)
    if ANOMALY_ON and state.anomaly:
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


class RetainGrad:
    """The hook ``retain_grad()`` puts on a non-leaf's node (weakly holding the tensor).

    The engine runs it after the node's other hooks and writes the gradient into the tensor's
    ``.grad`` (adding to what is there) once the backward pass has finished.
    """

    __slots__ = ("ref",)

    def __init__(self, ref: Any) -> None:
        self.ref = ref

    def __call__(self, g: Any) -> None:  # (the engine stages it instead of calling it)
        t = self.ref()
        if t is not None:
            t._grad = g if state.create_graph else Tensor._make(g._data.copy())


class SavedValue(NamedTuple):
    """One value a node saved for backward, as ``Node.saved_values()`` describes it."""

    value: Any  # the array (or other object) forward saved
    role: str  # "output" (the op's own), "input" (one of its inputs) or "other" (mask, index)
    tensor: Any  # the input Tensor, for role "input" (else None)
    current: bool  # False once that tensor was modified in place (the value is stale)


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
    epoch = EPOCH[0]  # read first: a modification after the versions are read changes it
    refs: list[Any] = []
    versions: list[int] = []
    for s in saved:
        ref = None
        if s is out:
            ref = OUTPUT
            versions.append(0)
        elif type(s) is np.ndarray:
            for a in args:
                if isinstance(a, Tensor) and a._data is s:
                    ref = a
                    versions.append(a._vc[0])
                    break
            else:
                versions.append(-1)
        else:
            versions.append(-1)
        refs.append(ref)
    return tuple(refs), tuple(versions), vc, epoch


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _creation_site() -> traceback.FrameSummary | None:
    """The innermost frame outside the glassgrad package: the user's line that created the op."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return frame
    return None


# The public custom-op base, with PyTorch's Tensor-level contract (it subclasses Node).
