"""glassgrad.utils.checkpoint: the same gradients as without it, as torch, fewer bytes saved."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp

import glassgrad as gg
import glassgrad.nn.functional as F
import glassgrad.utils
from glassgrad import nn
from glassgrad.inspect import saved_tensors
from glassgrad.utils import checkpoint, checkpoint_sequential


def mlp(width: int = 16, depth: int = 4) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Tanh()]
    return nn.Sequential(*layers).double()


def grads(model: nn.Module, x: gg.Tensor) -> list[np.ndarray]:
    return [x.grad._data.copy()] + [p.grad._data.copy() for p in model.parameters()]


def test_checkpointed_block_has_the_same_gradients_as_plain_and_as_torch() -> None:
    model = mlp()
    xs = np.random.default_rng(0).standard_normal((5, 16))
    x = gg.tensor(xs, requires_grad=True)
    loss = checkpoint(model, x).square().mean()
    loss.backward()
    ours = grads(model, x)

    model.zero_grad()
    x.grad = None
    model(x).square().mean().backward()
    plain = grads(model, x)

    tmodel = torch.nn.Sequential(
        *[torch.nn.Linear(16, 16) if i % 2 == 0 else torch.nn.Tanh() for i in range(8)]
    ).double()
    with torch.no_grad():
        for tp, p in zip(tmodel.parameters(), model.parameters()):
            tp.copy_(torch.from_numpy(p._data))
    tx = torch.tensor(xs, requires_grad=True)
    tcp.checkpoint(tmodel, tx, use_reentrant=False).square().mean().backward()
    theirs = [tx.grad.numpy()] + [p.grad.numpy() for p in tmodel.parameters()]
    for a, b, c in zip(ours, plain, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12)


def test_checkpoint_saves_only_the_segment_inputs() -> None:
    model = mlp(width=64, depth=8)
    x = gg.randn(32, 64, dtype=gg.float64)
    plain = saved_tensors(model(x).sum(), model)
    ck = saved_tensors(checkpoint(model, x).sum(), model)
    assert ck.activation_bytes < plain.activation_bytes / 4
    # the only activation the checkpointed graph holds is the segment's input
    assert [e.op for e in ck.entries if not e.leaf] in ([], ["CheckpointBackward"])
    assert {e.op for e in plain.entries} >= {"TanhBackward0"}


def test_gradients_reach_parameters_when_the_input_does_not_require_grad() -> None:
    model = mlp()
    x = gg.randn(3, 16, dtype=gg.float64)
    checkpoint(model, x).sum().backward()
    got = [p.grad._data.copy() for p in model.parameters()]
    model.zero_grad()
    model(x).sum().backward()
    for a, p in zip(got, model.parameters()):
        np.testing.assert_allclose(a, p.grad._data, rtol=1e-12, atol=1e-14)


def test_autograd_grad_through_a_module_segment_leaves_dot_grad_alone() -> None:
    model = mlp()
    x = gg.randn(3, 16, dtype=gg.float64, requires_grad=True)
    params = list(model.parameters())
    got = gg.autograd.grad(checkpoint(model, x).sum(), [x, *params])
    want = gg.autograd.grad(model(x).sum(), [x, *params])
    for a, b in zip(got, want):
        np.testing.assert_allclose(a._data, b._data, rtol=1e-12, atol=1e-14)
    assert all(p.grad is None for p in params)


def test_closure_tensors_and_extra_arguments() -> None:
    w = gg.randn(4, 4, dtype=gg.float64, requires_grad=True)
    x = gg.randn(2, 4, dtype=gg.float64, requires_grad=True)
    y = gg.randn(2, 4, dtype=gg.float64, requires_grad=True)

    def seg(a, scale, b):
        return (a @ w).tanh() * scale + b.sigmoid()

    checkpoint(seg, x, 3.0, y).sum().backward()
    got = [t.grad._data.copy() for t in (w, x, y)]
    for t in (w, x, y):
        t.grad = None
    seg(x, 3.0, y).sum().backward()
    for a, t in zip(got, (w, x, y)):
        np.testing.assert_allclose(a, t.grad._data, rtol=1e-12, atol=1e-14)


def test_dropout_masks_are_replayed() -> None:
    lin = nn.Linear(8, 8).double()
    x = gg.randn(64, 8, dtype=gg.float64, requires_grad=True)

    def seg(a):
        return F.dropout(lin(a), p=0.5, training=True)

    gg.manual_seed(3)
    checkpoint(seg, x).sum().backward()
    got = x.grad._data.copy()
    x.grad = None
    gg.manual_seed(3)
    seg(x).sum().backward()
    np.testing.assert_allclose(got, x.grad._data, rtol=1e-12)


def test_checkpoint_sequential_matches_plain() -> None:
    model = mlp(depth=6)
    x = gg.randn(3, 16, dtype=gg.float64, requires_grad=True)
    checkpoint_sequential(model, 3, x).sum().backward()
    got = grads(model, x)
    model.zero_grad()
    x.grad = None
    model(x).sum().backward()
    for a, b in zip(got, grads(model, x)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_pytorch_spellings_and_errors() -> None:
    assert glassgrad.utils.checkpoint.checkpoint is checkpoint
    from glassgrad.utils.checkpoint import checkpoint as again

    assert again is checkpoint
    x = gg.randn(2, 2)
    with pytest.warns(UserWarning, match="none of the inputs require grad"):
        checkpoint(lambda a: a * 2, x)
    with pytest.raises(TypeError, match="must return one Tensor"):
        checkpoint(lambda a: (a, a), gg.randn(2, requires_grad=True))
    with pytest.raises(ValueError, match="segments must be between 1"):
        checkpoint_sequential(mlp(), 0, x)
    with gg.no_grad():  # no graph to save anyway: just runs the function
        assert checkpoint(lambda a: a + 1, x).grad_fn is None
