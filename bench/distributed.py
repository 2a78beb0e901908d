"""Data-parallel training of W1's model over MPI: step time at 1 and 2 ranks, communication.

    .venv/bin/python bench/distributed.py               # 1 and 2 ranks, a markdown table
    .venv/bin/python bench/distributed.py --ranks 1,2,4 --budget 5
    .venv/bin/python bench/distributed.py --progress-thread   # also with MPICH's progress thread

W1's model (MLP 784-512-256-10, float32, SGD, mean cross-entropy) at a global batch of 128:
1 rank steps on all 128 examples (no DDP), N ranks each on 128/N under
``DistributedDataParallel``, every rank with one BLAS thread. Per configuration:

- step: median time of one training step (forward, backward with the all-reduces, SGD step);
- local: the same step under ``no_sync()`` (no communication): the compute alone;
- comm: the all-reduce alone, blocking, of the same buckets (same bytes, same calls), while
  nothing else runs: what communication costs when nothing hides it;
- exposed = step - local: what averaging added to the step (the all-reduce, DDP's copies into
  and out of its buckets, and waiting for the slower rank); overlap = 1 - exposed / comm: the
  share of the all-reduce that the backward pass hid (0 when the rest outweighs what was hidden);
- bytes: gradient bytes all-reduced per step (plus one flag per parameter); a ring all-reduce
  sends 2 (N-1)/N of them from each rank; bandwidth = that / comm.

Speedup and efficiency are against 1 rank: speedup = step(1) / step(N), efficiency =
speedup / N. Not a test: timings on a shared machine move; run it when the machine is quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = (784, 512, 256, 10)
BATCH = 128


def timed(fn: Any, budget: float, agree: Any = int) -> float:
    """Median seconds of ``fn()`` over about ``budget`` seconds, after warm-up.

    Every rank must call ``fn`` equally often (each call runs collectives that pair up across
    ranks), so the count comes from a short trial and ``agree`` (the smallest over the ranks).
    """
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    for _ in range(5):
        fn()
    count = agree(max(10, int(budget / max((time.perf_counter() - t0) / 5, 1e-6))))
    samples: list[float] = []
    for _ in range(count):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def worker(budget: float) -> list[dict[str, Any]] | None:
    """Every rank's measurements on rank 0, None on the others (run under mpiexec, or alone
    for 1 rank)."""
    import numpy as np

    import glassgrad as gg
    import glassgrad.distributed as dist
    import glassgrad.nn.functional as F
    from glassgrad import nn

    sys.path.insert(0, str(HERE))
    from workloads._mlp import mlp_data

    data = mlp_data(SIZES, batch=BATCH, seed=1)
    world = dist.launched_world_size()
    layers: list[Any] = []
    for k, p in enumerate(data["params"][0::2]):
        lin = nn.Linear(p.shape[1], p.shape[0])
        lin.weight.data = gg.tensor(p)
        lin.bias.data = gg.tensor(data["params"][2 * k + 1])
        layers += [lin, nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    opt = gg.optim.SGD(model.parameters(), lr=0.01)
    if world == 1:
        x, y = gg.tensor(data["x"]), gg.tensor(data["y"])

        def step(net: Any) -> None:
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()

        plain = timed(lambda: step(model), budget)
        dist.init_process_group("mpi")  # one process: what DDP's bookkeeping costs alone
        ddp1 = nn.parallel.DistributedDataParallel(model)
        wrapped = timed(lambda: step(ddp1), budget)
        return [{"rank": 0, "world": 1, "step": plain, "ddp_bookkeeping": wrapped - plain}]

    dist.init_process_group("mpi")
    rank = dist.get_rank()
    ddp = nn.parallel.DistributedDataParallel(model)
    share = slice(BATCH * rank // world, BATCH * (rank + 1) // world)
    x, y = gg.tensor(data["x"][share]), gg.tensor(data["y"][share])
    from mpi4py import MPI

    comm = ddp.process_group.comm

    def fewest(n: int) -> int:
        return int(comm.allreduce(n, op=MPI.MIN))

    def ddp_step() -> None:
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()

    def local_step() -> None:
        with ddp.no_sync():
            ddp_step()

    result: dict[str, Any] = {"rank": rank, "world": world}
    waits, launched = [], []
    ddp_step()  # the first averaged backward rebuilds the buckets in gradient order
    for _ in range(20):
        ddp_step()
        info = ddp._get_ddp_logging_data()
        waits.append(info["wait_seconds"])
        launched.append(info["launched_in_backward"] / info["buckets"])
    result["step"] = timed(ddp_step, budget, fewest)
    result["local"] = timed(local_step, budget, fewest)
    info = ddp._get_ddp_logging_data()
    buffers = [np.zeros(n // 4, np.float32) for n in info["bucket_sizes"]]

    def comm_only() -> None:
        for b in buffers:
            comm.Allreduce(MPI.IN_PLACE, b, MPI.SUM)

    result["comm"] = timed(comm_only, budget / 2, fewest)
    tiny = np.zeros(1, np.float32)
    result["latency"] = timed(
        lambda: comm.Allreduce(MPI.IN_PLACE, tiny, MPI.SUM), budget / 4, fewest
    )
    result["bytes"] = info["bytes"]
    result["gradient_bytes"] = sum(p.numel() * 4 for p in model.parameters())
    result["buckets"] = info["buckets"]
    result["bucket_sizes"] = info["bucket_sizes"]
    result["wait_at_end"] = statistics.median(waits)
    result["started_during_backward"] = statistics.median(launched)
    return comm.gather(result, root=0)  # (None on the other ranks)


def launch(ranks: int, budget: float, progress_thread: bool = False) -> dict[str, Any]:
    """Run this file's worker on ``ranks`` processes; the slowest rank's numbers.
    ``progress_thread``: MPICH's asynchronous progress thread in every rank."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    if progress_thread:
        env["MPIR_CVAR_ASYNC_PROGRESS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", f"--budget={budget}"]
    if ranks > 1:
        here = Path(sys.executable).parent / "mpiexec"
        cmd = [str(here) if here.exists() else shutil.which("mpiexec") or "mpiexec"]
        cmd += ["-n", str(ranks), sys.executable, str(Path(__file__).resolve()), "--worker"]
        cmd += [f"--budget={budget}"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"{ranks} ranks failed:\n{proc.stderr}")
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    slowest = max(rows, key=lambda r: r["step"])
    slowest["label"] = f"{ranks}" + (" + progress thread" if progress_thread else "")
    for key in ("comm", "wait_at_end", "latency"):
        if key in slowest:
            slowest[key] = max(r[key] for r in rows)
    return slowest


