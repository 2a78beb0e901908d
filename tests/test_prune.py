"""torch.nn.utils.prune: masks, parameter renaming, hooks, iterative and global pruning, and
training through a pruned layer, against PyTorch (the pruning tutorial's steps)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg


def _net(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.nn.Conv2d(2, 4, 3)
            self.fc = lib.nn.Linear(16, 3)

        def forward(self, x):
            return self.fc(lib.nn.functional.relu(self.conv(x)).flatten(1))

    net = Net()
    rng = np.random.default_rng(0)  # distinct magnitudes: no ties for the smallest entries
    for p in net.parameters():
        values = rng.permutation(p.numel()).reshape(tuple(p.shape)) + 1.0
        values *= rng.choice([-1.0, 1.0], values.shape) / p.numel()
        with lib.no_grad():
            p.copy_(lib.tensor(values, dtype=lib.float32))
    return net


def _tutorial(lib):
    import importlib

    prune = importlib.import_module(f"{lib.__name__}.nn.utils.prune")
    net = _net(lib)
    out = {}
    prune.l1_unstructured(net.conv, name="weight", amount=0.3)
    out["params"] = [n for n, _ in net.conv.named_parameters()]
    out["buffers"] = [n for n, _ in net.conv.named_buffers()]
    out["hooks"] = [type(h).__name__ for h in net.conv._forward_pre_hooks.values()]
    prune.l1_unstructured(net.conv, name="bias", amount=2)
    prune.ln_structured(net.conv, name="weight", amount=0.5, n=2, dim=0)
    hook = next(h for h in net.conv._forward_pre_hooks.values() if h._tensor_name == "weight")
    out["container"] = [type(m).__name__ for m in hook]
    out["weight"] = net.conv.weight.detach().numpy().tolist()
    out["bias"] = net.conv.bias.detach().numpy().tolist()
    out["keys"] = list(net.state_dict().keys())
    out["pruned"] = prune.is_pruned(net)
    x = lib.tensor(np.linspace(-1, 1, 2 * 2 * 4 * 4).reshape(2, 2, 4, 4), dtype=lib.float32)
    opt = lib.optim.SGD(net.parameters(), lr=0.5)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = net(x).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out["losses"] = losses
    out["orig_grad_zero_where_pruned"] = bool(
        (net.conv.weight_orig.grad[net.conv.weight_mask == 0] == 0).all()
    )
    prune.remove(net.conv, "weight")
    out["after_remove"] = (
        [n for n, _ in net.conv.named_parameters()],
        [n for n, _ in net.conv.named_buffers()],
    )
    out["zeros_kept"] = int((net.conv.weight == 0).sum())
    prune.global_unstructured(
        [(net.conv, "bias"), (net.fc, "weight")], pruning_method=prune.L1Unstructured, amount=0.4
    )
    out["global"] = [
        int((net.conv.bias == 0).sum()),
        int((net.fc.weight == 0).sum()),
        net.fc.weight_mask.detach().numpy().tolist(),
    ]
    mask = lib.tensor(np.eye(3, 16), dtype=lib.float32)
    prune.custom_from_mask(net.fc, "bias", mask=lib.tensor([1.0, 0.0, 1.0]))
    out["custom"] = net.fc.bias.detach().numpy().tolist()
    out["custom_weight"] = float(prune.CustomFromMask(mask).prune(net.fc.weight).abs().sum())
    return out


def test_the_pruning_tutorials_steps_give_pytorchs_masks_keys_and_losses():
    ours, theirs = _tutorial(gg), _tutorial(torch)
    losses = ours.pop("losses"), theirs.pop("losses")
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    for key in ("weight", "bias", "custom", "custom_weight"):
        np.testing.assert_allclose(ours.pop(key), theirs.pop(key), rtol=1e-6)
    assert ours == theirs


def test_random_pruning_prunes_the_asked_amount_and_whole_channels():
    import glassgrad.nn.utils.prune as prune

    layer = gg.nn.Linear(10, 6)
    prune.random_unstructured(layer, "weight", amount=0.25)
    assert int((layer.weight_mask == 0).sum()) == 15
    conv = gg.nn.Conv2d(3, 8, 3)
    prune.random_structured(conv, "weight", amount=3, dim=0)
    alive = conv.weight_mask.sum(dim=(1, 2, 3))
    assert sorted(alive.tolist()) == [0.0] * 3 + [27.0] * 5
    prune.identity(gg.nn.Linear(2, 2), "bias")


def test_pruning_errors_say_what_was_expected():
    import glassgrad.nn.utils.prune as prune

    layer = gg.nn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"amount=1.5 should either be a float in the range"):
        prune.l1_unstructured(layer, "weight", amount=1.5)
    with pytest.raises(ValueError, match="amount=9 should be smaller than the number of param"):
        prune.l1_unstructured(layer, "weight", amount=9)
    assert sorted(n for n, _ in layer.named_parameters()) == ["bias", "weight"]  # put back
    with pytest.raises(ValueError, match="Structured pruning can only be applied to multidim"):
        prune.ln_structured(layer, "bias", amount=1, n=2, dim=0)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(layer, "weight")
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE'):
        prune.global_unstructured([(layer, "weight")], prune.LnStructured, amount=1, n=2, dim=0)
