"""``torch.compiler``'s controls: ``disable``, ``is_compiling``, ``reset``, and no-ops scripts call.

``glassgrad.compiler`` is the path ``torch.compiler`` maps to, so scripts that mark a function
as not to be compiled, ask whether they are being compiled, or reset the caches between
experiments run unchanged.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

from glassgrad.compiler.trace import _LOCAL, active

_COMPILED: weakref.WeakSet[Any] = weakref.WeakSet()  # every CompiledFunction made (for reset)


def is_compiling() -> bool:
    """True while ``glassgrad.compile`` records a call (the code a replay runs is what ran
    then), as PyTorch's is True while a function is traced."""
    return getattr(_LOCAL, "rec", None) is not None


def is_dynamo_compiling() -> bool:
    """``is_compiling`` (glassgrad has one compiler)."""
    return is_compiling()


def is_exporting() -> bool:
    """False: glassgrad exports nothing through the compiler."""
    return False


def disable(fn: Any = None, recursive: bool = True, *, reason: str | None = None) -> Any:
    """Mark ``fn`` as never compiled: a compiled function that calls it runs eagerly (with a
    ``CompileWarning`` naming it); PyTorch would break the graph around it, glassgrad records
    whole calls only. Usable as ``@disable`` or ``disable(fn)``."""
    if fn is None:
        return lambda f: disable(f, recursive, reason=reason)
    from glassgrad.nn.module import Module

    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    why = f"it calls {name}, marked torch.compiler.disable" + (f" ({reason})" if reason else "")
    if isinstance(fn, Module):
        fn.__dict__["_compile_disabled"] = why  # (Module.__call__ under recording checks it)
        return fn

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        rec = active()
        if rec is not None:
            rec.abort(why)
        return fn(*args, **kwargs)

    return run


def reset() -> None:
    """Forget every compiled function's recordings and programs: the next calls record again."""
    for compiled in list(_COMPILED):
        compiled.reset()


def allow_in_graph(fn: Any) -> Any:
    """``fn`` itself: glassgrad records through any function."""
    return fn


def assume_constant_result(fn: Any) -> Any:
    """``fn`` itself: a result the recording reads is checked like any other value."""
    return fn


def cudagraph_mark_step_begin() -> None:
    """Nothing to mark: glassgrad has no CUDA graphs."""


def list_backends(exclude_tags: Any = ("debug", "experimental")) -> list[str]:
    """The backend names ``compile`` accepts (all run glassgrad's own code generation)."""
    return ["inductor"]
