"""Process-wide switches with PyTorch's names: matmul precision, determinism, thread count.

glassgrad's float32 matmuls are always full precision and its ops deterministic, so the first
two only remember what was set (and check it as PyTorch does). ``set_num_threads`` limits the
BLAS thread pools when ``threadpoolctl`` is installed, else it is remembered only.

>>> import glassgrad as gg
>>> gg.set_float32_matmul_precision("high")
>>> gg.get_float32_matmul_precision()
'high'
>>> gg.set_float32_matmul_precision("highest")
"""

from __future__ import annotations

import os
from typing import Any

from glassgrad._errors import OutOfMemoryError

__all__ = [
    "OutOfMemoryError",
    "are_deterministic_algorithms_enabled",
    "compile",
    "get_deterministic_debug_mode",
    "get_float32_matmul_precision",
    "get_num_interop_threads",
    "get_num_threads",
    "init_num_threads",
    "is_deterministic_algorithms_warn_only_enabled",
    "is_warn_always_enabled",
    "set_deterministic_debug_mode",
    "set_float32_matmul_precision",
    "set_flush_denormal",
    "set_num_interop_threads",
    "set_num_threads",
    "set_warn_always",
    "use_deterministic_algorithms",
]

_state: dict[str, Any] = {
    "matmul_precision": "highest",
    "deterministic": False,
    "warn_only": False,
    "num_threads": None,
    "interop_threads": None,
}
_limiter: list[Any] = []


def set_float32_matmul_precision(precision: str) -> None:
    """'highest', 'high' or 'medium' (glassgrad always computes at 'highest')."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(
            f"set_float32_matmul_precision: invalid precision {precision!r}; "
            f"use 'highest', 'high' or 'medium'"
        )
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return str(_state["matmul_precision"])


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Remembered: every glassgrad op is deterministic already."""
    _state["deterministic"] = bool(mode)
    _state["warn_only"] = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return bool(_state["deterministic"])


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return bool(_state["warn_only"])


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode: str | int) -> None:
    """PyTorch's other spelling of ``use_deterministic_algorithms``: ``"default"``/0 off,
    ``"warn"``/1 on with warnings only, ``"error"``/2 on."""
    mode = _DEBUG_MODES.get(debug_mode, -1) if isinstance(debug_mode, str) else debug_mode
    if isinstance(mode, bool) or not isinstance(mode, int) or mode not in (0, 1, 2):
        raise RuntimeError(
            "set_deterministic_debug_mode: invalid value of debug_mode, expected one of "
            f"`default`, `warn`, `error` (or 0, 1, 2), but got {debug_mode!r}"
        )
    use_deterministic_algorithms(mode > 0, warn_only=mode == 1)


def get_deterministic_debug_mode() -> int:
    """0 (off), 1 (warn only) or 2 (on), as ``use_deterministic_algorithms`` last set it."""
    if not _state["deterministic"]:
        return 0
    return 1 if _state["warn_only"] else 2


def set_warn_always(b: bool) -> None:
    """Remembered (PyTorch then repeats warnings it gives once; glassgrad's are Python's own
    ``warnings``, filtered as the warnings filters say)."""
    _state["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    return bool(_state.get("warn_always", False))


def set_flush_denormal(mode: bool) -> bool:
    """False: NumPy gives no switch for flushing denormal floats to zero, so nothing changes
    (PyTorch returns False too where the CPU cannot)."""
    return False


def init_num_threads() -> None:
    """Nothing to set up: NumPy's thread pools start with the process."""


def set_num_threads(num: int) -> None:
    """Threads for intra-op work: limits NumPy's BLAS pools (with ``threadpoolctl``)."""
    if isinstance(num, bool) or not isinstance(num, int) or num <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {num!r}")
    _state["num_threads"] = num
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    _limiter[:] = [threadpool_limits(limits=num)]


def get_num_threads() -> int:
    """What ``set_num_threads`` set, else the number of CPUs."""
    n = _state["num_threads"]
    return int(n) if n is not None else (os.cpu_count() or 1)


def set_num_interop_threads(num: int) -> None:
    if isinstance(num, bool) or not isinstance(num, int) or num <= 0:
        raise RuntimeError(f"set_num_interop_threads expects a positive integer, got {num!r}")
    _state["interop_threads"] = num


def get_num_interop_threads() -> int:
    n = _state["interop_threads"]
    return int(n) if n is not None else (os.cpu_count() or 1)


def compile(
    model: Any = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: Any = "inductor",
    mode: str | None = None,
    options: dict[str, Any] | None = None,
    disable: bool = False,
) -> Any:
    """Compile a function (a whole training step: forward, ``backward()``, ``optimizer.step()``)
    into straight-line NumPy code; usable as ``@glassgrad.compile`` or ``compile(fn)``.

    The first calls run eagerly while they are recorded; once two recordings agree, later calls
    with arguments of the same shapes, dtypes and flags run the generated code (``fn.code``
    shows it) with no tensors, graph or dispatch. Python that depends on a tensor's value makes
    the function run eagerly, with a ``CompileWarning`` naming the line. A module
    (``compile(model)``, as nanoGPT-style scripts do) comes back as PyTorch's
    ``OptimizedModule``, holding it as ``_orig_mod``: its forward replays as generated code and
    ``loss.backward()`` after it runs the generated backward (one ``CompiledFunctionBackward``
    node); a function returning such outputs is compiled the same way.
    """
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, disable=disable)
    if not callable(model):
        raise RuntimeError(f"compile: expected a module or a function, got {type(model).__name__}")
    from glassgrad.nn.module import Module

    if disable:
        return model
    if isinstance(model, Module):
        from glassgrad.compiler.optimized_module import OptimizedModule

        return OptimizedModule(model, fullgraph)
    from glassgrad.compiler import CompiledFunction

    return CompiledFunction(model, fullgraph)
