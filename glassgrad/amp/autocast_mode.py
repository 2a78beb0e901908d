"""``autocast``: a no-op where PyTorch's is one on a CPU-only machine (``"cuda"``, or disabled)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from glassgrad import dtypes

__all__ = ["autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]

_WARNED: set[str] = set()  # the lower-precision dtypes already warned about


def is_autocast_available(device_type: str) -> bool:
    """Whether ``autocast`` runs for ``device_type``: glassgrad has no lower-precision casting."""
    return False


class autocast:
    """``with autocast(device_type, dtype=None, enabled=True)``: runs the block as written.

    PyTorch disables a ``"cuda"`` autocast without a GPU (with a warning), and so does this; an
    enabled CPU autocast to float16/bfloat16 (Karpathy's GPT-2 script enters one on any device)
    runs the block in float32, with one warning saying so: glassgrad has no lower-precision
    casting, and a program that runs on PyTorch's CPU should run here. Also a decorator."""

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise ValueError(
                f"autocast: expected `device_type` of type `str`, got: `{type(device_type)}`"
            )
        self.device = device_type
        self.fast_dtype = dtype
        # warnings point at the user's line (through a subclass's __init__: torch.cpu.amp...)
        level = 2 if type(self).__init__ is autocast.__init__ else 3
        self._enabled = bool(enabled)
        if self._enabled and device_type != "cpu":
            warnings.warn(
                f"User provided device_type of {device_type!r}, but it is not available "
                f"(glassgrad runs on the CPU only). Disabling autocast.",
                stacklevel=level,
            )
            self._enabled = False
        if self._enabled and dtype is not None and dtypes.name(dtype) == "torch.float32":
            self._enabled = False  # casting float32 ops to float32 changes nothing
        if self._enabled:
            name = "torch.bfloat16" if dtype is None else dtypes.name(dtype)
            if name not in _WARNED:  # once: a training loop enters it every step
                _WARNED.add(name)
                warnings.warn(
                    f"autocast(device_type='cpu', dtype={name}): glassgrad has no lower-precision "
                    "casting, so the block computes in the dtypes it is given (float32): its "
                    "numbers are more precise than PyTorch's, which rounds matmuls and "
                    "convolutions to the lower precision",
                    stacklevel=level,
                )
            self._enabled = False

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapped


def custom_fwd(
    fwd: Callable[..., Any] | None = None, *, device_type: str, cast_inputs: Any = None
) -> Any:
    """Decorate a custom ``Function``'s ``forward`` for autocast regions. PyTorch casts the
    inputs to ``cast_inputs`` only inside an enabled autocast region, and glassgrad's never
    lowers precision (its tensors keep their dtypes), so the forward runs as it is."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd: Callable[..., Any] | None = None, *, device_type: str) -> Any:
    """Decorate a custom ``Function``'s ``backward`` to run in its forward's autocast state:
    a pass-through, as ``custom_fwd``."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
