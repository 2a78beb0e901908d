"""Recording one call at the NumPy level: every array the call touches becomes a ``TracedArray``.

While a ``Recorder`` is active (one call, one thread), the call runs eagerly, exactly as without
``compile``, but on arrays of the ``TracedArray`` subclass: NumPy hands every ufunc and function
call on them to ``__array_ufunc__``/``__array_function__``, and the subclass overrides the
ndarray methods, indexing and properties that make new arrays. Each handler computes the real
result on the plain arrays underneath and appends one ``Stmt`` to the trace. Where values enter:

- a Tensor's array (``Tensor._data``, read through a descriptor installed for the call), a
  parameter's gradient (``Tensor._grad``), an optimizer's hyperparameter (``TracedFloat``), an
  argument of the call: *sources*, read again by the generated code at every call;
- NumPy's creation functions (``np.zeros``...) and glassgrad's random generator: recorded calls;
- anything else (a NumPy array built outside, a literal): a constant, passed by reference.

Python decisions on traced values (``bool()``, ``float()``, comparisons) inside glassgrad become
*guards* the generated code checks; the same in the user's own code makes the call
data-dependent, and ``compile`` then runs the function eagerly (``Abort``).
"""

from __future__ import annotations

import operator
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from glassgrad.compiler.ir import Const, Stmt, Var

_np_ndarray = np.ndarray
_HERE = __name__.rsplit(".", 1)[0]  # "glassgrad.compiler"


SNAPSHOT_BYTES = 1 << 22  # constant arrays up to 4 MiB are copied when recorded


class Abort(Exception):
    """The call cannot be compiled (data-dependent Python, a side effect, an unknown array)."""

    def __init__(self, reason: str, where: str = "") -> None:
        super().__init__(reason if not where else f"{where}: {reason}")
        self.reason, self.where = reason, where


_LOCAL = threading.local()
_LITERALS = frozenset({bool, int, float, complex, str, type(None), type(Ellipsis)})
_SLOW = object()  # a fast path declines: the general one runs


def active() -> Recorder | None:
    """The recorder of this thread, when it is recording and not inside a real NumPy call."""
    rec = getattr(_LOCAL, "rec", None)
    if rec is None or rec.busy or rec.aborted is not None:
        return None
    return rec


def user_frame(depth: int = 2) -> tuple[bool, str]:
    """(inside glassgrad, "file:line") of the first caller outside NumPy and this package."""
    f: Any = sys._getframe(depth)
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        if mod == "glassgrad.tensor" and f.f_code.co_name in _CONVERSIONS:
            f = f.f_back  # Tensor.__bool__ and friends decide for whoever called them
            continue
        if not (mod.startswith(_HERE) or mod == "numpy" or mod.startswith("numpy.")):
            internal = mod == "glassgrad" or mod.startswith("glassgrad.")
            return internal, _location(f)
        f = f.f_back
    return True, "?"


def _location(f: Any) -> str:
    """``file:line`` of the first frame at or above ``f`` outside glassgrad: the user's line."""
    first: Any = f
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        if not (mod == "glassgrad" or mod.startswith(("glassgrad.", "numpy"))):
            return f"{f.f_code.co_filename}:{f.f_lineno}"
        f = f.f_back
    return f"{first.f_code.co_filename}:{first.f_lineno}"


_CONVERSIONS = {
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
    "__complex__",
    "item",
    "tolist",
    "__format__",
    "__repr__",
    "__str__",
    "__len__",
    "__iter__",
    "numpy",
    "__array__",
}


def api_call(depth: int = 2) -> str:
    """The glassgrad function the user's code called that is running now ("linear", "step")."""
    f: Any = sys._getframe(depth)
    outer = ""
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        if mod.startswith(_HERE) or mod == "numpy" or mod.startswith("numpy."):
            f = f.f_back
            continue
        if not (mod == "glassgrad" or mod.startswith("glassgrad.")):
            return outer
        name = f.f_code.co_name
        if name in _WRAPPERS:  # a generated wrapper: the op's name is in its closure
            found = _wrapped_name(f.f_locals)
            if found:
                outer = found
        elif name in ("__call__", "forward") and "self" in f.f_locals:
            cls = type(f.f_locals["self"]).__name__
            if cls != "OptimizedModule":  # (compile(model)'s wrapper: the model is the name)
                outer = cls
        elif not name.startswith("_"):
            outer = name
        f = f.f_back
    return outer


_WRAPPERS = {"op", "unary_op", "binary_op", "method", "wrapper", "inplace", "reflected", "fast"}


def _wrapped_name(local: dict[str, Any]) -> str:
    name = local.get("name") or local.get("opname")
    if isinstance(name, str):
        return name
    for key in ("fn", "apply", "func"):
        v = local.get(key)
        if v is None:
            continue
        owner = getattr(v, "__self__", None)
        if isinstance(owner, type):
            return owner.__name__
        found = getattr(v, "__name__", "")
        if found:
            return found
    return ""


