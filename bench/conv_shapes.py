"""conv2d / conv_transpose2d on the shapes GANs and ResNets use, glassgrad against PyTorch.

    .venv/bin/python bench/conv_shapes.py [--rounds 3] [--budget 1.0] [--only dcgan,resnet]
        [--before /path/to/other/checkout]

Each shape is timed forward alone and forward + backward (gradients of input, weight and bias,
for a fixed random cotangent), float32. Every implementation runs in its own interpreter with
2 BLAS / OpenMP threads (``OPENBLAS_NUM_THREADS=2``, ``torch.set_num_threads(2)``); the
processes alternate ``--rounds`` times and the table shows the median over all calls of all
rounds. ``--before`` adds a column for glassgrad imported from another checkout (say the main
branch's worktree), timed in the same alternation, so a change is measured before/after in one
sitting on a shared machine. Not part of ``make bench``; not asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# name, kind ("conv" or "convT"), N, C_in, H, W, C_out, kernel, stride, padding, groups
SHAPES: list[tuple[str, str, int, int, int, int, int, int, int, int, int]] = [
    ("dcgan D 3->64 k4s2 64x64", "conv", 64, 3, 64, 64, 64, 4, 2, 1, 1),
    ("dcgan D 64->128 k4s2 32x32", "conv", 64, 64, 32, 32, 128, 4, 2, 1, 1),
    ("dcgan D 128->256 k4s2 16x16", "conv", 64, 128, 16, 16, 256, 4, 2, 1, 1),
    ("dcgan G T512->256 k4s2 4x4", "convT", 64, 512, 4, 4, 256, 4, 2, 1, 1),
    ("dcgan G T128->64 k4s2 16x16", "convT", 64, 128, 16, 16, 64, 4, 2, 1, 1),
    ("dcgan G T64->3 k4s2 32x32", "convT", 64, 64, 32, 32, 3, 4, 2, 1, 1),
    ("resnet 64->64 3x3 32x32 b32", "conv", 32, 64, 32, 32, 64, 3, 1, 1, 1),
    ("resnet 128->128 3x3 16x16 b32", "conv", 32, 128, 16, 16, 128, 3, 1, 1, 1),
    ("resnet 1x1 64->128 s2 32x32 b32", "conv", 32, 64, 32, 32, 128, 1, 2, 0, 1),
    ("resnet 1x1 128->128 16x16 b32", "conv", 32, 128, 16, 16, 128, 1, 1, 0, 1),
    ("depthwise 32ch 3x3 32x32 b32", "conv", 32, 32, 32, 32, 32, 3, 1, 1, 32),
    ("W7 conv3x3 1->16 8x8 b64", "conv", 64, 1, 8, 8, 16, 3, 1, 1, 1),
]


def _arrays(shape: tuple[Any, ...]) -> dict[str, Any]:
    import numpy as np

    _, kind, n, c, h, w, o, k, s, p, g = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    if kind == "conv":
        wt = rng.standard_normal((o, c // g, k, k)).astype(np.float32) * 0.1
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    else:
        wt = rng.standard_normal((c, o // g, k, k)).astype(np.float32) * 0.1
        oh, ow = (h - 1) * s - 2 * p + k, (w - 1) * s - 2 * p + k
    b = rng.standard_normal(o).astype(np.float32)
    gy = rng.standard_normal((n, o, oh, ow)).astype(np.float32)
    return {"x": x, "w": wt, "b": b, "g": gy}


def _time(fn: Any, budget: float) -> list[float]:
    fn()
    fn()  # warm-up: caches, allocator
    times: list[float] = []
    end = time.perf_counter() + budget
    while time.perf_counter() < end or len(times) < 5:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def worker(lib: str, names: list[str], budget: float) -> None:
    if lib == "torch":
        import torch

        torch.set_num_threads(2)
        m = torch
        F = torch.nn.functional
    else:
        import glassgrad as m  # type: ignore[no-redef]
        import glassgrad.nn.functional as F  # type: ignore[no-redef]
    results: dict[str, Any] = {}
    for shape in SHAPES:
        if shape[0] not in names:
            continue
        a = _arrays(shape)
        kind, s, p, g = shape[1], shape[8], shape[9], shape[10]
        conv = F.conv2d if kind == "conv" else F.conv_transpose2d
        gy = m.tensor(a["g"])

        def fwd(a: Any = a, conv: Any = conv, s: int = s, p: int = p, g: int = g) -> None:
            x, w, b = m.tensor(a["x"]), m.tensor(a["w"]), m.tensor(a["b"])
            conv(x, w, b, stride=s, padding=p, groups=g)

        def fwd_bwd(
            a: Any = a, conv: Any = conv, s: int = s, p: int = p, g: int = g, gy: Any = gy
        ) -> None:
            x = m.tensor(a["x"], requires_grad=True)
            w = m.tensor(a["w"], requires_grad=True)
            b = m.tensor(a["b"], requires_grad=True)
            conv(x, w, b, stride=s, padding=p, groups=g).backward(gy)

        results[shape[0]] = {"fwd": _time(fwd, budget), "fwd+bwd": _time(fwd_bwd, budget)}
    print(json.dumps(results))


def _run(lib: str, names: list[str], budget: float, path: Path) -> dict[str, Any]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")
    env["PYTHONPATH"] = str(path)
    args = [sys.executable, __file__, "--worker", lib, "--budget", str(budget)]
    out = subprocess.run(
        [*args, "--names", json.dumps(names)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.3g} µs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", choices=["gg", "torch"])
    ap.add_argument("--names", default=None)
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per shape and mode")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated words a shape's name contains")
    ap.add_argument("--before", default="", help="another checkout to time as 'before'")
    ap.add_argument("--json", default="", help="write the raw medians here")
    args = ap.parse_args()
    if args.worker:
        names = json.loads(args.names) if args.names else [s[0] for s in SHAPES]
        worker(args.worker, names, args.budget)
        return
    words = [w for w in args.only.split(",") if w]
    names = [s[0] for s in SHAPES if not words or any(w in s[0] for w in words)]
    runs = [("gg", "glassgrad", ROOT), ("torch", "PyTorch", ROOT)]
    if args.before:
        runs.insert(0, ("gg", "before", Path(args.before).resolve()))
    times: dict[str, dict[str, dict[str, list[float]]]] = {label: {} for _, label, _ in runs}
    for r in range(args.rounds):
        order = runs if r % 2 == 0 else runs[::-1]
        for lib, label, path in order:
            for name, modes in _run(lib, names, args.budget, path).items():
                for mode, ts in modes.items():
                    times[label].setdefault(name, {}).setdefault(mode, []).extend(ts)
    med = {
        label: {n: {m: statistics.median(ts) for m, ts in modes.items()} for n, modes in d.items()}
        for label, d in times.items()
    }
    labels = [label for _, label, _ in runs]
    head = ["shape", "mode", *labels]
    if args.before:
        head.append("after/before")
    head.append("glassgrad/PyTorch")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in names:
        for mode in ("fwd", "fwd+bwd"):
            row = [name, mode, *(_fmt(med[label][name][mode]) for label in labels)]
            ours = med["glassgrad"][name][mode]
            if args.before:
                row.append(f"{ours / med['before'][name][mode]:.2f}x")
            row.append(f"{ours / med['PyTorch'][name][mode]:.2f}x")
            print("| " + " | ".join(row) + " |")
    print(f"\nload average: {os.getloadavg()}, rounds {args.rounds}, budget {args.budget}s")
    if args.json:
        Path(args.json).write_text(json.dumps(med, indent=1))


if __name__ == "__main__":
    main()
