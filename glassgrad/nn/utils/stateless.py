"""``torch.nn.utils.stateless.functional_call``: the pre-2.0 spelling of
``glassgrad.func.functional_call`` (one dict, ``tie_weights``/``strict`` keywords)."""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["functional_call"]


def functional_call(
    module: Any,
    parameters_and_buffers: dict[str, Any],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Deprecated in PyTorch 2.0 in favour of ``torch.func.functional_call``; warns the same."""
    from glassgrad.func import _functional_call

    warnings.warn(
        "`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be "
        "removed in a future version of PyTorch. Please use `torch.func.functional_call` instead "
        "which is a drop-in replacement.",
        FutureWarning,
        stacklevel=2,
    )
    return _functional_call(module, dict(parameters_and_buffers), args, kwargs, tie_weights, strict)
