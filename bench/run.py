"""glassgrad benchmarks: each workload in fresh interpreters, one markdown table of the results.

    .venv/bin/python bench/run.py                   # everything (what `make bench` runs)
    .venv/bin/python bench/run.py --only w2,w3      # a subset
    .venv/bin/python bench/run.py --profile w2      # where glassgrad spends its time in W2

glassgrad and hand-written NumPy run interleaved in one process (same BLAS, same conditions);
PyTorch runs in a process of its own, because its OpenMP threads spin after each op and steal the
2 cores from OpenBLAS (and vice versa) when the two libraries alternate. The table goes to stdout
and bench/results/latest.md; the raw timings to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import MEMORY, MODULES, WORKLOADS  # noqa: E402

RESULTS = HERE / "results"
THREADS = {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
# Memory runs: a fixed mmap threshold makes glibc hand every block >= 64 KiB back to the OS when it
# is freed, so the process RSS follows live memory instead of the allocator's high-water mark.
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "131072"}
NAMES = {"glassgrad": "glassgrad", "compiled": "compiled", "numpy": "NumPy", "torch": "PyTorch"}
LOSS_RTOL, GRAD_RTOL = 1e-4, 1e-3


# ---- running the workers -------------------------------------------------------------------------


def run_worker(workload: str, impls: list[str], budget: float, memory: bool) -> dict[str, Any]:
    """One fresh interpreter; returns its JSON, or an 'error' entry per impl if it died."""
    env = {**os.environ, **THREADS, **(MALLOC if memory else {})}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(HERE / "worker.py"), workload, "--out", str(out)]
        cmd += [f"--impl={i}" for i in impls] + [f"--budget={budget}"]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return {"impls": {i: {"error": "worker timed out after 300 s"} for i in impls}}
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            msg = f"worker exited with {proc.returncode}: " + " | ".join(
                " ".join(t.split()) for t in tail
            )
            return {"impls": {i: {"error": msg} for i in impls}}
        return json.loads(out.read_text())


def run_workload(workload: str, budget_per_impl: float, rounds: int) -> dict[str, Any]:
    """glassgrad + NumPy interleaved in one process, compiled + NumPy in another, torch alone
    (memory: one process each).

    Timed workloads alternate the two processes in ``rounds`` rounds, in ABBA order, and pool the
    samples: load from other processes then drifts onto both sides alike.
    """
    memory = workload in MEMORY
    if memory:
        schedule = [["glassgrad"], ["compiled"], ["numpy"], ["torch"]]
    else:
        # compiled runs beside NumPy in a process of its own: recording leaves the process in
        # another state (caches, allocator) that must not tilt eager glassgrad's figures
        pair = [["glassgrad", "numpy"], ["compiled", "numpy"], ["torch"]]
        schedule = [g for r in range(rounds) for g in (pair if r % 2 == 0 else pair[::-1])]
        budget_per_impl /= rounds
    merged: dict[str, Any] = {"workload": workload, "impls": {}, "versions": {}}
    for group in schedule:
        res = run_worker(workload, group, budget_per_impl * len(group), memory)
        for impl, new in res["impls"].items():
            merge_impl(merged["impls"], impl, new)
        merged["versions"].update(res.get("versions", {}))
        for key in ("title", "kind", "target", "compiled_target"):
            if key in res:
                merged[key] = res[key]
    return merged


def merge_impl(impls: dict[str, Any], impl: str, new: dict[str, Any]) -> None:
    """Add one process's result for ``impl``: pool timing samples, keep the first check."""
    old = impls.get(impl)
    if old is None or "error" in new:
        impls[impl] = new
        return
    if "error" in old:
        return
    for name, times in new.get("first_calls", {}).items():
        old.setdefault("first_calls", {}).setdefault(name, []).extend(times)
    for name, t in new.get("timers", {}).items():
        pooled = old.setdefault("timers", {}).setdefault(name, {"samples": []})
        pooled.update(summarize(pooled["samples"] + t["samples"]))


def summarize(samples: list[float]) -> dict[str, Any]:
    s = sorted(samples)
    q = len(s) // 4
    return {"median": statistics.median(s), "q1": s[q], "q3": s[-q - 1], "min": s[0],
            "n": len(s), "samples": s}  # fmt: skip


