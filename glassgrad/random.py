"""``torch.random``: the default generator's seed and state, and ``fork_rng``.

>>> import glassgrad as gg
>>> with gg.random.fork_rng():
...     _ = gg.rand(3)  # draws inside do not move the generator outside
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from glassgrad.creation import (
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = [
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]


@contextlib.contextmanager
def fork_rng(
    devices: Any = None,
    enabled: bool = True,
    _caller: str = "fork_rng",
    _devices_kw: str = "devices",
    device_type: str = "cuda",
) -> Iterator[None]:
    """Restore the default generator's state on exit: random draws inside leave no trace.

    ``devices``/``device_type`` name accelerator generators in PyTorch; this build has only the
    CPU one, so they are accepted and have nothing to save.
    """
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
