"""The public ``Function``: users' own differentiable ops, with PyTorch's Tensor-level contract.

Built-in ops subclass ``Node`` (``function.py``), whose rules see NumPy arrays. A user's
``Function`` subclass sees what PyTorch's ``torch.autograd.Function`` sees instead:

* ``forward(ctx, *args)`` gets the original arguments (Tensors stay Tensors) and runs with
  recording off; it returns a Tensor (a NumPy array is wrapped into one). A class that defines
  ``setup_context(ctx, inputs, output)`` has a ``forward(*args)`` without ``ctx``.
* ``backward(ctx, *grad_outputs)`` gets Tensors, and ``ctx.saved_tensors`` are Tensors. It runs
  under ``no_grad`` unless the backward pass has ``create_graph=True``, when what it does is
  recorded (so a rule written with Tensor ops differentiates again). It returns one gradient per
  forward argument: a Tensor, an array, a number, or None.
* ``jvp(ctx, *tangents)`` (optional) is used by ``glassgrad.func.jvp`` / ``jacfwd`` (see
  ``glassgrad.autograd.functional.linearize``).

Each class gets a node class ``<Name>Backward`` (a subclass of it, as PyTorch names it) whose
instances are both the ``ctx`` and the graph node; its ``backward`` is an adapter between the
engine's array-level calls and the user's Tensor-level rule, so the engine and ``Node.apply``
do no extra work for built-in ops.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad.autograd import node as _fn
from glassgrad.autograd.anomaly import creation_site
from glassgrad.autograd.introspection import OUTPUT
from glassgrad.autograd.node import Node
from glassgrad.autograd.state import bump_version, state

_new = object.__new__


class _JvpMode:
    """Set while ``linearize`` may use custom ``jvp`` rules (no outer graph needs the result)."""

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = False


jvp_mode = _JvpMode()


class Function(Node):
    """Base class for differentiable ops of your own, with ``torch.autograd.Function``'s API.

    >>> import glassgrad as torch
    >>> class MyReLU(torch.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, input):
    ...         ctx.save_for_backward(input)
    ...         return input.clamp(min=0)
    ...
    ...     @staticmethod
    ...     def backward(ctx, grad_output):
    ...         (input,) = ctx.saved_tensors
    ...         grad_input = grad_output.clone()
    ...         grad_input[input < 0] = 0
    ...         return grad_input
    >>> x = torch.tensor([-1.0, 2.0], requires_grad=True)
    >>> y = MyReLU.apply(x)
    >>> y
    tensor([0., 2.], grad_fn=<MyReLUBackward>)
    >>> y.sum().backward()
    >>> x.grad
    tensor([0., 1.])

    ``forward`` receives the Tensors you pass (recording is off inside it) and returns a Tensor;
    ``backward`` receives the output's gradient as a Tensor and returns one gradient per forward
    argument (None for arguments without one). ``ctx.save_for_backward`` keeps Tensors for
    ``backward`` (``ctx.saved_tensors``); other state goes in ``ctx`` attributes. Also as in
    PyTorch: ``ctx.needs_input_grad``, ``ctx.mark_non_differentiable``, ``ctx.mark_dirty``,
    ``ctx.set_materialize_grads``, ``setup_context``, ``jvp`` with ``ctx.save_for_forward``,
    and ``@once_differentiable``. Under ``create_graph=True`` ``backward`` runs with grad mode
    on, so a rule written with Tensor ops can be differentiated again.
    """

    # set on each subclass by __init_subclass__
    _backward_cls: type | None = None  # the node class, <Name>Backward
    _forward_cls: type | None = None  # on a node class: the user's class
    _setup_ctx = False  # does the class define setup_context (forward without ctx)?
    _has_jvp = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_forward_cls" in cls.__dict__:  # a node class made below
            return
        if "vjp" in cls.__dict__ and "backward" not in cls.__dict__:
            cls.backward = cls.__dict__["vjp"]  # type: ignore[assignment]
        cls._setup_ctx = cls.setup_context is not Function.setup_context
        cls._has_jvp = cls.jvp is not Function.jvp
        name = cls.__name__ + "Backward"
        cls._backward_cls = type(
            name,
            (cls,),
            {
                "_forward_cls": cls,
                "backward": staticmethod(_backward_adapter),
                "__module__": "glassgrad.autograd.function",
                "__qualname__": name,
                "__doc__": f"The graph node (and ctx) of {cls.__qualname__}.",
            },
        )

    # ---- what users override ---------------------------------------------------------------
    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> Any:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:  # type: ignore[override]
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD."
        )

    # ---- running it --------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on the arguments and, if some Tensor requires grad, record the node.

        Keyword arguments are passed to ``forward`` as PyTorch does: bound to its parameters
        (so counted as inputs) when the class defines ``setup_context``, else passed through
        (not differentiated).
        """
        node_cls = cls._backward_cls
        if node_cls is None or cls._forward_cls is not None:
            raise TypeError(
                f"{cls.__name__}.apply: call apply on a subclass of Function that defines "
                "forward and backward"
            )
        if kwargs:
            args, kwargs = _bind(cls, args, kwargs)
        Tensor = _fn.Tensor
        ctx: Any = _new(node_cls)
        ctx._saved = ()
        ctx._meta = None
        ctx._hooks = None
        ctx._trace = None
        edges: list[Any] = []
        tensors: list[Any] = []
        for a in args:
            if isinstance(a, Tensor):
                tensors.append(a)
                if a.requires_grad:
                    fn = a.grad_fn
                    edges.append(a if fn is None else fn)
                    continue
            else:
                tensors.append(None)
            edges.append(None)
        ctx.next = edges
        ctx._epoch = _fn.EPOCH[0]  # (tools tell what changed after it ran: Node.changed_since)
        record = state.grad_enabled and any(e is not None for e in edges)
        prev = state.grad_enabled
        state.grad_enabled = False
        try:
            if cls._setup_ctx:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            state.grad_enabled = prev
        d = ctx.__dict__
        if isinstance(out, tuple):
            return _record_outputs(ctx, cls, out, tensors, record)
        out = _as_tensor(out, cls)
        result = _wrap_output(out, tensors, d.get("_dirty", ()), record, cls)
        nondiff = any(out is t for t in d.get("_non_differentiable", ()))
        if not record or nondiff or out._data.dtype.kind not in "fc":
            return result  # (torch: integer and non-differentiable outputs don't require grad)
        ctx.shape = result.shape
        ctx.dtype = result._data.dtype
        ctx._inputs = tuple(None if t is None else (t.shape, t.dtype) for t in tensors)
        result.grad_fn = ctx
        result.requires_grad = True
        result._grad = None
        saved = ctx._saved
        if saved:
            ctx._saved, ctx._meta = _resolve(saved, [(out, result, None)])
            if _fn.SAVED_HOOKS:  # inside saved_tensors_hooks(pack, unpack)
                ctx._saved = _fn.pack_saved(ctx._saved, ctx._meta[0], result)
        if state.anomaly:
            ctx._trace = creation_site()
        return result

    # ---- what a forward uses -----------------------------------------------------------------
    def save_for_backward(self, *tensors: Any) -> None:
        """Keep Tensors (inputs, the output, or None) for ``backward``'s ``ctx.saved_tensors``."""
        Tensor = _fn.Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: save_for_backward can only save tensors, but "
                    f"argument {i} is of type {type(t).__name__}"
                )
        self._saved = tensors

    def save_for_forward(self, *tensors: Any) -> None:
        """Keep Tensors for ``jvp``, where ``ctx.saved_tensors`` returns them."""
        self.__dict__["_saved_forward"] = tensors

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """Declare outputs not differentiable: they won't require grad."""
        self.__dict__["_non_differentiable"] = outputs

    def mark_dirty(self, *tensors: Any) -> None:
        """Declare inputs that ``forward`` modified in place (and returns)."""
        self.__dict__["_dirty"] = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """Whether a missing output gradient reaches ``backward`` as zeros (True) or None.

        (A glassgrad Function has one output, and its backward only runs when that output
        received a gradient, so backward never sees None either way.)
        """
        self.__dict__["materialize_grads"] = bool(value)

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """What ``forward`` saved, as Tensors (inside ``jvp``: what ``save_for_forward`` kept)."""
        d = self.__dict__
        if d.get("_in_jvp"):
            return tuple(d.get("_saved_forward", ()))
        saved = self._saved
        meta = self._meta
        if type(saved) is _fn.Packed:
            return _fn.unpack_saved(self, saved, True)
        if saved is None or meta is None:
            return Node.saved_tensors.fget(self)  # type: ignore[attr-defined]
        out: list[Any] = []
        create_graph = state.create_graph
        for value, ref in zip(saved, meta[0]):
            if ref is OUTPUT:
                if create_graph:
                    out.append(self._differentiable(value, OUTPUT))
                else:
                    t = _fn.Tensor._make(value)
                    t._vc = meta[2]
                    out.append(t)
            else:
                out.append(ref)
        return tuple(out)

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """One flag per forward argument: is it a Tensor that requires grad?"""
        return tuple(e is not None for e in self.next)

    # ---- introspection -----------------------------------------------------------------------
    def name(self) -> str:
        """``MyReLUBackward`` for a user's ``MyReLU``, as PyTorch names it."""
        cls = type(self)
        return (cls._forward_cls or cls).__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<glassgrad.autograd.function.{self.name()} object at {hex(id(self))}>"