# ---- reading the results ---------------------------------------------------------------------


def check_agreement(impls: dict[str, Any]) -> tuple[bool | None, str]:
    """Do the losses and gradient norms of all available impls agree with the reference's?"""
    checks = {k: v["check"] for k, v in impls.items() if "check" in v}
    if len(checks) < 2:
        return None, "fewer than two implementations ran"
    ref_name = "torch" if "torch" in checks else next(iter(checks))
    ref = checks[ref_name]
    problems = []
    for name, c in checks.items():
        if abs(c["loss"] - ref["loss"]) > LOSS_RTOL * max(1.0, abs(ref["loss"])):
            problems.append(f"{NAMES[name]} loss {c['loss']:.7g} vs {ref['loss']:.7g}")
        if len(c["grad_norms"]) != len(ref["grad_norms"]):
            problems.append(f"{NAMES[name]} has {len(c['grad_norms'])} gradients")
            continue
        for i, (a, b) in enumerate(zip(c["grad_norms"], ref["grad_norms"])):
            if abs(a - b) > GRAD_RTOL * abs(b) + 1e-12:
                problems.append(f"{NAMES[name]} |grad {i}| {a:.6g} vs {b:.6g}")
    return not problems, "; ".join(problems)


def median(impl: dict[str, Any], timer: str) -> float | None:
    t = impl.get("timers", {}).get(timer)
    return t["median"] if t else None


def fmt_time(s: float | None) -> str:
    if s is None:
        return "n/a"
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def fmt_ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def fmt_mib(nbytes: float | None) -> str:
    return "n/a" if nbytes is None else f"{nbytes / 2**20:.1f} MiB"


def memory_rows(title: str, target: dict, gg: dict, np_: dict, th: dict, check: str) -> list:
    """W5: the target on tracemalloc (glassgrad vs NumPy), and RSS for all three."""
    tg, tn = gg.get("traced_peak_increase"), np_.get("traced_peak_increase")
    rg, rn, rt = (d.get("rss_peak_increase") for d in (gg, np_, th))
    ok = None if tg is None or tn is None else tg / tn <= target["max"]
    traced = [fmt_mib(tg), fmt_mib(tn), "—²", fmt_ratio(tg, tn), "—"]
    rss = [fmt_mib(rg), fmt_mib(rn), fmt_mib(rt), fmt_ratio(rg, rn), fmt_ratio(rg, rt)]
    return [
        [f"{title} — tracemalloc²", "peak increase", *traced, f"gg/NumPy ≤ {target['max']}",
         verdict(ok), check],
        [f"{title} — peak RSS²", "peak increase", *rss, "(informative)", "—", check],
    ]  # fmt: skip


def time_rows(title: str, target: dict, gg: dict, np_: dict, th: dict, check: str) -> list:
    """W4: a ratio of two timers per impl; W3: time per op; the rest: median step time."""
    impls = (gg, np_, th)
    kind = target.get("kind")
    if kind == "fwd_bwd_ratio":
        vals = []
        for d in impls:
            f, fb = median(d, "fwd"), median(d, "fwdbwd")
            vals.append(None if f is None or fb is None else fb / f)
        ok = None if vals[0] is None else vals[0] <= target["max"]
        cells = ["n/a" if v is None else f"{v:.2f}" for v in vals]
        return [[title, "fwd+bwd / fwd", *cells, "—", "—", f"gg ≤ {target['max']}",
                 verdict(ok), check]]  # fmt: skip
    if kind == "per_op":
        totals = [median(d, "fwdbwd") for d in impls]
        vals = [None if t is None else t / target["ops"] for t in totals]
        ok = None if vals[0] is None else vals[0] * 1e6 <= target["max_us"]
        metric, goal = "time per op", f"gg ≤ {target['max_us']:g} µs/op"
    else:
        vals = [median(d, "step") for d in impls]
        ref = vals[1] if target.get("vs") == "numpy" else vals[2]
        ok = None if vals[0] is None or ref is None else vals[0] / ref <= target["max"]
        metric, goal = "median step", f"gg/{NAMES[target['vs']]} ≤ {target['max']}"
    return [[title, metric, *[fmt_time(v) for v in vals], fmt_ratio(vals[0], vals[1]),
             fmt_ratio(vals[0], vals[2]), goal, verdict(ok), check]]  # fmt: skip


