"""``glassgrad.onnx``: importable, so scripts that mention ``torch.onnx`` load; ``export`` is not
implemented (glassgrad records no graph a model could be exported from ahead of a run)."""

from __future__ import annotations

from typing import Any

__all__ = ["export"]


def export(model: Any, args: Any = None, f: Any = None, *rest: Any, **kwargs: Any) -> None:
    """Not implemented: raises ``NotImplementedError``."""
    raise NotImplementedError(
        "glassgrad.onnx.export is not implemented: glassgrad cannot export models to ONNX "
        "(save the weights with glassgrad.save(model.state_dict(), path) instead)"
    )