def root_of(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (``a`` itself when it is no view).

    Follows ``base`` through the helper objects strided views hang from (``as_strided`` makes
    its view from an object with ``__array_interface__`` whose ``base`` is the array)."""
    while True:
        b = a.base
        if not isinstance(b, np.ndarray):
            b = getattr(b, "base", None)
            if not isinstance(b, np.ndarray):
                return a
        a = b


def layout_copy(x: np.ndarray) -> np.ndarray:
    """A copy of ``x`` with its very strides: a transposed or sliced view stays one, so that
    NumPy and BLAS take the same path on it as on ``x`` (a C-ordered copy of ``M.T`` changed
    the last bit of a matmul)."""
    c = x.copy(order="K")
    if c.strides == x.strides or x.size <= 1:
        return c
    lo = sum((n - 1) * st for n, st in zip(x.shape, x.strides) if st < 0)
    hi = sum((n - 1) * st for n, st in zip(x.shape, x.strides) if st > 0)
    span = np.empty(hi - lo + x.itemsize, np.uint8)
    view: np.ndarray = np.ndarray(x.shape, x.dtype, span, -lo, x.strides)
    view[...] = x
    return view


def raw(x: Any) -> Any:
    """``x`` with every traced array or number replaced by the plain value underneath."""
    t = type(x)
    if t is TracedArray:
        r = getattr(x, "_raw", None)
        if r is None:
            return x.view(np.ndarray)  # one NumPy made behind our back
        s = x._scalar
        return r if s is None else s
    if t is TracedFloat or t is TracedInt:
        return x._x
    if t is tuple or t is list:
        return t([raw(y) for y in x])
    if t is dict:
        return {k: raw(v) for k, v in x.items()}
    if t is slice:
        return slice(raw(x.start), raw(x.stop), raw(x.step))
    return x


def has_traced(x: Any) -> bool:
    t = type(x)
    if t is TracedArray or t is TracedFloat or t is TracedInt:
        return True
    if t is tuple or t is list:
        return any(has_traced(y) for y in x)
    if t is dict:
        return any(has_traced(y) for y in x.values())
    return False


class Recorder:
    """The trace of one call: statements, variables, constants, sources and guards."""

    def __init__(self) -> None:
        self.stmts: list[Stmt] = []
        self.vars: list[Var] = []
        self.consts: list[Const] = []
        self._const_ids: dict[int, Const] = {}
        self.busy = 0
        self.aborted: Abort | None = None
        self.note = ""
        self.phase = "forward"
        self.errstate: Any = None  # the np.errstate settings the calls now run under (recorded)
        self._buffers: dict[int, int] = {}  # id(root array) -> buffer id
        self._roots: list[Any] = []  # keeps the roots alive so that their ids stay unique
        self.sources: list[Var] = []
        self.group_guards: list[tuple[Any, str, Any]] = []  # (param group, key, value) to check
        self.unfilled: dict[int, np.ndarray] = {}  # buffer -> array from np.empty, unwritten yet
        self.big_consts: set[int] = set()  # buffers of constants too large to copy: read-only
        self.thread = threading.get_ident()

    # ---- variables ---------------------------------------------------------------------------
    def new_var(self, kind: str, value: Any = None) -> Var:
        v = Var(len(self.vars), kind)
        v.owner = self
        if kind == "array":
            v.shape, v.dtype = value.shape, value.dtype
            v.contiguous = value.flags.c_contiguous
            root = root_of(value)
            key = id(root)
            buf = self._buffers.get(key)
            if buf is None:
                self._buffers[key] = v.id
                self._roots.append(root)
            else:
                v.buffer = buf
        v.hint = self.phase
        self.vars.append(v)
        return v

    def wrap(self, value: np.ndarray, var: Var, scalar: Any = None) -> TracedArray:
        """``value`` as a traced array of ``var``; ``scalar``: the NumPy scalar a call returned
        (kept, so that the calls made on it compute as they do eagerly, on a scalar)."""
        t = value.view(TracedArray)
        t._raw = value
        t._v = var
        t._scalar = scalar
        return t

    def source_array(self, value: np.ndarray, source: Any) -> TracedArray:
        var = self.new_var("array", value)
        var.source = source
        self.sources.append(var)
        return self.wrap(value, var)

    def source_number(self, value: Any, source: Any) -> Any:
        cls = TracedFloat if type(value) is float else TracedInt
        var = Var(len(self.vars), "number")
        var.owner = self
        var.source = source
        self.vars.append(var)
        self.sources.append(var)
        return cls.make(value, var)

    # ---- expressions -------------------------------------------------------------------------
    def expr(self, x: Any) -> Any:
        """A call's argument as an expression: Vars for traced values, Consts for objects."""
        t = type(x)
        if t is TracedArray:
            v = getattr(x, "_v", None)
            if v is None:
                raise Abort("an array made by a NumPy call glassgrad.compile does not record")
            if v.owner is not self:  # kept from an earlier recording (a cache): a constant
                return self.const(x._raw)
            return v
        if t is TracedFloat or t is TracedInt:  # (first: their type passes for int and float)
            if x._var.owner is not self:
                return x._x
            return x._var
        if t in _LITERALS:
            return x
        if t is tuple or t is list:
            ex = self.expr
            return t([ex(y) for y in x])
        if t is Const:
            return x
        if isinstance(x, tuple) and not hasattr(x, "_fields"):  # glassgrad.Size and friends
            return tuple(self.expr(y) for y in x)
        if t is dict:
            return {k: self.expr(v) for k, v in x.items()}
        if t is slice:
            return slice(self.expr(x.start), self.expr(x.stop), self.expr(x.step))
        if isinstance(x, np.generic) and type(x).__module__ == "numpy":
            return x  # a NumPy scalar: written as a literal
        return self.const(x)

    def const(self, x: Any) -> Const:
        """``x`` handed to the generated code by reference; an array up to ``SNAPSHOT_BYTES``
        as the copy it is now (the call may change it in place afterwards, and the code must
        start from what it was)."""
        c = self._const_ids.get(id(x))
        if c is None:
            value, live = x, None
            if isinstance(x, np.ndarray):
                name = f"const{len(self.consts)}"
                if x.nbytes <= SNAPSHOT_BYTES:
                    value, live = layout_copy(x), x
            else:
                name = getattr(x, "__name__", "") or type(x).__name__.lower()
                name = f"{name}_{len(self.consts)}"
            c = Const(value, name, live)
            self._const_ids[id(x)] = c
            self.consts.append(c)
            self._roots.append(x)
        return c

    # ---- statements --------------------------------------------------------------------------
    def call(
        self,
        kind: str,
        fn: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        run: Callable[[], Any],
        writes: tuple[Any, ...] = (),
        effect: bool = False,
    ) -> Any:
        """Run ``run()`` (the real call on plain arrays), record it, and return traced results.

        When the call cannot be recorded, the recording stops (``aborted``) and the call goes on
        eagerly: the user's function always runs to its end with the right values.
        """
        try:
            stmt = Stmt(
                kind,
                fn,
                self.expr(args),
                self.expr(kwargs) if kwargs else {},
                [],
                note=self.note or api_call(3),
                errstate=self.errstate,
            )
            for w in writes:
                if type(w) is not TracedArray:
                    raise Abort(f"{_show(kind, fn)} writes into an array made outside the trace")
                if w._v.buffer in self.big_consts:
                    raise Abort(f"{_show(kind, fn)} writes into a large constant array")
                stmt.writes.append(w._v)
        except Abort as e:
            self.abort(e)
            return run()
        stmt.effect = effect
        return self._run(stmt, run, args, writes)

    def _run(self, stmt: Stmt, run: Callable[[], Any], args: Any, writes: tuple[Any, ...]) -> Any:
        """Run the real call for ``stmt`` (NumPy itself, not recorded), keep the statement and
        hand back traced results; an abort along the way leaves the plain result."""
        if self.unfilled:
            try:
                self._check_unfilled(stmt)
            except Abort as e:
                self.abort(e)
                return run()
        self.busy += 1
        try:
            result = run()
        finally:
            self.busy -= 1
        self.stmts.append(stmt)
        try:
            return self._results(result, stmt, args, writes)
        except Abort as e:
            self.abort(e)
            return result

    def ufunc_call(self, ufunc: Any, inputs: tuple[Any, ...]) -> Any:
        """``call`` for the commonest case, made short: a ufunc on traced arrays and Python
        numbers, no keywords. ``_SLOW`` where the general path must take it."""
        values: list[Any] = []
        exprs: list[Any] = []
        arrays = 0
        for a in inputs:
            t = type(a)
            if t is TracedArray:
                v = getattr(a, "_v", None)
                s = a._scalar
                if v is None or v.owner is not self or s is not None:
                    return _SLOW
                values.append(a._raw)
                exprs.append(v)
                arrays += 1
            elif t is float or t is int or t is bool:
                values.append(a)
                exprs.append(a)
            else:
                return _SLOW
        if not arrays:
            return _SLOW
        stmt = Stmt(
            "call",
            ufunc,
            tuple(exprs),
            {},
            [],
            note=self.note or api_call(3),
            errstate=self.errstate,
        )
        return self._run(stmt, lambda: ufunc(*values), inputs, ())

    def effect(self, obj: Any, method: str, args: tuple[Any, ...], run: Callable[[], Any]) -> Any:
        """A call the generated code must make again for its side effect (``manual_seed``);
        its result (the object itself, a seed) is not followed."""
        try:
            stmt = Stmt("method", method, self.expr((obj, *args)), {}, [], note=self.note)
        except Abort as e:
            self.abort(e)
            return run()
        stmt.effect = True
        self.busy += 1
        try:
            result = run()
        finally:
            self.busy -= 1
        self.stmts.append(stmt)
        return result

    def _check_unfilled(self, stmt: Stmt) -> None:
        """``np.empty`` arrays are zeroed when recorded: one read before any recorded write yet
        no longer zero was filled by code the trace cannot see (a C routine): not replayable."""
        written = {w.id for w in stmt.writes}
        for v in stmt.reads():
            a = self.unfilled.pop(v.buffer, None)
            if a is not None and v.buffer not in written and a.any():
                raise Abort(
                    "an array is filled by code glassgrad.compile does not see (a C routine, "
                    "such as a NumPy generator's draw)",
                    user_frame(2)[1],
                )
        for w in stmt.writes:
            self.unfilled.pop(w.buffer, None)

    def abort(self, reason: Abort | str, where: str = "") -> None:
        """Stop recording (the first reason is kept); the call goes on eagerly."""
        if self.aborted is None:
            self.aborted = reason if isinstance(reason, Abort) else Abort(reason, where)

    def _results(self, result: Any, stmt: Stmt, args: Any, writes: tuple[Any, ...]) -> Any:
        t = type(result)
        if isinstance(result, (np.dtype, type)) or (
            t is tuple and all(type(r) is int for r in result)
        ):  # a dtype, a shape: static while shapes and dtypes are guarded
            self.stmts.pop()
            if t is tuple and any(v.dynamic for v in stmt.reads() if v.kind == "array"):
                guard = Stmt("guard", stmt, (), {}, [], note=self.note)  # a shape chosen by data
                self.decide(f"{_show(stmt.kind, stmt.fn)} of an array sized by data", guard, result)
            return result
        if t is _np_ndarray:
            for w in writes:  # an out= call returns its output array
                if w._raw is result:
                    stmt.outs.append(w._v)
                    return w
            same = _find_same(args, result)
            if same is not None:  # astype(copy=False) and friends hand back their input
                stmt.outs.append(same._v)
                return same
            var = self.new_var("array", result)
            var.dynamic = _shape_depends_on_data(stmt)
            stmt.outs.append(var)
            return self.wrap(result, var)
        if isinstance(result, np.generic):
            value = np.asarray(result)
            var = self.new_var("array", value)
            stmt.outs.append(var)
            stmt.scalar_out = True
            return self.wrap(value, var, result)
        if t is tuple or (isinstance(result, tuple) and hasattr(result, "_fields")):
            parts = []
            stmt.tuple_out = True
            dynamic = _shape_depends_on_data(stmt)
            for r in result:
                if not isinstance(r, (np.ndarray, np.generic)):
                    raise Abort(f"{_show(stmt.kind, stmt.fn)} returned a {type(r).__name__}")
                value = np.asarray(r) if isinstance(r, np.generic) else r
                var = self.new_var("array", value)
                var.dynamic = dynamic
                stmt.outs.append(var)
                parts.append(self.wrap(value, var, r if isinstance(r, np.generic) else None))
            return t(*parts) if t is not tuple else tuple(parts)
        if result is None:
            return None
        if t is float or t is int:
            var = Var(len(self.vars), "number")
            var.owner = self
            self.vars.append(var)
            stmt.outs.append(var)
            if t is int:  # an int read from data: checked where it is made (see below)
                self.stmts.append(
                    Stmt("guard", "{}", (var,), {}, [], note=self.note, expected=result)
                )
            return (TracedFloat if t is float else TracedInt).make(result, var)
        if t is bool:
            self.stmts.pop()
            guard = Stmt("guard", stmt, (), {}, [], note=self.note)
            self.decide(f"{_show(stmt.kind, stmt.fn)} returned a bool", guard, result)
            return result
        raise Abort(f"{_show(stmt.kind, stmt.fn)} returned a {t.__name__}")

    def decide(self, what: str, stmt: Stmt, value: Any) -> None:
        """A Python decision on a traced value: a guard inside glassgrad, else data-dependent."""
        internal, where = user_frame(3)
        if not internal:
            self.abort(f"{what}: Python code depends on a tensor's value", where)
            return
        stmt.kind, stmt.expected = "guard", value
        stmt.note = self.note
        self.stmts.append(stmt)

    def guard(self, fn: str, args: tuple[Any, ...], value: Any) -> None:
        """Record that ``fn`` (a Python expression template) gave ``value`` on ``args``."""
        try:
            stmt = Stmt("guard", fn, self.expr(args), {}, [], note=self.note)
        except Abort as e:
            self.abort(e)
            return
        self.decide(fn.format(*("…" for _ in args)), stmt, value)


def _show(kind: str, fn: Any) -> str:
    name = getattr(fn, "__name__", None) or str(fn)
    return f".{name}()" if kind == "method" else f"{name}()"


# NumPy calls whose result's shape depends on the data, not only on the shapes they are given
_DATA_SHAPED = frozenset(
    "nonzero argwhere flatnonzero unique unique_all unique_counts unique_inverse unique_values "
    "extract compress bincount repeat trim_zeros setdiff1d intersect1d union1d setxor1d delete "
    "insert resize".split()
)


def _shape_depends_on_data(stmt: Stmt) -> bool:
    """Whether the shape a statement returns may change with its inputs' values (not only their
    shapes): a boolean mask's selection, ``nonzero``, a size read from a value. Reading such a
    shape in Python (``.shape``, ``len``, ``.size``) then becomes a guard of the code."""
    kind, fn = stmt.kind, stmt.fn
    if isinstance(fn, np.ufunc):  # broadcasting: dynamic only where an operand is
        return any(type(a) is Var and a.dynamic for a in stmt.args)
    reads = stmt.reads()
    if any(v.dynamic for v in reads if v.kind == "array"):
        return True
    if kind == "getitem":
        return any(v.kind == "number" or v.dtype == np.bool_ for v in reads[1:])
    if kind in ("binop", "unop", "guard"):
        return False
    name = fn if kind == "method" else getattr(fn, "__name__", "")
    if name in _DATA_SHAPED or (name == "where" and len(stmt.args) == 1):
        return True
    return any(v.kind == "number" for v in reads)  # np.zeros(n), x.reshape(n, -1), arange(n)


def _find_same(args: Any, result: np.ndarray) -> Any:
    for a in args if isinstance(args, (tuple, list)) else (args,):
        if type(a) is TracedArray and a._raw is result:
            return a
    return None


# ---- the traced array -------------------------------------------------------------------------


class TracedArray(np.ndarray):
    """An array whose every NumPy operation is recorded while a ``Recorder`` is active.

    Outside a recording (a tensor kept from a traced call) it computes like a plain ndarray.
    """

    __slots__ = ("_raw", "_scalar", "_v")
    _raw: np.ndarray
    _scalar: Any  # the NumPy scalar standing for this 0-d value, where a call returned one
    _v: Var

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is not None and method == "__call__" and not kwargs:
            result = rec.ufunc_call(ufunc, inputs)
            if result is not _SLOW:
                return result
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        out = kwargs.get("out")
        if out is not None:  # written: the 0-d array itself, never the NumPy scalar it stood for
            kwargs = {**kwargs, "out": tuple(_written(o) for o in out)}
        if rec is None:
            return fn(*raw(inputs), **raw(kwargs))
        writes = tuple(out) if out is not None else ()
        if method == "at":
            writes += (inputs[0],)
        run = lambda: fn(*raw(inputs), **raw(kwargs))  # noqa: E731
        symbol = _SCALAR_MATH.get(ufunc) if method == "__call__" and not kwargs else None
        if symbol is not None and len(inputs) == 2:
            a, b = raw(inputs)
            if isinstance(a, (np.generic, int, float, complex)) and isinstance(
                b, (np.generic, int, float, complex)
            ):  # two scalars: NumPy's scalar arithmetic, as ``a / b`` runs eagerly (and replays)
                run = lambda: symbol(a, b)  # noqa: E731
        return rec.call("call", fn, inputs, kwargs, run, writes)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        rec = active()
        if rec is None:
            return func(*raw(args), **raw(kwargs))
        writes: tuple[Any, ...] = ()
        out = kwargs.get("out")
        if out is not None:
            writes = tuple(out) if isinstance(out, tuple) else (out,)
        written = _MUTATING.get(func.__name__)
        if written is not None and func.__module__.startswith("numpy"):
            writes += (args[written] if len(args) > written else kwargs.get("dst"),)
        return rec.call("call", func, args, kwargs, lambda: func(*raw(args), **raw(kwargs)), writes)

    # indexing
    def __getitem__(self, index: Any) -> Any:
        rec = active()
        if rec is None:
            return raw(self)[raw(index)]
        return rec.call("getitem", None, (self, index), {}, lambda: raw(self)[raw(index)])

    def __setitem__(self, index: Any, value: Any) -> None:
        rec = active()
        if rec is None:
            self._raw[raw(index)] = raw(value)
            return

        def run() -> None:
            self._raw[raw(index)] = raw(value)

        rec.call("setitem", None, (self, index, value), {}, run, (self,))

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def item(self, *args: Any) -> Any:
        rec = active()
        if rec is None or self.dtype.kind not in "fiub":
            value = self._raw.item(*args)
            if rec is not None:
                rec.guard("{}.item()", (self, *args), value)
            return value
        if self.dtype.kind == "b":
            value = self._raw.item(*args)
            rec.guard("{}.item()", (self, *args), value)
            return value
        return rec.call("method", "item", (self, *args), {}, lambda: self._raw.item(*raw(args)))

    def __reduce__(self) -> Any:
        return self._raw.__reduce__()

    def __deepcopy__(self, memo: Any) -> Any:
        return self.copy()

    def __copy__(self) -> Any:
        return self.copy()

    @property
    def base(self) -> Any:  # type: ignore[override]
        return self._raw.base


def _method(name: str, mutates: bool = False) -> Callable[..., Any]:
    def method(self: TracedArray, *args: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is None:
            return getattr(raw(self), name)(*raw(args), **raw(kwargs))
        return rec.call(
            "method",
            name,
            (self, *args),
            kwargs,
            lambda: getattr(raw(self), name)(*raw(args), **raw(kwargs)),
            (self,) if mutates else (),
        )

    method.__name__ = name
    return method


def _attribute(name: str) -> property:
    def get(self: TracedArray) -> Any:
        rec = active()
        if rec is None:
            return getattr(raw(self), name)
        return rec.call("attr", name, (self,), {}, lambda: getattr(raw(self), name))

    return property(get)


_PURE_METHODS = (
    "all any argmax argmin argpartition argsort astype choose clip compress conj conjugate copy "
    "cumprod cumsum diagonal dot flatten max mean min nonzero prod ravel repeat reshape round "
    "searchsorted squeeze std sum swapaxes take trace transpose var view"
).split()
for _name in _PURE_METHODS:
    setattr(TracedArray, _name, _method(_name))


def _install_formatting(cls: type, attribute: str, what: str) -> None:
    """``repr``/``str``/``format`` of a traced value: printing it from the user's code is a
    side effect no replay repeats, so the call runs eagerly; inside glassgrad (an error message)
    it just formats."""

    def formatted(self: Any, how: Callable[[Any], str]) -> str:
        rec = active()
        if rec is not None:
            internal, where = user_frame(3)
            if not internal:
                rec.abort(f"prints or formats {what}", where)
        return how(getattr(self, attribute))

    setattr(cls, "__repr__", lambda self: formatted(self, repr))  # noqa: B010
    setattr(cls, "__str__", lambda self: formatted(self, str))  # noqa: B010
    setattr(cls, "__format__", lambda self, spec: formatted(self, lambda a: format(a, spec)))  # noqa: B010


_install_formatting(TracedArray, "_raw", "a tensor's value")


def _decision(convert: Callable[[Any], Any], template: str) -> Callable[..., Any]:
    """``bool(x)``, ``float(x)``...: a Python value of the data, so a decision taken on it. A
    guard where glassgrad's own code takes it; the user's code taking it is data-dependent."""

    def method(self: TracedArray) -> Any:
        value = convert(self._raw)
        rec = active()
        if rec is not None:
            rec.guard(template, (self,), value)
        return value

    return method


for _name, _convert, _template in (
    ("__bool__", bool, "bool({})"),
    ("__float__", float, "float({})"),
    ("__int__", int, "int({})"),
    ("__index__", operator.index, "operator.index({})"),
    ("__complex__", complex, "complex({})"),
    ("tolist", np.ndarray.tolist, "{}.tolist()"),
):
    setattr(TracedArray, _name, _decision(_convert, _template))
for _name in ("fill", "sort", "partition", "put", "resize", "setfield"):
    setattr(TracedArray, _name, _method(_name, mutates=True))
for _name in ("T", "mT"):
    setattr(TracedArray, _name, _attribute(_name))


def _settable(name: str) -> property:
    """``x.real = v``, ``x.shape = s``: a recorded write into ``x``."""
    getter = _attribute(name).fget

    def set(self: TracedArray, value: Any) -> None:
        def run() -> None:
            setattr(self._raw, name, raw(value))

        rec = active()
        if rec is None:
            run()
            return
        rec.call("setattr", name, (self, value), {}, run, (self,))

    return property(getter, set)


for _name in ("real", "imag", "shape"):
    setattr(TracedArray, _name, _settable(_name))


def _size_of(name: str, read: Callable[[np.ndarray], Any]) -> Callable[[TracedArray], Any]:
    """``x.shape``, ``len(x)``, ``x.size``: plain values while shapes are guarded, except for an
    array whose shape its data chose (a mask's selection): then the value read is a guard."""
    template = "len({})" if name == "__len__" else f"{{}}.{name}"

    def get(self: TracedArray) -> Any:
        value = read(self._raw)
        v = getattr(self, "_v", None)
        if v is not None and v.dynamic:
            rec = active()
            if rec is not None and v.owner is rec:
                rec.guard(template, (self,), value)
        return value

    get.__name__ = name
    return get


_shape_setter = TracedArray.__dict__["shape"].fset
TracedArray.shape = property(_size_of("shape", lambda a: a.shape), _shape_setter)  # type: ignore[assignment,method-assign]
for _name in ("size", "nbytes", "strides"):
    setattr(TracedArray, _name, property(_size_of(_name, operator.attrgetter(_name))))
TracedArray.__len__ = _size_of("__len__", len)  # type: ignore[assignment,method-assign]


class _Flags:
    """``x.flags`` of a traced array: reads the real flags; setting ``writeable`` is recorded."""

    def __init__(self, owner: TracedArray) -> None:
        object.__setattr__(self, "_owner", owner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._owner._raw.flags, name)

    def __getitem__(self, key: str) -> Any:
        return self._owner._raw.flags[key]

    def __setattr__(self, name: str, value: Any) -> None:
        owner = self._owner

        def run() -> None:
            setattr(owner._raw.flags, name, value)

        rec = active()
        if rec is None:
            run()
            return
        n = len(rec.stmts)
        rec.call("setattr", f"flags.{name}", (owner, value), {}, run)
        if len(rec.stmts) > n:  # no data changes: kept while the array is used after it
            rec.stmts[-1].outs.append(owner._v)


TracedArray.flags = property(lambda self: _Flags(self))  # type: ignore[assignment,method-assign]


def _in_place(name: str) -> Callable[..., Any]:
    real = getattr(np.ndarray, name)
    plain = getattr(operator, name.replace("__i", "__", 1))

    def method(self: TracedArray, other: Any) -> Any:
        if getattr(self, "_scalar", None) is not None:
            return plain(self, other)  # a NumPy scalar has no in-place form: a new value
        return real(self, other)

    method.__name__ = name
    return method


for _name in (
    "__iadd__",
    "__isub__",
    "__imul__",
    "__itruediv__",
    "__ifloordiv__",
    "__imod__",
    "__ipow__",
):
    setattr(TracedArray, _name, _in_place(_name))


def _written(x: Any) -> Any:
    if type(x) is TracedArray and getattr(x, "_scalar", None) is not None:
        x._scalar = None  # from now on a 0-d array (its value changes)
    return x


# ufuncs the generated code writes as operators: on two scalars they run NumPy's scalar math
_SCALAR_MATH: dict[Any, Callable[[Any, Any], Any]] = {
    np.add: operator.add,
    np.subtract: operator.sub,
    np.multiply: operator.mul,
    np.true_divide: operator.truediv,
    np.floor_divide: operator.floordiv,
    np.remainder: operator.mod,
    np.power: operator.pow,
    np.less: operator.lt,
    np.less_equal: operator.le,
    np.greater: operator.gt,
    np.greater_equal: operator.ge,
    np.equal: operator.eq,
    np.not_equal: operator.ne,
}

# NumPy functions that write into one of their arguments (its position)
_MUTATING = {
    "copyto": 0,
    "put": 0,
    "place": 0,
    "putmask": 0,
    "put_along_axis": 0,
    "fill_diagonal": 0,
}


# ---- traced Python numbers --------------------------------------------------------------------


class _TracedNumber:
    """Arithmetic on a traced Python number is recorded; decisions on it become guards."""

    _x: Any
    _var: Var

    def _binop(self, op: str, other: Any, reflected: bool = False) -> Any:
        if not isinstance(other, (int, float, complex)) or isinstance(other, np.generic):
            return NotImplemented  # a tensor, an array: its own reflected operator sees the Var
        x, y = self._x, raw(other)
        value = _BINOPS[op](y, x) if reflected else _BINOPS[op](x, y)
        rec = active()
        if rec is None or type(value) not in (float, int):
            return value
        args = (other, self) if reflected else (self, other)
        return rec.call("binop", op, args, {}, lambda: value)

    def _unop(self, op: str) -> Any:
        value = _UNOPS[op](self._x)
        rec = active()
        if rec is None:
            return value
        return rec.call("unop", op, (self,), {}, lambda: value)

    def _decide(self, template: str, args: tuple[Any, ...], value: Any) -> Any:
        rec = active()
        if rec is not None:
            rec.guard(template, args, value)
        return value

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return TracedArray.__array_ufunc__(self, ufunc, method, *inputs, **kwargs)  # type: ignore[arg-type]

    def __bool__(self) -> bool:
        return self._decide("bool({})", (self,), bool(self._x))

    def __float__(self) -> float:
        return self._decide("float({})", (self,), float(self._x))

    def __int__(self) -> int:
        return self._decide("int({})", (self,), int(self._x))

    def __index__(self) -> int:
        return self._decide("operator.index({})", (self,), int(self._x))

    def __hash__(self) -> int:
        return hash(self._x)

    def __round__(self, n: Any = None) -> Any:
        return self._decide("round({}, {})", (self, n), round(self._x, n))

    def __reduce__(self) -> Any:
        return (type(self._x), (self._x,))


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
    "**": lambda a, b: a**b,
}
_UNOPS: dict[str, Callable[[Any], Any]] = {"-": lambda a: -a, "+": lambda a: +a, "abs": abs}
_COMPARE = {
    "<": "__lt__",
    "<=": "__le__",
    ">": "__gt__",
    ">=": "__ge__",
    "==": "__eq__",
    "!=": "__ne__",
}


def _install_number_methods(cls: type) -> None:
    names = {
        "+": "add",
        "-": "sub",
        "*": "mul",
        "/": "truediv",
        "//": "floordiv",
        "%": "mod",
        "**": "pow",
    }
    for op, name in names.items():
        setattr(cls, f"__{name}__", lambda self, other, _op=op: self._binop(_op, other))
        setattr(cls, f"__r{name}__", lambda self, other, _op=op: self._binop(_op, other, True))
    setattr(cls, "__neg__", lambda self: self._unop("-"))  # noqa: B010
    setattr(cls, "__pos__", lambda self: self._unop("+"))  # noqa: B010
    setattr(cls, "__abs__", lambda self: self._unop("abs"))  # noqa: B010
    for op, name in _COMPARE.items():
        real = getattr(float, name)

        def compare(self: Any, other: Any, _op: str = op, _real: Any = real) -> Any:
            if isinstance(other, np.ndarray):
                return NotImplemented
            value = _real(float(self._x), raw(other))
            if value is NotImplemented:
                return value
            return self._decide("({} " + _op + " {})", (self, other), value)

        setattr(cls, name, compare)


class _PassesAs(type):
    """The class of a traced number compares (and hashes) equal to the builtin it stands for:
    glassgrad's dispatch asks ``type(x) in (int, float)`` (fast, exact), and a traced ``.item()``
    must take the path a float takes there (``int_tensor * 1.5`` is float32, not float64)."""

    _builtin: type

    def __eq__(cls, other: object) -> bool:
        return cls is other or other is cls._builtin

    def __hash__(cls) -> int:
        return hash(cls._builtin)


class TracedFloat(_TracedNumber, float, metaclass=_PassesAs):
    """A Python float the trace follows (a hyperparameter, ``.item()``, arithmetic on them)."""

    @classmethod
    def make(cls, value: float, var: Var) -> TracedFloat:
        t = cls(value)
        t._x, t._var = value, var
        return t


class TracedInt(_TracedNumber, int, metaclass=_PassesAs):
    """A Python int the trace follows (``.item()`` of an integer tensor).

    Its value is also checked where it is made: Python's C code reads an int subclass's value
    without asking it (``range(n)``, ``shape[:n]``, ``[0] * n``), so a use the trace cannot see
    would otherwise keep the recorded value in the code. (Not when the function only returns it,
    as an accuracy count does: ``Program`` drops that check. Left: an int both returned and read
    by such C code, unchanged over the two recordings that made the program, then changing.)
    A ``TracedFloat`` is not checked (an optimizer's step counter is one); ``math``'s functions
    are recorded as calls instead (``recording._MATH``); other C code reading one bakes it."""

    @classmethod
    def make(cls, value: int, var: Var) -> TracedInt:
        t = cls(value)
        t._x, t._var = value, var
        return t


TracedFloat._builtin, TracedInt._builtin = float, int
_install_number_methods(TracedFloat)
_install_number_methods(TracedInt)
_install_formatting(TracedFloat, "_x", "a number computed from a tensor")
_install_formatting(TracedInt, "_x", "a number computed from a tensor")
TracedFloat.__hash__ = _TracedNumber.__hash__  # type: ignore[method-assign]
TracedInt.__hash__ = _TracedNumber.__hash__  # type: ignore[method-assign]


# ---- a random generator whose draws are recorded -----------------------------------------------


class TracedGenerator:
    """Stands for a NumPy ``Generator`` while recording: each draw is a statement.

    ``getter`` is what the generated code calls to find the live generator at every call
    (the default one may be replaced by ``manual_seed``), so the draws advance the same state
    as they do eagerly.
    """

    def __init__(self, real: np.random.Generator, getter: Const) -> None:
        self._real, self._getter = real, getter

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if not callable(attr) or name.startswith("_") or name == "bit_generator":
            return attr

        def draw(*args: Any, **kwargs: Any) -> Any:
            rec = active()
            if rec is None:
                return attr(*raw(args), **raw(kwargs))
            return rec.call(
                "draw",
                name,
                (self._getter, *args),
                kwargs,
                lambda: attr(*raw(args), **raw(kwargs)),
                effect=True,
            )

        return draw
