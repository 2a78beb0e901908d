"""Run one call eagerly with a ``Recorder`` listening: what is patched for the call, and undone.

For the duration of ``record(fn, args, kwargs)`` (one thread; other threads see no change but a
check of the thread), this module:

- puts descriptors on ``Tensor._data`` and ``Tensor._grad`` so that the first read of a
  tensor's array hands out a traced view of it (a *source*), and writes are seen;
- routes NumPy's creation functions (``np.zeros``, ``np.asarray``...) and glassgrad's random
  generator through the recorder;
- notes which op, backward rule, module or optimizer is running, for the comments of the code;
- swaps each optimizer's numeric hyperparameters for traced numbers, so that the generated code
  reads ``lr`` and friends at every call (a scheduler may change them between calls).

Afterwards every tensor holds a plain array again, and ``Trace`` describes what the call did.
"""

from __future__ import annotations

import functools
import math
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassgrad import _opaque, creation
from glassgrad.autograd import engine, node, staging
from glassgrad.autograd.state import EPOCH, state
from glassgrad.compiler.ir import Const, Var
from glassgrad.compiler.trace import (
    _LOCAL,
    SNAPSHOT_BYTES,
    Abort,
    Recorder,
    TracedArray,
    TracedFloat,
    TracedGenerator,
    TracedInt,
    active,
    api_call,
    has_traced,
    raw,
)
from glassgrad.tensor import Tensor


@dataclass
class Trace:
    """What one recorded call did, besides its statements (``rec``)."""

    rec: Recorder
    result: Any = None  # the call's return value (plain arrays again)
    output: Any = None  # its structure with Vars in place of values (``program.emit`` builds it)
    grad_writes: dict[Any, Any] = field(default_factory=dict)  # param -> Var | None (new .grad)
    data_writes: list[tuple[Var, Var]] = field(default_factory=list)  # source -> new array
    versions: list[tuple[Var, int]] = field(default_factory=list)  # source -> version increase
    epoch_bumped: bool = False
    modules: list[Any] = field(default_factory=list)  # modules called (their training flag)
    names: dict[int, str] = field(default_factory=dict)  # id(tensor) -> readable name
    grad_entry: dict[int, Any] = field(default_factory=dict)  # id(param) -> None: .grad was None
    arg_index: dict[int, int] = field(default_factory=dict)  # id(tensor argument) -> its position
    python_reads: list[Any] = field(default_factory=list)  # pyvalues.Read: names the code read
    optimizers: list[Any] = field(default_factory=list)  # optimizers stepped (their structure)
    # a forward whose backward runs after the call (``split.py``): where the backward's
    # statements begin, its seeds (one per differentiable output), the gradients it returns
    # (one per boundary tensor) and the boundary tensors
    split: int | None = None
    seeds: list[Any] = field(default_factory=list)
    grads: list[Any] = field(default_factory=list)
    boundary: list[Any] = field(default_factory=list)


class _Slot:
    """A descriptor over one of ``Tensor``'s slots that tells the recorder of reads and writes."""

    def __init__(self, slot: Any, on_get: Any, on_set: Any) -> None:
        self.slot, self.on_get, self.on_set = slot, on_get, on_set

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:
            return self
        value = self.slot.__get__(obj, cls)
        rec = getattr(_LOCAL, "rec", None)
        if rec is None:
            return value
        return self.on_get(obj, value)

    def __set__(self, obj: Any, value: Any) -> None:
        rec = getattr(_LOCAL, "rec", None)
        if rec is None:
            self.slot.__set__(obj, value)
            return
        try:
            self.slot.__get__(obj)
            fresh = False
        except AttributeError:  # the first write: a tensor being made
            fresh = True
        self.slot.__set__(obj, value)
        self.on_set(obj, value, fresh)


