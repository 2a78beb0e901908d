"""``torch.autograd.profiler``: ``record_function`` (a no-op with no profiler running, as in
PyTorch); ``profile`` and the rest raise ``NotImplementedError``: glassgrad has no profiler."""

from __future__ import annotations

from glassgrad.profiler import _HINT, _PROFILER_NAMES, record_function

__all__ = ["record_function"]


def __getattr__(name: str) -> object:
    if name not in _PROFILER_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise NotImplementedError(f"torch.autograd.profiler.{name}: {_HINT}")
