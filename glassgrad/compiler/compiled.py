"""``glassgrad.compile(fn)``: record a call, check it, then replay it as plain NumPy code.

Calls are grouped by what the generated code cannot be general over: the shapes, dtypes and
``requires_grad`` flags of the tensor arguments, the values of the other arguments, grad mode,
anomaly mode and the default dtype. For each group:

1. the first calls run eagerly while being recorded (``recording.Session``);
2. once two recordings in a row give the same program (a first call may differ: an optimizer
   fills its state lazily), that program is trusted; a Python value that changed between them
   (a constant the trace would have baked in) keeps it from ever being trusted;
3. later calls run the program; a failed guard (a shape, a ``.grad`` that is None where it was
   not, a module switched to eval...) sends the call back to step 1.

A call that cannot be recorded (Python that branches on a tensor's value, prints it, hooks,
a scheduler stepped inside) runs eagerly from then on, with one ``CompileWarning`` that says why
and where.
"""

from __future__ import annotations

import difflib
import functools
import gc
import inspect
import threading
import types
import warnings
from typing import Any

import numpy as np

from glassgrad.autograd.state import state
from glassgrad.compiler.control import _COMPILED
from glassgrad.compiler.program import Program, Retrace
from glassgrad.compiler.pyvalues import python_reads
from glassgrad.compiler.recording import Session, Trace
from glassgrad.compiler.split import record_backward, replay
from glassgrad.compiler.trace import Abort, TracedArray, TracedFloat, TracedInt
from glassgrad.dtypes import _default as _DEFAULT_DTYPE
from glassgrad.tensor import Tensor

_RECORDING = threading.Lock()  # one recording at a time: the patches are process-wide
MAX_RECORDINGS = 8  # per group of calls: after that many without two equal programs, eager
MAX_GROUPS = 32  # signatures per function; calls with a new one beyond that run eagerly


class CompileWarning(UserWarning):
    """``glassgrad.compile`` runs a function eagerly, and says why."""


class _Group:
    """The state of one group of calls (one signature)."""

    __slots__ = ("candidate", "eager", "keep", "program", "recordings", "replays")

    def __init__(self, keep: Any) -> None:
        self.program: Program | None = None
        self.candidate: Program | Trace | None = None  # (a Trace until a second recording)
        self.recordings = 0
        self.replays = 0
        self.eager = False
        self.keep = keep  # objects whose identity is part of the signature stay alive


