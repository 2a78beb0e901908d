"""A character-level transformer language model, trained on a small collection of poems.

The model is GPT in miniature, written as one writes it in PyTorch: token and position embeddings,
pre-norm blocks of causal multi-head self-attention (``F.scaled_dot_product_attention`` with
``is_causal=True``) and an MLP, each wrapped in a residual connection, a final layer norm and a
linear head over the characters. It trains with AdamW on random windows of
``examples/data/poems.txt`` (public-domain poems: Shakespeare's sonnets, Blake, Wordsworth,
Dickinson, Frost's pre-1927 poems...) and then writes a few lines of its own.

The yardstick is the unigram baseline: the cross-entropy of always predicting each character's
overall frequency, i.e. the entropy of the character distribution (about 3 nats for English).
Anything below it is structure the model learnt from context; a few hundred steps get well below.

    python examples/char_transformer.py            # 500 steps, about two minutes on 2 cores
    python examples/char_transformer.py --steps 50 # a quick look
    python examples/char_transformer.py --compile  # each step run as generated NumPy code
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn, optim

TEXT = Path(__file__).resolve().parent / "data" / "poems.txt"


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t sees positions 0..t only."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"embedding dim {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)  # the three projections as one matmul
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: gg.Tensor) -> gg.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, T, C) -> (B, heads, T, C / heads): each head attends on its own slice
        q, k, v = (z.view(B, T, self.heads, C // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(dropout)
        )

    def forward(self, x: gg.Tensor) -> gg.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class CharTransformer(nn.Module):
    def __init__(
        self,
        vocab: int,
        context: int = 64,
        dim: int = 64,
        heads: int = 4,
        layers: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.context = context
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(context, dim)
        self.blocks = nn.Sequential(*(Block(dim, heads, dropout) for _ in range(layers)))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, idx: gg.Tensor) -> gg.Tensor:
        """Logits (B, T, vocab) for the next character after each of idx's (B, T) positions."""
        T = idx.shape[1]
        if self.context < T:
            raise ValueError(
                f"sequence of {T} characters is longer than the context {self.context}"
            )
        x = self.tok(idx) + self.pos(gg.arange(T))
        return self.head(self.ln(self.blocks(x)))


# ---- data ----------------------------------------------------------------------------------------


class Corpus:
    """The text as integer codes, split 90/10 into training and validation parts."""

    def __init__(self, text: str) -> None:
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}
        codes = np.array([self.index[c] for c in text], dtype=np.int64)
        cut = int(0.9 * len(codes))
        self.train, self.val = codes[:cut], codes[cut:]

    @property
    def vocab(self) -> int:
        return len(self.chars)

    def encode(self, s: str) -> list[int]:
        return [self.index[c] for c in s]

    def decode(self, codes: list[int]) -> str:
        return "".join(self.chars[i] for i in codes)

    def unigram_baseline(self) -> float:
        """Cross-entropy (nats) on the validation text of the training text's char frequencies."""
        counts = np.bincount(self.train, minlength=self.vocab) + 1.0  # add-one: no log(0)
        logp = np.log(counts / counts.sum())
        return float(-logp[self.val].mean())

    def batch(
        self, part: np.ndarray, batch: int, context: int, rng: np.random.Generator
    ) -> tuple[gg.Tensor, gg.Tensor]:
        """``batch`` random windows and the same windows shifted by one (the targets)."""
        starts = rng.integers(0, len(part) - context - 1, size=batch)
        rows = starts[:, None] + np.arange(context)
        return gg.from_numpy(part[rows]), gg.from_numpy(part[rows + 1])


