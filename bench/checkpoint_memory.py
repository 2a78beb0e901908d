"""What backprop keeps in memory: a 16-layer MLP, plainly, with checkpointing, and at inference.

    .venv/bin/python bench/checkpoint_memory.py                 # width 256, batch 2048, float32
    .venv/bin/python bench/checkpoint_memory.py --batch 256     # smaller and faster

For each mode: the bytes the graph keeps for backward (``glassgrad.inspect.saved_tensors``, the
parameters excluded since they are held anyway), the peak traced memory of the forward pass and of
the backward pass above what existed before (``glassgrad.inspect.memory_profile``, tracemalloc:
NumPy reports its buffers to it), and the time of one forward (+ backward). Checkpointing splits
the 16 Linear+ReLU layers into segments and wraps each in ``glassgrad.utils.checkpoint``: only
each segment's input is kept, and the segments' insides are recomputed during backward. Not part
of ``bench/run.py``, whose workloads compare glassgrad against NumPy and PyTorch; this compares
glassgrad with itself.
Writes bench/results/checkpoint_memory.{md,json}.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn
from glassgrad.inspect import memory_profile, saved_tensors
from glassgrad.utils import checkpoint

RESULTS = Path(__file__).resolve().parent / "results"


def build(width: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def best_of(fn: Any, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(mode: str, model: nn.Sequential, x: Any, y: Any, segments: int) -> dict[str, Any]:
    layers = list(model.children())
    size = -(-(len(layers) - 1) // segments)  # the hidden layers in segments; the head apart
    blocks = [nn.Sequential(*layers[i : i + size]) for i in range(0, len(layers) - 1, size)]

    def forward() -> Any:
        if mode != "checkpoint":
            return F.cross_entropy(model(x), y)
        h = x
        for block in blocks:
            h = checkpoint(block, h)
        return F.cross_entropy(layers[-1](h), y)

    model.zero_grad()
    if mode == "no_grad":
        with gg.no_grad():
            forward()  # warm-up
        gc.collect()
        with memory_profile() as mem, gg.no_grad():
            forward()
        with gg.no_grad():
            seconds = best_of(forward)
        return {"graph_bytes": 0, "forward_peak": mem.forward_peak, "backward_peak": None,
                "seconds": seconds}  # fmt: skip
    forward().backward()  # warm-up
    model.zero_grad()
    gc.collect()
    graph = saved_tensors(forward(), model).activation_bytes
    gc.collect()
    with memory_profile() as mem:
        loss = forward()
        loss.backward()
    del loss
    model.zero_grad()
    seconds = best_of(lambda: forward().backward())
    return {"graph_bytes": graph, "forward_peak": mem.forward_peak,
            "backward_peak": mem.backward_peak, "seconds": seconds}  # fmt: skip


def mib(n: float | None) -> str:
    return "—" if n is None else f"{n / 2**20:.1f} MiB"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--segments", type=int, default=4, help="checkpointed segments")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results")
    args = ap.parse_args(argv)
    gg.manual_seed(0)
    model = build(args.width, args.depth)
    x = gg.randn(args.batch, args.width)
    y = gg.randint(0, 10, (args.batch,))
    rows = {}
    for mode in ("plain", "checkpoint", "no_grad"):
        rows[mode] = measure(mode, model, x, y, args.segments)
    title = (
        f"{args.depth}-layer MLP, width {args.width}, batch {args.batch}, float32; "
        f"checkpoint: {args.segments} checkpointed segments; times: best of 3"
    )
    lines = [
        title,
        "",
        "| mode | kept for backward¹ | forward peak² | backward peak² | time fwd(+bwd) |",
        "|---|---|---|---|---|",
    ]
    names = {"plain": "plain fwd+bwd", "checkpoint": "checkpointed fwd+bwd",
             "no_grad": "no_grad inference"}  # fmt: skip
    for mode, r in rows.items():
        lines.append(
            f"| {names[mode]} | {mib(r['graph_bytes'])} | {mib(r['forward_peak'])} | "
            f"{mib(r['backward_peak'])} | {r['seconds'] * 1e3:.0f} ms |"
        )
    lines += [
        "",
        "¹ arrays the graph alone keeps alive for backward (saved_tensors, parameters excluded)",
        "² tracemalloc peak above the memory in use before; the backward peak includes the "
        "new parameter gradients and, with checkpointing, the recomputed segment's graph",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    result = {"config": vars(args), "results": rows}
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "checkpoint_memory.md").write_text(table)
        (RESULTS / "checkpoint_memory.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