class CompiledFunction:
    """A function that runs as generated NumPy code once its calls have been recorded.

    ``code`` shows the program of the latest group of calls; ``explain()`` prints it.
    """

    def __init__(self, fn: Any, fullgraph: bool = False) -> None:
        self.fn = fn
        self.fullgraph = fullgraph  # raise instead of running eagerly, as PyTorch's option does
        _COMPILED.add(self)
        self._groups: dict[Any, _Group] = {}
        self._warned_groups = False
        self._last: Program | None = None
        functools.update_wrapper(self, fn)
        try:
            self._params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            self._params = []

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:
            return self
        return types.MethodType(self, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves: list[Any] = []
        key = (
            _signature(args, leaves),
            _signature(kwargs, leaves) if kwargs else None,
            state.grad_enabled,
            state.anomaly,  # detect_anomaly checks every backward node's result
            _DEFAULT_DTYPE[0],  # what gg.zeros(n) inside makes
        )
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) >= MAX_GROUPS:  # a number argument that changes at every call?
                return self._too_many(args, kwargs)
            group = self._groups[key] = _Group((args, kwargs))
        program = group.program
        if program is not None and program.watched and _changed(program.watched):
            program = group.program = group.candidate = None  # a NumPy array read was changed
        if program is not None:
            try:
                if program.split:  # outputs a backward() after the call differentiates
                    result = replay(program, leaves, getattr(self.fn, "__qualname__", "?"))
                else:
                    result = program.run(leaves)
                group.replays += 1
                return result
            except Retrace:
                group.program = group.candidate = None
        if group.eager or not _RECORDING.acquire(blocking=False):
            return self.fn(*args, **kwargs)  # (another thread is recording: this call runs eagerly)
        # a recording makes many small objects and keeps them: the cycle collector would run
        # every few hundred of them and walk the heap (half a recorded ufunc call's cost); the
        # call's cycles, if any, are collected once it is over
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._record(group, args, kwargs, leaves)
        finally:
            if collecting:
                gc.enable()
            _RECORDING.release()

    def reset(self) -> None:
        """Forget the recordings and programs (``torch.compiler.reset()`` calls it)."""
        self._groups.clear()
        self._last = None
        self._warned_groups = False

    @property
    def stats(self) -> dict[str, int]:
        """How the calls ran: ``recordings`` (eager, recorded), ``replays`` (generated code),
        ``eager_groups`` (signatures that run eagerly for good)."""
        groups = self._groups.values()
        return {
            "recordings": sum(g.recordings for g in groups),
            "replays": sum(g.replays for g in groups),
            "programs": sum(g.program is not None for g in groups),
            "eager_groups": sum(g.eager for g in groups),
        }

    @property
    def code(self) -> str | None:
        """The generated Python source of the latest program (None before one exists)."""
        program = self._last
        return None if program is None else program.source

    def explain(self) -> None:
        """Print the generated code."""
        print(self.code if self.code is not None else "(nothing compiled yet: call the function)")

    # ---- recording -------------------------------------------------------------------------------
    def _record(self, group: _Group, args: Any, kwargs: Any, leaves: list[Any]) -> Any:
        group.recordings += 1
        arg_paths: dict[int, tuple[Any, ...]] = {}
        names = _arg_names(self._params, args, kwargs)
        for i, leaf in enumerate(leaves):
            if isinstance(leaf, Tensor):
                arg_paths[id(leaf)] = ("arg", names.get(id(leaf), f"arg{i}"), i, True)
        owner = args[0] if args and self._params[:1] == ["self"] else None  # a decorated method
        reads = python_reads(self.fn, owner)
        session = Session(arg_paths, {})
        try:
            trace = session.__enter__()
        except Abort as e:
            self._give_up(group, e)
            return self.fn(*args, **kwargs)
        try:
            call_args, call_kwargs = args, kwargs
            if any(type(leaf) is np.ndarray for leaf in leaves):
                call_args, call_kwargs = _wrap_arrays((args, kwargs), session, names, leaves)
            result = self.fn(*call_args, **call_kwargs)
            if session.rec.aborted is None:
                trace.output = _describe(result, session)
            if session.rec.aborted is None and session.differentiable_outputs:
                why = record_backward(session, trace, session.differentiable_outputs)
                if why is not None:
                    session.rec.abort(f"its result's graph is used after the call, but {why}")
        finally:
            session.__exit__(None, None, None)
        result = _plain(result)
        rec = session.rec
        if rec.aborted is not None:
            self._give_up(group, rec.aborted)
            return result
        kept = _kept_elsewhere(session, trace, result)
        if kept is not None:  # a replay would leave it as it was: this recording cannot be used
            group.candidate = None
            if group.recordings >= MAX_RECORDINGS:
                self._give_up(
                    group,
                    Abort(
                        f"each call stores a tensor it makes ({_holder_of(kept)}) where the "
                        "generated code cannot update it; return it from the function instead"
                    ),
                )
            return result
        trace.names = _model_names(self.fn, args, kwargs, trace, session, names)
        trace.python_reads = reads
        if group.candidate is None:  # the first recording: code only once a second one comes
            group.candidate = trace
            return result
        try:
            if isinstance(group.candidate, Trace):
                group.candidate = Program(group.candidate, leaves, _title(self.fn))
            program = Program(trace, leaves, _title(self.fn))
        except Exception as e:
            self._give_up(group, Abort(f"could not generate code ({type(e).__name__}: {e})"))
            return result
        self._last = program
        if _same(group.candidate, program):
            watched = _user_arrays(group.candidate, program)
            if watched is None:
                self._give_up(
                    group,
                    Abort(
                        "the call writes into a NumPy array it did not make (one kept between "
                        "calls); make it a tensor, or pass it as an argument"
                    ),
                )
                return result
            program.watched = watched
            group.program = program
        else:
            if group.recordings >= MAX_RECORDINGS:
                diff = _first_difference(group.candidate.source, program.source)
                self._give_up(
                    group,
                    Abort(f"each call records a different program (first difference: {diff})"),
                )
                return result
            group.candidate = program
        return result

    def _too_many(self, args: Any, kwargs: Any) -> Any:
        """A call whose signature is new once ``MAX_GROUPS`` are known runs eagerly: each group
        keeps its programs and buffers, and recording every call would cost more than it saves."""
        if not self._warned_groups:
            self._warned_groups = True
            name = getattr(self.fn, "__qualname__", repr(self.fn))
            warnings.warn(
                f"glassgrad.compile: {name} was called with {MAX_GROUPS} different signatures "
                "(shapes, dtypes, flags or the values of non-tensor arguments); calls with a new "
                "one run eagerly. A Python number that changes at every call (a step counter) "
                "is one: pass it as a tensor, or keep it out of the arguments",
                CompileWarning,
                stacklevel=3,
            )
        return self.fn(*args, **kwargs)

    def _give_up(self, group: _Group, why: Abort) -> None:
        group.eager = True
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        if self.fullgraph:
            raise RuntimeError(
                f"glassgrad.compile(fullgraph=True): {name} cannot be compiled: {why}"
            )
        warnings.warn(
            f"glassgrad.compile: {name} runs eagerly from now on: {why}",
            CompileWarning,
            stacklevel=4,
        )


