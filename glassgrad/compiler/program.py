"""From a trace to a Python function of plain NumPy calls: pruning, guards, names and code.

``Program(trace)`` keeps the statements whose results are used (an output, a gradient written to
``.grad``, a parameter updated in place, a random draw), moves each guard to just after what it
checks, names the variables after the model (``fc1_weight``, ``fc1_weight_grad``) and writes the
source: inputs read from their tensors and checked, then one line per NumPy call under a comment
saying which op, backward rule (with its formula) or optimizer it came from, then the writes
back into ``.grad`` and the tensors. ``Program.run`` is the compiled function.
"""

from __future__ import annotations

import keyword
import linecache
import math
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from glassgrad.autograd import hooks
from glassgrad.autograd.state import EPOCH
from glassgrad.compiler.ir import Const, Stmt, Var
from glassgrad.compiler.pyvalues import plain
from glassgrad.compiler.recording import Trace, _ParamRef
from glassgrad.tensor import Tensor


class Retrace(Exception):
    """A guard of the compiled code failed: the call must be recorded again (or run eagerly)."""


class Unsplittable(Exception):
    """A forward whose backward runs after the call could not be cut into two functions."""


_COUNTER = [0]
FREE_BYTES = 0  # arrays from this size on are deleted after their last use (all: W3 measured it)
REUSE_BYTES = 65536  # temporaries from this size on are computed into buffers kept across calls
_IN_PLACE_EXACT = frozenset(
    {
        np.add,
        np.subtract,
        np.multiply,
        np.true_divide,
        np.negative,
        np.positive,
        np.absolute,
        np.maximum,
        np.minimum,
        np.square,
        np.sqrt,
        np.sign,
        np.floor,
        np.ceil,
        np.trunc,
        np.rint,
        np.reciprocal,
        np.copysign,
    }
)
_SIZE_GUARDS = frozenset({"{}.shape", "len({})", "{}.size", "{}.nbytes", "{}.strides"})
_REDUCING_METHODS = frozenset({"sum", "max", "min"})
_REDUCE_KEYWORDS = frozenset({"axis", "keepdims"})
_MAKE = Tensor._make


