"""``torch.jit`` for programs that script or trace a model: here every model runs eagerly.

TorchScript compiles a model for deployment; the numbers it computes are the eager ones. So
``script`` and ``trace`` hand back what they are given (a module stays the same module, its
parameters shared), the decorators (``ignore``, ``unused``, ``export``) change nothing, and
``save``/``load`` write and read a whole module with ``glassgrad.save``'s pickle-free format.

>>> import glassgrad as gg
>>> layer = gg.jit.script(gg.nn.Linear(2, 1))
>>> isinstance(layer, gg.nn.Linear), gg.jit.is_scripting()
(True, False)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

__all__ = [
    "Attribute",
    "Error",
    "Final",
    "Future",
    "ScriptFunction",
    "ScriptModule",
    "annotate",
    "enable_onednn_fusion",
    "export",
    "fork",
    "freeze",
    "ignore",
    "interface",
    "is_scripting",
    "is_tracing",
    "isinstance",
    "load",
    "onednn_fusion_enabled",
    "optimize_for_inference",
    "save",
    "script",
    "script_if_tracing",
    "script_method",
    "set_fusion_strategy",
    "strict_fusion",
    "trace",
    "trace_module",
    "unused",
    "wait",
]

F = TypeVar("F", bound=Callable[..., Any])


def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None, **kw: Any) -> Any:
    """The module or function itself: it runs eagerly, with the same results TorchScript gives."""
    return obj


def trace(func: Any, example_inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    """The module or function itself (tracing records nothing here: it runs eagerly)."""
    return func


def trace_module(mod: Any, inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    """The module itself (see ``trace``)."""
    return mod


def _decorator(fn: Any = None, **_: Any) -> Any:
    if fn is None or not callable(fn):
        return lambda f: f  # used with arguments: @ignore(drop=True)
    return fn


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """Leave a function to Python (here: everything already is)."""
    return drop if callable(drop) else _decorator()


def unused(fn: F) -> F:
    """Mark a method TorchScript should skip: it changes nothing here."""
    return fn


def export(fn: F) -> F:
    """Mark a method TorchScript should compile too: it changes nothing here."""
    return fn


def script_method(fn: F) -> F:
    """The old ``ScriptModule`` method decorator: the method as it is."""
    return fn


def is_scripting() -> bool:
    """False: code never runs under TorchScript here."""
    return False


def is_tracing() -> bool:
    """False: code never runs under the tracer here."""
    return False


def annotate(the_type: Any, the_value: Any) -> Any:
    """TorchScript's type hint for a value: the value."""
    return the_value


class Future:
    """What ``fork`` returns: the call's result (computed at once), read by ``wait``."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def wait(self) -> Any:
        return self._value

    def value(self) -> Any:
        return self._value

    def done(self) -> bool:
        return True


def fork(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """Run ``func`` now (TorchScript parallelism has no eager twin) and wrap its result."""
    return Future(func(*args, **kwargs))


def wait(future: Future) -> Any:
    """The result of a ``fork``."""
    return future.wait()


def freeze(mod: Any, preserved_attrs: Any = None, optimize_numerics: bool = True) -> Any:
    """The module itself (freezing inlines constants for TorchScript)."""
    return mod


def optimize_for_inference(mod: Any, other_methods: Any = None) -> Any:
    """The module itself."""
    return mod


def save(m: Any, f: Any, _extra_files: Any = None) -> None:
    """Save a whole module (``glassgrad.save``: atomic, no pickle)."""
    from glassgrad.serialization import save as _save

    _save(m, f)


def load(f: Any, map_location: Any = None, _extra_files: Any = None, **kwargs: Any) -> Any:
    """Load a module written by ``jit.save`` (a class of your own must be allowed, as for
    ``glassgrad.load``: ``serialization.safe_globals``)."""
    from glassgrad.serialization import load as _load

    return _load(f, map_location=map_location)


class Error(RuntimeError):
    """TorchScript's error type (``except torch.jit.Error``): never raised here, nothing is
    compiled."""


class ScriptModule:
    """TorchScript's compiled-module class: ``script`` hands back the module itself, so no
    module is one (``isinstance(m, torch.jit.ScriptModule)`` is False, as for an eager one)."""


class ScriptFunction:
    """TorchScript's compiled-function class (no function is one here, as for ``ScriptModule``)."""


def Attribute(value: Any, type: Any = None) -> Any:
    """``self.x = torch.jit.Attribute(value, type)`` in a scripted module: the value itself."""
    return value


_builtin_isinstance = isinstance


def isinstance(obj: Any, target_type: Any) -> bool:
    """``isinstance`` that also takes typing's containers (``List[int]``, ``Dict[str, Tensor]``,
    ``Optional[T]``, ``Tuple[...]``), checking the container and its elements."""
    import typing

    origin = typing.get_origin(target_type)
    if origin is None:
        return _builtin_isinstance(obj, target_type)
    args = typing.get_args(target_type)
    if origin is typing.Union or str(origin) == "types.UnionType":
        return any(isinstance(obj, a) for a in args)
    if not _builtin_isinstance(obj, origin):
        return False
    if origin in (list, set, frozenset) and args:
        return all(isinstance(x, args[0]) for x in obj)
    if origin is dict and args:
        return all(isinstance(k, args[0]) and isinstance(v, args[1]) for k, v in obj.items())
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return all(isinstance(x, args[0]) for x in obj)
        return len(obj) == len(args) and all(isinstance(x, a) for x, a in zip(obj, args))
    return True


def interface(obj: Any) -> Any:
    """``@torch.jit.interface`` on a class: the class itself."""
    return obj


def script_if_tracing(fn: F) -> F:
    """The function itself (it would be scripted only while tracing)."""
    return fn


_FUSION: list[Any] = [[("STATIC", 2), ("DYNAMIC", 10)], False]


def set_fusion_strategy(strategy: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Remembered (TorchScript's fuser settings); returns the previous strategy."""
    previous, _FUSION[0] = _FUSION[0], list(strategy)
    return previous


def enable_onednn_fusion(enabled: bool) -> None:
    _FUSION[1] = bool(enabled)


def onednn_fusion_enabled() -> bool:
    return bool(_FUSION[1])


class strict_fusion:
    """``with torch.jit.strict_fusion():``: the block runs as it is."""

    def __enter__(self) -> strict_fusion:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None
