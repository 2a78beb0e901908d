"""einops on glassgrad tensors, also under ``import glassgrad as torch``.

einops picks a backend by the tensor's type among the frameworks already imported (their names
in ``sys.modules``); its torch backend looks for the module named ``torch``, which is glassgrad
only where ``torch`` resolves to it. So a program that says ``import glassgrad as torch`` and
``from einops import rearrange`` got "Tensor type unknown to einops". This adds a backend named
``glassgrad`` (einops' torch backend with glassgrad as its ``torch``) once einops is imported:
at once if it already is, else right after its backends module loads. glassgrad never imports
einops itself.
"""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any

_BACKENDS = "einops._backends"


def _register(backends: Any) -> None:
    """Define the glassgrad backend as a subclass einops finds (its subclasses are its list)."""
    torch_backend = getattr(backends, "TorchBackend", None)
    if torch_backend is None or getattr(backends, "_glassgrad_registered", False):
        return  # an einops without a torch backend to build on, or done already

    class GlassgradBackend(torch_backend):  # type: ignore[misc, valid-type]
        framework_name = "glassgrad"

        def __init__(self) -> None:  # (not torch's: that one imports torch)
            import glassgrad

            self.torch = glassgrad

    backends._glassgrad_registered = True
    backends._glassgrad_backend = GlassgradBackend  # kept referenced: einops reads subclasses


class _AfterEinops(importlib.abc.MetaPathFinder):
    """Registers the backend right after ``einops._backends`` runs, then steps aside."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _BACKENDS:
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            spec = getattr(finder, "find_spec", lambda *a: None)(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader, run = spec.loader, spec.loader.exec_module

        def exec_module(module: Any) -> None:
            run(module)
            _register(module)

        loader.exec_module = exec_module
        return spec


def install() -> None:
    """Make einops take glassgrad tensors, now or when it is imported."""
    backends = sys.modules.get(_BACKENDS)
    if backends is not None:
        _register(backends)
    elif not any(isinstance(f, _AfterEinops) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterEinops())
