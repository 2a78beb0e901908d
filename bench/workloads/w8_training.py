"""W8: real training, the same PyTorch-style program in glassgrad and in PyTorch.

Three timers, each the code ``glassgrad train`` and ``examples/char_transformer.py`` run:

- ``step``: one epoch of the default ``glassgrad train`` MLP (64-256-128-10, dropout 0.2, Adam,
  batch 32) over the 1,438 training digits: 45 optimizer steps (the table's row);
- ``cnn_epoch``: one epoch of the ``--model cnn`` network (conv 32, pool, conv 64, pool, linear);
- ``transformer_step``: one AdamW step of the char transformer (2 layers, dim 64, 4 heads,
  batch 32 x 64 characters).

Both libraries start from the same weights (glassgrad's init, copied into torch) and see the same
batches in the same order; there is no NumPy version (``build`` says so). The check compares one
forward+backward of each model.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ._mlp import norms, torch_module

TITLE = "W8 one training epoch, digits MLP 64-256-128-10 (Adam, batch 32)"
KIND = "time"
TARGET = {"kind": "ratio", "vs": "torch", "max": 2.0}
ROOT = Path(__file__).resolve().parents[2]
BATCH, CONTEXT = 32, 64


def _char_transformer() -> Any:
    spec = importlib.util.spec_from_file_location(
        "example_char_transformer", ROOT / "examples" / "char_transformer.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def setup() -> dict[str, Any]:
    """Data, batch orders and initial weights (from glassgrad's builders) as NumPy arrays."""
    import glassgrad as gg
    from glassgrad.train import Config, build_model, prepare

    out: dict[str, Any] = {}
    for name in ("mlp", "cnn"):
        cfg = Config(model=name).resolved()
        split = prepare(cfg)
        gg.manual_seed(0)
        model = build_model(cfg, split)
        out[name] = {
            "state": {k: np.asarray(v).copy() for k, v in model.state_dict().items()},
            "x": split.x_train,
            "y": split.y_train,
            "order": np.random.default_rng(1).permutation(len(split.y_train)),
            "hidden": cfg.hidden,
        }
    ct = _char_transformer()
    corpus = ct.Corpus(ct.TEXT.read_text(encoding="utf-8"))
    gg.manual_seed(0)
    model = ct.CharTransformer(corpus.vocab)
    x, y = corpus.batch(corpus.train, BATCH, CONTEXT, np.random.default_rng(0))
    out["transformer"] = {
        "state": {k: np.asarray(v).copy() for k, v in model.state_dict().items()},
        "x": x.numpy(),
        "y": y.numpy(),
        "vocab": corpus.vocab,
    }
    return out


def _torch_models(torch: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The same three networks in torch.nn, loaded with glassgrad's initial weights."""
    nn = torch.nn
    h1, h2 = data["mlp"]["hidden"]
    mlp = nn.Sequential(
        nn.Linear(64, h1), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(h1, h2), nn.ReLU(), nn.Dropout(0.2), nn.Linear(h2, 10),
    )  # fmt: skip
    c1, c2 = data["cnn"]["hidden"]
    cnn = nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(c2 * 2 * 2, 10),
    )  # fmt: skip
    models = {"mlp": mlp, "cnn": cnn, "transformer": _torch_transformer(torch, data)}
    for name, model in models.items():
        model.load_state_dict({k: torch.tensor(v) for k, v in data[name]["state"].items()})
    return models


def _torch_transformer(torch: Any, data: dict[str, Any]) -> Any:
    """examples/char_transformer.py's model, class for class, in torch.nn."""
    nn, F = torch.nn, torch.nn.functional

    class Attention(nn.Module):
        def __init__(self, dim: int, heads: int) -> None:
            super().__init__()
            self.heads, self.qkv, self.proj = heads, nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

        def forward(self, x: Any) -> Any:
            B, T, C = x.shape
            q, k, v = self.qkv(x).split(C, dim=2)
            q, k, v = (z.view(B, T, self.heads, C // self.heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.proj(y.transpose(1, 2).reshape(B, T, C))

    class Block(nn.Module):
        def __init__(self, dim: int, heads: int) -> None:
            super().__init__()
            self.ln1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
            self.ln2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(
                nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(0.0)
            )

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class CharTransformer(nn.Module):
        def __init__(self, vocab: int, context: int = 64, dim: int = 64, heads: int = 4) -> None:
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
            self.blocks = nn.Sequential(Block(dim, heads), Block(dim, heads))
            self.ln, self.head = nn.LayerNorm(dim), nn.Linear(dim, vocab)

        def forward(self, idx: Any) -> Any:
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            return self.head(self.ln(self.blocks(x)))

    return CharTransformer(data["transformer"]["vocab"])


class Training:
    """Either library: ``lib`` is glassgrad or torch, ``models`` the three networks."""

    def __init__(self, lib: Any, nn: Any, optim: Any, models: dict[str, Any], data: Any) -> None:
        self.lib, self.models, self._data = lib, models, data
        self.loss_fn = nn.CrossEntropyLoss()
        self.opts = {
            "mlp": optim.Adam(models["mlp"].parameters(), lr=2e-3),
            "cnn": optim.Adam(models["cnn"].parameters(), lr=2e-3),
            "transformer": optim.AdamW(models["transformer"].parameters(), lr=3e-3),
        }
        self.arrays = {
            name: (lib.from_numpy(data[name]["x"]), lib.from_numpy(data[name]["y"]))
            for name in ("mlp", "cnn", "transformer")
        }
        self.timers = {
            "step": lambda: self.epoch("mlp"),
            "cnn_epoch": lambda: self.epoch("cnn"),
            "transformer_step": self.transformer_step,
        }

    def epoch(self, name: str) -> None:
        model, opt = self.models[name], self.opts[name]
        x, y = self._data[name]["x"], self._data[name]["y"]
        order = self._data[name]["order"]
        model.train()
        for i in range(0, len(order), BATCH):
            idx = order[i : i + BATCH]
            xb, yb = self.lib.from_numpy(x[idx]), self.lib.from_numpy(y[idx])
            loss = self.loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    def transformer_step(self) -> None:
        model, opt = self.models["transformer"], self.opts["transformer"]
        x, y = self.arrays["transformer"]
        logits = model(x)
        loss = self.loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    def check(self) -> dict[str, Any]:
        """One forward+backward of each model (eval mode: no dropout), losses and grad norms."""
        losses, grads = [], []
        for name in ("mlp", "cnn", "transformer"):
            model = self.models[name]
            model.eval()
            x, y = self.arrays[name]
            if name != "transformer":
                x, y = x[:256], y[:256]
            logits = model(x)
            loss = self.loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            model.zero_grad()
            loss.backward()
            losses.append(float(loss.item()))
            grads += [np.asarray(p.grad) for p in model.parameters()]
            model.zero_grad()
            model.train()
        return {"loss": float(np.sum(losses)), "grad_norms": norms(grads)}


def build(impl: str, data: dict[str, Any]) -> Any:
    if impl == "numpy":
        raise NotImplementedError("W8 has no hand-written NumPy version (whole training loops)")
    if impl == "glassgrad":
        import glassgrad as gg
        from glassgrad import nn, optim
        from glassgrad.train import Config, build_model, prepare

        models = {}
        for name in ("mlp", "cnn"):
            cfg = Config(model=name).resolved()
            models[name] = build_model(cfg, prepare(cfg))
        ct = _char_transformer()
        models["transformer"] = ct.CharTransformer(data["transformer"]["vocab"])
        for name, model in models.items():
            model.load_state_dict({k: gg.tensor(v) for k, v in data[name]["state"].items()})
        return Training(gg, nn, optim, models, data)
    torch = torch_module()
    return Training(torch, torch.nn, torch.optim, _torch_models(torch, data), data)
