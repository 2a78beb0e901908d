"""Explicit-Jacobian chain rule vs vector-Jacobian product, at full size: slopes, plot and JSON.

    .venv/bin/python bench/jacobian_vs_vjp.py       # widths 64 ... 4096 (about 10-20 s)

Runs ``examples/jacobian_vs_vjp.py`` (see it for what is timed and why) and writes
bench/results/jacobian_vs_vjp.{png,json}; the slopes are printed. A script of its own rather than
a ``bench/run.py`` workload, since it compares two methods inside glassgrad, not glassgrad against
NumPy and PyTorch.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def main(argv: list[str] | None = None) -> None:
    spec = importlib.util.spec_from_file_location(
        "jacobian_vs_vjp", HERE.parent / "examples" / "jacobian_vs_vjp.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    RESULTS.mkdir(exist_ok=True)
    args = list(sys.argv[1:] if argv is None else argv)
    if "--plot" not in args:
        args += ["--plot", str(RESULTS / "jacobian_vs_vjp.png")]
    res = example.main(args)
    (RESULTS / "jacobian_vs_vjp.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