def _bind(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple, dict]:
    """Keyword arguments bound to ``forward``'s parameters, as PyTorch does: they become
    positional inputs (with defaults filled in when the class defines ``setup_context``)."""
    try:
        if cls._setup_ctx:
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)
            bound.apply_defaults()
        else:
            bound = inspect.signature(cls.forward).bind(None, *args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{cls.__name__}.apply: {e}") from None
    pos = bound.args if cls._setup_ctx else bound.args[1:]
    return tuple(pos), dict(bound.kwargs)


def _as_tensor(out: Any, cls: type) -> Any:
    Tensor = _fn.Tensor
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (np.ndarray, np.generic)):
        return Tensor._make(np.asarray(out))
    raise TypeError(
        f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors (a NumPy array is "
        f"wrapped into a Tensor), got {type(out).__name__}"
    )


def _wrap_output(out: Any, tensors: list[Any], dirty: Any, record: bool, cls: type) -> Any:
    """The Tensor the caller gets for ``out``: itself, or a view when it is an unmodified input."""
    if not any(out is t for t in tensors):
        return out
    if any(out is t for t in dirty):  # modified in place by forward: it takes the new history
        if out.requires_grad and out.grad_fn is None and record:
            raise RuntimeError(
                f"{cls.__name__}: a leaf Variable that requires grad has been used in an "
                "in-place operation (forward called ctx.mark_dirty on an input of shape "
                f"{tuple(out.shape)} that is a leaf requiring grad)."
            )
        bump_version(out)
        return out
    result = _fn.Tensor._make(out._data)  # an input returned as it is: a view of it
    result._vc = out._vc
    return result


def _resolve(saved: tuple[Any, ...], outputs: list[tuple[Any, Any, Any]]) -> tuple[Any, tuple]:
    """Saved arrays and the (refs, versions, output counter, epoch) the engine checks.

    ``outputs`` holds ``(what forward returned, the result Tensor, its node or None)``: with one
    output the node is this one (marked OUTPUT); with several, each differentiable output is
    reconnected to its own ``_Output`` node.
    """
    epoch = state.inplace_epoch  # read first: a modification after the versions changes it
    values: list[Any] = []
    refs: list[Any] = []
    versions: list[int] = []
    vc = outputs[0][1]._vc
    for s in saved:
        if s is None:
            values.append(None)
            refs.append(None)
            versions.append(-1)
            continue
        for out, result, node in outputs:
            if s is out or s is result:
                values.append(result._data)
                if node is None:
                    refs.append(OUTPUT)
                    vc = result._vc
                else:  # a handle on the output: same data and counter, this output's node
                    t = _fn.Tensor._make(result._data)
                    t._vc, t.grad_fn, t.requires_grad = result._vc, node, True
                    refs.append(t)
                versions.append(result._vc[0])
                break
        else:
            values.append(s._data)
            refs.append(s)
            versions.append(s._vc[0])
    return tuple(values), (tuple(refs), tuple(versions), vc, epoch)


# ---- several outputs: one node, and a small _Output node per differentiable output -----------


class _Output(Node):
    """Output ``k`` of a custom Function with several outputs.

    The Function's own node has one flat gradient, the concatenation of its differentiable
    outputs' gradients; each ``_Output`` node puts its output's gradient in its place (zeros
    elsewhere) and notes that it arrived, and the engine sums them. It shows the Function's name
    and inputs, as PyTorch shows every output's ``grad_fn``.
    """

    __slots__ = ("k", "owner", "start", "stop")
    k: int
    owner: Any
    start: int
    stop: int

    @staticmethod
    def forward(ctx: Any, *args: Any) -> Any:  # never applied: Function.apply builds these
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        owner = ctx.owner
        owner.__dict__.setdefault("_arrived", set()).add(ctx.k)
        total = owner.shape[0]
        if isinstance(g, _fn.Tensor):  # create_graph: pad differentiably
            from glassgrad.ops.joining import cat

            parts = [g.reshape(-1)]
            if ctx.start:
                parts.insert(0, _fn.Tensor._make(np.zeros(ctx.start, g.dtype)))
            if ctx.stop < total:
                parts.append(_fn.Tensor._make(np.zeros(total - ctx.stop, g.dtype)))
            return cat(parts) if len(parts) > 1 else parts[0]
        flat = np.zeros(total, owner.dtype)
        flat[ctx.start : ctx.stop] = g.reshape(-1)
        return flat

    def name(self) -> str:
        return self.owner.name()

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        return self.owner.next_functions

    def __repr__(self) -> str:
        return repr(self.owner)


def _record_outputs(
    ctx: Any, cls: type, outs: tuple[Any, ...], tensors: list[Any], record: bool
) -> tuple[Any, ...]:
    """``Function.apply`` for a forward that returned a tuple."""
    Tensor = _fn.Tensor
    d = ctx.__dict__
    dirty = d.get("_dirty", ())
    nondiff = d.get("_non_differentiable", ())
    results: list[Any] = []
    layout: list[Any] = []  # per output: (start, stop, shape, dtype) if differentiable
    total = 0
    for o in outs:
        if isinstance(o, (np.ndarray, np.generic)):
            o = Tensor._make(np.asarray(o))
        if not isinstance(o, Tensor):  # as torch: non-Tensor outputs are returned as they are
            results.append(o)
            layout.append(None)
            continue
        r = _wrap_output(o, tensors, dirty, record, cls)
        results.append(r)
        if record and o._data.dtype.kind in "fc" and not any(o is t for t in nondiff):
            layout.append((total, total + o._data.size, o.shape, o._data.dtype))
            total += o._data.size
        else:
            layout.append(("const", o.shape, o._data.dtype))
    spans = [lay for lay in layout if lay is not None and lay[0] != "const"]
    if not spans:
        return tuple(results)
    ctx.shape = (total,)
    ctx.dtype = np.result_type(*[lay[3] for lay in spans])
    ctx._inputs = tuple(None if t is None else (t.shape, t.dtype) for t in tensors)
    ctx._layout = layout
    outputs = []
    for k, (o, r, lay) in enumerate(zip(outs, results, layout)):
        if lay is None or lay[0] == "const":
            continue
        node = _new(_Output)
        node.owner, node.k, node.start, node.stop = ctx, k, lay[0], lay[1]
        node.next = [ctx]
        node.shape, node.dtype = r.shape, r.dtype
        node._saved, node._meta, node._hooks, node._trace = (), None, None, None
        r.grad_fn = node
        r.requires_grad = True
        r._grad = None
        outputs.append((o, r, node))
    saved = ctx._saved
    if saved:
        ctx._saved, ctx._meta = _resolve(saved, outputs)
    if state.anomaly:
        ctx._trace = creation_site()
    return tuple(results)


def _split_grads(ctx: Any, g: Any) -> list[Any]:
    """The flat gradient of a several-output node, one gradient (or None) per output."""
    Tensor = _fn.Tensor
    arrived = ctx.__dict__.pop("_arrived", set())
    materialize = ctx.__dict__.get("materialize_grads", True)
    grads: list[Any] = []
    for k, lay in enumerate(ctx._layout):
        if lay is None:
            grads.append(None)
        elif lay[0] == "const" or k not in arrived:
            shape, dtype = lay[-2:]
            grads.append(Tensor._make(np.zeros(shape, dtype)) if materialize else None)
        else:
            start, stop, shape, dtype = lay
            part = g[start:stop].reshape(shape)
            grads.append(part if isinstance(part, Tensor) else Tensor._make(part.astype(dtype)))
    return grads


# ---- backward: the engine calls the node class's backward, this adapter ----------------------


def _backward_adapter(ctx: Any, g: Any) -> tuple[Any, ...]:
    """Hand the user's ``backward`` Tensors and turn what it returns into the engine's form."""
    Tensor = _fn.Tensor
    cls = type(ctx)._forward_cls
    if "_layout" in ctx.__dict__:
        gs = _split_grads(ctx, g)
    else:
        gs = [g if isinstance(g, Tensor) else Tensor._make(g)]
    if jvp_mode.on and cls._has_jvp and state.create_graph:
        return _transpose_of_jvp(ctx, cls, g, gs)
    return _check_grads(ctx, cls.backward(ctx, *gs))


def _check_grads(ctx: Any, grads: Any) -> tuple[Any, ...]:
    Tensor = _fn.Tensor
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    edges = ctx.next
    n, m = len(edges), len(grads)
    if m > n and all(g is None for g in grads[n:]):
        grads, m = grads[:n], n
    if m != n:
        raise RuntimeError(
            f"function {ctx.name()} returned an incorrect number of gradients (expected {n}, "
            f"got {m}): backward returns one gradient per forward argument (None where there "
            "is none)"
        )
    create_graph = state.create_graph
    inputs = ctx._inputs
    out: list[Any] = []
    for i, (e, g) in enumerate(zip(edges, grads)):
        if g is None:
            out.append(None)
            continue
        if inputs[i] is None:
            raise RuntimeError(
                f"function {ctx.name()} returned a gradient different than None at position "
                f"{i + 1}, but the corresponding forward input was not a Tensor"
            )
        if e is None:  # a Tensor that does not require grad: its gradient goes nowhere
            out.append(None)
            continue
        if isinstance(g, Tensor):
            out.append(g if create_graph else g._data)
        elif isinstance(g, np.ndarray):
            out.append(g)
        elif isinstance(g, (int, float, np.number)) and not isinstance(g, bool):
            shape, dtype = inputs[i]
            out.append(np.full(shape, g, dtype))
        else:
            raise TypeError(
                f"function {ctx.name()} returned a gradient of type {type(g).__name__} for "
                f"input {i}; expected a Tensor, a NumPy array, a number or None"
            )
    return tuple(out)


# ---- once_differentiable ---------------------------------------------------------------------


class _OnceDifferentiableError(Node):
    """Stands for a gradient computed by a ``@once_differentiable`` backward: its own backward
    (a second derivative) raises."""

    __slots__ = ("fn_name",)

    @staticmethod
    def forward(ctx: Any, name: str, value: Any, *grads: Any) -> Any:
        ctx.fn_name = name
        return np.asarray(value).view()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with "
            f"@once_differentiable ({ctx.fn_name})"
        )

    def name(self) -> str:
        return "Error"