def lm_loss(model: nn.Module, x: gg.Tensor, y: gg.Tensor) -> gg.Tensor:
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def evaluate(
    model: nn.Module, corpus: Corpus, context: int, batches: int = 8, compile: bool = False
) -> float:
    """Mean validation loss over fixed windows (the same ones at every call); ``compile=True``
    runs the loss as generated NumPy code after its first calls."""
    rng = np.random.default_rng(1234)
    loss_fn = gg.compile(lm_loss) if compile else lm_loss
    model.eval()
    with gg.no_grad():
        losses = [loss_fn(model, *corpus.batch(corpus.val, 32, context, rng)).item()]
        losses += [
            loss_fn(model, *corpus.batch(corpus.val, 32, context, rng)).item()
            for _ in range(batches - 1)
        ]
    model.train()
    return float(np.mean(losses))


def sample(
    model: CharTransformer,
    corpus: Corpus,
    prompt: str,
    length: int,
    temperature: float = 0.8,
    seed: int = 0,
) -> str:
    """Continue ``prompt`` by ``length`` characters, drawing each from the model's softmax."""
    rng = np.random.default_rng(seed)
    codes = corpus.encode(prompt)
    model.eval()
    with gg.no_grad():
        for _ in range(length):
            window = gg.tensor([codes[-model.context :]])
            logits = model(window)[0, -1].numpy().astype(np.float64) / temperature
            p = np.exp(logits - logits.max())
            codes.append(int(rng.choice(len(p), p=p / p.sum())))
    model.train()
    return corpus.decode(codes)


def train(
    steps: int = 500,
    batch: int = 32,
    context: int = 64,
    dim: int = 64,
    heads: int = 4,
    layers: int = 2,
    lr: float = 3e-3,
    seed: int = 0,
    log_every: int = 100,
    sample_chars: int = 300,
    compile: bool = False,
) -> dict[str, object]:
    """Train from scratch and return the losses, the baseline and a sample.

    ``compile=True`` wraps the training step in ``glassgrad.compile``: its first calls run
    eagerly while recorded, the rest replay the recorded NumPy program (the same numbers).
    """
    gg.manual_seed(seed)
    corpus = Corpus(TEXT.read_text(encoding="utf-8"))
    model = CharTransformer(corpus.vocab, context, dim, heads, layers)
    optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 20)
    scheduler = optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (
            min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
        ),
    )
    rng = np.random.default_rng(seed)
    baseline = corpus.unigram_baseline()
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"{n_params:,} parameters, {corpus.vocab} characters, {len(corpus.train):,} training "
        f"characters; unigram baseline {baseline:.3f} nats"
    )

    def train_step(x: gg.Tensor, y: gg.Tensor) -> float:
        loss = lm_loss(model, x, y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.item()

    if compile:
        train_step = gg.compile(train_step)
    losses: list[float] = []
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, y = corpus.batch(corpus.train, batch, context, rng)
        losses.append(train_step(x, y))
        scheduler.step()  # outside the step: it changes the learning rate the next call reads
        if step % log_every == 0 or step == steps:
            recent = float(np.mean(losses[-log_every:]))
            rate = step * batch * context / (time.perf_counter() - start)
            print(f"step {step:>5}  train loss {recent:.3f}  ({rate:,.0f} chars/s)")
    val = evaluate(model, corpus, context, compile=compile)
    text = sample(model, corpus, "The ", sample_chars, seed=seed) if sample_chars else ""
    print(f"validation loss {val:.3f} nats vs unigram baseline {baseline:.3f}")
    if text:
        print("---- sample ----\n" + text)
    result: dict[str, object] = {
        "losses": losses,
        "val_loss": val,
        "baseline": baseline,
        "sample": text,
        "parameters": n_params,
        "seconds": time.perf_counter() - start,
    }
    if compile:  # how the step's calls ran: recorded (eagerly) or replayed as generated code
        result["compile_stats"] = train_step.stats
    return result


def main(argv: list[str] | None = None, compile: bool = False) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compile", action="store_true", help="run each step as generated NumPy code")
    args = ap.parse_args(argv)
    return train(steps=args.steps, seed=args.seed, compile=compile or args.compile)


if __name__ == "__main__":
    main()
