"""A tiny Llama-style character model, for glassgrad's compatibility suite.

The habits of small open LLM training scripts: RMSNorm computed in float32, rotary position
embeddings from a complex table (``torch.outer`` of integer positions and float frequencies,
``torch.polar``, ``view_as_complex``/``view_as_real``) or from its cos/sin halves, grouped-query
attention through ``repeat_interleave`` and ``F.scaled_dot_product_attention(is_causal=True)``,
a SwiGLU feed-forward split from one projection (``split(split_size=...)``), tied input and
output embeddings, AdamW with decayed and undecayed parameter groups, gradient accumulation,
warmup then cosine learning rate set by hand on each group, clipping, greedy decoding.
"""

import argparse
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT = (
    "the cat sat on the mat. the dog sat on the log. a cat and a dog met on the mat. "
    "the dog ran to the log and the cat ran to the mat. "
) * 4

parser = argparse.ArgumentParser(description="tiny Llama-style LM")
parser.add_argument("--rope", choices=["complex", "real"], default="complex")
parser.add_argument("--dim", type=int, default=32)
parser.add_argument("--n-layers", type=int, default=2)
parser.add_argument("--n-heads", type=int, default=4)
parser.add_argument("--n-kv-heads", type=int, default=2)
parser.add_argument("--seq-len", type=int, default=24)
parser.add_argument("--batch-size", type=int, default=4)
parser.add_argument("--accum", type=int, default=2)
parser.add_argument("--iters", type=int, default=12)
parser.add_argument("--lr", type=float, default=3e-3)
parser.add_argument("--warmup", type=int, default=3)
args = parser.parse_args()

torch.manual_seed(1337)
chars = sorted(set(TEXT))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)


@dataclass
class Config:
    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    max_seq_len: int
    norm_eps: float = 1e-5


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight


def rope_table(head_dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
    t = torch.arange(end)  # integer positions: outer promotes them
    angles = torch.outer(t, freqs)
    return torch.polar(torch.ones_like(angles), angles)  # complex64 (end, head_dim / 2)


def rotate(x, table):
    """x (B, T, H, D) rotated pairwise by the table's angles."""
    if args.rope == "complex":
        xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
        out = torch.view_as_real(xc * table[None, :, None, :]).flatten(3)
        return out.type_as(x)
    cos, sin = table.real[None, :, None, :], table.imag[None, :, None, :]
    xr, xi = x.float().reshape(*x.shape[:-1], -1, 2).unbind(-1)
    out = torch.stack([xr * cos - xi * sin, xr * sin + xi * cos], dim=-1)
    return out.flatten(3).type_as(x)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_heads, self.n_kv = cfg.n_heads, cfg.n_kv_heads
        self.head_dim = cfg.dim // cfg.n_heads
        self.wqkv = nn.Linear(cfg.dim, (cfg.n_heads + 2 * cfg.n_kv_heads) * self.head_dim, False)
        self.wo = nn.Linear(cfg.n_heads * self.head_dim, cfg.dim, bias=False)

    def forward(self, x, table):
        B, T, _ = x.shape
        sizes = [self.n_heads * self.head_dim, self.n_kv * self.head_dim]
        q, k, v = self.wqkv(x).split(split_size=[sizes[0], sizes[1], sizes[1]], dim=-1)
        q = rotate(q.view(B, T, self.n_heads, self.head_dim), table)
        k = rotate(k.view(B, T, self.n_kv, self.head_dim), table)
        v = v.view(B, T, self.n_kv, self.head_dim)
        rep = self.n_heads // self.n_kv
        k = torch.repeat_interleave(k, repeats=rep, dim=2)
        v = torch.repeat_interleave(v, repeats=rep, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.wo(out.transpose(1, 2).contiguous().view(B, T, -1))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w13 = nn.Linear(dim, 2 * hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        gate, up = self.w13(x).chunk(2, dim=-1)
        return self.w2(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attention = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.feed_forward = FeedForward(cfg.dim, 64 * ((8 * cfg.dim // 3 + 63) // 64))

    def forward(self, x, table):
        h = x + self.attention(self.attention_norm(x), table)
        return h + self.feed_forward(self.ffn_norm(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.output = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        self.tok_embeddings.weight = self.output.weight  # weight tying
        table = rope_table(cfg.dim // cfg.n_heads, cfg.max_seq_len)
        self.register_buffer("freqs_cis", table, persistent=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("wo.weight") or name.endswith("w2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layers))

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, tokens, targets=None):
        T = tokens.shape[1]
        h = self.tok_embeddings(tokens)
        for layer in self.layers:
            h = layer(h, self.freqs_cis[:T])
        h = self.norm(h)
        if targets is None:
            return self.output(h[:, [-1], :]), None
        logits = self.output(h)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, n):
        for _ in range(n):
            logits, _ = self(idx[:, -self.cfg.max_seq_len :])
            _, nxt = torch.topk(logits[:, -1, :], k=1, dim=-1)
            idx = torch.cat((idx, nxt), dim=1)
        return idx


def get_batch():
    ix = torch.randint(len(data) - args.seq_len - 1, (args.batch_size,))
    x = torch.stack([data[i : i + args.seq_len] for i in ix])
    y = torch.stack([data[i + 1 : i + 1 + args.seq_len] for i in ix])
    return x, y


def get_lr(it):
    if it < args.warmup:
        return args.lr * (it + 1) / args.warmup
    ratio = (it - args.warmup) / max(1, args.iters - args.warmup)
    return 0.1 * args.lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * 0.9 * args.lr


cfg = Config(len(chars), args.dim, args.n_layers, args.n_heads, args.n_kv_heads, args.seq_len)
model = Llama(cfg)
params = {n: p for n, p in model.named_parameters() if p.requires_grad}
groups = [
    {"params": [p for p in params.values() if p.dim() >= 2], "weight_decay": 0.1},
    {"params": [p for p in params.values() if p.dim() < 2], "weight_decay": 0.0},
]
print(f"decayed tensors {len(groups[0]['params'])}, undecayed {len(groups[1]['params'])}")
optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95))

X, Y = get_batch()
for it in range(args.iters):
    lr = get_lr(it)
    for group in optimizer.param_groups:
        group["lr"] = lr
    for _ in range(args.accum):
        _, loss = model(X, Y)
        loss = loss / args.accum
        X, Y = get_batch()
        loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    print(f"iter {it} | loss {loss.item() * args.accum:.6f} | lr {lr:.6f} | norm {norm:.4f}")

model.eval()
prompt = torch.tensor([[stoi[c] for c in "the "]])
print("sample:", "".join(chars[i] for i in model.generate(prompt, 20)[0].tolist()))
