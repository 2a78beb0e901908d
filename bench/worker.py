"""Run one workload in this (fresh) interpreter and write its measurements as JSON; see run.py.

python bench/worker.py w1 --out w1.json              # time all three implementations
python bench/worker.py w5 --impl numpy --out m.json  # memory workloads: one impl per process
python bench/worker.py w2 --profile                  # cProfile of the glassgrad version
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from workloads import MODULES  # imports no NumPy: the workload modules are imported in main()

# Before NumPy or torch is imported anywhere: their thread pools size themselves at import.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

IMPLS = ("glassgrad", "compiled", "numpy", "torch")  # compiled: glassgrad.compile of the same code
BATCH_SECONDS = 0.02  # one impl runs this long before the next one gets its turn
MIN_SAMPLES = 15


def error_text(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip()
    return text if len(text) < 300 else text[:297] + "..."


def build_checked(mod: Any, impl: str, data: Any) -> tuple[Any, dict[str, Any]]:
    """Build an implementation and run its one-step check; an exception means 'not available'."""
    try:
        model = mod.build("glassgrad" if impl == "compiled" else impl, data)
        out: dict[str, Any] = {"check": model.check()}
        if impl == "compiled":
            out.update(compile_timers(model))
        return model, out
    except Exception as e:
        return None, {"error": error_text(e)}


def compile_timers(model: Any) -> dict[str, Any]:
    """The glassgrad program's timed calls through ``glassgrad.compile``: the calls up to the
    first replay (two recordings that must agree, a third where a first call differs, such as
    Adam's first step making its state) are timed on their own, as the cost of compiling; an
    implementation that falls back to eager counts as not available."""
    import warnings

    import glassgrad as gg
    from glassgrad.compiler import CompileWarning

    first: dict[str, list[list[float]]] = {}
    names = ["run"] if not hasattr(model, "timers") else list(model.timers)
    for name in names:
        fn = gg.compile(model.run if name == "run" else model.timers[name])
        times = []
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            while fn.stats["replays"] == 0 and len(times) < 6:
                if name == "run":
                    model.reset()
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
        if fn.stats["programs"] != 1 or fn.stats["replays"] != 1:
            raise RuntimeError(f"{name} did not compile: {fn.stats}")
        first[name] = [times]  # one process's calls (run.py pools the processes' lists)
        if name == "run":
            model.run = fn
        else:
            model.timers[name] = fn
    return {
        "first_calls": first,
        "code_lines": {
            n: len(model.timers[n].code.splitlines())
            if n != "run"
            else len(model.run.code.splitlines())
            for n in names
        },
    }


# ---- timing ------------------------------------------------------------------------------------


def time_workload(mod: Any, impls: list[str], budget: float) -> dict[str, Any]:
    """Median time of every timer of every impl, the impls interleaved in rounds."""
    data = mod.setup()
    result: dict[str, Any] = {}
    fns: dict[tuple[str, str], Any] = {}
    for impl in impls:
        model, result[impl] = build_checked(mod, impl, data)
        if model is not None:
            for name, fn in model.timers.items():
                fns[impl, name] = fn

    # Warm-up (caches, lazy imports, allocator) and a per-call estimate to size the batches.
    batch: dict[tuple[str, str], int] = {}
    warm = 0.05 * budget / max(len(fns), 1)
    for key, fn in list(fns.items()):
        try:
            n, t0 = 0, time.perf_counter()
            while n < 3 or time.perf_counter() - t0 < warm:
                fn()
                n += 1
            per_call = (time.perf_counter() - t0) / n
            batch[key] = max(1, round(BATCH_SECONDS / per_call))
        except Exception as e:
            result[key[0]] = {"error": error_text(e)}
            del fns[key]

    samples: dict[tuple[str, str], list[float]] = {key: [] for key in fns}
    keys = list(fns)
    clock = time.perf_counter
    start = clock()
    rnd = 0
    while keys:
        k = rnd % len(keys)
        for key in keys[k:] + keys[:k]:  # rotate who goes first
            fn, out = fns[key], samples[key]
            for _ in range(batch[key]):
                t0 = clock()
                fn()
                out.append(clock() - t0)
        rnd += 1
        elapsed = clock() - start
        enough = min(len(s) for s in samples.values()) >= MIN_SAMPLES
        if (elapsed >= budget and enough) or elapsed >= 3 * budget:
            break

    for (impl, name), s in samples.items():
        s.sort()
        q = len(s) // 4
        result[impl].setdefault("timers", {})[name] = {
            "median": statistics.median(s),
            "q1": s[q],
            "q3": s[-q - 1],
            "min": s[0],
            "n": len(s),
            "samples": s,
        }
    return result


# ---- memory ------------------------------------------------------------------------------------


def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # Linux >= 4.0: set VmHWM back to the current VmRSS
        return True
    except OSError:
        return False


def memory_workload(mod: Any, impl: str, repeats: int = 2) -> dict[str, Any]:
    """Peak memory increase of one ``run()``: traced by tracemalloc, and as process RSS."""
    data = mod.setup()
    model, result = build_checked(mod, impl, data)  # the check doubles as the warm-up
    result = {k: v for k, v in result.items() if k != "first_calls"}
    if model is None:
        return {impl: result}
    try:
        rss = []
        for _ in range(repeats if _reset_peak_rss() else 0):
            model.reset()
            gc.collect()
            before = _proc_status_kib("VmRSS")
            _reset_peak_rss()
            model.run()
            rss.append((_proc_status_kib("VmHWM") - before) * 1024)
        if rss:
            result["rss_peak_increase"] = statistics.median(rss)
            result["rss_runs"] = rss
        if impl != "torch":  # torch's allocations bypass Python's allocator: tracemalloc sees none
            model.reset()
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            model.run()
            result["traced_peak_increase"] = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()
    except Exception as e:
        result = {"error": error_text(e)}
    return {impl: result}


# ---- profile -----------------------------------------------------------------------------------


def profile_workload(mod: Any, seconds: float, top: int) -> None:
    """cProfile the glassgrad version's timers for ``seconds``; print the top functions."""
    import cProfile
    import pstats

    model, result = build_checked(mod, "glassgrad", mod.setup())
    if model is None:
        print(f"# {mod.TITLE}: glassgrad not available: {result['error']}")
        return
    fns = list(model.timers.values())
    for fn in fns:
        fn()
    prof = cProfile.Profile()
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for fn in fns:
            prof.runcall(fn)
        calls += 1
    print(f"# {mod.TITLE}: glassgrad, {calls} calls of {', '.join(model.timers)} under cProfile")
    pstats.Stats(prof).strip_dirs().sort_stats("tottime").print_stats(top)


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in ("numpy", "torch", "glassgrad"):
        m = sys.modules.get(name)
        if m is not None:
            out[name] = getattr(m, "__version__", "?")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=sorted(MODULES))
    ap.add_argument("--out", help="where to write the JSON result")
    ap.add_argument("--impl", action="append", choices=IMPLS, help="default: all three")
    ap.add_argument("--budget", type=float, default=4.0, help="seconds of timing, all impls")
    ap.add_argument("--profile", action="store_true", help="cProfile glassgrad instead")
    ap.add_argument("--top", type=int, default=15, help="functions shown by --profile")
    args = ap.parse_args()

    mod = importlib.import_module(f"workloads.{MODULES[args.workload]}")
    if args.profile:
        profile_workload(mod, seconds=max(args.budget / 2, 1.0), top=args.top)
        return
    impls = args.impl or list(IMPLS)
    t0 = time.perf_counter()
    if mod.KIND == "memory":
        if len(impls) != 1:
            ap.error("memory workloads measure one --impl per process")
        result = memory_workload(mod, impls[0])
    else:
        result = time_workload(mod, impls, args.budget)
    payload = {
        "workload": args.workload,
        "title": mod.TITLE,
        "kind": mod.KIND,
        "target": mod.TARGET,
        "compiled_target": getattr(mod, "COMPILED_TARGET", None),
        "impls": result,
        "versions": versions(),
        "threads": {v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
        "wall_s": time.perf_counter() - t0,
    }
    text = json.dumps(payload)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