def table(results: list[dict[str, Any]]) -> str:
    base = results[0]["step"]
    lines = [
        "| ranks | step (ms) | local (ms) | comm alone (ms) | exposed (ms) | overlap | "
        "bytes/step | bandwidth | speedup | efficiency |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        n = r["world"]
        speed = base / r["step"]
        if n == 1:
            lines.append(
                f"| 1 | {r['step'] * 1e3:.2f} | {r['step'] * 1e3:.2f} | - | - | - | 0 | - | "
                "1.00 | 100% |"
            )
            continue
        exposed = max(0.0, r["step"] - r["local"])
        overlap = max(0.0, 1 - exposed / r["comm"]) if r["comm"] > 0 else 0.0
        ring = 2 * (n - 1) / n * r["bytes"]
        lines.append(
            f"| {r['label']} | {r['step'] * 1e3:.2f} | {r['local'] * 1e3:.2f} | "
            f"{r['comm'] * 1e3:.2f} | "
            f"{exposed * 1e3:.2f} | {overlap:.0%} | {r['bytes'] / 2**20:.2f} MiB | "
            f"{ring / r['comm'] / 1e9:.2f} GB/s | {speed:.2f} | {speed / n:.0%} |"
        )
    return "\n".join(lines)


# Latency of one message step: TCP over 10 Gbit/s Ethernet, RDMA over 100 Gbit/s InfiniBand.
NETWORKS = {"10 Gbit/s": (10e9 / 8, 25e-6), "100 Gbit/s": (100e9 / 8, 2e-6)}


def ring_allreduce_seconds(ranks: int, nbytes: float, bandwidth: float, latency: float) -> float:
    """Ring all-reduce: 2 (N-1) steps, each sending 1/N of the data: each rank sends (and
    receives) 2 (N-1)/N of the bytes."""
    return 2 * (ranks - 1) * latency + 2 * (ranks - 1) / ranks * nbytes / bandwidth


def predict(step_seconds: float, bookkeeping: float, grad_bytes: float) -> str:
    """Speedup of W1 at 8, 64, 512 ranks, each on W1's batch of 128 (weak scaling: the global
    batch grows with N), if communication is not hidden: N t / (t + DDP's copies + T(N))."""
    lines = [
        "| network | ranks | all-reduce (ms) | step (ms) | speedup | efficiency |",
        "|---|---|---|---|---|---|",
    ]
    for name, (bandwidth, latency) in NETWORKS.items():
        for n in (8, 64, 512):
            comm = ring_allreduce_seconds(n, grad_bytes, bandwidth, latency)
            step = step_seconds + max(bookkeeping, 0.0) + comm
            speed = n * step_seconds / step
            lines.append(
                f"| {name} | {n} | {comm * 1e3:.2f} | {step * 1e3:.2f} | {speed:.1f} | "
                f"{speed / n:.0%} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ranks", default="1,2", help="comma-separated rank counts (default 1,2)")
    ap.add_argument("--budget", type=float, default=3.0, help="seconds of timing per measure")
    ap.add_argument(
        "--progress-thread",
        action="store_true",
        help="also run the largest rank count with MPICH's asynchronous progress thread",
    )
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        rows = worker(args.budget)
        if rows is not None:  # rank 0
            print(json.dumps(rows), flush=True)
        return
    results = [launch(int(n), args.budget) for n in args.ranks.split(",")]
    if args.progress_thread:
        results.append(launch(results[-1]["world"], args.budget, progress_thread=True))
    print(table(results))
    for r in results[1:]:
        print(
            f"\n{r['label']} ranks: {r['buckets']} buckets of {r['bucket_sizes']} bytes "
            f"({r['gradient_bytes']:,} gradient bytes); {r['started_during_backward']:.0%} of "
            f"the buckets started during the backward pass; waited {r['wait_at_end'] * 1e3:.2f} "
            "ms at its end"
        )
    one = results[0]
    print(
        f"\nDDP bookkeeping on 1 rank (copies into and out of buckets): "
        f"{one['ddp_bookkeeping'] * 1e3:.2f} ms per step"
    )
    for r in results[1:]:
        print(f"all-reduce of 4 bytes on {r['label']} ranks (latency): {r['latency'] * 1e6:.1f} us")
    if len(results) > 1:
        print("\n" + predict(one["step"], one["ddp_bookkeeping"], results[1]["gradient_bytes"]))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average {load:.2f} on {os.cpu_count()} CPUs; one BLAS thread per rank")


if __name__ == "__main__":
    main()
