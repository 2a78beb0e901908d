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
    "Final",
    "Future",
    "annotate",
    "export",
    "fork",
    "freeze",
    "ignore",
    "is_scripting",
    "is_tracing",
    "load",
    "optimize_for_inference",
    "save",
    "script",
    "script_method",
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