def once_differentiable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a ``backward`` as not differentiable: it runs under ``no_grad`` (so it may use
    anything, NumPy included), and differentiating its result again raises a clear error."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        prev = state.grad_enabled
        state.grad_enabled = False
        try:
            outputs = fn(ctx, *args)
        finally:
            state.grad_enabled = prev
        if not prev:
            return outputs
        Tensor = _fn.Tensor
        needing = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        if not needing:
            return outputs
        name = ctx.name() if hasattr(ctx, "name") else type(ctx).__name__
        single = not isinstance(outputs, tuple)
        wrapped = tuple(
            None
            if o is None
            else _OnceDifferentiableError.apply(
                name, o._data if isinstance(o, Tensor) else o, *needing
            )
            for o in ((outputs,) if single else outputs)
        )
        return wrapped[0] if single else wrapped

    return wrapper


# ---- forward mode: a custom jvp inside the double-vjp trick ----------------------------------


class _VjpByJvp(Node):
    """Input ``index``'s gradient ``(Jᵀ g)_index`` of a custom Function, as a node whose
    backward (the transpose, ``J`` applied to a tangent of that input) is the user's ``jvp``.

    Only ``linearize`` records these, when no outer graph needs the result: the gradient's
    dependence on the primal inputs is then never differentiated, only its dependence on ``g``.
    """

    __slots__ = ("index", "owner")

    @staticmethod
    def forward(ctx: Any, g: Any, owner: Any, index: int, value: Any) -> Any:
        ctx.owner, ctx.index = owner, index
        return np.asarray(value)

    @staticmethod
    def backward(ctx: Any, w: Any) -> Any:
        Tensor = _fn.Tensor
        owner = ctx.owner
        tangents = [
            None if spec is None else Tensor._make(np.zeros(spec[0], spec[1]))
            for spec in owner._inputs
        ]
        tangents[ctx.index] = w if isinstance(w, Tensor) else Tensor._make(w)
        d = owner.__dict__
        d["_in_jvp"] = True
        try:
            jv = type(owner)._forward_cls.jvp(owner, *tangents)
        finally:
            d["_in_jvp"] = False
        layout = owner.__dict__.get("_layout")
        if layout is None:
            if isinstance(jv, (tuple, list)):
                if len(jv) != 1:
                    raise RuntimeError(
                        f"{owner.name()}: jvp returned {len(jv)} tangents; the Function has 1 "
                        "output"
                    )
                (jv,) = jv
            return _tangent(jv, owner.shape, owner.dtype), None, None, None
        if not isinstance(jv, (tuple, list)) or len(jv) != len(layout):
            n = len(jv) if isinstance(jv, (tuple, list)) else 1
            raise RuntimeError(
                f"{owner.name()}: jvp returned {n} tangents; the Function has {len(layout)} outputs"
            )
        parts = [
            _tangent(t, lay[2], lay[3]).reshape(-1)
            for t, lay in zip(jv, layout)
            if lay is not None and lay[0] != "const"
        ]
        if isinstance(parts[0], Tensor):
            from glassgrad.ops.joining import cat

            parts = [p if isinstance(p, Tensor) else Tensor._make(p) for p in parts]
            jv = cat(parts) if len(parts) > 1 else parts[0]
        else:
            jv = np.concatenate(parts)
        return jv, None, None, None


