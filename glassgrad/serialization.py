"""``glassgrad.save`` / ``glassgrad.load``: checkpoints in a documented format that runs no code.

What can be saved: a ``Tensor`` or NumPy array, a number, string, bool or None, and dicts, lists,
tuples and sets nesting them: model and optimizer ``state_dict()``s, epoch counters, and the RNG
states of ``numpy.random.Generator.bit_generator.state``; and whole models (``save(model, f)``, as
``torch.save(model, f)``): an ``nn.Module`` is stored as its class's import path and its attributes,
sub-modules included, and functions it holds (an activation such as ``F.gelu``) by import path.
Lambdas, functions defined inside functions, open files and other objects are refused with a
``TypeError`` naming where they sit (``save: can't store model.foo (a lambda): ...``).

Loading a model (no pickle, no ``__init__``): each module is made with ``cls.__new__(cls)`` and its
attributes are set back, only for classes ``load`` is allowed to rebuild: glassgrad's own, and
those the caller names, as PyTorch's ``weights_only`` loading asks::

    with glassgrad.serialization.safe_globals([RNNModel, glassgrad.nn.modules.rnn.LSTM]):
        model = glassgrad.load(f)

(or ``add_safe_globals([...])`` once). Functions referenced by a model are allowed the same way.
Names are matched against the allowed objects themselves, so nothing is imported but glassgrad's
modules (and those named in a ``"module.qualname"`` string); any other class or function raises an
``UnsafeGlobalError`` (a ``ValueError``) naming it and the two ways out: allow it, or save
``model.state_dict()`` instead.

The format
----------
One ZIP archive written by ``np.savez`` (a standard ``.npz``, whatever the file is named):

- ``__glassgrad__``: a uint8 array holding UTF-8 JSON, the header
  ``{"format": "glassgrad", "version": 1, "root": NODE}``;
- ``a0``, ``a1``, ...: one ``.npy`` entry per distinct array or tensor.

A ``NODE`` is a JSON object tagged by ``"t"``:

- ``{"t": "none"}``, ``{"t": "bool", "v": true}``, ``{"t": "str", "v": "..."}``;
- ``{"t": "int", "v": "123"}``: ints as decimal strings, so any size round-trips (the 128-bit
  state of PCG64) and no JSON reader rounds them; an int of more than 4,000 digits is written in
  hexadecimal (``"0x..."``, ``"-0x..."``), which Python parses at any length;
- ``{"t": "float", "v": "0.1"}``: floats as ``repr``, exact, ``nan`` and ``inf`` included;
- ``{"t": "list", "items": [NODE, ...]}`` and the same with ``"tuple"``;
- ``{"t": "dict", "items": [[KEY, NODE], ...]}``: keys are nodes too, so int keys stay ints
  (optimizer state); ``"ordered": true`` marks an ``OrderedDict``;
- ``{"t": "set", "items": [NODE, ...]}`` and the same with ``"frozenset"`` (members are None,
  bools, numbers or strings);
- ``{"t": "dtype", "v": "float32"}``: a dtype object (``torch.float32``), by its name;
- ``{"t": "tensor", "key": "a0", "dtype": "float32", "shape": [2, 3], "requires_grad": false}``,
  with ``"parameter": true`` for an ``nn.Parameter``; ``"ndarray"`` and ``"scalar"`` nodes, with
  the same ``key``/``dtype``/``shape`` fields, are NumPy arrays and NumPy scalars;
- ``{"t": "module", "id": "m0", "module": "glassgrad.nn.linear", "qualname": "Linear",
  "attrs": [[NAME, NODE], ...]}``: an ``nn.Module``, its class's import path and its
  ``__dict__`` in order (``_parameters``, ``_buffers`` and ``_modules`` are dict nodes holding
  tensors and module nodes); ``{"t": "ref", "id": "m0"}`` is that same module again (a layer
  used twice, or an attribute pointing back up the tree);
- ``{"t": "global", "module": "glassgrad.nn.functional", "qualname": "gelu"}``: a function or
  class, by import path.

A tensor that appears twice (tied weights) is stored once and loads as one object; a module that
appears twice loads as one module. Containers
nest at most ``MAX_DEPTH`` (100) deep: ``save`` refuses deeper data with a ``ValueError`` naming
where, and ``load`` refuses a header that nests deeper.

Safety and atomicity: ``load`` reads with ``np.load(..., allow_pickle=False)`` and parses JSON,
so a file can hold no code to run. ``save`` writes a temporary file beside the target, flushes and
fsyncs it, then ``os.replace``s it over the target: a crash mid-save leaves the previous checkpoint
intact. A damaged file, or a file glassgrad did not write, raises one ``ValueError`` naming it
and saying why: not a glassgrad checkpoint (text, random bytes, another archive, a pickle), or a
corrupt one (damaged archive or header).

PyTorch's own checkpoints (``torch.save``'s ZIP format) of tensors and containers load too, as
glassgrad tensors and Parameters: a state dict trained with PyTorch, or the dict a training script
saves to resume from (``glassgrad._torch_checkpoint``). Their pickle is read by an unpickler that
rebuilds nothing but containers, numbers and tensors, as PyTorch's ``weights_only`` loading does;
a whole pickled PyTorch model is refused by name.

>>> import glassgrad as gg, tempfile, os
>>> from glassgrad.serialization import load, save
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
>>> save({"w": gg.ones(2), "step": 3, 0: (1.5, None)}, path)
>>> load(path)
{'w': tensor([1., 1.]), 'step': 3, 0: (1.5, None)}
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import secrets
import sys
import threading
import types
from collections import OrderedDict
from typing import IO, Any

import numpy as np

from glassgrad import dtypes
from glassgrad.tensor import Tensor

__all__ = [
    "UnsafeGlobalError",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "load",
    "safe_globals",
    "save",
]

HEADER_KEY = "__glassgrad__"
FORMAT_VERSION = 1
MAX_DEPTH = 100  # containers nested deeper are refused (JSON and this code recurse per level)
_HEX_DIGITS = 4000  # ints longer than this are stored in hex (CPython caps decimal at 4,300)
PathOrFile = str | os.PathLike[str] | IO[bytes]


# ---- encoding --------------------------------------------------------------------------------


class _Encoder:
    """Walks an object, collecting arrays under generated keys and building the JSON tree."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: dict[int, str] = {}  # id(tensor or array) -> its key, to store it once
        self.keep: list[Any] = []  # keeps encoded objects alive so their ids stay unique
        self.path: set[int] = set()  # containers on the current path, to catch cycles
        self.objects: dict[int, tuple[str, str]] = {}  # id(module) -> (its node id, first path)

    def array_node(self, tag: str, obj: Any, arr: np.ndarray, where: str) -> dict[str, Any]:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"save: {where} has dtype {arr.dtype}; only numeric arrays are stored")
        key = self.seen.get(id(obj))
        if key is None:
            key = self.seen[id(obj)] = f"a{len(self.arrays)}"
            self.arrays[key] = arr
            self.keep.append(obj)
        node: dict[str, Any] = {
            "t": tag,
            "key": key,
            "dtype": arr.dtype.name,
            "shape": list(arr.shape),
        }
        if isinstance(obj, Tensor):
            node["requires_grad"] = bool(obj.requires_grad)
            if type(obj).__name__ == "Parameter":
                node["parameter"] = True
        return node

    def encode(self, obj: Any, where: str, depth: int = 0) -> dict[str, Any]:
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, bool):
            return {"t": "bool", "v": obj}
        if isinstance(obj, int):
            obj = int(obj)
            if obj.bit_length() > _HEX_DIGITS * 3:  # ~4,000 decimal digits or more
                return {"t": "int", "v": hex(obj)}
            return {"t": "int", "v": str(obj)}
        if isinstance(obj, float):
            return {"t": "float", "v": repr(float(obj))}
        if isinstance(obj, str):
            return {"t": "str", "v": obj}
        if isinstance(obj, Tensor):
            return self.array_node("tensor", obj, obj._data, where)
        if isinstance(obj, dtypes.dtype):  # (a config's ``dtype=torch.float64``)
            return {"t": "dtype", "v": repr(obj).removeprefix("torch.")}
        if isinstance(obj, np.ndarray):
            return self.array_node("ndarray", obj, obj, where)
        if isinstance(obj, np.generic):
            return self.array_node("scalar", obj, np.asarray(obj), where)
        if _is_module(obj):
            return self.module(obj, where, depth)
        if isinstance(obj, (set, frozenset)):
            tag = "frozenset" if isinstance(obj, frozenset) else "set"
            for v in obj:
                if not (v is None or isinstance(v, (bool, int, float, str))):
                    raise TypeError(
                        f"save: can't store {_clip(where)} (a {tag} holding a "
                        f"{type(v).__name__}): sets are stored only with str, int, float, bool "
                        f"or None members"
                    )
            return {"t": tag, "items": [self.encode(v, where, depth + 1) for v in obj]}
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
            return self.global_ref(obj, where)
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self.path:
                raise ValueError(f"save: {_clip(where)} contains itself (a reference cycle)")
            if depth >= MAX_DEPTH:
                raise ValueError(
                    f"save: {_clip(where)} nests containers more than {MAX_DEPTH} deep; "
                    f"glassgrad.save stores dicts, lists and tuples nested at most {MAX_DEPTH} deep"
                )
            self.path.add(id(obj))
            try:
                return self.container(obj, where, depth + 1)
            finally:
                self.path.discard(id(obj))
        raise TypeError(
            f"save: can't store {_clip(where)} ({_describe(obj)}): glassgrad.save stores tensors, "
            f"NumPy arrays, numbers, strings, None, dicts, lists, tuples and sets of them, "
            f"nn.Module objects, and functions and classes importable by name"
        )

    def module(self, obj: Any, where: str, depth: int) -> dict[str, Any]:
        """A Module: its class's import path and its ``__dict__``, attribute by attribute."""
        known = self.objects.get(id(obj))
        if known is not None:  # shared (or a cycle back to a module being written): a reference
            return {"t": "ref", "id": known[0]}
        if depth >= MAX_DEPTH:
            raise ValueError(
                f"save: {_clip(where)} nests modules and containers more than {MAX_DEPTH} deep"
            )
        cls = type(obj)
        node_id = f"m{len(self.objects)}"
        self.objects[id(obj)] = (node_id, where)
        self.keep.append(obj)
        state = obj.__dict__
        attrs = []
        transient = getattr(cls, "_transient_attributes", ())  # rebuilt on use (compile's code)
        for name, value in state.items():
            if name in transient:
                continue
            if not isinstance(name, str):
                raise TypeError(f"save: {_clip(where)} has a non-string attribute name {name!r}")
            if name in _REGISTRIES and isinstance(value, dict):
                # parameters, buffers and sub-modules are named as attributes: model.rnn.weight
                items = []
                for k, v in value.items():
                    if not isinstance(k, str):
                        raise TypeError(f"save: {_clip(where)}.{name} has a key {k!r}")
                    items.append([{"t": "str", "v": k}, self.encode(v, f"{where}.{k}", depth + 2)])
                attrs.append([name, {"t": "dict", "items": items}])
            else:
                attrs.append([name, self.encode(value, f"{where}.{name}", depth + 1)])
        return {
            "t": "module",
            "id": node_id,
            "module": cls.__module__,
            "qualname": cls.__qualname__,
            "attrs": attrs,
        }

    def global_ref(self, obj: Any, where: str) -> dict[str, Any]:
        """A function or class, stored by its import path (never its code)."""
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if not isinstance(module, str) or not isinstance(qualname, str):
            raise TypeError(f"save: can't store {_clip(where)} ({_describe(obj)}): it has no name")
        if "<lambda>" in qualname or "<locals>" in qualname:
            raise TypeError(
                f"save: can't store {_clip(where)} ({_describe(obj)}): glassgrad.save stores "
                f"functions and classes by their import path, so only module-level ones can be "
                f"saved; use a def at module level (or save model.state_dict() instead)"
            )
        # a wrapper (functools.wraps) carries the wrapped function's names: it is found under
        # a parent package instead (glassgrad.nn.functional.gelu wraps ...functional.activation's)
        parts = module.split(".")
        for home in (".".join(parts[:n]) for n in range(len(parts), 0, -1)):
            if _lookup(home, qualname) is obj:
                module = home
                break
        else:
            raise TypeError(
                f"save: can't store {_clip(where)} ({_describe(obj)}): it is not found under its "
                f"own name {module}.{qualname}, so it could not be loaded back"
            )
        return {"t": "global", "module": module, "qualname": qualname}

    def container(self, obj: Any, where: str, depth: int) -> dict[str, Any]:
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (bool, int, float, str))):
                    raise TypeError(
                        f"save: {where} has a key of type {type(k).__name__}; dict keys must be "
                        f"str, int, float, bool or None"
                    )
                items.append(
                    [self.encode(k, where, depth), self.encode(v, f"{where}[{k!r}]", depth)]
                )
            node: dict[str, Any] = {"t": "dict", "items": items}
            if isinstance(obj, OrderedDict):
                node["ordered"] = True
            return node
        tag = "tuple" if isinstance(obj, tuple) else "list"
        return {
            "t": tag,
            "items": [self.encode(v, f"{where}[{i}]", depth) for i, v in enumerate(obj)],
        }