class Program:
    """One trace turned into a function; ``source`` is its code, ``run(args)`` calls it."""

    buffers: list[tuple[Any, np.dtype]]  # (shape, dtype) of each buffer kept across calls

    def __init__(self, trace: Trace, arg_leaves: list[Any], title: str = "compiled") -> None:
        self.trace = trace
        rec = trace.rec
        self.ns: dict[str, Any] = {
            "np": np,
            "operator": operator,
            "_make": _MAKE,
            "_Retrace": Retrace,
        }
        self._objects: dict[int, str] = {}
        self._names: set[str] = set(self.ns)
        self._persistent: set[int] = set()
        self._read: dict[int, list[Var]] = {}  # id(stmt) -> the variables it reads
        self._kept_outputs: dict[int, str] = {}  # var id -> name: returned tensors a split's
        # backward reads (their versions are checked before it runs)
        self.stmts = self._unchecked_results(rec.stmts)
        self._name_vars(arg_leaves)
        kept = self._prune()
        kept = self._fold_constants(kept)
        kept = self._hoist_guards(kept)
        self.split = trace.split is not None  # a forward and a backward function (split.py)
        self.backward: Callable[..., Any] | None = None
        self.title = title
        self.source = self._emit_split(kept, title) if self.split else self._emit(kept, title)
        _COUNTER[0] += 1
        filename = f"<glassgrad.compile {title} #{_COUNTER[0]}>"
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        self.inputs = dict(self.ns)  # what the code reads (compared between two recordings)
        if self.buffers:
            specs = tuple(self.buffers)
            self.ns["_pool"] = []  # free buffer sets: one per call running at the same time
            self.ns["_new_buffers"] = lambda: tuple(np.empty(shape, dt) for shape, dt in specs)
        self._title, self._filename = title, filename
        self.statements = len(kept)
        self.watched: list[tuple[Any, Any]] = []  # (a user's array, the copy the code reads)

    def run(self, args: list[Any]) -> Any:
        """The compiled function (compiled at its first call: a program made only to be compared
        with another recording's never is)."""
        exec(compile(self.source, self._filename, "exec"), self.ns)
        run: Callable[[list[Any]], Any] = self.ns[self._title]
        self.run = run  # type: ignore[method-assign,assignment]
        if self.split:
            self.backward = self.ns[f"{self._title}_backward"]
        return run(args)

    def _reads(self, stmt: Stmt) -> list[Var]:
        found = self._read.get(id(stmt))
        if found is None:
            found = self._read[id(stmt)] = _reads(stmt)
        return found

    def _unchecked_results(self, stmts: list[Stmt]) -> list[Stmt]:
        """An int read from data is checked where it is made (``TracedInt``), except one the
        function only returns (an accuracy count's ``.item()``): nothing in the call used it."""
        returned = {v.id for v in _vars_in(self.trace.output) if v.kind == "number"}
        if not returned:
            return stmts
        used = {v.id for s in stmts if not _int_check(s) for v in self._reads(s)}
        return [s for s in stmts if not (_int_check(s) and s.args[0].id in returned - used)]

    # ---- names ----------------------------------------------------------------------------------
    def _unique(self, base: str) -> str:
        base = re.sub(r"\W", "_", base).strip("_") or "v"
        if base[0].isdigit():
            base = f"layer{base}"
        if keyword.iskeyword(base) or base in {"np", "abs", "float", "int", "bool", "len"}:
            base = f"{base}_"
        name, k = base, 1
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def _tensor(self, t: Any, base: str) -> str:
        """A tensor the code reads or writes: ``_args[i]`` for an argument, else the object."""
        i = self.trace.arg_index.get(id(t))
        return f"_args[{i}]" if i is not None else self._object(t, base)

    def _object(self, obj: Any, base: str) -> str:
        """The namespace name of an object the code reads from (a tensor, a parameter...)."""
        name = self._objects.get(id(obj))
        if name is None:
            name = self._unique(base)
            self._objects[id(obj)] = name
            self.ns[name] = obj
        return name

    def _name_vars(self, arg_leaves: list[Any]) -> None:
        trace, names = self.trace, self.trace.names
        for var, new in trace.data_writes:
            if not new.name and var.source[0] in ("tensor", "target"):
                new.name = self._unique(names.get(id(var.source[1]), "tensor"))
        for p, var in trace.grad_writes.items():
            if var is not None and not var.name and var.source is None:
                var.name = self._unique(f"{names.get(id(p), 'param')}_grad")
        for t, var in zip(trace.boundary, trace.grads):  # what a split backward returns
            if var is not None and not var.name and var.source is None:
                var.name = self._unique(f"{names.get(id(t), 'input')}_grad")
        counters: dict[str, int] = {}
        for v in trace.rec.vars:
            if v.name:
                continue
            src = v.source
            if src is None:
                continue
            kind = src[0]
            if kind == "arg":
                v.name = self._unique(src[1])
            elif kind in ("tensor", "target"):
                v.name = self._unique(names.get(id(src[1]), "tensor"))
            elif kind == "grad":
                v.name = self._unique(f"{names.get(id(src[1]), 'param')}_grad")
            elif kind == "const":
                v.name = self._unique(src[1].name)
            elif kind == "seed":  # the gradient a later backward() hands an output (split.py)
                v.name = self._unique("grad_output")
            elif kind == "group":
                _, _, i, key, k = src
                base = (
                    key if k is None else ("beta1", "beta2")[k] if key == "betas" else f"{key}_{k}"
                )
                v.name = self._unique(base if i == 0 else f"{base}_group{i}")
        for stmt in self.stmts:
            prefix = _prefix(stmt)
            for v in stmt.outs:
                if not v.name:
                    counters[prefix] = counters.get(prefix, 0) + 1
                    v.name = self._unique(f"{prefix}{counters[prefix]}")

    # ---- pruning ---------------------------------------------------------------------------------
    def _prune(self) -> list[Stmt]:
        """The statements something observable depends on, in order."""
        trace = self.trace
        live: set[int] = set()
        live_buffers: set[int] = set()
        for v in trace.rec.sources:
            if v.kind == "array" and v.source[0] in ("tensor", "grad", "arg", "target"):
                live_buffers.add(v.buffer)
                self._persistent.add(v.buffer)
        for v in _vars_in(trace.output):
            live.add(v.id)
            live_buffers.add(v.buffer)
        for _, new in trace.data_writes:
            live.add(new.id)
            live_buffers.add(new.buffer)
        for var in [*trace.grad_writes.values(), *trace.grads]:
            if var is not None:
                live.add(var.id)
                live_buffers.add(var.buffer)
        kept = []
        for stmt in reversed(self.stmts):
            needed = (
                stmt.kind == "guard"
                or stmt.effect
                or any(v.id in live for v in stmt.outs)
                or any(w.buffer in live_buffers for w in stmt.writes)
            )
            if not needed:
                continue
            kept.append(stmt)
            for v in self._reads(stmt):
                live.add(v.id)
                if v.kind == "array":
                    live_buffers.add(v.buffer)
        kept.reverse()
        return kept

    def _fold_constants(self, stmts: list[Stmt]) -> list[Stmt]:
        """Compute once what depends on no input (``np.arange(n)``, the seed ``ones * -1/N``)."""
        trace = self.trace
        written = {w.buffer for s in stmts for w in s.writes}
        escaping = {v.buffer for v in _vars_in(trace.output)}
        escaping |= {new.buffer for _, new in trace.data_writes}
        escaping |= {v.buffer for v in trace.grad_writes.values() if v is not None}
        folded: set[int] = set()
        self._folded: set[int] = set()  # their buffers
        setup: list[Stmt] = []
        body: list[Stmt] = []
        for s in stmts:
            reads = self._reads(s)
            if (
                s.kind in ("call", "method", "attr", "getitem", "guard")
                and not s.effect
                and not s.writes
                and all(v.id in folded for v in reads)
                and not any(v.buffer in written or v.buffer in escaping for v in s.outs)
                and (s.kind != "guard" or reads)
            ):
                if s.kind != "guard":  # a guard on constants held when recorded: it always holds
                    setup.append(s)
                    folded.update(v.id for v in s.outs)
                    self._folded.update(v.buffer for v in s.outs if v.kind == "array")
                continue
            body.append(s)
        if setup:
            lines = ["def _setup():"]
            for s in setup:
                lines += [f"    {line}" for line in self._statement(s, written).split("\n")]
            names = [v.name for s in setup for v in s.outs]
            lines.append(f"    return ({', '.join(names)},)")
            space = dict(self.ns)
            exec(compile("\n".join(lines) + "\n", "<glassgrad.compile constants>", "exec"), space)
            for name, value in zip(names, space["_setup"]()):
                self.ns[name] = value
            self.constants = names
        return body

    def _hoist_guards(self, stmts: list[Stmt]) -> list[Stmt]:
        """Each guard right after the last statement it depends on (most go to the top)."""
        ordinary: list[Stmt] = []  # the statements that are not guards, in order
        after: dict[int, list[Stmt]] = {}  # position in ``ordinary`` (-1: the top) -> its guards
        made: dict[int, int] = {}  # var id -> position of the statement that made it
        changed: dict[int, int] = {}  # buffer -> position of the latest statement writing it
        seen: set[tuple[str, str]] = set()
        for stmt in stmts:
            if stmt.kind != "guard":
                k = len(ordinary)
                ordinary.append(stmt)
                for v in stmt.outs:
                    made[v.id] = k
                for w in stmt.writes:
                    changed[w.buffer] = k
                continue
            if isinstance(stmt.fn, str) and stmt.fn in _SIZE_GUARDS:
                key = (self._call(stmt), repr(stmt.expected))
                if key in seen:  # a shape read twice: checking it once is enough
                    continue
                seen.add(key)
            at = -1
            for v in self._reads(stmt):
                at = max(at, made.get(v.id, -1))
                if v.kind == "array":
                    at = max(at, changed.get(v.buffer, -1))
            after.setdefault(at, []).append(stmt)
        body = list(after.get(-1, ()))
        for k, stmt in enumerate(ordinary):
            body.append(stmt)
            body += after.get(k, ())
        return body

    # ---- code ------------------------------------------------------------------------------------
    def _emit(self, stmts: list[Stmt], title: str) -> str:
        lines = [f"def {title}(_args):"]
        lines += self._prologue()
        written = {w.buffer for s in stmts for w in s.writes}
        into = self._assign_buffers(stmts)
        if self.buffers:
            names = ", ".join(f"_buffer{k + 1}" for k in range(len(self.buffers)))
            lines.append("    # buffers reused from call to call (a new set while one is in use)")
            lines.append("    _buffers = _pool.pop() if _pool else _new_buffers()")
            lines.append(f"    {names}{',' if len(self.buffers) == 1 else ''} = _buffers")
        lines += self._checked_body(stmts, written, into, self._frees(stmts))
        epilogue = self._epilogue()
        if self.buffers:
            epilogue.insert(-1, "    _pool.append(_buffers)")
        lines += epilogue
        return "\n".join(lines) + "\n"

    def _checked_body(
        self,
        stmts: list[Stmt],
        written: set[int],
        into: dict[int, str],
        frees: dict[int, list[str]],
    ) -> list[str]:
        """The function's statements; where a guard comes after something that changed lasting
        state, inside a ``try`` that undoes it if the guard fails."""
        last_guard = max((i for i, s in enumerate(stmts) if s.kind == "guard"), default=0)
        risky = [
            s
            for s in stmts[:last_guard]
            if s.effect or any(w.buffer in self._persistent for w in s.writes)
        ]
        if not risky:
            return self._body(stmts, 0, written, into, frees, "    ")
        lines = self._backup(risky)
        lines.append("    try:")
        lines += self._body(stmts, 0, written, into, frees, "        ")
        lines.append("    except _Retrace:")
        lines.append("        _undo(_backup)")
        lines.append("        raise")
        return lines

    def _body(
        self,
        stmts: list[Stmt],
        start: int,
        written: set[int],
        into: dict[int, str],
        frees: dict[int, list[str]],
        indent: str,
    ) -> list[str]:
        """The lines of ``stmts`` (``start``: the first one's position, for ``into``/``frees``),
        each op's under a comment naming it, inside ``np.errstate`` blocks where eager ran one."""
        lines: list[str] = []
        note = None
        block = None  # the np.errstate settings of the open ``with`` block
        for i, stmt in enumerate(stmts, start):
            if stmt.kind != "guard" and stmt.errstate != block:
                block = stmt.errstate
                if block is not None:  # as eager ran it: log(0) is -inf, silently (PyTorch's way)
                    settings = ", ".join(f"{k}={v!r}" for k, v in block)
                    lines.append(f"{indent}with np.errstate({settings}):")
                    note = None
            inner = indent if block is None else indent + "    "
            if stmt.note != note and stmt.kind != "guard":
                note = stmt.note
                lines.append(f"{inner}# {self._comment(note)}")
            code = self._statement(stmt, written, into.get(i))
            lines += [inner + line for line in code.split("\n")]
            if frees.get(i):
                lines.append(f"{inner}del {', '.join(frees[i])}")
        return lines

    def _emit_split(self, stmts: list[Stmt], title: str) -> str:
        """Two functions: the forward (returning what the backward reads) and the backward."""
        trace = self.trace
        backward_ids = {id(s) for s in trace.rec.stmts[trace.split :]}
        first = next(
            (i for i, s in enumerate(stmts) if s.kind != "guard" and id(s) in backward_ids),
            len(stmts),
        )
        fwd, bwd = self._forward_checks(stmts[:first], stmts[first:])
        stmts = fwd + bwd
        made_in_fwd = {v.buffer for s in fwd for v in s.outs if v.kind == "array"}
        for s in bwd:
            if s.kind == "guard":  # (_forward_checks moved or refused every one)
                raise Unsplittable(f"the backward checks a value it computes ({self._call(s)})")
            if s.effect or s.kind == "draw":
                raise Unsplittable("the backward draws random numbers or has side effects")
            for w in s.writes:
                if w.buffer in self._persistent or w.buffer in made_in_fwd:
                    raise Unsplittable("the backward writes into an array the forward made")
        self.buffers = []  # (each call's saved arrays live until its backward: no reuse)
        written = {w.buffer for s in stmts for w in s.writes}
        frees = self._frees(stmts)
        lines = [f"def {title}(_args):"]
        lines += self._prologue()
        lines += self._checked_body(fwd, written, {}, frees)
        # what the backward reads of the forward's values: returned with the outputs
        made_in_bwd = {v.id for s in bwd for v in s.outs}
        seeds = {v.id for v in trace.seeds}
        constants = set(getattr(self, "constants", ()))
        saved: dict[int, Var] = {}
        for s in bwd:
            for v in self._reads(s):
                if v.id not in made_in_bwd and v.id not in seeds and v.name not in constants:
                    saved.setdefault(v.id, v)
        holders = [
            self._holder(v)
            for v in saved.values()
            if v.source is not None
            and v.kind == "array"
            and (v.source[0] in ("tensor", "target") or (v.source[0] == "arg" and v.source[3]))
        ]
        diff = _outputs_of(trace.output, "diff")
        outputs = [f"_make({v.name})" for v in diff]
        # an output the backward reads (tanh's, a view of it) changed in place by the caller
        # before backward() raises, as eagerly: its version is checked too
        saved_buffers = {v.buffer for v in saved.values() if v.kind == "array"}
        holders += [f"_outputs[{k}]" for k, v in enumerate(diff) if v.buffer in saved_buffers]
        self._kept_outputs = {
            v.id: f"_output_{v.name}"
            for v in _outputs_of(trace.output, "tensor")  # (a detached copy of one, say)
            if v.buffer in saved_buffers
        }
        holders += list(self._kept_outputs.values())
        epilogue = self._epilogue()
        if len(epilogue) == 2:  # nothing written back
            epilogue[0] = "    # the outputs, and the arrays the backward reads"
        epilogue[-1] = f"    _outputs = ({', '.join(outputs)},)"
        for v in _outputs_of(trace.output, "tensor"):
            if v.id in self._kept_outputs:
                epilogue.append(f"    {self._kept_outputs[v.id]} = _make({v.name})")
        epilogue.append(f"    _saved = ({''.join(v.name + ', ' for v in saved.values())})")
        epilogue.append(f"    _holders = ({''.join(h + ', ' for h in holders)})")
        boundary = [self._tensor(t, "_boundary") for t in trace.boundary]
        epilogue.append(f"    _boundary = ({''.join(b + ', ' for b in boundary)})")
        epilogue.append(
            f"    return {self._output(trace.output)}, _outputs, _saved, _holders, _boundary"
        )
        lines += epilogue
        lines.append("")
        lines.append(f"def {title}_backward(_saved, _seeds):")
        lines.append(f"    # {title}'s backward: a gradient per tensor it read that requires grad")
        if saved:
            lines.append(f"    {''.join(v.name + ', ' for v in saved.values())}= _saved")
            lines.append("    _saved.clear()  # (each array is freed after its last use)")
        lines.append(f"    {''.join(v.name + ', ' for v in trace.seeds)}= _seeds")
        lines.append("    _seeds.clear()")
        lines += self._body(bwd, len(fwd), written, {}, frees, "    ")
        grads = ", ".join("None" if v is None else v.name for v in trace.grads)
        lines.append(f"    return ({grads},)")
        return "\n".join(lines) + "\n"

    def _forward_checks(self, fwd: list[Stmt], bwd: list[Stmt]) -> tuple[list, list]:
        """A check the backward makes on forward values only (erf's branches in GELU's rule):
        moved into the forward with what it reads, so that a failed check means a new recording
        and never a backward that cannot go on. A check on a value the seeds reach cannot be."""
        seeded = {v.buffer for v in self.trace.seeds}
        for s in bwd:
            if any(v.kind == "array" and v.buffer in seeded for v in self._reads(s)):
                seeded.update(v.buffer for v in [*s.outs, *s.writes] if v.kind == "array")
            elif any(v.kind != "array" and v.id in seeded for v in self._reads(s)):
                seeded.update(v.id for v in s.outs)

        # A shape is fixed by the inputs' (checked by the forward), the seeds' (the outputs')
        # and the shapes data chose (a mask's count: ``dynamic``). Where the backward chooses
        # one from forward values only, that statement moves into the forward too, and the
        # forward checks every such shape where it is made: then a check on a shape, a size or
        # a number of dimensions in the backward always holds. A shape chosen by a value the
        # seeds reach cannot be fixed.
        def key(v: Var) -> int:
            return v.buffer if v.kind == "array" else v.id

        origins = [
            s
            for s in bwd
            if any(v.dynamic for v in s.outs if v.kind == "array")
            and not any(v.dynamic for v in self._reads(s) if v.kind == "array")
        ]
        fixed = not any(key(v) in seeded for s in origins for v in self._reads(s))
        static: set[int] = set()  # numbers computed from fixed shapes only
        for s in fwd + bwd:
            reads = self._reads(s)
            if s.kind == "call" and s.fn in _SHAPE_FUNCTIONS:
                if fixed or not any(v.dynamic for v in reads if v.kind == "array"):
                    static.update(v.id for v in s.outs)
            elif s.kind in ("call", "binop", "unop") and all(v.id in static for v in reads):
                static.update(v.id for v in s.outs if v.kind == "number" and reads)

        def always_holds(guard: Stmt) -> bool:
            reads = self._reads(guard)
            if _reads_a_shape(guard):
                return fixed or not any(v.dynamic for v in reads if v.kind == "array")
            return bool(reads) and all(v.id in static for v in reads)

        kept = [s for s in bwd if not (s.kind == "guard" and always_holds(s))]
        checked = fixed and (len(kept) < len(bwd) or bool(origins))
        bwd = kept
        movers = {id(s) for s in bwd if s.kind == "guard"}
        if fixed:
            movers |= {id(s) for s in origins}
        if not movers:
            return (_with_shape_checks(fwd) if checked else fwd), bwd
        needed: set[int] = set()
        moved: set[int] = set()
        for s in reversed(bwd):
            if id(s) in movers or any(key(v) in needed for v in [*s.outs, *s.writes]):
                if any(key(v) in seeded for v in self._reads(s)):
                    raise Unsplittable(
                        "the backward checks a value the output's gradient reaches "
                        f"({self._call(s)}, in {self._comment(s.note)})"
                    )
                moved.add(id(s))
                needed.update(key(v) for v in self._reads(s))
        written = {key(w) for s in bwd if id(s) in moved for w in s.writes}
        for s in bwd:
            if id(s) not in moved and any(key(v) in written for v in self._reads(s)):
                raise Unsplittable("the backward reads an array its checks write")
        fwd = fwd + [s for s in bwd if id(s) in moved]
        return (_with_shape_checks(fwd) if checked else fwd), [s for s in bwd if id(s) not in moved]

    def _assign_buffers(self, stmts: list[Stmt]) -> dict[int, str]:
        """Which statements compute into a buffer kept across calls (``out=_buffer3``), so that a
        step allocates little: temporaries of at least ``REUSE_BYTES``, made by a ufunc, a
        matmul or a reduction, laid out in C order, that nothing keeps after the call (not
        returned, written to a tensor or handed to code outside NumPy). Buffers are shared by
        temporaries whose lives do not overlap, as a register allocator would: a step holds
        about its peak of temporaries, not their sum."""
        trace = self.trace
        escaping = {v.buffer for v in _vars_in(trace.output)}
        escaping |= {new.buffer for _, new in trace.data_writes}
        escaping |= {v.buffer for v in trace.grad_writes.values() if v is not None}
        escaping |= {v.buffer for v in trace.rec.sources if v.kind == "array"}
        escaping |= self._folded  # constants computed once, read by every call
        last: dict[int, int] = {}
        for i, s in enumerate(stmts):
            used = [*self._reads(s), *s.outs, *s.writes]
            for v in used:
                if v.kind == "array":
                    last[v.buffer] = i
            if not _numpy_only(s):
                escaping.update(v.buffer for v in used if v.kind == "array")
        created = {v.id for s in stmts for v in s.outs if v.kind == "array" and v.buffer == v.id}
        self.buffers = []
        free: dict[tuple[Any, np.dtype], list[int]] = {}
        held: dict[int, tuple[int, int]] = {}  # trace buffer -> (its last use, buffer index)
        into: dict[int, str] = {}
        for i, s in enumerate(stmts):
            for b, (end, k) in list(held.items()):
                if end < i:
                    free.setdefault(self.buffers[k], []).append(k)
                    del held[b]
            result = _reusable(s)
            if result is None or result.buffer in escaping:
                continue
            size = math.prod(result.shape) * result.dtype.itemsize
            if size < max(REUSE_BYTES, 1):
                continue
            spec = (result.shape, result.dtype)
            # an exactly rounded elementwise ufunc may write over an operand it reads for the
            # last time (NumPy runs other loops, such as exp's or complex division's, through a
            # different kernel when the output overlaps an input: other bits)
            if s.fn in _IN_PLACE_EXACT and result.dtype.kind in "fiub":
                dying = [
                    a
                    for a in s.args
                    if isinstance(a, Var)
                    and a.id in created
                    and a.buffer not in escaping
                    and last.get(a.buffer) == i
                    and a.contiguous
                    and (a.shape, a.dtype) == spec
                ]
                if dying:
                    a = dying[0]
                    if a.buffer in held:
                        k = held.pop(a.buffer)[1]
                        held[result.buffer] = (last[result.buffer], k)
                        into[i] = f"_buffer{k + 1}"
                    else:
                        into[i] = a.name
                    continue
            ready = free.get(spec)
            if ready:
                k = ready.pop()
            else:
                k = len(self.buffers)
                self.buffers.append(spec)
            held[result.buffer] = (last[result.buffer], k)
            into[i] = f"_buffer{k + 1}"
        return into

    def _frees(self, stmts: list[Stmt]) -> dict[int, list[str]]:
        """Arrays let go right after their last use, as eager code drops its temporaries: memory
        stays at eager's peak, and the allocator (NumPy's cache of small buffers, glibc's heap)
        hands out what is warm instead of fresh memory at every call. A ``del`` costs less than
        what it saves even on W3's arrays of 16 floats (1.20x → 1.08x hand-written NumPy)."""
        trace = self.trace
        keep = {v.id for v in _vars_in(trace.output)}
        keep |= {new.id for _, new in trace.data_writes}
        keep |= {v.id for v in [*trace.grad_writes.values(), *trace.grads] if v is not None}
        constants = set(getattr(self, "constants", ()))
        last: dict[int, tuple[int, Var]] = {}
        for i, s in enumerate(stmts):
            for v in [*self._reads(s), *s.outs]:
                last[v.id] = (i, v)
        frees: dict[int, list[str]] = {}
        for i, v in last.values():
            if (
                v.id in keep
                or v.kind != "array"
                or v.name in constants
                or v.shape is None
                or math.prod(v.shape) * v.dtype.itemsize < FREE_BYTES
            ):
                continue
            frees.setdefault(i, []).append(v.name)
        return frees

    def _prologue(self) -> list[str]:
        trace, out = self.trace, ["    # inputs: read at every call; a change re-records the call"]
        for v in trace.rec.sources:
            src = v.source
            kind = src[0]
            if kind == "arg":
                leaf = f"_args[{src[2]}]"
                out.append(f"    {v.name} = {leaf}._data" if src[3] else f"    {v.name} = {leaf}")
            elif kind == "tensor":
                t = self._object(src[1], f"_{v.name}_tensor")
                out.append(f"    {v.name} = {t}._data")
                out.append(
                    f"    if {v.name}.shape != {v.shape!r} or {v.name}.dtype != "
                    f"{self._dtype_object(v.dtype)} or "
                    f"{t}.requires_grad is not {src[1].requires_grad}:"
                )
                out.append("        raise _Retrace")
            elif kind == "grad":
                p = self._tensor(src[1], f"_{v.name}_of")
                out.append(f"    _{v.name} = {p}._grad")
                out.append(f"    if _{v.name} is None:")
                out.append("        raise _Retrace")
                out.append(f"    {v.name} = _{v.name}._data")
                out.append(
                    f"    if {v.name}.shape != {v.shape!r} or "
                    f"{v.name}.dtype != {self._dtype_object(v.dtype)}:"
                )
                out.append("        raise _Retrace")
            elif kind == "const":
                copy = ".copy(order='K')" if v.buffer in self._written_buffers() else ""
                out.append(f"    {v.name} = {self._const(src[1])}{copy}")
            elif kind == "group":
                _, opt, i, key, k = src
                group = self._object(opt.param_groups[i], f"_group{i}")
                index = f"[{k}]" if k is not None else ""
                out.append(f"    {v.name} = {group}[{key!r}]{index}")
                out.append(f"    if type({v.name}) is not float:")
                out.append("        raise _Retrace")
        out += self._python_guards()
        self.ns["_HOOKS"] = hooks.VERSION
        out.append(f"    if _HOOKS[0] != {hooks.VERSION[0]}:  # a hook added or removed since")
        out.append("        raise _Retrace")
        for opt in trace.optimizers:  # a group added, a state loaded: other parameters, state
            name = self._object(opt, f"_{type(opt).__name__.lower()}")
            out.append(
                f"    if {name}._structure_version != {getattr(opt, '_structure_version', 0)} "
                f"or len({name}.param_groups) != {len(opt.param_groups)}:"
            )
            out.append("        raise _Retrace")
        for group, key, value in trace.rec.group_guards:
            g = self._object(group, "_group")
            out.append(f"    if {g}[{key!r}] != {value!r}:")
            out.append("        raise _Retrace")
        for m in trace.modules:
            mod = self._object(m, f"_{type(m).__name__.lower()}")
            out.append(
                f"    if {mod}.training is not {m.training} or "
                f"{mod}._config_version != {m.__dict__.get('_config_version', 0)}:"
            )
            out.append("        raise _Retrace")
        return out

    def _python_guards(self) -> list[str]:
        """The values the function read by name, read again and compared (``pyvalues``)."""
        reads = self.trace.python_reads
        if not reads:
            return []
        out = ["    # Python values the function reads by name: a change re-records the call"]
        for r in reads:
            if r.key is None:
                src = f"{self._object(r.where, f'_{r.label}_cell')}.cell_contents"
            else:
                owner = r.label.rsplit(".", 1)[0].replace(".", "_")
                space = "module_globals" if r.key == r.label else f"{owner}_attributes"
                src = f"{self._object(r.where, space)}.get({r.key!r})"
            value = r.value
            if r.by_value:
                if value is None or type(value) is bool:
                    out.append(f"    if {src} is not {value!r}:")
                else:  # the type too: 1 and 1.0 and True compare equal, but compute differently
                    out.append(f"    _value = {src}")
                    kind = type(value)
                    type_name = (
                        f"np.{kind.__name__}" if issubclass(kind, np.generic) else kind.__name__
                    )
                    out.append(
                        f"    if type(_value) is not {type_name} or _value != {self._expr(value)}:"
                    )
            else:
                obj = self._object(value, _label_name(r.label))
                tests = [f"_value is not {obj}"]
                if type(value) in (list, tuple):
                    tests.append(f"len(_value) != {len(value)}")
                    for i, item in enumerate(value[:64]):  # a tensor put in a list in its place
                        if not plain(item):
                            item_obj = self._object(item, f"{_label_name(r.label)}_{i}")
                            tests.append(f"_value[{i}] is not {item_obj}")
                out.append(f"    _value = {src}")
                if len(tests) == 1:
                    out.append(f"    if {tests[0]}:")
                else:
                    out.append("    if (")
                    out.append(f"        {tests[0]}")
                    out += [f"        or {t}" for t in tests[1:]]
                    out.append("    ):")
            out.append("        raise _Retrace")
        return out

    def _written_buffers(self) -> set[int]:
        return {w.buffer for s in self.stmts for w in s.writes}

    def _backup(self, risky: list[Stmt]) -> list[str]:
        written = {w.buffer for s in risky for w in s.writes} & self._persistent
        arrays = sorted(
            {v.name for v in self.trace.rec.sources if v.kind == "array" and v.buffer in written}
        )
        gens = sorted({self._expr(s.args[0]) for s in risky if s.kind == "draw"})
        self.ns["_undo"] = _undo
        parts = [f"({a}, {a}.copy())" for a in arrays]
        parts += [f"({g}(), {g}().bit_generator.state)" for g in gens]
        return [f"    _backup = [{', '.join(parts)}]"]

    def _epilogue(self) -> list[str]:
        trace, out = self.trace, ["    # write back: gradients, updated tensors, versions"]
        for p, var in trace.grad_writes.items():
            if var is None and trace.grad_entry.get(id(p)) is None:
                continue  # None when the call began (a guard says so) and None again
            name = self._tensor(p, f"_{trace.names.get(id(p), 'param')}")
            value = "None" if var is None else f"_make({var.name})"
            out.append(f"    {name}._grad = {value}")
        for var, new in trace.data_writes:
            out.append(f"    {self._holder(var)}._data = {new.name}")
        for var, delta in trace.versions:
            out.append(f"    {self._holder(var)}._vc[0] += {delta}")
        if trace.epoch_bumped:
            self.ns["_EPOCH"] = EPOCH
            out.append("    _EPOCH[0] += 1")
        out.append(f"    return {self._output(trace.output)}")
        return out

    def _holder(self, var: Var) -> str:
        """The tensor a source array came from, as the code names it."""
        kind, src = var.source[0], var.source
        if kind == "arg":
            return f"_args[{src[2]}]"
        if kind == "grad":
            return f"_{var.name}"  # bound in the prologue: the .grad tensor the call began with
        return self._object(src[1], f"_{var.name}_tensor")

    def _output(self, x: Any) -> str:
        kind = x[0]
        if kind == "tensor":
            kept = self._kept_outputs.get(x[1].id)
            return kept or f"_make({x[1].name})"
        if kind in ("number", "array"):
            return x[1].name
        if kind == "diff":  # an output the backward function differentiates (split.py)
            return f"_outputs[{x[2]}]"
        if kind == "seq":
            parts = [self._output(y) for y in x[2]]
            if x[1] is tuple:
                return f"({', '.join(parts)}{',' if len(parts) == 1 else ''})"
            if x[1] is list:
                return f"[{', '.join(parts)}]"
            items = ", ".join(parts) + ("," if len(parts) == 1 else "")
            return f"{self._object(x[1], '_seq')}(({items}))"
        if kind == "dict":
            return "{" + ", ".join(f"{k!r}: {self._output(v)}" for k, v in x[1]) + "}"
        if kind == "object" and isinstance(x[1], Tensor):
            return self._tensor(x[1], "_value")  # an argument (in a list too): this call's
        return self._object(x[1], "_value") if kind == "object" else repr(x[1])

    def _comment(self, note: str) -> str:
        if note.startswith("backward:"):
            from glassgrad.viz.rules import rule

            name = note[len("backward:") :]
            r = rule(name)
            return f"{name}: {r.symbols}" if not r.generic else f"{name} (backward)"
        if note.startswith("forward:"):
            return note[len("forward:") :]
        if note.startswith("optimizer:"):
            return note[len("optimizer:") :]
        return note or "your code"

    # ---- one statement ---------------------------------------------------------------------------
    def _statement(self, s: Stmt, written: set[int], into: str | None = None) -> str:
        call = self._call(s) if into is None else self._call_into(s, into)
        if s.kind == "guard":
            expected = s.expected
            if isinstance(expected, bool) or expected is None:
                return f"if ({call}) is not {expected}:\n    raise _Retrace"
            return f"if ({call}) != {self._literal(expected)}:\n    raise _Retrace"
        if s.kind in ("setitem", "setattr"):
            return call
        if not s.outs:
            return call
        if s.scalar_out and s.outs[0].buffer in written:
            call = f"np.asarray({call})"
        targets = ", ".join(v.name for v in s.outs)
        if len(s.outs) > 1 or s.tuple_out:
            targets += ","
        if len(s.outs) == 1 and s.writes and s.outs[0] is s.writes[0] and s.kind != "method":
            return call  # np.add(a, b, out=(a,)) or a += b: the result is the output array itself
        return f"{targets} = {call}"

    def _call(self, s: Stmt) -> str:
        kind = s.kind
        if kind == "call" and s.fn in _OPERATORS:
            text = self._operator(s)
            if text is not None:
                return text
        if kind == "guard":
            if isinstance(s.fn, Stmt):
                return self._call(s.fn)
            return s.fn.format(*(self._expr(a) for a in s.args))
        args = self._arguments(
            s.args[1:] if kind in ("method", "attr", "getitem", "draw", "setattr") else s.args,
            s.kwargs,
        )
        if kind == "call":
            return f"{self._callable(s.fn)}({args})"
        if kind == "method":
            return f"{self._expr(s.args[0])}.{s.fn}({args})"
        if kind == "attr":
            return f"{self._expr(s.args[0])}.{s.fn}"
        if kind == "setattr":
            return f"{self._expr(s.args[0])}.{s.fn} = {self._expr(s.args[1])}"
        if kind == "getitem":
            return f"{self._expr(s.args[0])}[{self._index(s.args[1])}]"
        if kind == "setitem":
            return f"{self._expr(s.args[0])}[{self._index(s.args[1])}] = {self._expr(s.args[2])}"
        if kind == "binop":
            return f"{self._expr(s.args[0])} {s.fn} {self._expr(s.args[1])}"
        if kind == "unop":
            return (
                f"abs({self._expr(s.args[0])})"
                if s.fn == "abs"
                else f"{s.fn}{self._expr(s.args[0])}"
            )
        if kind == "draw":
            return f"{self._expr(s.args[0])}().{s.fn}({args})"
        raise AssertionError(kind)

    def _call_into(self, s: Stmt, into: str) -> str:
        """The call with ``out=`` a reused buffer (see ``_assign_buffers``)."""
        if s.kind == "method":
            args = self._arguments(s.args[1:], s.kwargs)
            return f"{self._expr(s.args[0])}.{s.fn}({args}{', ' if args else ''}out={into})"
        return f"{self._callable(s.fn)}({self._arguments(s.args, s.kwargs)}, out={into})"

    def _operator(self, s: Stmt) -> str | None:
        """``a + b`` for ``np.add(a, b)`` (and ``a += b`` for ``out=(a,)``): the same ufunc
        call for arrays, and NumPy's fast scalar arithmetic for the 0-d results of reductions.
        Only where an operand is an array: on two Python numbers an operator is Python's own."""
        args, kwargs, symbol = s.args, dict(s.kwargs), _OPERATORS[s.fn]
        if not any(isinstance(a, Var) and a.kind == "array" for a in args):
            return None
        if kwargs.get("casting") == "same_kind":
            del kwargs["casting"]
        out = kwargs.pop("out", None)
        if kwargs:
            return None
        if len(args) == 1 and symbol in ("-", "~", "abs"):
            if out is not None:
                return None
            x = self._expr(args[0])
            return f"abs({x})" if symbol == "abs" else f"{symbol}{x}"
        if len(args) != 2 or symbol in ("~", "abs"):
            return None
        a, b = (self._expr(x) for x in args)
        if out is None:
            return f"{a} {symbol} {b}"
        if isinstance(out, tuple) and len(out) == 1 and out[0] is args[0]:
            return f"{a} {symbol}= {b}"
        return None

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        parts = [self._expr(a) for a in args]
        parts += [f"{k}={self._expr(v)}" for k, v in kwargs.items()]
        return ", ".join(parts)

    def _index(self, index: Any) -> str:
        if type(index) is tuple:
            if not index:
                return "()"
            return ", ".join(self._index_part(i) for i in index) + ("," if len(index) == 1 else "")
        return self._index_part(index)

    def _index_part(self, i: Any) -> str:
        if type(i) is slice:
            parts = ["" if x is None else self._expr(x) for x in (i.start, i.stop, i.step)]
            text = f"{parts[0]}:{parts[1]}"
            return text if not parts[2] else f"{text}:{parts[2]}"
        return self._expr(i)

    def _expr(self, x: Any) -> str:
        if isinstance(x, Var):
            return x.name
        if isinstance(x, Const):
            return self._const(x)
        if isinstance(x, _ParamRef):
            return self._tensor(x.p, "_param")
        t = type(x)
        if t is tuple:
            inner = ", ".join(self._expr(y) for y in x)
            return f"({inner},)" if len(x) == 1 else f"({inner})"
        if t is list:
            return "[" + ", ".join(self._expr(y) for y in x) + "]"
        if t is dict:
            return "{" + ", ".join(f"{k!r}: {self._expr(v)}" for k, v in x.items()) + "}"
        if t is slice:
            return f"slice({self._expr(x.start)}, {self._expr(x.stop)}, {self._expr(x.step)})"
        if x is Ellipsis:
            return "..."
        return self._literal(x)

    def _literal(self, x: Any) -> str:
        if type(x) is float and not math.isfinite(x):
            return f"float({str(x)!r})"
        if isinstance(x, np.generic):
            value = x.item()
            if isinstance(value, float) and not math.isfinite(value):
                return f"np.{type(x).__name__}({str(value)!r})"
            return repr(x)
        if type(x) in (int, float, bool, str, complex) or x is None:
            return repr(x)
        if isinstance(x, (list, tuple)):
            return self._expr(x)
        return self._object(x, "_value")

    def _const(self, c: Const) -> str:
        value = c.value
        if isinstance(value, _ParamRef):
            return self._tensor(value.p, "_param")
        if isinstance(value, np.dtype):
            return self._dtype(value)
        if isinstance(value, type) and getattr(np, value.__name__, None) is value:
            return f"np.{value.__name__}"  # type: ignore[union-attr]
        return self._object(value, c.name)

    def _dtype(self, d: np.dtype) -> str:
        if (
            d.isnative
            and getattr(np, d.name, None) is not None
            and np.dtype(getattr(np, d.name)) == d
        ):
            return f"np.{d.name}"
        return self._object(d, "dtype")

    def _dtype_object(self, d: np.dtype) -> str:
        """A name bound to the dtype itself (comparing with it is cheaper than ``np.float32``)."""
        return self._object(d, f"_{d.name}") if d.isnative else self._object(d, "_dtype")

    def _callable(self, fn: Any) -> str:
        if isinstance(fn, np.ufunc):
            uname = str(getattr(fn, "__name__", ""))
            if getattr(np, uname, None) is fn:
                return f"np.{uname}"
            return self._object(fn, uname.strip("_") or "ufunc")
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, np.ufunc):
            uname = str(getattr(owner, "__name__", ""))
            if getattr(np, uname, None) is owner:
                return f"np.{uname}.{fn.__name__}"
            return f"{self._object(owner, uname.strip('_') or 'ufunc')}.{fn.__name__}"
        module, name = getattr(fn, "__module__", None) or "", getattr(fn, "__name__", "")
        if module.startswith("numpy") and name:
            path = "np" + module[len("numpy") :] + "." + name
            for candidate in (path, f"np.{name}"):
                try:
                    found = eval(candidate, {"np": np})
                except AttributeError:
                    continue
                if found is fn:
                    return candidate
        return self._object(fn, name or "function")


