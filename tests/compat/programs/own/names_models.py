"""A made-up-names generator with three model types, written for glassgrad's compatibility suite.

Each name is a row of character indices: x starts with the start token (0) and y is x shifted by
one with the end token (0) after the last letter and -1 (ignored by the loss) after that.
"""

import argparse

import torch
import torch.nn as nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler

NAMES = """
alvira bexley corvin dalmora eskel fenwyn garrow hesper ilvane jorrick
kestra lomar mirelle norvik osrin pellam quenna rosk sabeline tovar
ulrika vesna wendric xandel yorvi zamira brisk calla doran ephra
fiora gildon harla isko jessamy kallum liora mavec nerys orla
prenna quill ravik selka tamsin uvald veyra wilmot yessa zorin
""".split()

parser = argparse.ArgumentParser(description="names generator")
parser.add_argument("--type", choices=["bigram", "mlp", "gru"], default="bigram")
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--batch-size", type=int, default=8)
parser.add_argument("--n-embd", type=int, default=16)
parser.add_argument("--n-hidden", type=int, default=32)
parser.add_argument("--context", type=int, default=3)
parser.add_argument("--lr", type=float, default=5e-3)
parser.add_argument("--weight-decay", type=float, default=0.01)
parser.add_argument("--log-every", type=int, default=2)
parser.add_argument("--seed", type=int, default=3407)
args = parser.parse_args()

torch.manual_seed(args.seed)


class NamesDataset(Dataset):
    def __init__(self, names):
        self.names = names
        self.letters = sorted(set("".join(names)))
        self.index = {c: i + 1 for i, c in enumerate(self.letters)}  # 0: start/end
        self.width = max(len(n) for n in names) + 1

    def __len__(self):
        return len(self.names)

    def vocab_size(self):
        return len(self.letters) + 1

    def decode(self, ids):
        return "".join(self.letters[i - 1] for i in ids)

    def __getitem__(self, i):
        ids = torch.tensor([self.index[c] for c in self.names[i]], dtype=torch.long)
        x = torch.zeros(self.width, dtype=torch.long)
        y = torch.zeros(self.width, dtype=torch.long)
        x[1 : 1 + len(ids)] = ids
        y[: len(ids)] = ids
        y[len(ids) + 1 :] = -1
        return x, y


class Forever:
    """Batches from a loader without end."""

    def __init__(self, dataset, batch_size, samples):
        sampler = RandomSampler(dataset, replacement=True, num_samples=samples)
        self.loader = DataLoader(dataset, sampler=sampler, batch_size=batch_size)
        self.it = iter(self.loader)

    def next(self):
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            return next(self.it)


class Bigram(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(vocab, vocab))

    def forward(self, x):
        return self.table[x]


class ContextMLP(nn.Module):
    """Each position sees the previous `context` characters (padded with a blank token)."""

    def __init__(self, vocab, context, n_embd, n_hidden):
        super().__init__()
        self.vocab = vocab
        self.context = context
        self.emb = nn.Embedding(vocab + 1, n_embd)  # the extra token: before the start
        self.net = nn.Sequential(
            nn.Linear(context * n_embd, n_hidden),
            nn.Tanh(),
            nn.Linear(n_hidden, vocab),
        )

    def forward(self, x):
        pieces = []
        shifted = x
        for _ in range(self.context):
            pieces.append(self.emb(shifted))
            shifted = torch.roll(shifted, 1, 1)
            shifted[:, 0] = self.vocab
        return self.net(torch.cat(pieces, -1))


class GRUStep(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.update = nn.Linear(n_in + n_hidden, n_hidden)
        self.reset = nn.Linear(n_in + n_hidden, n_hidden)
        self.candidate = nn.Linear(n_in + n_hidden, n_hidden)

    def forward(self, x, h):
        both = torch.cat([x, h], dim=1)
        z = torch.sigmoid(self.update(both))
        r = torch.sigmoid(self.reset(both))
        hbar = torch.tanh(self.candidate(torch.cat([x, r * h], dim=1)))
        return (1 - z) * h + z * hbar


class GRUNames(nn.Module):
    def __init__(self, vocab, n_embd, n_hidden):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(1, n_hidden))
        self.emb = nn.Embedding(vocab, n_embd)
        self.cell = GRUStep(n_embd, n_hidden)
        self.out = nn.Linear(n_hidden, vocab)

    def forward(self, x):
        b, t = x.size()
        e = self.emb(x)
        h = self.start.expand((b, -1))
        states = []
        for i in range(t):
            h = self.cell(e[:, i, :], h)
            states.append(h)
        return self.out(torch.stack(states, 1))


data = NamesDataset(NAMES)
vocab = data.vocab_size()
if args.type == "bigram":
    model = Bigram(vocab)
elif args.type == "mlp":
    model = ContextMLP(vocab, args.context, args.n_embd, args.n_hidden)
else:
    model = GRUNames(vocab, args.n_embd, args.n_hidden)
print(f"{args.type}: vocab {vocab}, {len(data)} names, {sum(p.numel() for p in model.parameters())} parameters")

optimizer = torch.optim.AdamW(
    model.parameters(), lr=args.lr, weight_decay=args.weight_decay, betas=(0.9, 0.99), eps=1e-8
)
batches = Forever(data, args.batch_size, samples=10 * len(data))

for step in range(args.steps):
    x, y = batches.next()
    logits = model(x)
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1), ignore_index=-1)
    model.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if step % args.log_every == 0:
        print(f"step {step} loss {loss.item():.4f}")


@torch.no_grad()
def full_loss():
    model.eval()
    loader = DataLoader(data, batch_size=16)
    total, count = 0.0, 0
    for x, y in loader:
        logits = model(x)
        total += F.cross_entropy(
            logits.view(-1, logits.size(-1)), y.view(-1), ignore_index=-1, reduction="sum"
        ).item()
        count += (y >= 0).sum().item()
    model.train()
    return total / count


print(f"dataset loss {full_loss():.4f}")
with torch.no_grad():
    first = model(torch.zeros(1, 1, dtype=torch.long))[0, -1]
    best = torch.argsort(first, descending=True)[:5]
    print("likeliest first letters:", data.decode([i for i in best.tolist() if i > 0]))
