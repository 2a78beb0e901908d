"""Node classification with a two-layer graph convolutional network, written for glassgrad's
compatibility suite.

A random citation-like graph (NumPy draws: features, labels that depend on the features, edges
mostly within a class) becomes a sparse adjacency matrix with self-loops, symmetrically
normalised as D^-1/2 (A + I) D^-1/2 through sparse diagonal matrices; the features are
row-normalised and kept sparse. Layers multiply with ``torch.spmm``; Adam with weight decay on a
training mask, validation under ``no_grad``, and the test accuracy at the end.
"""

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser(description="graph convolutional network")
parser.add_argument("--nodes", type=int, default=120)
parser.add_argument("--features", type=int, default=20)
parser.add_argument("--classes", type=int, default=4)
parser.add_argument("--hidden", type=int, default=16)
parser.add_argument("--epochs", type=int, default=60)
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--weight-decay", type=float, default=5e-4)
parser.add_argument("--dropout", type=float, default=0.5)
args = parser.parse_args()

torch.manual_seed(3)
rng = np.random.default_rng(3)


def make_graph():
    labels = rng.integers(0, args.classes, args.nodes)
    centres = rng.random((args.classes, args.features)) < 0.3
    features = (rng.random((args.nodes, args.features)) < 0.1) | (
        centres[labels] & (rng.random((args.nodes, args.features)) < 0.6)
    )
    edges = []
    for _ in range(args.nodes * 3):
        a = int(rng.integers(args.nodes))
        same = np.flatnonzero(labels == labels[a])
        b = int(rng.choice(same)) if rng.random() < 0.8 else int(rng.integers(args.nodes))
        edges += [(a, b), (b, a)]
    return features.astype(np.float32), labels, np.array(edges).T


def sparse_diag(values):
    n = values.shape[0]
    index = torch.arange(n).unsqueeze(0).repeat(2, 1)
    return torch.sparse_coo_tensor(index, values, (n, n))


features, labels, edges = make_graph()
adj = torch.sparse_coo_tensor(
    torch.from_numpy(edges), torch.ones(edges.shape[1]), (args.nodes,) * 2
)
adj = adj.coalesce()  # repeated edges summed: a weighted graph
adj = (adj + sparse_diag(torch.ones(args.nodes))).coalesce()
degree = adj.to_dense().sum(dim=1)
d_inv_sqrt = degree.pow(-0.5)
d_inv_sqrt[torch.isinf(d_inv_sqrt)] = 0.0
norm = sparse_diag(d_inv_sqrt)
adj = torch.sparse.mm(norm, torch.sparse.mm(norm, adj.to_dense()).t()).t().to_sparse()
print(f"graph: {args.nodes} nodes, {adj._nnz()} stored entries, layout {adj.layout}")

x = torch.from_numpy(features)
row_sum = x.sum(dim=1, keepdim=True)
x = (x / torch.where(row_sum > 0, row_sum, torch.ones_like(row_sum))).to_sparse()
y = torch.from_numpy(labels)
order = torch.randperm(args.nodes)
idx_train, idx_val, idx_test = order[:60], order[60:90], order[90:]


class GraphConvolution(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.FloatTensor(n_in, n_out))
        self.bias = nn.Parameter(torch.FloatTensor(n_out))
        bound = 1.0 / math.sqrt(n_out)
        self.weight.data.uniform_(-bound, bound)
        self.bias.data.uniform_(-bound, bound)

    def forward(self, h, adjacency):
        support = torch.mm(h, self.weight)
        return torch.spmm(adjacency, support) + self.bias


class GCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.gc1 = GraphConvolution(args.features, args.hidden)
        self.gc2 = GraphConvolution(args.hidden, args.classes)

    def forward(self, h, adjacency):
        h = F.relu(self.gc1(h, adjacency))
        h = F.dropout(h, args.dropout, training=self.training)
        return F.log_softmax(self.gc2(h, adjacency), dim=1)


def accuracy(out, target):
    return (out.argmax(dim=1) == target).float().mean().item()


model = GCN()
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
for epoch in range(1, args.epochs + 1):
    model.train()
    optimizer.zero_grad()
    out = model(x, adj)
    loss = F.nll_loss(out[idx_train], y[idx_train])
    loss.backward()
    optimizer.step()
    model.eval()
    with torch.no_grad():
        out = model(x, adj)
        val_loss = F.nll_loss(out[idx_val], y[idx_val])
    if epoch % 10 == 0:
        print(
            f"epoch {epoch:3d} loss {loss.item():.6f} val loss {val_loss.item():.6f} "
            f"acc {accuracy(out[idx_train], y[idx_train]):.4f}"
        )
model.eval()
with torch.no_grad():
    out = model(x, adj)
print(
    f"test loss {F.nll_loss(out[idx_test], y[idx_test]).item():.6f} acc {accuracy(out[idx_test], y[idx_test]):.4f}"
)