def _traced_creator(fn: Any, name: str) -> Any:
    """``np.zeros`` and friends: recorded when the recorder is active."""

    def create(*args: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is None:
            return fn(*raw(args), **raw(kwargs))
        out = rec.call("call", fn, args, kwargs, lambda: fn(*raw(args), **raw(kwargs)))
        if name == "empty" and type(out) is TracedArray and rec.aborted is None:
            out._raw.fill(0)
            rec.unfilled[out._v.buffer] = out._raw
        return out

    create.__name__ = name
    return create


def _unrecorded(fn: Any) -> Any:
    """A NumPy function whose inner workings must not be recorded (a seeded generator)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is None:
            return fn(*args, **kwargs)
        rec.busy += 1
        try:
            return fn(*raw(args), **raw(kwargs))
        finally:
            rec.busy -= 1

    call.__name__ = getattr(fn, "__name__", "call")
    return call


# math functions a step may apply to a number read from a tensor (math.sqrt(loss.item())):
# CPython reads a float subclass's value without asking it, so unpatched they would bake it in
_MATH = (
    "sqrt exp expm1 log log1p log2 log10 pow cos sin tan acos asin atan atan2 cosh sinh tanh "
    "erf erfc gamma lgamma fabs floor ceil trunc hypot copysign fmod isfinite isnan isinf "
    "degrees radians"
).split()


@functools.cache
def _traced_math(fn: Any) -> Any:
    """``math.<fn>``, recorded as a call when it gets a traced number (made once per function:
    every recording installs it)."""

    def call(*args: Any) -> Any:
        rec = active()
        if rec is None or not any(type(a) is TracedFloat or type(a) is TracedInt for a in args):
            return fn(*args)
        return rec.call("call", fn, args, {}, lambda: fn(*raw(args)))

    call.__name__ = fn.__name__
    return call


def _traced_as_strided(fn: Any) -> Any:
    """``as_strided`` makes its view through ``__array_interface__``: recorded as one call."""

    def view(x: Any, *args: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is None or type(x) is not TracedArray:
            return fn(raw(x), *raw(args), **raw(kwargs))
        return rec.call(
            "call", fn, (x, *args), kwargs, lambda: fn(raw(x), *raw(args), **raw(kwargs))
        )

    view.__name__ = "as_strided"
    return view


def _opaque_call(fn: Any, args: Any, kwargs: Any) -> Any:
    rec = active()
    if rec is None:
        return fn(*raw(args), **raw(kwargs))
    return rec.call("call", fn, args, kwargs, lambda: fn(*raw(args), **raw(kwargs)))


def _reseeding(fn: Any, name: str) -> Any:
    """``Generator.manual_seed`` and friends: done again by the generated code at every call."""

    def method(gen: Any, *args: Any) -> Any:
        rec = active()
        if rec is None:
            return fn(gen, *args)
        if name == "seed":  # a fresh nondeterministic seed each call: not replayable
            rec.abort("the call reseeds a generator nondeterministically (Generator.seed())")
            return fn(gen, *args)
        return rec.effect(gen, name, args, lambda: fn(gen, *raw(args)))

    method.__name__ = name
    return method


def _traced_asarray(fn: Any, copies: bool, contiguous: bool = False) -> Any:
    """``np.asarray``/``np.array``/``np.ascontiguousarray``: a traced array that needs nothing
    done passes as it is; any other conversion is a recorded call."""

    def convert(a: Any, *args: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is None or not has_traced(a):
            return fn(a, *args, **kwargs)
        if (
            type(a) is TracedArray
            and not args
            and a._scalar is None
            and kwargs.keys() <= {"dtype", "copy"}
            and kwargs.get("copy") in (None, False) + (() if copies else (np._CopyMode.IF_NEEDED,))
            and (not contiguous or (a.ndim and a._raw.flags.c_contiguous))
        ):
            dtype = kwargs.get("dtype")
            if (dtype is None or np.dtype(dtype) == a.dtype) and (not copies or "copy" in kwargs):
                return a
        return rec.call(
            "call", fn, (a, *args), kwargs, lambda: fn(raw(a), *raw(args), **raw(kwargs))
        )

    convert.__name__ = fn.__name__
    return convert


@functools.cache
def _recorded_errstate() -> Any:
    """``np.errstate``, telling the recorder which settings the calls inside run under (the
    generated code runs them under the same ones: glassgrad silences log(0) as PyTorch does).
    Made once: a class costs a recording tens of microseconds."""
    real = np.errstate

    class errstate(real):  # type: ignore[misc,valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._given = kwargs

        def __enter__(self) -> Any:
            entered = super().__enter__()
            rec = getattr(_LOCAL, "rec", None)
            if rec is not None:
                self._outer = rec.errstate
                settings = dict(rec.errstate or ())  # what is given, over what is around it
                given = dict(self._given)
                if "all" in given:
                    settings.update(
                        dict.fromkeys(("divide", "over", "under", "invalid"), given.pop("all"))
                    )
                settings.update(given)
                rec.errstate = tuple(sorted(settings.items()))
            return entered

        def __exit__(self, *exc: Any) -> Any:
            rec = getattr(_LOCAL, "rec", None)
            if rec is not None and hasattr(self, "_outer"):
                rec.errstate = self._outer
            return super().__exit__(*exc)

    return errstate


_CREATORS = ("zeros", "ones", "empty", "full", "arange", "eye", "identity", "linspace", "tri")


class Session:
    """The patches of one recording; ``with Session(...) as trace:`` runs the call inside them."""

    def __init__(self, arg_paths: dict[int, tuple[Any, ...]], names: dict[int, str]) -> None:
        self.rec = Recorder()
        self.trace = Trace(self.rec, names=names)
        self.trace.arg_index = {k: v[2] for k, v in arg_paths.items()}
        self.arg_paths = arg_paths
        self._restore: list[tuple[Any, Any, Any]] = []  # (owner, attribute, original)
        self._sources: dict[int, tuple[Any, Var, int]] = {}  # id(tensor) -> (tensor, var, version)
        self._made: dict[
            int, Any
        ] = {}  # id(tensor) -> weak reference, for tensors made in the call
        self._grad_seen: dict[int, Any] = {}
        self._grad_owner: dict[int, Any] = {}  # id(pre-existing .grad tensor) -> its parameter
        self._grad_written: dict[int, Any] = {}
        self._groups: list[tuple[dict[str, Any], str, Any, Any]] = []
        self._optimizers: list[Any] = []
        self._modules: dict[int, Any] = {}
        self._targets: dict[int, Any] = {}
        self._new_modules: set[int] = set()
        self.differentiable_outputs: list[Any] = []  # result tensors a later backward() may use
        self.boundary: set[int] = set()  # ids of the tensors their backward reaches (split.py)

    # ---- Tensor slots ---------------------------------------------------------------------------
    def _data_get(self, t: Any, a: Any) -> Any:
        if type(a) is not np.ndarray:
            return a
        rec = active()
        if rec is None:
            return a
        key = id(t)
        if key in self._made:  # a tensor the call made from an untraced array: a constant
            var = rec.new_var("array", a)
            var.source = ("const", rec.const(a))
            if a.nbytes > SNAPSHOT_BYTES:
                rec.big_consts.add(var.buffer)
            rec.sources.append(var)
        else:
            path = self.arg_paths.get(key)
            owner = self._grad_owner.get(key)
            if path is not None:
                source: Any = path
            elif owner is not None:
                source = ("grad", owner)
            else:
                source = ("tensor", t)
            var = rec.new_var("array", a)
            var.source = source
            var.hint = "source"
            rec.sources.append(var)
            self._sources[key] = (t, var, t._vc[0])
        traced = rec.wrap(a, var)
        self._data_slot.__set__(t, traced)
        self._restore_data.append((t, a, traced))
        return traced

    def _data_set(self, t: Any, value: Any, fresh: bool) -> None:
        if fresh:
            self._made[id(t)] = weakref.ref(t)
        elif id(t) not in self._sources and id(t) not in self._made:
            self._targets[id(t)] = t  # an existing tensor given a new array before any read

    def _grad_get(self, p: Any, g: Any) -> Any:
        rec = self.rec
        key = id(p)
        if key in self._made:  # a tensor the call made (a leaf made inside): nothing to check
            return g
        if key not in self._grad_seen and key not in self._grad_written:
            self._grad_seen[key] = p
            rec.guard("({}._grad is None)", (_ParamRef(p),), g is None)
            if g is None:
                self.trace.grad_entry[key] = None
            else:
                self.trace.grad_entry[key] = True
                self._grad_owner[id(g)] = p
        return g

    def _grad_set(self, p: Any, g: Any, fresh: bool) -> None:
        if not fresh and id(p) not in self._made:
            self._grad_written[id(p)] = p

    # ---- install / uninstall --------------------------------------------------------------------
    def _patch(self, owner: Any, name: str, value: Any) -> None:
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        self._restore.append((owner, name, original))
        setattr(owner, name, value)

    def __enter__(self) -> Trace:
        if getattr(_LOCAL, "rec", None) is not None:
            raise Abort("glassgrad.compile called inside a compiled call")
        self._restore_data: list[tuple[Any, Any, Any]] = []
        self._data_slot = Tensor.__dict__["_data"]
        grad_slot = Tensor.__dict__["_grad"]
        self._patch(Tensor, "_data", _Slot(self._data_slot, self._data_get, self._data_set))
        self._patch(Tensor, "_grad", _Slot(grad_slot, self._grad_get, self._grad_set))
        for name in _CREATORS:
            self._patch(np, name, _traced_creator(getattr(np, name), name))
        self._patch(np, "asarray", _traced_asarray(np.asarray, False))
        self._patch(np, "asanyarray", _traced_asarray(np.asanyarray, False))
        self._patch(
            np, "ascontiguousarray", _traced_asarray(np.ascontiguousarray, False, contiguous=True)
        )
        self._patch(np, "array", _traced_asarray(np.array, True))
        for name in ("default_rng",):  # (classes stay: isinstance checks need them)
            self._patch(np.random, name, _unrecorded(getattr(np.random, name)))
        stride = np.lib.stride_tricks
        self._patch(stride, "as_strided", _traced_as_strided(stride.as_strided))
        self._patch(np, "errstate", _recorded_errstate())
        for name in _MATH:
            self._patch(math, name, _traced_math(getattr(math, name)))
        for name in ("manual_seed", "seed", "set_state"):
            self._patch(
                creation.Generator, name, _reseeding(creation.Generator.__dict__[name], name)
            )
        creation.RNG_HOOK[0] = self._generator
        _opaque.HOOK[0] = _opaque_call
        self._patch(node.Node, "apply", classmethod(_noted_apply(node.Node.__dict__["apply"])))
        self._patch(engine, "observed_backward", self._observed_backward)
        self._patch(engine, "run_hooks", _no_hooks(engine.run_hooks, "a hook on a gradient"))
        stage = staging.GradStage
        self._patch(
            stage, "_run_leaf_hooks", _no_hooks(stage._run_leaf_hooks, "a hook on a tensor")
        )
        self._patch(
            staging,
            "_run_post_accumulate_hooks",
            _post_hooks(staging._run_post_accumulate_hooks),
        )
        self._install_module_and_optim()
        self._observer = state.backward_observer
        state.backward_observer = _noop_observer
        self._epoch = EPOCH[0]
        _LOCAL.rec = self.rec
        return self.trace

    def __exit__(self, *exc: Any) -> None:
        _LOCAL.rec = None
        state.backward_observer = self._observer
        creation.RNG_HOOK[0] = None
        _opaque.HOOK[0] = None
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        self._finish()

    def _generator(self, real: np.random.Generator, gen: Any) -> Any:
        if active() is None:
            return real
        if gen is None:
            getter = self.rec.const(creation.generator)
        elif isinstance(gen, creation.Generator):
            getter = self.rec.const(_GeneratorOf(gen))
        else:
            getter = self.rec.const(_Fixed(real))
        return TracedGenerator(real, getter)

    def _observed_backward(self, n: Any, g: Any, observer: Any) -> Any:
        rec = self.rec
        before, rec.phase = rec.note, "backward"
        rec.note = f"backward:{n.name()}"
        try:
            return type(n).backward(n, g)
        finally:
            rec.note = before

    def _install_module_and_optim(self) -> None:
        from glassgrad.nn.module import Module
        from glassgrad.optim.optimizer import Optimizer

        session = self
        module_call = Module.__dict__["__call__"]

        def call(module: Any, *args: Any, **kwargs: Any) -> Any:
            rec = active()
            if rec is None:
                return module_call(module, *args, **kwargs)
            d = module.__dict__
            if "_compile_disabled" in d:  # torch.compiler.disable(module)
                rec.abort(d["_compile_disabled"])
                return module_call(module, *args, **kwargs)
            if (
                module._forward_hooks
                or module._forward_pre_hooks
                or d.get("_backward_hooks")
                or d.get("_backward_pre_hooks")
            ):
                rec.abort(f"{type(module).__name__} has hooks, which run Python code")
                return module_call(module, *args, **kwargs)
            if id(module) not in session._modules and id(module) not in session._new_modules:
                session._modules[id(module)] = module
                session.trace.modules.append(module)
            return module_call(module, *args, **kwargs)

        self._patch(Module, "__call__", call)
        module_init = Module.__dict__["__init__"]

        def init(module: Any, *args: Any, **kwargs: Any) -> None:
            session._new_modules.add(id(module))
            module_init(module, *args, **kwargs)

        self._patch(Module, "__init__", init)
        for cls in _subclasses(Optimizer):
            for name in ("step", "zero_grad"):
                if name in cls.__dict__:
                    self._patch(cls, name, _noted_optimizer(cls.__dict__[name], name, session))

    def watch_optimizer(self, opt: Any) -> None:
        """Hand the optimizer's numeric hyperparameters out as traced numbers from now on."""
        if any(o is opt for o in self._optimizers):
            return
        self._optimizers.append(opt)
        self.trace.optimizers.append(opt)
        for i, group in enumerate(opt.param_groups):
            for key, value in list(group.items()):
                if type(value) is float:
                    traced: Any = self.rec.source_number(value, ("group", opt, i, key, None))
                elif type(value) is tuple and value and all(type(v) is float for v in value):
                    traced = tuple(
                        self.rec.source_number(v, ("group", opt, i, key, k))
                        for k, v in enumerate(value)
                    )
                elif type(value) in (int, bool, str, type(None)):
                    traced = value  # guarded when the trace ends
                else:
                    continue
                self._groups.append((group, key, value, traced))
                group[key] = traced

    # ---- after the call --------------------------------------------------------------------------
    def _finish(self) -> None:
        trace, rec = self.trace, self.rec
        data_slot, grad_slot = self._data_slot, Tensor.__dict__["_grad"]

        def var_of(t: Any) -> Any:
            a = data_slot.__get__(t)
            return a._v if type(a) is TracedArray and hasattr(a, "_v") else a

        # what the call left behind, read before the tensors get plain arrays back
        for t, var, version in self._sources.values():
            now = var_of(t)
            if now is not var:
                if not isinstance(now, Var):
                    rec.abort(
                        "a tensor was given an array the trace did not follow "
                        f"({type(now).__name__})"
                    )
                else:
                    trace.data_writes.append((var, now))
            if t._vc[0] != version:
                trace.versions.append((var, t._vc[0] - version))
        for t in self._targets.values():
            now = var_of(t)
            if not isinstance(now, Var):
                rec.abort("a tensor was given an array the trace did not follow")
                continue
            target = rec.new_var("array", data_slot.__get__(t)._raw)
            target.source, target.hint = ("target", t), "source"
            trace.data_writes.append((target, now))
        for p in self._grad_written.values():
            g = grad_slot.__get__(p)
            if g is None:
                trace.grad_writes[p] = None
            elif id(g) in self._sources:
                rec.abort("a parameter's .grad was set to a tensor from before the call")
            else:
                now = var_of(g)
                if not isinstance(now, Var):
                    rec.abort("a parameter's .grad holds an array the trace did not follow")
                else:
                    trace.grad_writes[p] = now
        hooked = [  # (those on a split forward's boundary run at the real backward: split.py)
            t for t, _, _ in self._sources.values() if id(t) not in self.boundary
        ] + list(self._grad_written.values())
        if any(getattr(t, "_hooks_", None) or getattr(t, "_post_hooks_", None) for t in hooked):
            rec.abort("a hook on a tensor runs Python code that glassgrad.compile does not replay")
        trace.epoch_bumped = EPOCH[0] != self._epoch
        # tensors hold plain arrays again
        for t, plain, traced in self._restore_data:
            if data_slot.__get__(t) is traced:
                data_slot.__set__(t, plain)
        made = [r() for r in self._made.values()]
        for t in (
            [m for m in made if m is not None]
            + list(self._targets.values())
            + [s[0] for s in self._sources.values()]
        ):
            a = data_slot.__get__(t)
            if type(a) is TracedArray:
                data_slot.__set__(t, a._raw)
        # optimizer hyperparameters back to plain numbers; a changed one cannot be replayed
        for group, key, value, traced in self._groups:
            now = group.get(key)
            if now is not traced:
                rec.abort(
                    f"the call sets the optimizer's {key!r} from Python state "
                    "(a scheduler step?); call that outside the compiled function"
                )
                group[key] = raw(now)
            else:
                group[key] = value
                if type(value) is not float and not (
                    type(value) is tuple and value and all(type(v) is float for v in value)
                ):
                    rec.group_guards.append((group, key, value))


class _ParamRef:
    """A parameter named in a guard (``p._grad is None``): the generated code holds it."""

    def __init__(self, p: Any) -> None:
        self.p = p

    def same_as(self, other: Any) -> bool:
        return self.p is other.p


class _GeneratorOf:
    """The NumPy generator behind a ``glassgrad.Generator`` at the time of a call."""

    def __init__(self, gen: Any) -> None:
        self.gen = gen

    def __call__(self) -> np.random.Generator:
        return self.gen.rng

    def same_as(self, other: Any) -> bool:
        return self.gen is other.gen


class _Fixed:
    def __init__(self, real: Any) -> None:
        self.real = real

    def __call__(self) -> Any:
        return self.real

    def same_as(self, other: Any) -> bool:
        return self.real is other.real


def _noop_observer(*args: Any) -> None:
    pass


def _no_hooks(original: Any, what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is not None:
            rec.abort(f"{what} runs Python code that glassgrad.compile does not replay")
        return original(*args, **kwargs)

    return refuse


def _post_hooks(original: Any) -> Any:
    """Runs once any tensor ever got a post-accumulate hook: refuse only if one of these has."""

    def run(writes: Any) -> Any:
        rec = active()
        if rec is not None and any(getattr(t, "_post_hooks_", None) for t, _, _ in writes):
            rec.abort("a post-accumulate-grad hook runs Python code that compile does not replay")
        return original(writes)

    return run


def _noted_apply(original: Any) -> Any:
    func = original.__func__

    def apply(cls: Any, *args: Any) -> Any:
        rec = active()
        if rec is None:
            return func(cls, *args)
        before = rec.note
        if not before.startswith("backward:"):
            outer = api_call(2)
            rec.note = (
                f"forward:{outer} → {cls.__name__}"
                if outer and outer != cls.__name__
                else f"forward:{cls.__name__}"
            )
        try:
            return func(cls, *args)
        finally:
            rec.note = before

    return apply


def _noted_optimizer(fn: Any, name: str, session: Session) -> Any:
    def method(opt: Any, *args: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is None:
            return fn(opt, *args, **kwargs)
        session.watch_optimizer(opt)
        before, phase = rec.note, rec.phase
        rec.note, rec.phase = f"optimizer:{type(opt).__name__}.{name}", "optimizer"
        try:
            return fn(opt, *args, **kwargs)
        finally:
            rec.note, rec.phase = before, phase

    return method


def _subclasses(cls: type) -> list[type]:
    out: list[type] = [cls]
    sub: type
    for sub in cls.__subclasses__():
        out.extend(_subclasses(sub))
    return out


__all__ = ["Const", "Session", "Trace", "TracedFloat", "TracedInt"]