_REGISTRIES = ("_parameters", "_buffers", "_modules")


def _is_module(obj: Any) -> bool:
    from glassgrad.nn.module import Module

    return isinstance(obj, Module)


def _describe(obj: Any) -> str:
    """``a lambda``, ``a function defined inside f``, ``a TextIOWrapper``: for messages."""
    qualname = getattr(obj, "__qualname__", "")
    if isinstance(obj, types.FunctionType) and "<lambda>" in qualname:
        return "a lambda"
    if isinstance(obj, (types.FunctionType, type)) and "<locals>" in qualname:
        kind = "class" if isinstance(obj, type) else "function"
        return f"a {kind} defined inside {qualname.split('.<locals>')[0]}"
    if isinstance(obj, types.MethodType):
        return f"a bound method {qualname}"
    if isinstance(obj, type):
        return f"the class {qualname}"
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return f"the function {qualname}"
    return f"a {type(obj).__name__}"


def _resolve(module: Any, qualname: str) -> Any:
    """``getattr`` along a dotted qualname; dunder steps are refused (no walking to ``__class__``
    or ``__globals__``)."""
    obj = module
    if obj is None:
        raise AttributeError(qualname)
    for part in qualname.split("."):
        if not part.isidentifier() or part.startswith("__"):
            raise AttributeError(qualname)
        obj = getattr(obj, part)
    return obj


