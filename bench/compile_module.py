"""``glassgrad.compile(model)`` against eager and a compiled whole step, on W1, W2 and W7's models.

PyTorch scripts mostly compile the model and keep ``loss.backward()`` and ``optimizer.step()``
outside: a replay then runs the generated forward, and the generated backward as one graph node
(``CompiledFunctionBackward``) inside the engine's walk. This times one SGD step four ways in
one process, interleaved: eager glassgrad, ``compile(model)`` (forward and backward generated,
loss, walk and update eager), ``compile(step)`` (all of it generated) and hand-written NumPy
(``bench/workloads``). Medians of single calls; not run by ``make bench``.

    .venv/bin/python bench/compile_module.py [--rounds 7] [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import glassgrad as gg  # noqa: E402
import glassgrad.nn.functional as F  # noqa: E402
from glassgrad import nn, optim  # noqa: E402
from workloads import w1_mlp_step, w2_small_mlp, w7_conv  # noqa: E402
from workloads._mlp import LR  # noqa: E402


class MLP(nn.Module):
    def __init__(self, params: list[Any]) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        for w, b in zip(params[::2], params[1::2]):
            layer = nn.Linear(w.shape[1], w.shape[0])
            layer.weight.data = gg.tensor(w.copy())
            layer.bias.data = gg.tensor(b.copy())
            self.layers.append(layer)

    def forward(self, x: Any) -> Any:
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = F.relu(x)
        return x


class ConvNet(nn.Module):
    def __init__(self, params: list[Any]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 8 * 8, 10)
        for p, value in zip(self.parameters(), params):
            p.data = gg.tensor(value.copy())

    def forward(self, x: Any) -> Any:
        h = F.relu(self.conv(x))
        return self.fc(h.reshape(h.shape[0], -1))


def steps(module: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The four ways to run one SGD step of ``module``'s model on ``data``."""
    x, y = gg.tensor(data["x"]), gg.tensor(data["y"])
    models = [module(data["params"]) for _ in range(3)]
    opts = [optim.SGD(m.parameters(), lr=LR) for m in models]
    compiled_model = gg.compile(models[1])

    def step(model: Any, opt: Any) -> None:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    whole = gg.compile(lambda: step(models[2], opts[2]))
    return {
        "eager": lambda: step(models[0], opts[0]),
        "compile(model)": lambda: step(compiled_model, opts[1]),
        "compile(step)": whole,
    }


def median_us(fn: Any, calls: int) -> float:
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    cases = [
        ("W1 MLP 784-512-256-10, batch 128", MLP, w1_mlp_step),
        ("W2 MLP 64-32-10, batch 32", MLP, w2_small_mlp),
        ("W7 conv3x3 + linear, 8x8, batch 64", ConvNet, w7_conv),
    ]
    print("| Workload | eager | compile(model) | compile(step) | NumPy | model/eager | step/eager |")
    print("|---|---|---|---|---|---|---|")
    for title, module, workload in cases:
        data = workload.setup()
        runs = steps(module, data)
        runs["NumPy"] = workload.build("numpy", data).timers["step"]
        for fn in runs.values():  # recordings and warm-up
            for _ in range(5):
                fn()
        rounds: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.rounds):
            for name, fn in runs.items():
                rounds[name].append(median_us(fn, args.calls))
        m = {k: statistics.median(v) for k, v in rounds.items()}
        print(
            f"| {title} | {m['eager']:.0f} µs | {m['compile(model)']:.0f} µs | "
            f"{m['compile(step)']:.0f} µs | {m['NumPy']:.0f} µs | "
            f"{m['compile(model)'] / m['eager']:.2f}x | {m['compile(step)'] / m['eager']:.2f}x |"
        )


if __name__ == "__main__":
    main()