# ---- signatures and names ------------------------------------------------------------------------


def _signature(x: Any, leaves: list[Any]) -> Any:
    t = type(x)
    if t is Tensor or isinstance(x, Tensor):
        leaves.append(x)
        d = x._data
        return (t, d.shape, d.dtype, d.strides, x.requires_grad)
    if t is np.ndarray:
        leaves.append(x)
        return (t, x.shape, x.dtype, x.strides)
    if t is tuple or t is list:
        return (t, tuple(_signature(y, leaves) for y in x))
    if t is dict:
        return (t, tuple((k, _signature(v, leaves)) for k, v in x.items()))
    if x is None or t in (int, float, bool, str, complex):
        return (t, x)
    return (t, id(x))


def _arg_names(params: list[str], args: Any, kwargs: Any) -> dict[int, str]:
    names: dict[int, str] = {}

    def visit(x: Any, name: str) -> None:
        if isinstance(x, (Tensor, np.ndarray)):
            names.setdefault(id(x), name)
        elif isinstance(x, (tuple, list)):
            for i, y in enumerate(x):
                visit(y, f"{name}_{i}")
        elif isinstance(x, dict):
            for k, y in x.items():
                visit(y, f"{name}_{k}")

    for i, a in enumerate(args):
        visit(a, params[i] if i < len(params) and params[i] not in ("args",) else f"arg{i}")
    for k, v in kwargs.items():
        visit(v, k)
    return names


def _model_names(
    fn: Any, args: Any, kwargs: Any, trace: Trace, session: Session, names: dict[int, str]
) -> dict[int, str]:
    """Readable names for the tensors the code reads: parameter paths, optimizer state,
    attributes."""
    from glassgrad.nn.module import Module
    from glassgrad.optim.optimizer import Optimizer

    found: dict[int, str] = dict(names)
    objects: list[tuple[str, Any]] = []
    owner = getattr(fn, "__self__", None)
    if owner is not None:
        objects += [(k, v) for k, v in vars(owner).items()] if hasattr(owner, "__dict__") else []
    code = getattr(fn, "__code__", None)
    if code is not None:
        for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
            try:
                objects.append((name, cell.cell_contents))
            except ValueError:
                continue
        g = getattr(fn, "__globals__", {})
        objects += [(n, g[n]) for n in code.co_names if n in g]
    modules = [(n, o) for n, o in objects if isinstance(o, Module)]
    for m in trace.modules:
        if not any(o is m for _, o in modules) and not any(
            m in list(o.modules()) for _, o in modules
        ):
            modules.append(("", m))
    top = [
        (n, m)
        for n, m in modules
        if not any(m is not o and m in list(o.modules()) for _, o in modules)
    ]
    for n, m in top:
        prefix = f"{n}." if len(top) > 1 and n else ""
        for pname, p in m.named_parameters():
            found.setdefault(id(p), prefix + pname)
        for bname, b in m.named_buffers():
            found.setdefault(id(b), prefix + bname)
    optimizers = [o for _, o in objects if isinstance(o, Optimizer)] + list(session._optimizers)
    for opt in optimizers:
        for p, st in opt.state.items():
            base = found.get(id(p), "param")
            for key, value in st.items():
                if isinstance(value, Tensor):
                    found.setdefault(id(value), f"{base}.{key}")
    for n, o in objects:
        if isinstance(o, Tensor):
            found.setdefault(id(o), n)
        elif isinstance(o, (list, tuple)) and o and all(isinstance(y, Tensor) for y in o):
            for i, y in enumerate(o):
                found.setdefault(id(y), f"{n}_{i}")
    return found


