"""``glassgrad.compile``: a training step recorded once, then run as the NumPy program it is.

See ``compiled.py`` for how calls are grouped, recorded, checked and replayed, ``trace.py`` and
``recording.py`` for the recording, and ``program.py`` for the code it generates.
"""

from glassgrad.compiler.compiled import CompiledFunction, CompileWarning
from glassgrad.compiler.program import Retrace

__all__ = ["CompileWarning", "CompiledFunction", "Retrace"]
