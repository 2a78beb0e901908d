"""The Python values a compiled function reads by name: checked again before every replay.

A number the function reads from a global, a closure cell or an attribute of ``self`` enters the
generated code as a literal, and a tensor it reaches that way as that very object. When the
program rebinds the name (``scale = 3.0``, ``w = gg.randn(3)``, ``self.lr = 0.01``), replaying
the recorded code would compute with the old value: a silently wrong result. So every such
value is read again by the code's first lines and compared, by value for numbers, strings and
small containers of them, by identity for anything else; a difference records the call anew.

What is covered: the names the function's own code mentions (and the code of functions it
defines inside), looked up in its globals, its closure and, for a method, its object's
attributes; and so on for the plain functions and methods it calls by name, three calls deep.
Values reached deeper (an attribute of an attribute) are not checked here: modules count the
rebinding of theirs (``Module._config_version``), tensors have their own guards, optimizer
options are read from their groups at every call.
"""

from __future__ import annotations

import dis
import functools
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

_SCALARS = (bool, int, float, complex, str, bytes, type(None))
_MAX_ITEMS = 16  # containers of plain values up to this size are compared by value
MAX_DEPTH = 3  # functions the function calls by name, and the ones they call, this far down
_MISSING = object()


@dataclass(frozen=True)
class Read:
    """One value read by name: ``where[key]`` (a namespace dict) or ``where.cell_contents``."""

    where: Any
    key: str | None  # None: ``where`` is a closure cell
    value: Any
    label: str  # how the user's code says it: ``scale``, ``self.lr``

    @property
    def by_value(self) -> bool:
        return plain(self.value)


def plain(value: Any) -> bool:
    """A value compared by equality: numbers, strings, None, small containers of them."""
    t = type(value)
    if t in _SCALARS or (isinstance(value, np.generic) and t.__module__ == "numpy"):
        return True
    if t in (tuple, list) and len(value) <= _MAX_ITEMS:
        return all(plain(v) for v in value)
    if t is dict and len(value) <= _MAX_ITEMS:
        return all(type(k) in _SCALARS and plain(v) for k, v in value.items())
    return False


def python_reads(fn: Any, owner: Any = None) -> list[Read]:
    """The values ``fn`` reads by name now (see the module's docstring); ``owner``: the object
    a function decorated in its class body is called on (its ``self`` argument)."""
    while isinstance(fn, functools.partial):  # its own arguments are fixed: the function's reads
        fn = fn.func
    func = fn
    if isinstance(fn, types.MethodType):
        func, owner = fn.__func__, fn.__self__
    elif not isinstance(fn, types.FunctionType):
        call = type(fn).__dict__.get("__call__")
        if not isinstance(call, types.FunctionType):
            return []
        func, owner = call, fn
    reads: list[Read] = []
    seen: set[tuple[int, str]] = set()
    _visit(func, owner, reads, seen, depth=0)
    return reads


@functools.cache
def _names(code: types.CodeType) -> frozenset[str]:
    """The names the code (and code defined inside it) reads, less those it assigns itself: a
    counter the function bumps (``global calls; calls += 1``) is its own side effect, which
    runs only while a call is recorded, not a value to check."""
    names = set(code.co_names) | set(code.co_freevars)
    assigned = _assigned(code)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _names(c)
    return frozenset(names - assigned)


_STORES = {dis.opmap[n] for n in ("STORE_GLOBAL", "DELETE_GLOBAL", "STORE_ATTR")}
_STORE_DEREF = dis.opmap["STORE_DEREF"]
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]


def _assigned(code: types.CodeType) -> set[str]:
    """The global, attribute and closure names the code assigns (a walk over its bytecode:
    ``dis.get_instructions`` costs a first call a millisecond on a small training step)."""
    cell_name = getattr(code, "_varname_from_oparg", None)
    if cell_name is None:  # another interpreter: the slow, documented way
        return {
            i.argval
            for i in dis.get_instructions(code)
            if i.opname in ("STORE_GLOBAL", "STORE_ATTR", "STORE_DEREF", "DELETE_GLOBAL")
        }
    found: set[str] = set()
    ops, extended = code.co_code, 0
    for k in range(0, len(ops), 2):
        op, arg = ops[k], ops[k + 1] | extended
        if op == _EXTENDED_ARG:
            extended = arg << 8
            continue
        extended = 0
        if op in _STORES:
            found.add(code.co_names[arg])
        elif op == _STORE_DEREF:
            found.add(cell_name(arg))
    return found


def _settings_object(value: Any) -> bool:
    """An object whose attributes are plain settings (``argparse.Namespace``, a config
    dataclass): not a tensor, module, function or class, which are checked otherwise."""
    from glassgrad.nn.module import Module
    from glassgrad.tensor import Tensor

    if isinstance(value, (Tensor, Module, type, types.ModuleType, types.FunctionType)):
        return False
    if isinstance(value, (types.MethodType, types.BuiltinFunctionType)):
        return False
    d = getattr(value, "__dict__", None)
    return isinstance(d, dict) and type(value).__module__ not in ("builtins",)


def _user_function(value: Any) -> bool:
    module = getattr(value, "__module__", "") or ""
    return isinstance(value, types.FunctionType) and not module.startswith(("glassgrad", "numpy"))


def _visit(func: Any, owner: Any, reads: list[Read], seen: set[Any], depth: int) -> None:
    code = func.__code__
    names = _names(code)
    found: list[Read] = []
    space = func.__globals__
    for name in sorted(names):
        value = space.get(name, _MISSING)
        if value is _MISSING or isinstance(value, (types.ModuleType, type)) or value is func:
            continue
        found.append(Read(space, name, value, name))
    for name, cell in zip(code.co_freevars, func.__closure__ or ()):
        if name not in names:
            continue
        try:
            value = cell.cell_contents
        except ValueError:  # not bound yet
            continue
        found.append(Read(cell, None, value, name))
    attrs = getattr(owner, "__dict__", None)
    if isinstance(attrs, dict):
        for name in sorted(names & attrs.keys()):
            found.append(Read(attrs, name, attrs[name], f"self.{name}"))
    for r in list(found):  # a settings object read by name: its attributes the code names
        if r.label.count(".") < 2 and _settings_object(r.value):  # args.lr, self.cfg.dropout
            inner = vars(r.value)
            for name in sorted(names & inner.keys()):
                found.append(Read(inner, name, inner[name], f"{r.label}.{name}"))
    for r in found:
        key = (id(r.where), r.key or "")
        if key in seen or isinstance(r.value, types.ModuleType):
            continue
        seen.add(key)
        reads.append(r)
        if depth < MAX_DEPTH and _user_function(r.value):
            _visit(r.value, None, reads, seen, depth + 1)
    if depth < MAX_DEPTH and owner is not None:  # methods the function calls: self.loss()
        for name in sorted(names):
            method = getattr(type(owner), name, None)
            if _user_function(method) and method is not func and ("method", name) not in seen:
                seen.add(("method", name))
                _visit(method, owner, reads, seen, depth + 1)
