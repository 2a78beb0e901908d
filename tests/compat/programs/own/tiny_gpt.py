"""A small character-level GPT, written for glassgrad's compatibility suite.

Trains on a short text built here (a few pangrams, repeated), checkpoints to a temporary folder,
resumes from the checkpoint, and finishes with greedy generation.
"""

import argparse
import math
import os
import tempfile
from contextlib import nullcontext

import torch
import torch.nn as nn
from torch.nn import functional as F

parser = argparse.ArgumentParser(description="tiny character GPT")
parser.add_argument("--steps", type=int, default=12)
parser.add_argument("--resume-steps", type=int, default=4)
parser.add_argument("--batch-size", type=int, default=4)
parser.add_argument("--block-size", type=int, default=16)
parser.add_argument("--n-layer", type=int, default=2)
parser.add_argument("--n-head", type=int, default=2)
parser.add_argument("--n-embd", type=int, default=32)
parser.add_argument("--bias", action="store_true", default=False)
parser.add_argument("--accum", type=int, default=2)
parser.add_argument("--lr", type=float, default=3e-3)
parser.add_argument("--min-lr", type=float, default=3e-4)
parser.add_argument("--warmup", type=int, default=3)
parser.add_argument("--weight-decay", type=float, default=0.1)
parser.add_argument("--grad-clip", type=float, default=1.0)
parser.add_argument("--eval-every", type=int, default=4)
parser.add_argument("--eval-iters", type=int, default=2)
parser.add_argument("--log-every", type=int, default=1)
parser.add_argument("--old-scaler", action="store_true", help="torch.cuda.amp.GradScaler")
parser.add_argument("--seed", type=int, default=1337)
args = parser.parse_args()

torch.manual_seed(args.seed)
device = "cpu"
# mixed precision only on a GPU, as many scripts arrange it
ctx = nullcontext() if device == "cpu" else torch.amp.autocast(device_type=device, dtype=torch.bfloat16)

pangrams = [
    "the quick brown fox jumps over the lazy dog. ",
    "pack my box with five dozen liquor jugs! ",
    "how vexingly quick daft zebras jump? ",
]
text = "".join(pangrams) * 6
alphabet = sorted(set(text))
vocab_size = len(alphabet)
to_id = {c: i for i, c in enumerate(alphabet)}
to_char = {i: c for c, i in to_id.items()}
data = torch.tensor([to_id[c] for c in text], dtype=torch.long)
cut = int(0.85 * len(data))
splits = {"train": data[:cut], "val": data[cut:]}


def get_batch(split):
    source = splits[split]
    starts = torch.randint(len(source) - args.block_size - 1, (args.batch_size,))
    x = torch.stack([source[s : s + args.block_size] for s in starts.tolist()])
    y = torch.stack([source[s + 1 : s + 1 + args.block_size] for s in starts.tolist()])
    return x.to(device), y.to(device)


class Norm(nn.Module):
    """LayerNorm whose bias is optional."""

    def __init__(self, width, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class SelfAttention(nn.Module):
    def __init__(self, width, heads, bias):
        super().__init__()
        assert width % heads == 0
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width, bias=bias)
        self.out = nn.Linear(width, width, bias=bias)

    def forward(self, x):
        b, t, c = x.size()
        q, k, v = self.qkv(x).split(c, dim=2)
        q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.out(y)


class FeedForward(nn.Module):
    def __init__(self, width, bias):
        super().__init__()
        self.up = nn.Linear(width, 4 * width, bias=bias)
        self.act = nn.GELU()
        self.down = nn.Linear(4 * width, width, bias=bias)

    def forward(self, x):
        return self.down(self.act(self.up(x)))


class Block(nn.Module):
    def __init__(self, width, heads, bias):
        super().__init__()
        self.norm1 = Norm(width, bias)
        self.attn = SelfAttention(width, heads, bias)
        self.norm2 = Norm(width, bias)
        self.ff = FeedForward(width, bias)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ff(self.norm2(x))