_OPERATORS = {
    np.add: "+",
    np.subtract: "-",
    np.multiply: "*",
    np.true_divide: "/",
    np.floor_divide: "//",
    np.remainder: "%",
    np.power: "**",
    np.matmul: "@",
    np.less: "<",
    np.less_equal: "<=",
    np.greater: ">",
    np.greater_equal: ">=",
    np.equal: "==",
    np.not_equal: "!=",
    np.bitwise_and: "&",
    np.bitwise_or: "|",
    np.bitwise_xor: "^",
    np.negative: "-",
    np.invert: "~",
    np.absolute: "abs",
}


def _prefix(stmt: Stmt) -> str:
    note = stmt.note
    if note.startswith("backward:"):
        return "grad"
    if note.startswith("optimizer:"):
        return "upd"
    if note.startswith("forward:"):
        name = note.rsplit(" ", 1)[-1].split(":")[-1]
        return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() + "_"
    return "t"


def _reads(stmt: Stmt) -> list[Var]:
    found = stmt.reads()
    if isinstance(stmt.fn, Stmt):
        found += stmt.fn.reads()
    return found


def _int_check(s: Stmt) -> bool:
    """The check of an int read from data, made where it is made (see ``TracedInt``)."""
    return s.kind == "guard" and s.fn == "{}"


