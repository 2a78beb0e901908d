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
    """A module whose calls run compiled; the original is ``_orig_mod``.

    ``glassgrad.save(compiled_model)`` stores the wrapper and the model, not the generated code
    (rebuilt at the first call after ``load``)."""

    _transient_attributes = ("_compiled",)

    def __init__(self, mod: Module, fullgraph: bool = False) -> None:
        super().__init__()
        self._orig_mod = mod
        self._fullgraph = fullgraph

    def _compiled_call(self) -> CompiledFunction:
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            mod = self.__dict__["_modules"]["_orig_mod"]

            def forward(*args: Any, **kwargs: Any) -> Any:
                return mod(*args, **kwargs)

            forward.__qualname__ = f"{type(mod).__name__}.forward"
            with contextlib.suppress(TypeError, ValueError):  # inputs named as forward does
                forward.__signature__ = inspect.signature(mod.forward)  # type: ignore[attr-defined]
            fullgraph = self.__dict__.get("_fullgraph", False)
            compiled = self.__dict__["_compiled"] = CompiledFunction(forward, fullgraph)
        return compiled

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiled_call()(*args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)  # (a copy or a pickle: the code is rebuilt when called)
        state.pop("_compiled", None)
        return state

    @property
    def code(self) -> str | None:
        """The generated code of the latest program (see ``CompiledFunction.code``)."""
        return self._compiled_call().code

    @property
    def stats(self) -> dict[str, int]:
        """How the calls ran (see ``CompiledFunction.stats``)."""
        return self._compiled_call().stats

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)
