"""A typical device-agnostic training script runs unchanged on glassgrad and on torch, and
prints the same thing: the same device line, shapes and losses, step by step.

The script's text is run twice, with ``torch`` bound to glassgrad and then to torch itself (what
``import glassgrad as torch`` does). Both models start from the same weights (torch's initial
state dict, passed as NumPy arrays) and see the same batches, so torch's printed losses are the
oracle for glassgrad's.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

import glassgrad as gg

SCRIPT = """
import math

nn = torch.nn
F = torch.nn.functional
DataLoader = torch.utils.data.DataLoader
TensorDataset = torch.utils.data.TensorDataset


class FixedOrder(torch.utils.data.Sampler):
    def __init__(self, order):
        self.order = order

    def __iter__(self):
        return iter(self.order)

    def __len__(self):
        return len(self.order)


device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = False
torch.manual_seed(0)
if torch.cuda.is_available():
    torch.cuda.manual_seed_all(0)
print(f"device: {device}, cuda: {torch.cuda.is_available()}")

model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3)).to(device)
model.load_state_dict({k: torch.tensor(v) for k, v in init_state.items()})
model = model.to(device)
print("params:", sum(p.numel() for p in model.parameters()), model[0].weight.shape)

X = torch.tensor(X_np).to(device)
y = torch.tensor(y_np).to(device, torch.int64)
dataset = TensorDataset(X, y)
loader = DataLoader(
    dataset, batch_size=8, sampler=FixedOrder(order), num_workers=0, pin_memory=False,
    drop_last=False,
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
criterion = nn.CrossEntropyLoss()

step = 0
for epoch in range(2):
    model.train()
    for xb, yb in loader:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device)
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        step += 1
        print(f"epoch {epoch} step {step} loss {loss.item():.4f} batch {tuple(xb.shape)}")
    model.eval()
    with torch.no_grad():
        logits = model(X.to(device))
        acc = (logits.argmax(dim=1) == y).float().mean()
        print(f"epoch {epoch}: loss {criterion(logits, y):.4f} acc {acc:.3f} {logits.shape}")
print(f"final {loss:.4f}", loss.device.type, loss.dtype == torch.float32)
"""


def _run(lib, **names) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(SCRIPT, {"torch": lib, **names})
    return out.getvalue()


def _inputs():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5).astype(np.int64)
    order = rng.permutation(40).tolist()
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    init_state = {k: v.detach().numpy().copy() for k, v in ref.state_dict().items()}
    return {"X_np": X, "y_np": y, "order": order, "init_state": init_state}


def test_training_script_prints_the_same_on_both_libraries():
    inputs = _inputs()
    before = gg.backends.cudnn.benchmark, torch.backends.cudnn.benchmark
    try:
        theirs = _run(torch, **inputs)
        ours = _run(gg, **inputs)
    finally:
        gg.backends.cudnn.benchmark, torch.backends.cudnn.benchmark = before
    assert "device: cpu, cuda: False" in theirs
    assert theirs.count("loss") >= 10
    assert ours == theirs


EINOPS_SCRIPT = """
import sys
if sys.argv[1] == "einops-first":
    import einops
import glassgrad as torch
from einops import einsum, pack, rearrange, reduce, repeat
x = torch.arange(24.0).reshape(2, 3, 4).requires_grad_()
y = rearrange(x, "b c (h w) -> b h w c", h=2)
a = repeat(torch.arange(1, 4), "n -> d n", d=2)
e = einsum(x, x, "b c n, b c n -> b n")
(y.sum() + e.sum() + reduce(x, "b c n -> b n", "max").sum()).backward()
packed = pack([x, x], "b * n")[0]
print(type(y).__name__, tuple(y.shape), a.tolist(), tuple(packed.shape), x.grad.sum().item())
print("torch" in sys.modules)
"""


@pytest.mark.parametrize("order", ["glassgrad-first", "einops-first"])
def test_einops_takes_glassgrad_tensors_under_import_glassgrad_as_torch(order) -> None:
    """mamba-minimal's ``rearrange``/``repeat``/``einsum`` with ``import glassgrad as torch``
    (no module named torch imported): einops found no backend for glassgrad's Tensor."""
    pytest.importorskip("einops")
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", EINOPS_SCRIPT, order], capture_output=True, text=True, check=True
    ).stdout.split()
    # 2*sum(x) from einsum, 1 per element from the sum, 1 per kept max: 2*276 + 24 + 8
    assert out == ["Tensor", "(2,", "2,", "2,", "3)", "[[1,", "2,", "3],", "[1,", "2,", "3]]"] + [
        "(2,", "6,", "4)", "584.0", "False",
    ]  # fmt: skip


def test_einops_on_glassgrad_matches_torch() -> None:
    einops = pytest.importorskip("einops")
    a = np.random.default_rng(0).standard_normal((2, 6, 4))
    results = []
    for lib in (gg, torch):
        x = lib.tensor(a, requires_grad=True)
        y = einops.rearrange(x, "b (c k) n -> b n c k", k=2)
        z = einops.reduce(y, "b n c k -> b c", "mean") + einops.repeat(x[0, :3, 0], "n -> b n", b=2)
        w = einops.einsum(y, y, "b n c k, b n c k -> b k")
        (z.pow(2).sum() + w.sum()).backward()
        results.append([t.detach().numpy() for t in (y, z, w, x.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