def _label_name(label: str) -> str:
    return label.replace("self.", "self_")


def _numpy_only(s: Stmt) -> bool:
    """The statement hands its arrays to NumPy alone, which keeps no reference to them."""
    if s.kind in ("method", "attr", "getitem", "setitem", "binop", "unop", "guard", "draw"):
        return True
    if s.kind != "call":
        return False
    fn = s.fn
    if isinstance(fn, np.ufunc) or isinstance(getattr(fn, "__self__", None), np.ufunc):
        return True
    return str(getattr(fn, "__module__", None) or "").startswith("numpy")


def _reusable(s: Stmt) -> Var | None:
    """The new C-ordered array a ufunc, matmul or float reduction returns, which ``out=`` can
    take instead (same loop, same dtype, same layout: the same bits)."""
    if len(s.outs) != 1 or s.writes or s.effect or s.scalar_out or s.tuple_out:
        return None
    v = s.outs[0]
    if v.kind != "array" or not v.contiguous or v.buffer != v.id or v.shape is None:
        return None
    if s.kind == "call":
        fn = s.fn
        if isinstance(fn, np.ufunc):
            if fn.nout != 1 or s.kwargs:
                return None
            return v
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, np.ufunc) and getattr(fn, "__name__", "") == "reduce":
            reads = s.args[0] if s.args else None
            if set(s.kwargs) <= _REDUCE_KEYWORDS and _same_float(reads, v):
                return v
        return None
    if (
        s.kind == "method"
        and s.fn in _REDUCING_METHODS
        and set(s.kwargs) <= _REDUCE_KEYWORDS
        and len(s.args) == 1
        and _same_float(s.args[0], v)
    ):
        return v
    return None