def rows_for(res: dict[str, Any]) -> list[list[str]]:
    """The table rows of one workload (W5 has two: tracemalloc and RSS)."""
    agree, _ = check_agreement(res["impls"])
    check = {None: "n/a", True: "ok", False: "**MISMATCH**"}[agree]
    impls = [res["impls"].get(k, {}) for k in ("glassgrad", "numpy", "torch")]
    if "target" not in res:  # every worker died before it could describe the workload
        return [
            [res["workload"].upper(), "—", "n/a", "n/a", "n/a", "n/a", "n/a", "—", "n/a", check]
        ]
    rows = memory_rows if res.get("kind") == "memory" else time_rows
    return rows(res.get("title", res["workload"]), res.get("target", {}), *impls, check)


def compiled_rows(res: dict[str, Any]) -> list[list[str]]:
    """One row of the compiled table: glassgrad.compile's figure beside eager, NumPy, PyTorch."""
    impls = res["impls"]
    c, g, n, t = (impls.get(k, {}) for k in ("compiled", "glassgrad", "numpy", "torch"))
    title, target = res.get("title", res["workload"]), res.get("compiled_target") or {}
    if not target:  # (W4's backward would be dropped: its gradients are never used)
        return []
    if "error" in c:
        return [[title, "n/a", "—", "—", "—", "—", "—", "—", "—", "n/a"]]
    kind = res.get("target", {}).get("kind")
    if res.get("kind") == "memory":
        vals = [d.get("traced_peak_increase") for d in (c, g, n)]
        ok = None if None in vals[:2] else vals[0] <= vals[1] * target.get("max", 1.0)
        return [[f"{title} — tracemalloc", *[fmt_mib(v) for v in vals], "—",
                 fmt_ratio(vals[0], vals[2]), "—", "—", "compiled ≤ eager",
                 verdict(ok)]]  # fmt: skip
    timer = "fwdbwd" if kind in ("per_op", "fwd_bwd_ratio") else "step"
    vals = [median(d, timer) for d in (c, g, n, t)]
    scale = res["target"].get("ops", 1) if kind == "per_op" else 1
    firsts = c.get("first_calls", {}).get(timer) or []
    first = "n/a"
    if firsts and vals[1] is not None:
        one, two = (statistics.median(run[k] for run in firsts) / vals[1] for k in (0, 1))
        first = f"{one:.1f}x / {two:.1f}x"
    goal = "—"
    ok = None
    if target and vals[0] is not None and vals[2] is not None:
        ok = vals[0] / vals[2] <= target["max"]
        goal = f"compiled/NumPy ≤ {target['max']}"
    shown = [fmt_time(None if v is None else v / scale) for v in vals]
    return [[title, *shown, fmt_ratio(vals[0], vals[2]), fmt_ratio(vals[0], vals[3]), first, goal,
             verdict(ok)]]  # fmt: skip


def environment(results: list[dict[str, Any]]) -> str:
    vers: dict[str, str] = {}
    for r in results:
        vers.update(r.get("versions", {}))
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=HERE, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "?"
    libs = ", ".join(f"{k} {v}" for k, v in vers.items())
    return (
        f"{time.strftime('%Y-%m-%d %H:%M')}, commit {commit or '?'}; {libs}; {cpu}, "
        f"{os.cpu_count()} CPUs; OPENBLAS/OMP/MKL_NUM_THREADS=2, torch.set_num_threads(2)"
    )


