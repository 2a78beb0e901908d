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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassgrad._errors import forward_error
from glassgrad.autograd.anomaly import creation_site
from glassgrad.autograd.introspection import OUTPUT, InspectableNode

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


_OUTPUT_REF = (OUTPUT,)
_NUMBERS = {int, float}
_VERSION_0 = (0,)


class _NoGradContext:
    """Stand-in ``ctx`` when nothing is recorded: saving goes nowhere.

    Built-in ops share one instance; a user's Function gets a fresh one per call, with
    ``needs_input_grad`` all False, so attributes it sets don't outlive the call.
    """

    needs_input_grad: tuple[bool, ...] = ()
    next: list[Any]  # (set only where Node.rerun runs a forward again)

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


class Node(InspectableNode):
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
    Tools read a node only through the public fields it inherits from ``InspectableNode``
    (``introspection.py``), ``saved_tensors``, and ``rerun``/``changed_since``: to run an op
    again, each node keeps the arguments that are no edge (numbers, shapes, indices, tensors
    that need no gradient) until backward frees what it saved.
    """

    __slots__ = (
        "__weakref__",
        "_consts",
        "_epoch",
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
    _consts: Any  # the arguments that are no edge (set by apply; None once backward freed them)
    _epoch: int  # EPOCH when recorded (set by apply where an input is a leaf or a constant)
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
                    if fn is None:  # a leaf: tools tell later whether it changed since
                        fn = x
                        ctx._epoch = EPOCH[0]
                    if n == 1:
                        ctx.next = [fn]
                        ctx._consts = ()
                        return _recorded(ctx, cls.forward(ctx, x._data), args)
                    ctx.next = [fn, None]
                    ctx._consts = (args[1],)
                    return _recorded(ctx, cls.forward(ctx, x._data, args[1]), args)
                nctx = _NO_GRAD_CTX if cls.__dictoffset__ == 0 else _NoGradContext(n)
                if n == 1:
                    return _constant(cls.forward(nctx, x._data), nctx)
                return _constant(cls.forward(nctx, x._data, args[1]), nctx)
            except Exception as e:
                worded = forward_error(cls, e, args)
                if worded is None:
                    raise
                raise worded from None

        datas = []
        edges = []
        consts = []  # the arguments that are no edge, for tools that run the op again
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
            consts.append(a)
        try:  # (free unless raised) only several tensors can fail to broadcast
            if not (record and (not GRAD_OFF or state.grad_enabled)):
                nctx = _NO_GRAD_CTX if cls.__dictoffset__ == 0 else _NoGradContext(n)
                return _constant(cls.forward(nctx, *datas), nctx)
            ctx = _new_tensor(cls)
            ctx._saved = ()
            ctx._hooks = None
            ctx.next = edges
            ctx._consts = consts
            ctx._epoch = EPOCH[0]
            return _recorded(ctx, cls.forward(ctx, *datas), args)
        except Exception as e:
            worded = forward_error(cls, e, args)
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
        if type(saved) is Packed:
            return unpack_saved(self, saved, bool(CREATE_GRAPH_ON and state.create_graph))
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

    # ---- for tools: the forward again, and what changed since --------------------------------
    rerunnable = True  # False where forward draws random numbers or has side effects

    def rerun(self, inputs: Sequence[Any]) -> np.ndarray | None:
        """This op's forward run again: ``inputs`` holds one array per edge that is not None
        (in argument order); the other arguments are those it was recorded with.

        For tools that show values the engine did not keep (``glassgrad.viz``). None where it
        cannot: a node ``apply`` did not record (a user's ``Function``), one marked not
        ``rerunnable``, one whose graph was freed, a constant argument modified in place since,
        or a forward that fails (it gets read-only arrays: it may not write into them).
        """
        consts = getattr(self, "_consts", None)
        if consts is None or not type(self).rerunnable or self._saved is None:
            return None
        pending, given, args = list(consts), list(inputs), []
        for e in self.next:
            v = (given if e is not None else pending).pop(0)
            if isinstance(v, Tensor):
                if self.changed_since(v) is not False:
                    return None
                v = v._data
            if isinstance(v, np.ndarray):
                v = v.view()
                v.flags.writeable = False
            args.append(v)
        ctx = _NoGradContext(len(args))
        ctx.next = list(self.next)
        ctx.needs_input_grad = tuple(e is not None for e in self.next)
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(type(self).forward(ctx, *args))
        except Exception:
            return None
        if out.shape != tuple(self.shape):
            return None
        return out.astype(self.dtype, copy=False)

    # PyTorch's names for the forward's arguments, where they are not (self, other, ...)
    saved_names: tuple[str, ...] = ("self", "other")
    saved_const_names: tuple[str, ...] = ()  # and for its numbers (``_saved_exponent``)

    # ``grad_fn._saved_self``, ``_saved_other``, ``_saved_result`` (and the op's own names where
    # PyTorch's differ): what forward saved, as PyTorch shows it: the input tensor itself, the
    # output as a tensor of this node. # NOTE: properties, not a ``__getattr__``: a class with
    # one pays a slower lookup on every attribute of every node (W3 was 5% slower)
    _saved_self = property(lambda node: _saved_by_name(node, "self"))
    _saved_other = property(lambda node: _saved_by_name(node, "other"))
    _saved_result = property(lambda node: _saved_by_name(node, "result"))
    _saved_mat2 = property(lambda node: _saved_by_name(node, "mat2"))
    _saved_exponent = property(lambda node: _saved_by_name(node, "exponent"))

    def changed_since(self, t: Any) -> bool | None:
        """Was tensor ``t`` modified in place after this node was recorded (an optimizer step,
        ``add_``)? From version counters; None where this node did not note when it ran."""
        vc = t._vc
        if len(vc) < 2:
            return False  # never modified in place at all
        epoch = getattr(self, "_epoch", None)
        return None if epoch is None else vc[1] > epoch


def _saved_by_name(node: Node, arg: str) -> Any:
    cls = type(node)
    if arg in cls.saved_const_names:
        consts = node._consts
        if consts is None:
            raise RuntimeError(f"{node.name()}: its saved values were freed by a backward pass")
        return consts[cls.saved_const_names.index(arg)]
    if node._saved is None:
        raise RuntimeError(
            f"Trying to access {node.name()}._saved_{arg} after its saved tensors were freed by "
            "a backward pass; pass retain_graph=True to that backward to keep them"
        )
    found = []
    for v in node.saved_values():
        if v.role == "output":
            found.append("result")
            if arg == "result":
                t = Tensor._make(v.value)
                t.grad_fn, t.requires_grad = node, True
                return t
        elif v.role == "input":
            at = next(
                (i for i, e in enumerate(node.next) if e is v.tensor or e is v.tensor.grad_fn),
                None,
            )
            names = cls.saved_names
            name = names[at] if at is not None and at < len(names) else None
            if name is not None:
                found.append(name)
                if name == arg:
                    return v.tensor
    found += list(cls.saved_const_names)
    raise AttributeError(
        f"{node.name()} saved no {arg!r}"
        + (f": it has _saved_{', _saved_'.join(found)}" if found else ": it saved no tensor")
    )


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
    if SAVED_HOOKS and saved:  # inside saved_tensors_hooks(pack, unpack)
        ctx._saved = pack_saved(saved, ctx._meta[0], result)
    if ANOMALY_ON and state.anomaly:
        ctx._trace = creation_site()
    return result


# (pack, unpack) pairs of the ``saved_tensors_hooks`` blocks open, innermost last
# (``glassgrad/autograd/saved_hooks.py``); empty, recording pays one check per op
SAVED_HOOKS: list[tuple[Callable[[Any], Any], Callable[[Any], Any]]] = []


class Packed(tuple):
    """What an op saved while hooks were on: ``(packed value, unpack, ref)`` per saved array
    (other saved values as they are)."""

    __slots__ = ()


def pack_saved(saved: Sequence[Any], refs: Sequence[Any], result: Any) -> Packed:
    """Each saved array through the innermost pack hook, which gets the tensor it came from:
    the input itself, the output, or a new tensor (a mask, an index)."""
    pack, unpack = SAVED_HOOKS[-1]
    out: list[Any] = []
    for s, ref in zip(saved, refs):
        if not isinstance(s, np.ndarray):
            out.append(s)
            continue
        t = result if ref is OUTPUT else ref if ref is not None else Tensor._make(s)
        out.append((pack(t), unpack, ref))
    return Packed(out)


def unpack_saved(node: Any, saved: Packed, graph: bool) -> tuple[Any, ...]:
    """The unpack hooks' tensors: their arrays, or the tensors themselves under ``graph``
    (create_graph): an input handed back as itself stays differentiable."""
    out: list[Any] = []
    for item in saved:
        if not (isinstance(item, tuple) and len(item) == 3 and callable(item[1])):
            out.append(item)
            continue
        value, unpack, _ = item
        t = unpack(value)
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{node.name()}: the saved-tensor unpack hook must return a Tensor, but got "
                f"{type(t).__name__}"
            )
        out.append(t if graph else t._data)
    return tuple(out)


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
        elif isinstance(s, np.ndarray):  # (a subclass: glassgrad.compile's traced arrays)
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