class TinyGPT(nn.Module):
    def __init__(self, vocab, block_size, layers, heads, width, bias):
        super().__init__()
        self.block_size = block_size
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(block_size, width)
        self.blocks = nn.ModuleList([Block(width, heads, bias) for _ in range(layers)])
        self.norm = Norm(width, bias)
        self.head = nn.Linear(width, vocab, bias=False)
        self.tok.weight = self.head.weight  # weight tying
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("out.weight") or name.endswith("down.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    def _init(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self):
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None):
        b, t = idx.size()
        positions = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.tok(idx) + self.pos(positions)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        if targets is None:
            return self.head(x[:, [-1], :]), None
        logits = self.head(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    def make_optimizer(self, weight_decay, lr, betas):
        params = {n: p for n, p in self.named_parameters() if p.requires_grad}
        decay = [p for n, p in params.items() if p.dim() >= 2]
        no_decay = [p for n, p in params.items() if p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        print(
            f"decayed tensors {len(decay)} ({sum(p.numel() for p in decay)} numbers), "
            f"others {len(no_decay)} ({sum(p.numel() for p in no_decay)} numbers)"
        )
        return torch.optim.AdamW(groups, lr=lr, betas=betas)

    @torch.no_grad()
    def generate(self, idx, new_tokens):
        for _ in range(new_tokens):
            context = idx if idx.size(1) <= self.block_size else idx[:, -self.block_size :]
            logits, _ = self(context)
            logits = logits[:, -1, :]
            _, best = torch.topk(logits, k=1, dim=-1)
            assert torch.equal(best.squeeze(-1), logits.argmax(dim=-1))
            idx = torch.cat((idx, best), dim=1)
        return idx


def learning_rate(it, total):
    if it < args.warmup:
        return args.lr * (it + 1) / (args.warmup + 1)
    if it > total:
        return args.min_lr
    progress = (it - args.warmup) / max(1, total - args.warmup)
    coeff = 0.5 * (1.0 + math.cos(math.pi * progress))
    return args.min_lr + coeff * (args.lr - args.min_lr)


@torch.no_grad()
def estimate_loss(model):
    out = {}
    model.eval()
    for split in ("train", "val"):
        losses = torch.zeros(args.eval_iters)
        for k in range(args.eval_iters):
            x, y = get_batch(split)
            _, loss = model(x, y)
            losses[k] = loss.item()
        out[split] = losses.mean()
    model.train()
    return out


def train(model, optimizer, scaler, start, stop, total):
    x, y = get_batch("train")
    for it in range(start, stop):
        lr = learning_rate(it, total)
        for group in optimizer.param_groups:
            group["lr"] = lr
        if it % args.eval_every == 0:
            losses = estimate_loss(model)
            print(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        for micro in range(args.accum):
            with ctx:
                _, loss = model(x, y)
                loss = loss / args.accum
            x, y = get_batch("train")
            scaler.scale(loss).backward()
        if args.grad_clip != 0.0:
            scaler.unscale_(optimizer)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        if it % args.log_every == 0:
            print(f"iter {it}: loss {loss.item() * args.accum:.4f}, lr {lr:.6f}, norm {norm.item():.4f}")


model = TinyGPT(vocab_size, args.block_size, args.n_layer, args.n_head, args.n_embd, args.bias)
model.to(device)
print(f"vocab {vocab_size}, parameters {model.num_params()}")
optimizer = model.make_optimizer(args.weight_decay, args.lr, (0.9, 0.95))
if args.old_scaler:
    scaler = torch.cuda.amp.GradScaler(enabled=False)
else:
    scaler = torch.amp.GradScaler("cpu", enabled=False)
total = args.steps + args.resume_steps
train(model, optimizer, scaler, 0, args.steps, total)

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "ckpt.pt")
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "iter_num": args.steps,
        "config": vars(args),
    }
    torch.save(checkpoint, path)
    print(f"saved checkpoint at iter {args.steps}")
    del model, optimizer
    checkpoint = torch.load(path, map_location=device)

config = checkpoint["config"]
model = TinyGPT(
    vocab_size, config["block_size"], config["n_layer"], config["n_head"], config["n_embd"], config["bias"]
)
model.load_state_dict(checkpoint["model"])
optimizer = model.make_optimizer(args.weight_decay, args.lr, (0.9, 0.95))
optimizer.load_state_dict(checkpoint["optimizer"])
start = checkpoint["iter_num"]
print(f"resumed at iter {start}")
train(model, optimizer, scaler, start, total, total)

losses = estimate_loss(model)
print(f"final: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
model.eval()
prompt = torch.tensor([[to_id[c] for c in "the "]], dtype=torch.long, device=device)
out = model.generate(prompt, 30)
print("sample:", repr("".join(to_char[i] for i in out[0].tolist())))
