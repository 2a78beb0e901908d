"""``GradScaler``: PyTorch's dynamic loss scaling (scale, unscale, skip overflowing steps)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["GradScaler"]


class GradScaler:
    """Multiplies the loss by ``scale`` before ``backward``; ``step`` divides the gradients back
    and skips the optimizer step if any is inf/NaN; ``update`` halves the scale after such a
    step and doubles it after ``growth_interval`` clean ones. Disabled (every method passes
    through) when ``enabled=False`` or for ``device="cuda"``, which glassgrad does not have."""

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = device
        self._enabled = bool(enabled)
        if self._enabled and device != "cpu":
            warnings.warn(
                f"GradScaler is enabled, but device {device!r} is not available (glassgrad "
                f"runs on the CPU only). Disabling.",
                stacklevel=2,
            )
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise ValueError("GradScaler: the growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise ValueError("GradScaler: the backoff factor must be < 1.0.")
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._unscaled: dict[int, bool] = {}  # optimizer id -> found inf/NaN, since update()
        self._stepped: set[int] = set()

    def is_enabled(self) -> bool:
        """Whether the scaler scales (False after disabling itself for a missing device)."""
        return self._enabled

    def scale(self, outputs: Any) -> Any:
        """``outputs`` times the current scale (a tensor, or an iterable of them, as given)."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, Iterable) and not hasattr(outputs, "grad_fn"):
            return (self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place (once per ``update``)."""
        if not self._enabled:
            return
        key = id(optimizer)
        if key in self._unscaled:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if key in self._stepped:
            raise RuntimeError("unscale_() is being called after step().")
        inv = 1.0 / self._scale
        found = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.detach()
                if not np.all(np.isfinite(g.numpy())):
                    found = True
                g.mul_(inv)
        self._unscaled[key] = found

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (unless ``unscale_`` did) and step, or skip the step on inf/NaN gradients."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        key = id(optimizer)
        if key in self._stepped:
            raise RuntimeError("step() has already been called since the last update().")
        if key not in self._unscaled:
            self.unscale_(optimizer)
        self._stepped.add(key)
        if self._unscaled[key]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | Any = None) -> None:
        """Back off after an overflowing step, grow after ``growth_interval`` clean ones; or set
        ``new_scale``."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        elif self._unscaled:
            if any(self._unscaled.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
        else:
            raise AssertionError("No inf checks were recorded prior to update.")
        self._unscaled.clear()
        self._stepped.clear()

    def get_scale(self) -> float:
        """The current scale; 1.0 when disabled."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's keys; empty when disabled."""
        if not self._enabled:
            return {}
        return {
            "scale": self._scale,
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a disabled "
                "instance of GradScaler."
            )
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
