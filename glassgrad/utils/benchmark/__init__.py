"""``torch.utils.benchmark``: time a Python statement and compare the timings in a table.

``Timer(stmt, setup, globals=...)`` runs ``stmt`` through Python's ``timeit`` with the number of
threads it is given (``num_threads``); ``timeit(n)``, ``blocked_autorange()`` and
``adaptive_autorange()`` return a ``Measurement`` (per-run times, median, IQR, a printed summary),
and ``Compare(measurements).print()`` lays them out by label, sub-label and description.

>>> import glassgrad as gg
>>> from glassgrad.utils.benchmark import Timer
>>> m = Timer("x * 2", globals={"x": gg.ones(3)}, label="double").timeit(10)
>>> m.number_per_run, len(m.times), m.title
(10, 1, 'double')

C++ statements, Callgrind counts and the ``Fuzzer`` are not available here: they raise saying so.
"""

from __future__ import annotations

from glassgrad.utils.benchmark.compare import Colorize, Compare
from glassgrad.utils.benchmark.timer import (
    Language,
    Measurement,
    TaskSpec,
    Timer,
    ordered_unique,
    select_unit,
    set_torch_threads,
    trim_sigfig,
    unit_to_english,
)

__all__ = [
    "Colorize",
    "Compare",
    "Language",
    "Measurement",
    "TaskSpec",
    "Timer",
    "ordered_unique",
    "select_unit",
    "set_torch_threads",
    "trim_sigfig",
    "unit_to_english",
]


def __getattr__(name: str) -> object:
    if name in (
        "Fuzzer",
        "FuzzedParameter",
        "FuzzedTensor",
        "FuzzedSparseTensor",
        "ParameterAlias",
    ):
        raise NotImplementedError(
            f"torch.utils.benchmark.{name}: glassgrad has no benchmark fuzzer; time fixed inputs "
            "with Timer instead"
        )
    if name in ("CallgrindStats", "FunctionCounts", "FunctionCount", "CopyIfCallgrind"):
        raise NotImplementedError(
            f"torch.utils.benchmark.{name}: glassgrad has no Callgrind instruction counts; use "
            "Timer.timeit or Timer.blocked_autorange"
        )
    raise AttributeError(f"module 'glassgrad.utils.benchmark' has no attribute {name!r}")