def _tangent(t: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """A tangent ``jvp`` returned, in the engine's form (Tensor only under create_graph)."""
    if t is None:
        return np.zeros(shape, dtype)
    if isinstance(t, _fn.Tensor):
        return t if state.create_graph else t._data
    if isinstance(t, np.ndarray):
        return t
    return np.full(shape, t, dtype)


def _transpose_of_jvp(ctx: Any, cls: Any, g: Any, gs: list[Any]) -> tuple[Any, ...]:
    if cls.backward is Function.backward:
        # no backward: its values are only ever needed here at the zero cotangents
        # ``linearize`` seeds (every gradient in the pass is linear in them), so they are zeros
        values: Any = (None,) * len(ctx.next)
    else:
        prev = state.grad_enabled
        state.grad_enabled = False
        try:
            values = _check_grads(ctx, cls.backward(ctx, *gs))
        finally:
            state.grad_enabled = prev
    out: list[Any] = []
    for i, (e, v) in enumerate(zip(ctx.next, values)):
        if e is None:
            out.append(None)
            continue
        shape, dtype = ctx._inputs[i]
        if v is None:
            v = np.zeros(shape, dtype)
        elif v.shape != shape:  # a gradient in a broadcast shape: sum it to the input's
            from glassgrad.autograd.gradients import sum_to_input

            v = sum_to_input(v._data if isinstance(v, _fn.Tensor) else v, shape, ctx, i)
        out.append(_VjpByJvp.apply(g, ctx, i, v._data if isinstance(v, _fn.Tensor) else v))
    return tuple(out)