def _wrap_arrays(x: Any, session: Session, names: dict[int, str], leaves: list[Any]) -> Any:
    """NumPy array arguments become sources of the trace (read at every call)."""
    t = type(x)
    if t is np.ndarray:
        i = next(k for k, leaf in enumerate(leaves) if leaf is x)
        return session.rec.source_array(x, ("arg", names.get(id(x), f"arg{i}"), i, False))
    if t is tuple or t is list:
        return t(_wrap_arrays(y, session, names, leaves) for y in x)
    if t is dict:
        return {k: _wrap_arrays(v, session, names, leaves) for k, v in x.items()}
    return x


def _describe(x: Any, session: Session) -> Any:
    """The call's result with Vars for what the generated code must compute."""
    t = type(x)
    if isinstance(x, Tensor):
        if id(x) not in session._made:
            return ("object", x)
        d = x._data
        if x.requires_grad and _graph_reaches_a_leaf(x):  # a backward() after the call may use it
            if type(d) is not TracedArray or x.grad_fn is None:
                session.rec.abort(
                    "the result is a tensor that requires grad and was made in the call without "
                    "a graph the trace followed"
                )
                return ("object", x)
            outputs = session.differentiable_outputs
            for k, t in enumerate(outputs):
                if t is x:
                    return ("diff", d._v, k)
            outputs.append(x)
            return ("diff", d._v, len(outputs) - 1)
        if type(d) is TracedArray:
            return ("tensor", d._v)
        session.rec.abort("the result holds a tensor the trace did not follow")
        return ("object", x)
    if t is TracedArray:
        return ("array", x._v)
    if t is TracedFloat or t is TracedInt:
        return ("number", x._var)
    if t is tuple or t is list or (isinstance(x, tuple) and hasattr(x, "_fields")):
        return ("seq", t, [_describe(y, session) for y in x])
    if t is dict:
        return ("dict", [(k, _describe(v, session)) for k, v in x.items()])
    if x is None or t in (int, float, bool, str, complex):
        return ("literal", x)
    if isinstance(x, np.ndarray):
        session.rec.abort("the result holds an array the trace did not follow")
    return ("object", x)


def _kept_elsewhere(session: Session, trace: Trace, result: Any) -> Tensor | None:
    """A tensor the call made that something other than its result or a ``.grad`` still holds
    (a global rebound, ``self.cache = h``, a list appended to): a replay computes no such
    tensor and would leave the old one there. Optimizer state made at a first step is one too;
    that recording is simply not used."""
    session._restore_data.clear()  # (the session's own references to tensors it saw)
    kept = _tensors_in(result)
    if session.differentiable_outputs:  # what the nodes of the result's graph keep
        kept += _held_by_graph(session.differentiable_outputs)
    keep = {id(p._grad) for p in trace.grad_writes if p._grad is not None}
    for held in kept:
        t: Tensor | None = held
        while t is not None and id(t) not in keep:  # a view keeps its base
            keep.add(id(t))
            t = t._base

    def alive() -> Tensor | None:
        for ref in session._made.values():
            t = ref()
            if t is not None and id(t) not in keep:
                return t
        return None

    found = alive()
    for generation in (1, 2):  # held only by a reference cycle (a recursive closure)?
        if found is None:
            break
        found = None  # (not held here while the collector looks)
        gc.collect(generation)
        found = alive()
    return found


