"""``opaque``: marks a function of arrays that runs foreign compiled code (SciPy).

Such code reads and writes array memory directly, out of NumPy's sight. ``glassgrad.compile``
records a call of an ``opaque`` function as one call on plain arrays (it sets ``HOOK`` while it
records); otherwise the function just runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

HOOK: list[Any] = [None]  # (fn, args, kwargs) -> result, while glassgrad.compile records


def opaque(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, recorded by ``glassgrad.compile`` as a single call."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        hook = HOOK[0]
        return fn(*args, **kwargs) if hook is None else hook(fn, args, kwargs)

    return call
