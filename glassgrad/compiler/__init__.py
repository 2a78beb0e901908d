"""``glassgrad.compile``: a training step recorded once, then run as the NumPy program it is.

See ``compiled.py`` for how calls are grouped, recorded, checked and replayed, ``trace.py`` and
``recording.py`` for the recording, ``program.py`` for the code it generates, ``split.py`` for a
forward whose backward runs after the call, and ``control.py`` for ``torch.compiler``'s controls
(this package is the path ``torch.compiler`` maps to).
"""

from glassgrad.compiler.compiled import CompiledFunction, CompileWarning
from glassgrad.compiler.control import (
    allow_in_graph,
    assume_constant_result,
    cudagraph_mark_step_begin,
    disable,
    is_compiling,
    is_dynamo_compiling,
    is_exporting,
    list_backends,
    reset,
)
from glassgrad.compiler.program import Retrace
from glassgrad.runtime import compile

__all__ = [
    "CompileWarning",
    "CompiledFunction",
    "Retrace",
    "allow_in_graph",
    "assume_constant_result",
    "compile",
    "cudagraph_mark_step_begin",
    "disable",
    "is_compiling",
    "is_dynamo_compiling",
    "is_exporting",
    "list_backends",
    "reset",
]