def _same_float(x: Any, v: Var) -> bool:
    return isinstance(x, Var) and x.kind == "array" and x.dtype == v.dtype and v.dtype.kind in "fc"


def _vars_in(x: Any) -> list[Var]:
    if x is None:
        return []
    kind = x[0]
    if kind in ("tensor", "number", "array", "diff"):
        return [x[1]]
    if kind == "seq":
        return [v for y in x[2] for v in _vars_in(y)]
    if kind == "dict":
        return [v for _, y in x[1] for v in _vars_in(y)]
    return []


_SHAPE_FUNCTIONS = frozenset({np.size, np.ndim, np.shape})


def _with_shape_checks(stmts: list[Stmt]) -> list[Stmt]:
    """``stmts`` with a check of each shape chosen by data (``dynamic``) right where it is made."""
    out: list[Stmt] = []
    for s in stmts:
        out.append(s)
        for v in s.outs:
            if v.kind == "array" and v.dynamic:
                out.append(Stmt("guard", "{}.shape", (v,), {}, [], note=s.note, expected=v.shape))
    return out


def _reads_a_shape(guard: Stmt) -> bool:
    """Does this check compare only a shape, a size or a number of dimensions?"""
    if isinstance(guard.fn, str):
        return guard.fn in _SIZE_GUARDS
    inner = guard.fn
    return isinstance(inner, Stmt) and inner.kind == "call" and inner.fn in _SHAPE_FUNCTIONS


def _outputs_of(x: Any, kind: str) -> list[Var]:
    """The returned values of a kind, in order: ``"diff"``, the outputs a later backward() may
    differentiate (``("diff", var, k)``, by ``k``); ``"tensor"``, the other tensors."""
    found: dict[int, Var] = {}

    def visit(y: Any) -> None:
        if y is None:
            return
        if y[0] == kind:
            found[y[2] if kind == "diff" else len(found)] = y[1]
        elif y[0] == "seq":
            for z in y[2]:
                visit(z)
        elif y[0] == "dict":
            for _, z in y[1]:
                visit(z)

    visit(x)
    return [found[k] for k in sorted(found)]


def _undo(backup: list[tuple[Any, Any]]) -> None:
    for target, saved in backup:
        if isinstance(target, np.ndarray):
            np.copyto(target, saved)
        else:
            target.bit_generator.state = saved