def render(results: list[dict[str, Any]], budget: float, load: str) -> str:
    head = [
        "Workload",
        "Metric",
        "glassgrad",
        "NumPy",
        "PyTorch",
        "gg/NumPy",
        "gg/PyTorch",
        "Target",
        "Met",
        "Check¹",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes = []
    for res in results:
        for row in rows_for(res):
            lines.append("| " + " | ".join(row) + " |")
        for impl, d in res["impls"].items():
            if "error" in d:
                notes.append(
                    f"- {res['workload'].upper()} {NAMES[impl]} not available: `{d['error']}`"
                )
        if res.get("target", {}).get("kind") == "fwd_bwd_ratio":
            parts = [
                f"{NAMES[k]} {fmt_time(median(d, 'fwd'))} / {fmt_time(median(d, 'fwdbwd'))}"
                for k, d in res["impls"].items()
                if "timers" in d
            ]
            notes.append(f"- {res['workload'].upper()} medians, fwd / fwd+bwd: " + "; ".join(parts))
        agree, why = check_agreement(res["impls"])
        if agree is False:
            notes.append(f"- {res['workload'].upper()} results disagree: {why}")
    head2 = ["Workload", "compiled", "eager", "NumPy", "PyTorch", "compiled/NumPy",
             "compiled/PyTorch", "1st / 2nd call³", "Target", "Met"]  # fmt: skip
    lines += ["", "`glassgrad.compile` (the same program, replayed as generated NumPy code):", ""]
    lines += ["| " + " | ".join(head2) + " |", "|" + "---|" * len(head2)]
    for res in results:
        for row in compiled_rows(res):
            lines.append("| " + " | ".join(row) + " |")
    footer = [
        f"Times: medians of single calls (`time.perf_counter`) after warm-up, ~{budget:g} s of "
        "timing per implementation; glassgrad and NumPy interleaved in one fresh process, "
        "PyTorch in its own, the two processes alternated in ABBA rounds and the samples pooled. "
        "Ratios are glassgrad's figure divided by the other's, from this run.",
        "",
        f"¹ Check: the first step's loss and per-parameter gradient norms agree across the "
        f"implementations (relative tolerance {LOSS_RTOL:g} / {GRAD_RTOL:g}), so all three compute "
        "the same thing.",
        "",
        "² Memory (one fresh process per implementation, parameters and data allocated before): "
        "tracemalloc = peak traced bytes during one forward+backward minus traced bytes before "
        "(NumPy reports its buffers to tracemalloc; torch's allocator does not, hence no figure). "
        "Peak RSS = VmHWM after the run minus VmRSS before, the high-water mark reset through "
        "/proc/self/clear_refs, glibc told to mmap blocks >= 64 KiB so freed memory is returned; "
        "median of 2 runs after a warm-up run.",
        "",
        "³ The first two calls of a compiled function run eagerly while they are recorded (the "
        "second checks the first); their times over the median eager step. Later calls replay.",
        "",
        "Environment: " + environment(results) + f"; load average {load}",
    ]
    return "\n".join([*lines, "", *notes, *([""] if notes else []), *footer]) + "\n"


def profile(workloads: list[str], budget: float, top: int) -> None:
    env = {**os.environ, **THREADS}
    for w in workloads:
        cmd = [sys.executable, str(HERE / "worker.py"), w, "--profile", f"--budget={budget}"]
        subprocess.run([*cmd, f"--top={top}"], env=env, check=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated workloads, e.g. w1,w3 (default: all)")
    ap.add_argument("--budget", type=float, default=1.5, help="seconds of timing per impl")
    ap.add_argument("--rounds", type=int, default=4, help="alternations of the two processes")
    ap.add_argument("--profile", nargs="+", metavar="W", help="cProfile glassgrad in workloads W")
    ap.add_argument("--top", type=int, default=15, help="functions shown by --profile")
    args = ap.parse_args()

    chosen = args.only.split(",") if args.only else list(WORKLOADS)
    bad = [w for w in chosen + (args.profile or []) if w not in MODULES]
    if bad:
        ap.error(f"unknown workload(s) {bad}; choose from {', '.join(WORKLOADS)}")
    if args.profile:
        profile(args.profile, max(args.budget * 2, 2.0), args.top)
        return

    results = []
    t_all = time.perf_counter()
    load0 = os.getloadavg()[0]
    for w in chosen:
        t0 = time.perf_counter()
        print(f"running {w} ...", end=" ", file=sys.stderr, flush=True)
        results.append(run_workload(w, args.budget, args.rounds))
        print(f"{time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    # Other processes on the machine skew the timings: say how busy it was (1-minute average).
    load = f"{load0:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    table = render(results, args.budget, load)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(table)
    raw = {
        "budget_per_impl_s": args.budget,
        "total_s": time.perf_counter() - t_all,
        "workloads": results,
    }
    (RESULTS / "latest.json").write_text(json.dumps(raw))
    print(
        f"(written to {RESULTS}/latest.md and latest.json; total "
        f"{time.perf_counter() - t_all:.0f} s)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