def _held_by_graph(outputs: list[Tensor]) -> list[Tensor]:
    """The tensors the nodes of the outputs' graph keep (an input saved, to check its version
    at backward; an argument that needs no gradient, to run the op again): the graph holds
    them, not the user."""
    from glassgrad.autograd.graph import walk

    held: list[Tensor] = []

    def visit(x: Any, depth: int) -> None:
        if isinstance(x, Tensor):
            held.append(x)
        elif depth and isinstance(x, (tuple, list)):
            for y in x:
                visit(y, depth - 1)

    for n in walk([t.grad_fn for t in outputs]):
        for cls in type(n).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if name not in ("next", "__weakref__"):
                    visit(getattr(n, name, None), 3)
        for value in getattr(n, "__dict__", {}).values():
            visit(value, 3)
    return held


def _tensors_in(x: Any) -> list[Tensor]:
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for y in x for t in _tensors_in(y)]
    if isinstance(x, dict):
        return [t for y in x.values() for t in _tensors_in(y)]
    return []


def _holder_of(t: Tensor) -> str:
    """Where a tensor is kept, for the warning: a global's or an attribute's name if found."""
    for holder in gc.get_referrers(t):
        if isinstance(holder, dict):
            for k, v in holder.items():
                if v is t and isinstance(k, str):
                    return f"in {k!r}"
        if isinstance(holder, list):
            return "in a list"
    return "somewhere"


def _graph_reaches_a_leaf(t: Tensor) -> bool:
    """Could a ``backward()`` after the call, from ``t``, still reach a leaf? Not when every path
    goes through a node whose saved values a backward inside the call freed (it would raise):
    a loss returned after its own ``backward()``, an RNN's hidden state."""
    from glassgrad.autograd.graph import walk

    if t.grad_fn is None:
        return True  # a leaf that requires grad, made in the call
    for x in walk([t.grad_fn], leaves=True, follow=lambda n: not n.released):
        if isinstance(x, Tensor):
            return True
    return False


def _plain(x: Any) -> Any:
    t = type(x)
    if t is TracedFloat or t is TracedInt:
        return x._x
    if t is TracedArray:
        return x._raw
    if t is tuple or t is list:
        return t(_plain(y) for y in x)
    if t is dict:
        return {k: _plain(v) for k, v in x.items()}
    return x


def _title(fn: Any) -> str:
    name = getattr(fn, "__name__", "compiled")
    return name if name.isidentifier() and not name.startswith("<") else "compiled"


def _user_arrays(a: Program, b: Program) -> list[tuple[Any, Any]] | None:
    """The NumPy arrays both recordings read as the very same object (arrays the user keeps,
    not made by the call), with the copy the code uses: checked before every replay. None when
    the call writes into one of them (the code would write into its copy instead)."""
    seen = {id(c.live): c.live for c in a.trace.rec.consts if c.live is not None}
    watched = []
    written = {w.buffer for s in b.stmts for w in s.writes}
    for c in b.trace.rec.consts:
        if c.live is None or seen.get(id(c.live)) is not c.live:
            continue
        for v in b.trace.rec.sources:
            if v.source[0] == "const" and v.source[1] is c and v.buffer in written:
                return None
        watched.append((c.live, c.value))
    return watched


def _changed(watched: list[tuple[Any, Any]]) -> bool:
    for live, copy in watched:
        if live.shape != copy.shape or live.dtype != copy.dtype:
            return True
        if not np.array_equal(live, copy, equal_nan=live.dtype.kind in "fc"):
            return True
    return False


def _same(a: Program, b: Program) -> bool:
    """Two recordings gave the same program: the same code on the same objects and constants."""
    if a.source != b.source or a.inputs.keys() != b.inputs.keys():
        return False
    for k, x in a.inputs.items():
        y = b.inputs[k]
        if x is y:
            continue
        if isinstance(x, (np.ndarray, np.generic)) and isinstance(y, (np.ndarray, np.generic)):
            if type(x) is not type(y):
                return False
            if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=True):
                return False
            continue
        if type(x) is type(y) and getattr(x, "same_as", None) is not None and x.same_as(y):
            continue
        return False
    return True


def _first_difference(a: str, b: str) -> str:
    for line in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0):
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
            return line[1:].strip()
    return "the constants it reads"
