"""``Parameter`` and ``Module``: the base of every layer, with PyTorch's names and behaviour.

A ``Module`` finds its parameters, buffers and sub-modules by watching attribute assignment
(``self.fc = Linear(...)``), so ``parameters()``, ``state_dict()``, ``train()``/``eval()`` and
the printed tree all come for free to any subclass that only writes ``__init__`` and ``forward``.

>>> import glassgrad as gg
>>> from glassgrad import nn
>>> class Net(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc = nn.Linear(4, 2)
...     def forward(self, x):
...         return self.fc(x).relu()
>>> net = Net()
>>> [name for name, _ in net.named_parameters()]
['fc.weight', 'fc.bias']
>>> net
Net(
  (fc): Linear(in_features=4, out_features=2, bias=True)
)
"""

from __future__ import annotations

import contextlib
import functools
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from glassgrad import dtypes
from glassgrad._errors import guarded
from glassgrad.autograd.custom_function import Function
from glassgrad.autograd.grad_mode import is_grad_enabled
from glassgrad.autograd.hooks import RemovableHandle
from glassgrad.autograd.state import bump_version
from glassgrad.creation import zeros_like
from glassgrad.device import CPUOnlyError, parse_to
from glassgrad.tensor import Tensor

__all__ = ["Buffer", "Module", "Parameter"]


class Buffer(Tensor):
    """A tensor that becomes a buffer when assigned to a module attribute
    (``self.x = nn.Buffer(t, persistent=False)``); it shares ``data``'s memory."""

    __slots__ = ("persistent",)

    def __init__(self, data: Any = None, *, persistent: bool = True) -> None:
        if data is None:
            arr, vc = np.empty((0,), dtypes.default_float()), [0]
        elif isinstance(data, Tensor):
            arr, vc = data._data, data._vc
        else:
            arr, vc = np.asarray(data), [0]
        self._data = arr
        self.grad_fn = None
        self._grad = None
        self._vc = vc
        self.requires_grad = False
        self.persistent = persistent
        if isinstance(data, Tensor) and data.requires_grad:
            self.requires_grad_(True)

    def _as_tensor(self) -> Tensor:
        """The plain tensor a module registers (sharing this buffer's memory)."""
        t = Tensor._make(self._data)
        t._vc = self._vc
        if self.requires_grad:
            t.requires_grad_(True)
        return t


# Every live module, so graph pictures can name parameters by their path in the model that owns
# them without being told (glassgrad.viz.explore); a weak set costs nothing once modules die.
LIVE_MODULES: weakref.WeakSet[Module] = weakref.WeakSet()
_UNSET = object()
_PLAIN = frozenset(
    {bool, int, float, complex, str, type(None)}
)  # rebinding an equal one: no change


class Parameter(Tensor):
    """A leaf tensor that a ``Module`` registers as one of its parameters.

    Made from a ``Tensor`` it shares that tensor's memory (as ``torch.nn.Parameter`` does).

    >>> import glassgrad as gg
    >>> Parameter(gg.tensor([1.0, 2.0]))
    Parameter containing:
    tensor([1., 2.], requires_grad=True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            arr = np.empty((0,), dtypes.default_float())
            vc = [0]
        elif isinstance(data, Tensor):
            arr, vc = data._data, data._vc
        else:
            arr, vc = np.asarray(data), [0]
        self._data = arr
        self.grad_fn = None
        self._grad = None
        self._vc = vc
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(self._data.copy(), self.requires_grad)
        if self._grad is not None:
            p._grad = Tensor._make(self._grad._data.copy())
        memo[id(self)] = p
        return p

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (Parameter, (self._data, self.requires_grad))


class _Keys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class _IncompatibleKeys(_Keys):
    """What ``load_state_dict`` returns: the keys it did not find and those it did not use."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
            f"unexpected_keys={self.unexpected_keys})"
        )

    __str__ = __repr__