def _lookup(module: str, qualname: str) -> Any:
    """``module.qualname`` if that module is already imported (nothing is imported), else None."""
    try:
        return _resolve(sys.modules.get(module), qualname)
    except AttributeError:
        return None


def _clip(where: str, limit: int = 80) -> str:
    """A location such as ``obj[0][0]...[0]`` short enough for a one-line message."""
    return where if len(where) <= limit else f"{where[: limit - 20]}...{where[-17:]}"


def _write(f: IO[bytes], obj: Any) -> None:
    enc = _Encoder()
    root = enc.encode(obj, "model" if _is_module(obj) else "obj")
    header = {"format": "glassgrad", "version": FORMAT_VERSION, "root": root}
    text = json.dumps(header, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    blob = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    np.savez(f, **{HEADER_KEY: blob}, **enc.arrays)  # type: ignore[arg-type]


def save(obj: Any, f: PathOrFile) -> None:
    """Save ``obj`` (tensors, numbers, strings, None, nested dicts/lists/tuples) to ``f``.

    ``f`` is a path, written atomically (see the module docstring), or a binary file object.
    The file is a standard ``.npz`` archive, but keeps the name it is given (``ckpt.pt`` is fine).

    Temporary files: the data is first written to ``.<name>.<pid>.<random>.tmp`` in the same
    directory (``<pid>``: the saving process), then renamed over ``<name>``. A save that fails
    removes its temporary; one that is killed (SIGKILL, power loss) leaves it behind. The next
    ``save`` to the same path removes such leftovers, but only those whose process is no longer
    running (a concurrent save from a live process keeps its file). Nothing else is removed.
    """
    if hasattr(f, "write"):
        _write(f, obj)  # type: ignore[arg-type]
        return
    path = os.fspath(f)  # type: ignore[arg-type]
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _remove_stale_temporaries(directory, base)
    tmp = os.path.join(directory, f".{base}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            _write(out, obj)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _remove_stale_temporaries(directory: str, base: str) -> None:
    """Remove ``.<base>.<pid>.<random>.tmp`` files left by saves whose process has died."""
    pattern = re.compile(rf"\.{re.escape(base)}\.(\d+)\.[0-9a-f]+\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        m = pattern.fullmatch(name)
        if m is None or _process_alive(int(m.group(1))):
            continue
        # another process may remove it first, or we may lack permission: then leave it
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, name))


def _process_alive(pid: int) -> bool:
    """Is a process with this id running? (True when unsure, so nothing live is removed.)"""
    if pid == os.getpid() or os.name != "posix":
        return True  # another thread of ours may be saving (and Windows' kill would kill)
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # alive under another user (or unknowable)
    return True


def _fsync_dir(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- decoding --------------------------------------------------------------------------------


class _Decoder:
    def __init__(self, archive: Any, name: str) -> None:
        self.archive = archive
        self.name = name
        self.loaded: dict[str, Any] = {}  # key -> object, so a shared tensor loads as one object
        self.objects: dict[str, Any] = {}  # module node id -> the module, for "ref" nodes

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{self.name}: corrupt glassgrad checkpoint: {what}")

    def array(self, node: dict[str, Any]) -> Any:
        key = node.get("key")
        if key in self.loaded:
            return self.loaded[key]
        if not isinstance(key, str) or key not in self.archive.files or key == HEADER_KEY:
            raise self.fail(f"the header refers to a missing array entry {key!r}")
        try:
            arr = self.archive[key]
        except ValueError as e:
            if "pickle" not in str(e):
                raise
            raise self.fail(
                f"entry {key!r} holds pickled Python objects, which glassgrad never loads "
                "(loading them could run arbitrary code)"
            ) from None
        if arr.dtype.name != node.get("dtype") or list(arr.shape) != node.get("shape"):
            raise self.fail(
                f"entry {key!r} is {arr.dtype.name} of shape {list(arr.shape)}, the header says "
                f"{node.get('dtype')} of shape {node.get('shape')}"
            )
        obj: Any
        if node["t"] == "ndarray":
            obj = arr
        elif node["t"] == "scalar":
            obj = arr[()]
        else:
            obj = Tensor._make(arr)
            if node.get("parameter"):
                obj = _as_parameter(obj, bool(node.get("requires_grad", True)))
            elif node.get("requires_grad"):
                obj.requires_grad_(True)
        self.loaded[key] = obj
        return obj

    def decode(self, node: Any, depth: int = 0) -> Any:
        if not isinstance(node, dict) or "t" not in node:
            raise self.fail(f"malformed node {_brief(node)}")
        t = node["t"]
        if depth > MAX_DEPTH:
            raise self.fail(f"containers nested more than {MAX_DEPTH} deep")
        try:
            if t == "none":
                return None
            if t == "bool":
                return bool(node["v"])
            if t == "int":
                v = node["v"]
                if not isinstance(v, str) or len(v) > 40_000:
                    raise ValueError("not an integer string of a sensible length")
                return int(v, 16) if v.lstrip("-").startswith("0x") else int(v)
            if t == "float":
                return float(node["v"])
            if t == "str":
                return str(node["v"])
            if t in ("list", "tuple"):
                items = [self.decode(v, depth + 1) for v in node["items"]]
                return tuple(items) if t == "tuple" else items
            if t == "dict":
                pairs = [
                    (self.decode(k, depth + 1), self.decode(v, depth + 1)) for k, v in node["items"]
                ]
                return OrderedDict(pairs) if node.get("ordered") else dict(pairs)
            if t in ("tensor", "ndarray", "scalar"):
                return self.array(node)
            if t == "dtype":
                return dtypes.by_name(node["v"])
            if t in ("set", "frozenset"):
                members = [self.decode(v, depth + 1) for v in node["items"]]
                return frozenset(members) if t == "frozenset" else set(members)
            if t == "module":
                return self.module(node, depth)
            if t == "ref":
                if node["id"] not in self.objects:
                    raise ValueError(
                        f"a reference to {node['id']!r}, which comes nowhere before it"
                    )
                return self.objects[node["id"]]
            if t == "global":
                return self.allowed(node, "function or class")
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, ValueError) and str(e).startswith(self.name):
                raise
            raise self.fail(f"malformed {_brief(t)} node {_brief(node)} ({_brief(e)})") from e
        raise self.fail(f"unknown node type {_brief(t)}")

    def allowed(self, node: dict[str, Any], what: str) -> Any:
        module, qualname = node["module"], node["qualname"]
        if not isinstance(module, str) or not isinstance(qualname, str):
            raise ValueError("the class or function name is not a string")
        obj = _find_allowed(module, qualname)
        if obj is _NOT_ALLOWED:
            short = qualname.rsplit(".", 1)[-1]
            raise UnsafeGlobalError(
                f"{self.name}: the checkpoint holds a {what} {module}.{qualname}, which load does "
                f"not rebuild unless allowed: glassgrad loads classes and functions of the "
                f"glassgrad package, and others only when the caller names them. If you trust "
                f"this checkpoint, load it inside "
                f"`with glassgrad.serialization.safe_globals([{short}]):` (or call "
                f"glassgrad.serialization.add_safe_globals([{short}]) once); or save "
                f"model.state_dict() instead and load it into a model you build"
            )
        return obj

    def module(self, node: dict[str, Any], depth: int) -> Any:
        from glassgrad.nn.module import Module

        cls = self.allowed(node, "module class")
        if not (isinstance(cls, type) and issubclass(cls, Module)):
            raise ValueError(f"{node['module']}.{node['qualname']} is not an nn.Module class")
        node_id = node["id"]
        if not isinstance(node_id, str) or node_id in self.objects:
            raise ValueError(f"module id {node_id!r} is missing or used twice")
        obj = cls.__new__(cls)  # no __init__: the attributes below are the whole state
        self.objects[node_id] = obj  # before the attributes, so a cycle back to it resolves
        state = {}
        for name, value in node["attrs"]:
            if not isinstance(name, str):
                raise ValueError(f"attribute name {_brief(name)} is not a string")
            state[name] = self.decode(value, depth + 1)
        obj.__dict__.update(state)
        return obj


class UnsafeGlobalError(ValueError):
    """``load`` met a class or function that is neither glassgrad's nor allowed by the caller
    (``safe_globals`` / ``add_safe_globals``): PyTorch's ``weights_only`` ``UnpicklingError``."""


_NOT_ALLOWED = object()


def _find_allowed(module: str, qualname: str) -> Any:
    """The allowed object named ``module.qualname``, or ``_NOT_ALLOWED``. Objects passed to
    ``safe_globals``/``add_safe_globals`` are matched by name (nothing is imported); a name given
    as a string, or one in the glassgrad package, is imported and looked up."""
    full = f"{module}.{qualname}"
    imported = module == "glassgrad" or module.startswith("glassgrad.")
    for g in get_safe_globals():
        if isinstance(g, str):
            if g == full:
                imported = True
        elif getattr(g, "__qualname__", None) == qualname and (
            getattr(g, "__module__", None) == module or _lookup(module, qualname) is g
        ):
            return g
    if not imported:
        return _NOT_ALLOWED
    return _resolve(importlib.import_module(module), qualname)


def _brief(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut for a message (reprs of deep containers are cut, not recursed)."""
    try:
        text = repr(str(value)) if isinstance(value, BaseException) else repr(value)
    except (RecursionError, ValueError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _as_parameter(t: Tensor, requires_grad: bool) -> Tensor:
    from glassgrad import nn

    parameter = getattr(nn, "Parameter", None)
    if parameter is None:  # nn without Parameter: a leaf that requires grad is the same thing
        return t.requires_grad_(requires_grad) if requires_grad else t
    return parameter(t, requires_grad=requires_grad)  # type: ignore[no-any-return]


def _to_cpu(map_location: Any) -> bool:
    """Does ``map_location`` put everything on the CPU (the only place glassgrad has)?"""
    if map_location is None or callable(map_location):
        return True
    if isinstance(map_location, dict):
        return all(_to_cpu(v) for v in map_location.values())
    return str(map_location) == "cpu"


def load(
    f: PathOrFile,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Load what ``save`` (or ``torch.save``, for tensors and containers) wrote to ``f`` (a path
    or binary file object).

    ``map_location``, ``pickle_module``, ``weights_only`` and ``mmap`` are accepted for PyTorch
    compatibility: glassgrad runs on the CPU and never unpickles objects (a PyTorch checkpoint's
    pickle is read for containers and tensors only), so loading is always safe, and
    the tensors are read into memory (PyTorch's ``mmap=True`` maps the file copy-on-write: the
    values, and what writing to them does, are the same). ``map_location`` may be None,
    ``"cpu"``, a CPU device, a dict mapping locations to the CPU (``{"cuda:0": "cpu"}``) or a
    function (``lambda storage, loc: storage``, the old way of loading a GPU checkpoint on the
    CPU: everything here is on the CPU already, so it has nothing to move).
    """
    if not _to_cpu(map_location):
        raise ValueError(f"load: glassgrad runs on the CPU only, got map_location={map_location!r}")
    del pickle_module, weights_only, pickle_load_args
    if mmap and hasattr(f, "read"):
        raise ValueError(
            "load: f must be a file path in order to use the mmap argument, got a file object"
        )
    name = "<file object>" if hasattr(f, "read") else os.fspath(f)  # type: ignore[arg-type]
    kind = _sniff(f)
    if kind == "torch legacy":
        raise ValueError(
            f"{name}: a PyTorch checkpoint in the pre-1.6 format, which glassgrad does not read; "
            "glassgrad reads torch.save's ZIP format (the default since PyTorch 1.6): load it in "
            "PyTorch and torch.save it again"
        )
    if kind == "pickle":
        raise ValueError(
            f"{name}: not a glassgrad checkpoint: it holds pickled Python objects, which "
            f"glassgrad never loads (loading them could run arbitrary code)"
        )
    if kind == "empty":
        raise ValueError(f"{name}: not a glassgrad checkpoint: the file is empty")
    if kind is not None:  # text, random bytes, another format
        raise ValueError(
            f"{name}: not a glassgrad checkpoint: it is not a ZIP archive (it starts with "
            f"{kind}); glassgrad checkpoints are .npz archives written by glassgrad.save"
        )
    try:
        archive = np.load(f, allow_pickle=False)  # type: ignore[arg-type]
    except FileNotFoundError:
        raise
    except Exception as e:  # a truncated or damaged ZIP...
        raise ValueError(
            f"{name}: not a glassgrad checkpoint: cannot read it as a ZIP archive "
            f"({_brief(e, 120)})"
        ) from None
    if isinstance(archive, np.ndarray):
        raise ValueError(f"{name}: not a glassgrad checkpoint (a single .npy array)")
    with archive:
        try:
            if HEADER_KEY not in archive.files:
                if any(k.endswith("data.pkl") for k in archive.files):
                    from glassgrad._torch_checkpoint import load_torch_zip

                    return load_torch_zip(archive.zip, name)  # torch.save's format
                raise ValueError(
                    f"{name}: not a glassgrad checkpoint: no {HEADER_KEY!r} entry among "
                    f"{sorted(archive.files)[:10]}"
                )
            header = _read_header(archive, name)
            return _Decoder(archive, name).decode(header["root"])
        except ValueError as e:
            if str(e).startswith(name):
                raise
            raise ValueError(f"{name}: corrupt glassgrad checkpoint: {e}") from e
        except Exception as e:  # BadZipFile, zlib.error, EOFError, CRC errors from damaged data
            raise ValueError(f"{name}: corrupt glassgrad checkpoint: {e}") from e


_ZIP = b"PK"  # ZIP archives (.npz) start with "PK\x03\x04" (or "PK\x05\x06" when empty)
_NPY = b"\x93NUMPY"
# PyTorch's pre-1.6 format (``_use_new_zipfile_serialization=False``): a pickled magic number first
_TORCH_LEGACY = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"


def _sniff(f: Any) -> str | None:
    """None for a ZIP or ``.npy`` file (NumPy reads on); "pickle", "empty", or the first bytes
    (for the error) for anything else. A missing path is left for ``np.load`` to report."""
    try:
        if hasattr(f, "read"):
            if not (hasattr(f, "seek") and hasattr(f, "tell")):
                return None
            pos = f.tell()
            head = f.read(len(_TORCH_LEGACY))
            f.seek(pos)
        else:
            with open(f, "rb") as fh:
                head = fh.read(len(_TORCH_LEGACY))
    except (OSError, ValueError):
        return None
    if not isinstance(head, bytes):
        return None
    if head.startswith(_ZIP) or head.startswith(_NPY):
        return None
    if not head:
        return "empty"
    if head.startswith(_TORCH_LEGACY):
        return "torch legacy"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle protocol 2 to 5
        return "pickle"
    return repr(head)


def _read_header(archive: Any, name: str) -> dict[str, Any]:
    blob = archive[HEADER_KEY]
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise ValueError(f"{name}: corrupt glassgrad checkpoint: the header is not bytes")
    try:
        header = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{name}: corrupt glassgrad checkpoint: unreadable header ({e})") from e
    except RecursionError:
        raise ValueError(
            f"{name}: corrupt glassgrad checkpoint: the header nests more than {MAX_DEPTH} deep"
        ) from None
    if not isinstance(header, dict) or header.get("format") != "glassgrad" or "root" not in header:
        raise ValueError(f"{name}: not a glassgrad checkpoint: header {str(header)[:80]!r}")
    if header.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{name}: glassgrad checkpoint format version {header.get('version')!r}; this "
            f"glassgrad reads version {FORMAT_VERSION}"
        )
    return header


# Classes and functions that ``load`` may rebuild besides glassgrad's own (PyTorch's
# ``weights_only`` allow-list): permanent ones, and a stack of ``safe_globals`` scopes. Global (not
# per thread), as in PyTorch, guarded by a lock.
_SAFE_LOCK = threading.Lock()
_PERMANENT: list[Any] = []
_SCOPES: list[list[Any]] = []


class safe_globals:
    """``torch.serialization.safe_globals([...])``: within the ``with`` block, ``load`` may rebuild
    modules of these classes (and reference these functions), besides glassgrad's own.

    Entries are the classes and functions themselves (matched by ``__module__``/``__qualname__``,
    nothing imported) or ``"module.qualname"`` strings (that module is imported when met)."""

    def __init__(self, safe_globals: Any = ()) -> None:
        self.globals = _check_globals(safe_globals)

    def __enter__(self) -> safe_globals:
        with _SAFE_LOCK:
            _SCOPES.append(self.globals)
        return self

    def __exit__(self, *exc: Any) -> None:
        with _SAFE_LOCK:
            for i in range(len(_SCOPES) - 1, -1, -1):  # this scope's entry (normally the last)
                if _SCOPES[i] is self.globals:
                    del _SCOPES[i]
                    break
        return None


def _check_globals(safe_globals: Any) -> list[Any]:
    items = list(safe_globals)
    for g in items:
        if isinstance(g, tuple) and len(g) == 2 and isinstance(g[1], str):
            continue  # PyTorch's (obj, "name") form: matched by obj
        if not (isinstance(g, str) or hasattr(g, "__qualname__")):
            raise TypeError(
                f"safe_globals: expected classes, functions or 'module.qualname' strings, got "
                f"{_brief(g)}"
            )
    return [g[0] if isinstance(g, tuple) else g for g in items]


def add_safe_globals(safe_globals: Any) -> None:
    """``torch.serialization.add_safe_globals``: allow these classes and functions in every later
    ``load`` (see ``safe_globals``)."""
    items = _check_globals(safe_globals)
    with _SAFE_LOCK:
        _PERMANENT.extend(g for g in items if g not in _PERMANENT)


def clear_safe_globals() -> None:
    """``torch.serialization.clear_safe_globals``: forget what ``add_safe_globals`` allowed."""
    with _SAFE_LOCK:
        _PERMANENT.clear()


def get_safe_globals() -> list[Any]:
    """What ``load`` allows now besides glassgrad's own: permanent entries, then scoped ones."""
    with _SAFE_LOCK:
        return [*_PERMANENT, *(g for scope in _SCOPES for g in scope)]
