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

from workloads import w1_mlp_step, w2_small_mlp, w7_conv
from workloads._mlp import LR

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn, optim


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


class _Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x: Any, mask: Any) -> Any:
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """gpt.py's sizes (tests/compat/programs/gpt): vocabulary 65, width 32, 4 heads, 2 blocks,
    context 16; ``model(idx, targets)`` returns ``(logits, loss)`` as nanoGPT's does."""

    def __init__(self, vocab: int = 65, d: int = 32, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(16, d)
        self.blocks = nn.ModuleList([_Block(d, heads) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)
        self.register_buffer("mask", gg.triu(gg.ones(16, 16, dtype=gg.bool), diagonal=1))

    def forward(self, idx: Any, targets: Any) -> Any:
        b, t = idx.shape
        x = self.tok(idx) + self.pos(gg.arange(t))
        for block in self.blocks:
            x = block(x, self.mask[:t, :t])
        logits = self.head(self.ln(x))
        return logits, F.cross_entropy(logits.view(b * t, -1), targets.view(b * t))


def gpt_steps() -> dict[str, Any]:
    """GPT's AdamW step three ways (its loss is computed inside the model, as nanoGPT's)."""
    gg.manual_seed(0)
    models = [GPT() for _ in range(3)]
    for m in models[1:]:
        m.load_state_dict(models[0].state_dict())
    opts = [optim.AdamW(m.parameters(), lr=1e-3) for m in models]
    idx, targets = gg.randint(0, 65, (4, 16)), gg.randint(0, 65, (4, 16))
    compiled_model = gg.compile(models[1])

    def step(model: Any, opt: Any) -> None:
        _, loss = model(idx, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return {
        "eager": lambda: step(models[0], opts[0]),
        "compile(model)": lambda: step(compiled_model, opts[1]),
        "compile(step)": gg.compile(lambda: step(models[2], opts[2])),
    }


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
    cases: list[tuple[str, Any, Any]] = [
        ("W1 MLP 784-512-256-10, batch 128, SGD", MLP, w1_mlp_step),
        ("W2 MLP 64-32-10, batch 32, SGD", MLP, w2_small_mlp),
        ("W7 conv3x3 + linear, 8x8, batch 64, SGD", ConvNet, w7_conv),
        ("GPT (gpt.py's sizes), batch 4x16, AdamW", GPT, None),
    ]
    columns = ["eager", "compile(model)", "compile(step)", "NumPy", "model/eager", "step/eager"]
    print(f"| Workload | {' | '.join(columns)} |")
    print("|---|---|---|---|---|---|---|")
    for title, module, workload in cases:
        if workload is None:
            runs = gpt_steps()
        else:
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
        hand = f"{m['NumPy']:.0f} µs" if "NumPy" in m else "—"
        print(
            f"| {title} | {m['eager']:.0f} µs | {m['compile(model)']:.0f} µs | "
            f"{m['compile(step)']:.0f} µs | {hand} | "
            f"{m['compile(model)'] / m['eager']:.2f}x | {m['compile(step)'] / m['eager']:.2f}x |"
        )


if __name__ == "__main__":
    main()
