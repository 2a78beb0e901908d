"""``torch.autograd.graph.saved_tensors_hooks`` and its relatives, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg

A = np.array([0.5, -1.0, 2.0])
B = np.array([1.5, 0.25, -0.75])


def _run(lib, pack, unpack):
    a = lib.tensor(A, requires_grad=True)
    b = lib.tensor(B, requires_grad=True)
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        z = a * b
        w = z.sin() + a.exp()
    w.sum().backward()
    return a, b


def test_pack_and_unpack_see_the_saved_tensors_as_torchs_do():
    logs = []
    for lib in (gg, torch):
        log = []

        def pack(t, log=log):
            log.append(("pack", tuple(t.shape)))
            return t

        def unpack(t, log=log):
            log.append(("unpack", tuple(t.shape)))
            return t

        a, b = _run(lib, pack, unpack)
        logs.append((log, a.grad.numpy().copy(), b.grad.numpy().copy()))
    assert sorted(logs[0][0]) == sorted(logs[1][0]) and len(logs[0][0]) == 8
    assert [k for k, _ in logs[0][0][:4]] == ["pack"] * 4  # all packed in forward
    for ours, theirs in zip(logs[0][1:], logs[1][1:]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_hooks_that_store_elsewhere_give_the_same_gradients(tmp_path):
    store: dict[int, np.ndarray] = {}

    def to_store(t):
        store[len(store)] = t.detach().numpy().copy()
        return len(store) - 1

    def from_store(key):
        return gg.tensor(store.pop(key))

    a, b = _run(gg, to_store, from_store)
    ta, tb = _run(torch, lambda t: t, lambda t: t)
    assert not store  # every packed value was unpacked
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12)

    def to_disk(t):
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.pt"
        gg.save(t, path)
        return path

    a, _ = _run(gg, to_disk, lambda path: gg.load(path, weights_only=True))
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
    with gg.autograd.graph.save_on_cpu(pin_memory=True):
        y = (gg.tensor(A, requires_grad=True) * gg.tensor(B)).cos()
    np.testing.assert_allclose(y.grad_fn.saved_tensors[0], A * B)  # cos saved its input


def test_second_derivatives_and_custom_functions_through_hooks():
    x = gg.tensor(A, requires_grad=True)
    with gg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        y = (x * x * x).sum()
    (g,) = gg.autograd.grad(y, x, create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * A)

    class Cube(gg.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t**3

        @staticmethod
        def backward(ctx, grad):
            (t,) = ctx.saved_tensors
            return 3 * t**2 * grad

    seen = []
    x = gg.tensor(A, requires_grad=True)
    with gg.autograd.graph.saved_tensors_hooks(lambda t: seen.append(t) or t, lambda t: t):
        Cube.apply(x).sum().backward()
    assert seen[0] is x
    np.testing.assert_allclose(x.grad.numpy(), 3 * A**2)


def test_hook_errors_and_disabling_like_torch():
    x = gg.tensor(A, requires_grad=True)
    with gg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
        y = x.exp().sum()
    with pytest.raises(TypeError, match="unpack hook must return a Tensor, but got int"):
        y.backward()
    with (
        gg.autograd.graph.disable_saved_tensors_hooks("no hooks in this block"),
        pytest.raises(RuntimeError, match="no hooks in this block"),
        gg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t),
    ):
        pass
    with gg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        z = x * 2
        y = z.sin()
    with gg.no_grad():
        z.add_(1.0)  # a saved tensor modified in place is still caught
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