def _addindent(s: str, spaces: int) -> str:
    """Indent every line of ``s`` but the first (how nested modules print)."""
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _array_of(value: Any, key: str) -> np.ndarray:
    """The array behind a state-dict value (a glassgrad Tensor, an ndarray, a torch tensor)."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, say
        return np.asarray(value.detach().cpu().numpy())
    try:
        return np.asarray(value)
    except Exception as e:
        raise TypeError(
            f"load_state_dict: value for {key!r} is a {type(value).__name__}, not a tensor"
        ) from e


_UNGUARDED = ("glassgrad.nn.container",)  # they run users' modules: their errors pass as is


class Module:
    """Base class of every layer and model: subclass it, assign layers in ``__init__``, write
    ``forward``; call the module (not ``forward``) so that hooks run."""

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent_buffers_set: set[str]
    _modules: dict[str, Module | None]
    _forward_hooks: OrderedDict[int, Callable[..., Any]]  # handle id -> hook, as PyTorch keeps them
    _forward_pre_hooks: OrderedDict[int, Callable[..., Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """glassgrad's own layers word their errors under their name (``Linear: ...``), as
        the registry does for ops (``glassgrad._errors.guarded``); containers and users' modules
        are left alone, so a user's error comes out as the user raised it."""
        super().__init_subclass__(**kwargs)
        if not cls.__module__.startswith("glassgrad.nn.") or cls.__module__ in _UNGUARDED:
            return
        for attr in ("__init__", "forward"):
            fn = cls.__dict__.get(attr)
            if fn is not None and not getattr(fn, "__glassgrad_guarded__", False):
                setattr(cls, attr, guarded(fn, None))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments {args} {kwargs} "
                "(Module.__init__ takes none)"
            )
        sa = object.__setattr__
        sa(self, "training", True)
        sa(self, "_parameters", {})
        sa(self, "_buffers", {})
        sa(self, "_non_persistent_buffers_set", set())
        sa(self, "_modules", {})
        sa(self, "_forward_hooks", OrderedDict())
        sa(self, "_forward_pre_hooks", OrderedDict())
        sa(
            self, "_config_version", 0
        )  # counts rebinds: compiled code checks it (glassgrad.compile)
        LIVE_MODULES.add(self)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        if not (
            self._forward_hooks
            or self._forward_pre_hooks
            or d.get("_backward_hooks")
            or d.get("_backward_pre_hooks")
        ):
            return self.forward(*args, **kwargs)
        return _call_with_hooks(self, args, kwargs)

    # ---- registration ---------------------------------------------------------------------------
    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or ``None``, a declared but absent one such as ``bias=False``)."""
        self._check_init("parameters")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"parameter name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(glassgrad.nn.Parameter or None required)"
            )
        self._parameters[name] = param
        self._rebound()

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add state that is not a parameter (BatchNorm's running mean); saved in the state dict
        unless ``persistent=False``."""
        self._check_init("buffers")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"buffer name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(glassgrad Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        self._rebound()

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (what ``self.name = module`` does)."""
        self._check_init("modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str) or "." in name or name == "":
            raise KeyError(f"module name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module
        self._rebound()

    register_module = add_module

    def _rebound(self) -> None:
        """An attribute, parameter, buffer or child was bound anew: code compiled against the
        old one (``glassgrad.compile``) must not run again."""
        d = self.__dict__
        d["_config_version"] = d.get("_config_version", 0) + 1

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        old = d.get(name, _UNSET)
        if old is _UNSET:
            for registry in ("_parameters", "_buffers", "_modules"):
                found = d.get(registry)
                if found is not None and name in found:
                    old = found[name]
                    break
        if old is not value and not (
            type(old) is type(value) and type(value) in _PLAIN and old == value
        ):
            self._rebound()
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._drop(name, keep=self._parameters)
            self.register_parameter(name, value)
        elif isinstance(value, Buffer):
            self._check_init("buffers")
            self._drop(name)
            self.register_buffer(name, value._as_tensor(), value.persistent)
        elif isinstance(value, Module):
            self._check_init("modules")
            self._drop(name, keep=self._modules)
            self._modules[name] = value
        elif "_parameters" in d and name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(glassgrad.nn.Parameter or None expected)"
                )
            self._parameters[name] = None
        elif "_modules" in d and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(glassgrad.nn.Module or None expected)"
                )
            self._modules[name] = None
        elif "_buffers" in d and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(glassgrad Tensor or None expected)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _drop(self, name: str, keep: Any = None) -> None:
        """Forget ``name`` everywhere but in ``keep``, where a new value replaces the old one in
        its place (as PyTorch: a replaced child stays where it was in ``children()``)."""
        self.__dict__.pop(name, None)
        for reg in (self._parameters, self._buffers, self._modules):
            if reg is not keep:
                reg.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: parameters, buffers and children (hot path).
        d = self.__dict__
        if "_parameters" in d:
            if name in d["_parameters"]:
                return d["_parameters"][name]
            if name in d["_buffers"]:
                return d["_buffers"][name]
            if name in d["_modules"]:
                return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        self._rebound()
        for reg in (self._parameters, self._buffers, self._modules):
            if name in reg:
                del reg[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        keys = [*super().__dir__(), *self._parameters, *self._buffers, *self._modules]
        return sorted(k for k in set(keys) if not k[:1].isdigit())

    # ---- traversal ------------------------------------------------------------------------------
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every descendant, each once, with dotted names (``''`` for self)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                sub = prefix + ("." if prefix else "") + name
                yield from m.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Any]]:
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        seen: set[int] = set()
        for mprefix, m in mods:
            for name, v in getattr(m, registry).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield mprefix + ("." if mprefix else "") + name, v

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs such as ``('layers.0.weight', Parameter)``, each once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The descendant at a dotted path such as ``'encoder.layers.0'``."""
        m: Module = self
        for part in target.split(".") if target else []:
            if part not in m._modules or m._modules[part] is None:
                raise AttributeError(f"{m._get_name()} has no submodule `{part}` (in {target!r})")
            m = m._modules[part]  # type: ignore[assignment]
        return m

    def get_parameter(self, target: str) -> Parameter:
        mod, _, name = target.rpartition(".")
        m = self.get_submodule(mod)
        p = m._parameters.get(name)
        if p is None:
            raise AttributeError(f"{m._get_name()} has no parameter `{name}` (in {target!r})")
        return p

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at a dotted path such as ``'bn.running_mean'``."""
        mod, _, name = target.rpartition(".")
        m = self.get_submodule(mod)
        if name not in m._buffers or m._buffers[name] is None:
            raise AttributeError(f"{m._get_name()} has no buffer `{name}` (in {target!r})")
        return m._buffers[name]  # type: ignore[return-value]

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put ``module`` at a dotted path such as ``'encoder.layers.0'``, replacing what is
        there (``strict``: only an existing submodule may be replaced)."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and name not in parent._modules:
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if name in parent.__dict__ and name not in parent._modules:
            raise AttributeError(f"`{name}` is not an nn.Module")
        if name in parent._modules:  # in place, so a Sequential keeps its order
            parent._modules[name] = module
        else:
            setattr(parent, name, module)

    def to_empty(self, *, device: Any = None, recurse: bool = True) -> Module:
        """Give every parameter and buffer fresh uninitialised storage of the same shape (the
        step after building a model on the ``meta`` device); only the CPU is a device here."""
        if device is not None:
            parse_to(device)
        mods = self.modules() if recurse else [self]
        for m in mods:
            for reg in (m._parameters, m._buffers):
                for t in reg.values():
                    if t is not None:
                        t._data = np.empty_like(t._data)
                        bump_version(t)
        return self

    def share_memory(self) -> Module:
        """Move parameters and buffers to shared memory (already shared within a process: a
        no-op here, as for CPU tensors under ``torch.multiprocessing`` fork)."""
        for t in [*self.parameters(), *self.buffers()]:
            t.share_memory_()
        return self

    # ---- modes, gradients, dtypes ---------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) here and below."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to ``None`` (default) or to zeros in place."""
        for p in self.parameters():
            if p._grad is None:
                continue
            if set_to_none:
                p._grad = None
            else:
                g = p._grad
                if g.grad_fn is not None:
                    g = p._grad = Tensor._make(g._data)
                g._data.fill(0)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and then on this one."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _cast(self, dtype: np.dtype) -> Module:
        """Convert floating-point parameters, gradients and buffers to ``dtype`` in place (the
        same Parameter objects, so an optimizer built before still holds them)."""
        for m in self.modules():
            for t in (*m._parameters.values(), *m._buffers.values()):
                if t is None or t._data.dtype.kind != "f" or t._data.dtype == dtype:
                    continue
                t._data = t._data.astype(dtype)
                bump_version(t)
                if t._grad is not None:
                    t._grad = Tensor._make(t._grad._data.astype(dtype))
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """``to(dtype)``, ``to('cpu')``, ``to(device)``, ``to(tensor)``, ``to(device, dtype)``
        or keywords: floating-point parameters and buffers take the dtype; the device can only
        be the CPU (another raises ``CPUOnlyError``)."""
        _, dtype, _, _ = parse_to(*args, **kwargs)
        if dtype is None:
            return self
        d = dtypes.as_dtype(dtype)
        if d.kind != "f":
            raise TypeError(
                f"nn.Module.to only accepts floating point dtypes, but got desired dtype={d}"
            )
        return self._cast(d)

    def double(self) -> Module:
        return self._cast(dtypes.np_float64)

    def float(self) -> Module:
        return self._cast(dtypes.np_float32)

    def half(self) -> Module:
        return self._cast(dtypes.np_float16)

    def cpu(self) -> Module:
        return self

    def cuda(self, device: Any = None) -> Module:
        """Refused: this build of glassgrad runs on the CPU only."""
        raise CPUOnlyError(
            f"Module.cuda(): this build of glassgrad runs on the CPU only; keep the model on "
            f"'cpu' (choose the device with glassgrad.cuda.is_available()), got device "
            f"{'cuda' if device is None else str(device)!r}"
        )

    def type(self, dst_type: Any) -> Module:
        return self.to(dst_type)

    # ---- hooks ----------------------------------------------------------------------------------
    def register_forward_hook(
        self,
        hook: Callable[..., Any],
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) after each forward; a non-None result replaces the output.
        ``always_call`` runs it even when forward raises; ``handle.remove()`` takes it out."""
        fn: Any = _Hook(hook, with_kwargs, always_call) if (with_kwargs or always_call) else hook
        return _add_keyed(self._forward_hooks, fn, prepend)

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a non-None result replaces args.
        With ``with_kwargs`` it is ``hook(module, args, kwargs)`` returning ``(args, kwargs)``."""
        fn: Any = _Hook(hook, with_kwargs, False) if with_kwargs else hook
        return _add_keyed(self._forward_pre_hooks, fn, prepend)

    def register_full_backward_hook(
        self, hook: Callable[..., Any], prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` once the gradients with respect to
        this module's tensor inputs are computed; a non-None result replaces ``grad_input``."""
        hooks = self.__dict__.setdefault("_backward_hooks", [])
        _add(hooks, hook, prepend)
        return RemovableHandle(hooks, hook)

    def register_backward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Deprecated spelling kept for old programs (Grad-CAM): ``register_full_backward_hook``'s
        semantics, gradients with respect to the module's inputs and outputs."""
        return self.register_full_backward_hook(hook)

    def register_full_backward_pre_hook(
        self, hook: Callable[..., Any], prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to this module's
        outputs arrive; a non-None result replaces ``grad_output``."""
        hooks = self.__dict__.setdefault("_backward_pre_hooks", [])
        _add(hooks, hook, prepend)
        return RemovableHandle(hooks, hook)

    # ---- state dicts ----------------------------------------------------------------------------
    def _register_load_state_dict_pre_hook(
        self, hook: Callable[..., Any], with_module: bool = False
    ) -> RemovableHandle:
        """Call ``hook(state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before ``load_state_dict`` reads this module's entries
        (to rename old keys, as ``weight_norm`` does); ``with_module`` passes the module first."""
        hooks = self.__dict__.setdefault("_load_state_dict_pre_hooks", [])
        fn = functools.partial(hook, self) if with_module else hook
        hooks.append(fn)
        return RemovableHandle(hooks, fn)

    def _state_items(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Parameters then persistent buffers of each module, parents before children."""
        for name, t in self._parameters.items():
            if t is not None:
                yield prefix + name, t
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                yield prefix + name, b
        for name, m in self._modules.items():
            if m is not None:
                yield from m._state_items(prefix + name + ".")

    def state_dict(
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """Name -> tensor for every parameter and persistent buffer (``'layers.0.weight'``),
        detached from the graph but sharing memory, as in PyTorch."""
        if args:
            raise TypeError("state_dict() takes keyword arguments only")
        out: OrderedDict[str, Tensor] = OrderedDict() if destination is None else destination
        for name, t in self._state_items(prefix):
            out[name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copy ``state_dict``'s tensors into this module's parameters and buffers, in place.

        Values may be glassgrad tensors, NumPy arrays or torch tensors (a PyTorch model's
        ``state_dict()`` loads directly) and are cast to each parameter's dtype. Every problem
        (missing keys, unexpected keys, shape mismatches) is gathered into one ``RuntimeError``,
        and nothing is copied unless the whole load can go through.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__}."
            )
        hooked = [
            (mprefix + "." if mprefix else "", m)
            for mprefix, m in self.named_modules()
            if "_load_hook" in m.__dict__ or m.__dict__.get("_load_state_dict_pre_hooks")
        ]
        if hooked:  # hooks may rename keys: on a copy, as in PyTorch
            state_dict = OrderedDict(state_dict)
            for mprefix, m in hooked:
                if "_load_hook" in m.__dict__:  # a lazy layer takes the saved shapes first
                    m._lazy_load_hook(state_dict, mprefix)
                for hook in list(m.__dict__.get("_load_state_dict_pre_hooks", ())):
                    hook(state_dict, mprefix, {}, strict, [], [], [])
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors: list[str] = []
        sources: list[tuple[Tensor, np.ndarray]] = []
        for key, t in own.items():
            if key not in state_dict:
                continue
            src = _array_of(state_dict[key], key)
            if src.shape != t._data.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(src.shape)} "
                    f"from checkpoint, the shape in current model is {tuple(t._data.shape)}."
                )
            else:
                sources.append((t, src))
        if strict:
            if unexpected:
                names = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {names}. ")
            if missing:
                names = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {names}. ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {self._get_name()}:\n\t" + "\n\t".join(errors)
            )
        for t, src in sources:
            if assign:
                t._data = np.array(src, dtype=t._data.dtype)
            else:
                np.copyto(t._data, src, casting="unsafe")
            bump_version(t)
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing -------------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text inside this module's parentheses (its options); '' by default."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(m), 2) for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


# ---- hooks: how a call runs them -----------------------------------------------------------------


class _Hook:
    """A forward (pre-)hook registered with ``with_kwargs`` or ``always_call``."""

    __slots__ = ("always_call", "fn", "with_kwargs")

    def __init__(self, fn: Callable[..., Any], with_kwargs: bool, always_call: bool) -> None:
        self.fn, self.with_kwargs, self.always_call = fn, with_kwargs, always_call

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


def _add_keyed(hooks: OrderedDict[int, Any], fn: Any, prepend: bool) -> RemovableHandle:
    """Keep ``fn`` under a new handle's id (first when ``prepend``), and return the handle."""
    handle = RemovableHandle(hooks, fn)
    hooks[handle.id] = fn
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _hooks_of(hooks: Any) -> list[Any]:
    """The hooks in order (a module saved before they were kept by id holds a list)."""
    return list(hooks.values() if isinstance(hooks, dict) else hooks)


def _add(hooks: list[Any], fn: Any, prepend: bool) -> None:
    if prepend:
        hooks.insert(0, fn)
    else:
        hooks.append(fn)


class BackwardHookFunction(Function):
    """Identity on a module's tensor inputs or outputs whose backward runs the module's backward
    hooks (PyTorch names the node ``BackwardHookFunctionBackward`` too)."""

    @staticmethod
    def forward(ctx: Any, call: _BackwardCall, side: str, *tensors: Any) -> Any:  # type: ignore[override]
        ctx.call, ctx.side = call, side
        ctx.set_materialize_grads(False)
        return tensors

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:  # type: ignore[override]
        fn = ctx.call.on_outputs if ctx.side == "out" else ctx.call.on_inputs
        return (None, None, *fn(grads))


class _BackwardCall:
    """One forward call of a module with backward hooks: where its tensor inputs sit among the
    positional arguments, and the output gradients once they arrive."""

    def __init__(self, module: Module, n_args: int, grad_positions: list[int]) -> None:
        self.module, self.n_args, self.positions = module, n_args, grad_positions
        self.grad_output: tuple[Any, ...] = ()
        self.zeros: list[Any] = []

    def on_outputs(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        d = self.module.__dict__
        for hook in list(d.get("_backward_pre_hooks", ())):
            new = hook(self.module, grads)
            if new is not None:
                grads = _checked(new, len(grads), "backward pre hook", "grad_output")
        self.grad_output = grads
        hooks = list(d.get("_backward_hooks", ()))
        if hooks and not self.positions:  # no input needs a gradient: they run now, with Nones
            warnings.warn(
                "Full backward hook is firing when gradients are computed with respect to "
                "module outputs since no inputs require gradients.",
                stacklevel=2,
            )
            for hook in hooks:
                hook(self.module, (None,) * self.n_args, grads)
        return grads

    def on_inputs(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        # PyTorch gives zeros for the tensor inputs that need no gradient
        full: list[Any] = [None if t is None else zeros_like(t) for t in self.zeros]
        for pos, g in zip(self.positions, grads, strict=True):
            full[pos] = g
        grad_input = tuple(full)
        for hook in list(self.module.__dict__.get("_backward_hooks", ())):
            new = hook(self.module, grad_input, self.grad_output)
            if new is not None:
                grad_input = _checked(new, self.n_args, "backward hook", "grad_input")
        return tuple(grad_input[pos] for pos in self.positions)


def _checked(new: Any, n: int, what: str, name: str) -> tuple[Any, ...]:
    new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
    if len(new) != n:
        raise RuntimeError(
            f"Module {what} returned {len(new)} values for {name} but {n} were expected"
        )
    return new


def _call_with_hooks(module: Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``Module.__call__`` when hooks are registered: forward pre-hooks, backward hooks on the
    inputs, forward, forward hooks, backward hooks on the outputs."""
    for hook in _hooks_of(module._forward_pre_hooks):
        if isinstance(hook, _Hook) and hook.with_kwargs:
            new = hook(module, args, kwargs)
            if new is not None:
                if not (isinstance(new, tuple) and len(new) == 2):
                    raise RuntimeError(
                        "forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                        f"but got {new}."
                    )
                args, kwargs = new
        else:
            new = hook(module, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
    d = module.__dict__
    call = None
    if (d.get("_backward_hooks") or d.get("_backward_pre_hooks")) and is_grad_enabled():
        tensor_args = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        call = _BackwardCall(module, len(tensor_args), [])
        wanted = [i for i in tensor_args if args[i].requires_grad]
        if wanted:
            call.positions = [tensor_args.index(i) for i in wanted]
            call.zeros = [None if args[i].requires_grad else args[i] for i in tensor_args]
            wrapped = BackwardHookFunction.apply(call, "in", *(args[i] for i in wanted))
            args = list(args)  # type: ignore[assignment]
            for i, w in zip(wanted, wrapped, strict=True):
                args[i] = w  # type: ignore[index]
            args = tuple(args)
    try:
        out = module.forward(*args, **kwargs)
    except Exception:
        for hook in _hooks_of(module._forward_hooks):
            if isinstance(hook, _Hook) and hook.always_call:
                with contextlib.suppress(Exception):  # the forward's own error is reported
                    if hook.with_kwargs:
                        hook(module, args, kwargs, None)
                    else:
                        hook(module, args, None)
        raise
    for hook in _hooks_of(module._forward_hooks):
        with_kwargs = isinstance(hook, _Hook) and hook.with_kwargs
        new = hook(module, args, kwargs, out) if with_kwargs else hook(module, args, out)
        if new is not None:
            out = new
    if call is not None:
        out = _hook_outputs(call, out)
    return out


def _hook_outputs(call: _BackwardCall, out: Any) -> Any:
    """Route the module's tensor outputs (a Tensor, or a tuple/list of them) through the output
    side of the backward hooks."""
    single = isinstance(out, Tensor)
    items = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
    if items is None:
        return out
    where = [i for i, t in enumerate(items) if isinstance(t, Tensor) and t.requires_grad]
    if not where:
        return out
    wrapped = BackwardHookFunction.apply(call, "out", *(items[i] for i in where))
    for i, w in zip(where, wrapped, strict=True):
        items[i] = w
    if single:
        return items[0]
    return type(out)(items) if isinstance(out, list) else tuple(items)
