"""One LSTM forward + backward at the word-language-model sizes, glassgrad against PyTorch.

    .venv/bin/python bench/lstm_step.py                          # seq 35, batch 20, 200, 2 layers
    .venv/bin/python bench/lstm_step.py --hidden 650 --repeats 10

Times three ways, interleaved over ``--repeats`` rounds after a warm-up (median and min), on one
thread
(OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)): glassgrad with a fused node per time step
(what ``nn.LSTM`` runs), glassgrad with each step composed from ops
(``glassgrad.nn.functional.rnn.COMPOSED = True``: matmul, add, slices, sigmoids, tanhs,
products), and PyTorch's ``nn.LSTM`` on the CPU. The loss is ``output.sum() + h_n.sum() +
c_n.sum()``, the weights are the same in all three, and the gradients are checked to agree.
Not part of ``bench/run.py``. Writes nothing; prints a markdown table.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics
import time
from typing import Any

import numpy as np
import torch

import glassgrad as gg
import glassgrad.nn.functional.rnn as cells
from glassgrad import nn


def step(lib: Any, model: Any, x: Any) -> Any:
    model.zero_grad()
    out, (h, c) = model(x)
    loss = out.sum() + h.sum() + c.sum()
    loss.backward()
    return loss


def timed(fns: dict[str, Any], repeats: int) -> dict[str, list[float]]:
    """Round-robin: each round times every function once, so load changes hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq", type=int, default=35)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    a = ap.parse_args()
    torch.set_num_threads(1)
    tdt = getattr(torch, a.dtype)
    t_model = torch.nn.LSTM(a.hidden, a.hidden, a.layers).to(tdt)
    g_model = nn.LSTM(a.hidden, a.hidden, a.layers).to(getattr(gg, a.dtype))
    g_model.load_state_dict(t_model.state_dict())
    x = np.random.default_rng(0).standard_normal((a.seq, a.batch, a.hidden)).astype(a.dtype)
    tx, gx = torch.from_numpy(x), gg.tensor(x)

    def fused() -> Any:
        cells.COMPOSED = False
        return step(gg, g_model, gx)

    def composed() -> Any:
        cells.COMPOSED = True
        try:
            return step(gg, g_model, gx)
        finally:
            cells.COMPOSED = False

    def reference() -> Any:
        return step(torch, t_model, tx)

    # the three agree (gradients of every parameter)
    grads = {}
    for name, fn in (("fused", fused), ("composed", composed), ("torch", reference)):
        fn()
        model = t_model if name == "torch" else g_model
        grads[name] = [np.array(p.grad.numpy() if name == "torch" else p.grad._data) for p in
                       model.parameters()]  # fmt: skip
    tol = 1e-3 if a.dtype == "float32" else 1e-9
    for name in ("fused", "composed"):
        for g, r in zip(grads[name], grads["torch"]):
            np.testing.assert_allclose(g, r, rtol=tol, atol=tol * 1e-2)

    names = {"glassgrad, fused step": fused, "glassgrad, composed step": composed,
             "PyTorch": reference}  # fmt: skip
    times = timed(names, a.repeats)
    ref_med, ref_min = statistics.median(times["PyTorch"]), min(times["PyTorch"])
    print(
        f"LSTM forward+backward: seq {a.seq}, batch {a.batch}, input = hidden {a.hidden}, "
        f"{a.layers} layers, {a.dtype}, 1 thread, {a.repeats} interleaved rounds\n"
    )
    print("| | median ms | / PyTorch | min ms | / PyTorch |")
    print("|---|---:|---:|---:|---:|")
    for name, ts in times.items():
        med, low = statistics.median(ts), min(ts)
        print(f"| {name} | {med * 1e3:.1f} | {med / ref_med:.2f} | {low * 1e3:.1f} | "
              f"{low / ref_min:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
