"""``torch._dynamo``'s names that training scripts touch, for ``glassgrad.compile``.

``torch._dynamo.config.suppress_errors = True`` (and other settings) are accepted and kept:
glassgrad already runs a function it cannot compile eagerly, with a warning. ``reset``,
``disable`` and ``is_compiling`` are ``glassgrad.compiler``'s.
"""

from __future__ import annotations

from types import SimpleNamespace

from glassgrad.compiler.control import disable, is_compiling, reset

config = SimpleNamespace(
    suppress_errors=False,
    cache_size_limit=8,
    verbose=False,
    capture_scalar_outputs=False,
    optimize_ddp=True,
)

__all__ = ["config", "disable", "is_compiling", "reset"]
