"""``glassgrad.cuda.amp``: PyTorch's older spelling of ``glassgrad.amp`` for ``"cuda"``; without
a GPU both disable themselves (a disabled scaler and autocast pass everything through)."""

from __future__ import annotations

from typing import Any

from glassgrad import amp

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


class GradScaler(amp.GradScaler):
    """``amp.GradScaler("cuda", ...)``: disabled, with PyTorch's warning if ``enabled``."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )


class autocast(amp.autocast):
    """``amp.autocast("cuda", ...)``: a no-op, as PyTorch's without a GPU."""

    def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True) -> None:
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


def custom_fwd(fwd: Any = None, *, cast_inputs: Any = None) -> Any:
    """``amp.custom_fwd(device_type="cuda")``: a pass-through (no CUDA autocast here)."""
    return amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Any = None) -> Any:
    """``amp.custom_bwd(device_type="cuda")``: a pass-through."""
    return amp.custom_bwd(bwd, device_type="cuda")
