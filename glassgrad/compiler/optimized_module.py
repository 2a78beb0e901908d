"""``glassgrad.compile(model)``: the module, called through a compiled function.

As PyTorch's ``OptimizedModule``: a module holding the original as ``_orig_mod`` (so its
``state_dict`` keys start with ``_orig_mod.``, as scripts that strip that prefix expect), whose
calls run ``model(*args)`` through ``glassgrad.compile``. A forward whose outputs a later
``loss.backward()`` uses replays as two functions joined by one ``CompiledFunctionBackward``
node (``split.py``); under ``no_grad`` it replays as one. Attributes the wrapper lacks
(``model.config``, ``model.generate``) are the original's.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

from glassgrad.compiler.compiled import CompiledFunction
from glassgrad.nn.module import Module


class OptimizedModule(Module):
    """A module whose calls run compiled; the original is ``_orig_mod``."""

    def __init__(self, mod: Module) -> None:
        super().__init__()
        self._orig_mod = mod

        def forward(*args: Any, **kwargs: Any) -> Any:
            return mod(*args, **kwargs)

        forward.__qualname__ = f"{type(mod).__name__}.forward"
        with contextlib.suppress(TypeError, ValueError):  # inputs named as forward names them
            forward.__signature__ = inspect.signature(mod.forward)  # type: ignore[attr-defined]
        object.__setattr__(self, "_compiled", CompiledFunction(forward))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiled(*args, **kwargs)

    @property
    def code(self) -> str | None:
        """The generated code of the latest program (see ``CompiledFunction.code``)."""
        return self._compiled.code

    @property
    def stats(self) -> dict[str, int]:
        """How the calls ran (see ``CompiledFunction.stats``)."""
        return self._compiled.stats

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)
