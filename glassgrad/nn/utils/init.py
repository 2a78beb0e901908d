"""``torch.nn.utils.skip_init``: build a module without running its parameter initialization."""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Any:
    """``module_cls(*args, **kwargs)`` with its parameters left uninitialised, for a caller who
    will overwrite them (loading a checkpoint): ``reset_parameters`` is not run."""
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError(
            f"skip_init: {module_cls.__name__} must take a `device` argument (PyTorch's rule for "
            "modules that support skipping initialization)"
        )
    if getattr(module_cls, "reset_parameters", None) is None:
        return module_cls(*args, **kwargs)
    own = vars(module_cls).get("reset_parameters")
    module_cls.reset_parameters = lambda self: None  # type: ignore[attr-defined]
    try:
        return module_cls(*args, **kwargs)
    finally:
        if own is None:
            del module_cls.reset_parameters  # type: ignore[attr-defined]
        else:
            module_cls.reset_parameters = own  # type: ignore[attr-defined]
