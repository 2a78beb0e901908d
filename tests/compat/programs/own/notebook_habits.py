"""Habits of lecture notebooks, written for glassgrad's compatibility suite.

A character-pair count table normalised with NumPy's keyword names (``keepdims=True``,
``axis=``), a tiny MLP trained by hand with a learning rate read off ``torch.linspace``,
histograms of its activations (``torch.histogram``), a sigmoid classifier pushed into
saturation under ``nn.BCELoss``, and losses printed as tensors (small ones in scientific
notation), as notebooks print them.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

WORDS = """
amber basil cedar dahlia elm fern ginger hazel iris juniper kale lilac maple nettle olive
poppy quince rowan sage thyme umber violet willow yarrow zinnia aster birch clover daisy
""".split()

torch.manual_seed(0)
chars = sorted(set("".join(WORDS)))
stoi = {c: i + 1 for i, c in enumerate(chars)}
stoi["."] = 0
V = len(stoi)

# ---- counts, normalised with NumPy's argument names ------------------------------------------
N = torch.zeros((V, V), dtype=torch.int32)
for w in WORDS:
    seq = ["."] + list(w) + ["."]
    for a, b in zip(seq, seq[1:]):
        N[stoi[a], stoi[b]] += 1
P = (N + 1).float()
P /= P.sum(1, keepdims=True)
print("row sums", P.sum(axis=1)[:4])
print("most likely after '.':", P[0].argmax(axis=0).item(), "max prob", P.max(axis=1).values[:3])
nll = 0.0
n = 0
for w in WORDS:
    seq = ["."] + list(w) + ["."]
    for a, b in zip(seq, seq[1:]):
        nll -= torch.log(P[stoi[a], stoi[b]])
        n += 1
print(f"count model loss {(nll / n).item():.6f}")

# ---- a hand-trained MLP, its activations seen through histograms -----------------------------
xs, ys = [], []
for w in WORDS:
    ctx = [0, 0]
    for c in w + ".":
        xs.append(ctx)
        ys.append(stoi[c])
        ctx = ctx[1:] + [stoi[c]]
X, Y = torch.tensor(xs), torch.tensor(ys)
C = torch.randn((V, 6))
W1 = torch.randn((12, 32)) * 0.3
b1 = torch.randn(32) * 0.01
W2 = torch.randn((32, V)) * 0.1
b2 = torch.zeros(V)
params = [C, W1, b1, W2, b2]
for p in params:
    p.requires_grad = True
lrs = 10 ** torch.linspace(-1.5, -0.5, 30)
for i in range(30):
    h = torch.tanh(C[X].view(-1, 12) @ W1 + b1)
    loss = F.cross_entropy(h @ W2 + b2, Y)
    for p in params:
        p.grad = None
    loss.backward()
    for p in params:
        p.data += -lrs[i] * p.grad
    if i % 5 == 0:
        print(f"step {i} lr {lrs[i].item():.6f} loss {loss.item():.6f}")
        hist, edges = torch.histogram(h.detach(), bins=5, range=(-1.0, 1.0))
        print("  tanh histogram", hist, "saturated", (h.abs() > 0.97).float().mean(axis=None))
        density, _ = torch.histogram(W1.grad, density=True)
        print("  grad density peak", density.max().item())

# ---- a sigmoid classifier driven into saturation ------------------------------------------------
feats = torch.randn(64, 4) * 4
labels = (feats[:, 0] > 0).float()
clf = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
opt = torch.optim.SGD(clf.parameters(), lr=1.0)
bce = nn.BCELoss()
for step in range(80):
    out = clf(feats).squeeze(1)
    loss = bce(out, labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(f"clf step {step} loss {loss.item():.6f}")
print("final loss", loss)
each = F.binary_cross_entropy(out, labels, reduction="none")
print("per-sample losses", each[:6].detach())  # tiny and large together: 1.2345e-05 style
print("log of the smallest output", torch.log(out.min()).item())
