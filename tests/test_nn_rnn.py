"""RNN, LSTM, GRU, their cells and ``nn.utils.rnn`` against PyTorch.

Every option combination loads torch's state dict and must give torch's outputs, final states
and gradients (of the input, the initial states and every parameter) in float64; state dict
keys and shapes must be torch's. Packed sequences go through pack -> layer -> pad on both sides.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn as tnn
from torch.nn.utils import rnn as trnn

import glassgrad as gg
import glassgrad.nn.functional.rnn as cells
from glassgrad import nn
from glassgrad.nn.utils import rnn as grnn
from glassgrad.nn.utils.rnn import pack_padded_sequence, pad_sequence  # the torch import path

RTOL, ATOL = 1e-10, 1e-12
I, H, T, B = 3, 5, 4, 3


def _pair(x: np.ndarray) -> tuple[torch.Tensor, gg.Tensor]:
    return torch.tensor(x, requires_grad=True), gg.tensor(x, requires_grad=True)


def _close(ours, theirs, what: str) -> None:
    a = theirs.detach().numpy()
    b = ours.detach().data
    assert a.shape == b.shape, f"{what}: shapes {b.shape} vs {a.shape}"
    np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=what)


def _models(name: str, **kw):
    t_mod = getattr(tnn, name)(I, H, **kw).double()
    g_mod = getattr(nn, name)(I, H, **kw).double()
    t_sd = t_mod.state_dict()
    assert [(k, tuple(v.shape)) for k, v in t_sd.items()] == [
        (k, tuple(v.shape)) for k, v in g_mod.state_dict().items()
    ]
    result = g_mod.load_state_dict(t_sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    return t_mod, g_mod


def _flat(out):
    """[output, h_n] or [output, h_n, c_n]; a PackedSequence output is compared as its data."""
    y, state = out
    y = y.data if isinstance(y, (trnn.PackedSequence, grnn.PackedSequence)) else y
    return [y, *state] if isinstance(state, tuple) else [y, state]


def _backward_and_compare(t_outs, g_outs, t_mod, g_mod, leaves, label: str) -> None:
    rng = np.random.default_rng(7)
    t_loss, g_loss = 0.0, 0.0
    for i, (a, b) in enumerate(zip(t_outs, g_outs)):
        _close(b, a, f"{label}: output {i}")
        w = rng.standard_normal(tuple(a.shape))
        t_loss = t_loss + (a * torch.from_numpy(w)).sum()
        g_loss = g_loss + (b * gg.tensor(w)).sum()
    t_loss.backward()
    g_loss.backward()
    for (n, tp), (m, gp) in zip(t_mod.named_parameters(), g_mod.named_parameters()):
        assert n == m
        _close(gp.grad, tp.grad, f"{label}: grad of {n}")
    for i, (a, b) in enumerate(leaves):
        _close(b.grad, a.grad, f"{label}: grad of input {i}")


def _states(name: str, kw: dict, batch: int | None, rng) -> tuple[list, list, list]:
    """(torch hx args, glassgrad hx args, leaf pairs) with random initial states."""
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1) * D
    lead = (L,) if batch is None else (L, batch)
    th, gh = _pair(rng.standard_normal((*lead, kw.get("proj_size") or H)))
    if name != "LSTM":
        return [th], [gh], [(th, gh)]
    tc, gc = _pair(rng.standard_normal((*lead, H)))
    return [(th, tc)], [(gh, gc)], [(th, gh), (tc, gc)]


OPTIONS = [
    {},
    {"num_layers": 2},
    {"bias": False},
    {"batch_first": True},
    {"bidirectional": True},
    {"num_layers": 3, "bidirectional": True, "batch_first": True},
    {"num_layers": 2, "bias": False, "bidirectional": True},
    {"num_layers": 2, "dropout": 0.5},  # evaluated in eval(): dropout is off
]
LAYERS = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {}),
    ("LSTM", {"proj_size": 2}),
    ("GRU", {}),
]


@pytest.mark.parametrize("initial", [True, False], ids=["h0", "zeros"])
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize(
    "layer", LAYERS, ids=lambda x: x[0] + "".join(f"-{v}" for v in x[1].values())
)
def test_layer_matches_torch(layer, opts, initial):
    name, extra = layer
    kw = {**extra, **opts}
    t_mod, g_mod = _models(name, **kw)
    t_mod.eval(), g_mod.eval()
    rng = np.random.default_rng(0)
    shape = (B, T, I) if kw.get("batch_first") else (T, B, I)
    tx, gx = _pair(rng.standard_normal(shape))
    t_args, g_args, leaves = [tx], [gx], [(tx, gx)]
    if initial:
        th, gh, pairs = _states(name, kw, B, rng)
        t_args += th
        g_args += gh
        leaves += pairs
    t_out, g_out = _flat(t_mod(*t_args)), _flat(g_mod(*g_args))
    _backward_and_compare(t_out, g_out, t_mod, g_mod, leaves, f"{name} {kw}")


@pytest.mark.parametrize(
    "layer", LAYERS, ids=lambda x: x[0] + "".join(f"-{v}" for v in x[1].values())
)
@pytest.mark.parametrize("initial", [True, False], ids=["h0", "zeros"])
def test_unbatched_input(layer, initial):
    name, extra = layer
    kw = {**extra, "num_layers": 2, "bidirectional": True}
    t_mod, g_mod = _models(name, **kw)
    rng = np.random.default_rng(1)
    tx, gx = _pair(rng.standard_normal((T, I)))
    t_args, g_args, leaves = [tx], [gx], [(tx, gx)]
    if initial:
        th, gh, pairs = _states(name, kw, None, rng)
        t_args += th
        g_args += gh
        leaves += pairs
    t_out, g_out = _flat(t_mod(*t_args)), _flat(g_mod(*g_args))
    _backward_and_compare(t_out, g_out, t_mod, g_mod, leaves, f"unbatched {name}")


@pytest.mark.parametrize(
    ("enforce_sorted", "batch_first"), list(itertools.product([True, False], [False, True]))
)
@pytest.mark.parametrize(
    "layer", LAYERS, ids=lambda x: x[0] + "".join(f"-{v}" for v in x[1].values())
)
def test_packed_sequence(layer, enforce_sorted, batch_first):
    name, extra = layer
    kw = {**extra, "num_layers": 2, "bidirectional": True, "batch_first": batch_first}
    t_mod, g_mod = _models(name, **kw)
    rng = np.random.default_rng(2)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 4]
    tx, gx = _pair(rng.standard_normal((4, 5, I) if batch_first else (5, 4, I)))
    tp = trnn.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted)
    gp = pack_padded_sequence(gx, lengths, batch_first, enforce_sorted)
    _close(gp.data, tp.data, "packed data")
    assert gp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for ours, theirs in ((gp.sorted_indices, tp.sorted_indices),
                         (gp.unsorted_indices, tp.unsorted_indices)):  # fmt: skip
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert ours.tolist() == theirs.tolist()
    th, gh, pairs = _states(name, kw, 4, rng)
    t_out, g_out = t_mod(tp, *th), g_mod(gp, *gh)
    assert isinstance(g_out[0], grnn.PackedSequence)
    t_pad, t_len = trnn.pad_packed_sequence(t_out[0], batch_first, -1.0, total_length=7)
    g_pad, g_len = grnn.pad_packed_sequence(g_out[0], batch_first, -1.0, total_length=7)
    assert g_len.tolist() == t_len.tolist()
    t_all = [t_pad, *_flat(t_out)[1:]]
    g_all = [g_pad, *_flat(g_out)[1:]]
    _backward_and_compare(t_all, g_all, t_mod, g_mod, [(tx, gx), *pairs], f"packed {name}")


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_state_dict_keys_and_shapes(name):
    kw = {"num_layers": 2, "bidirectional": True}
    if name == "LSTM":
        kw["proj_size"] = 2
    t_mod, g_mod = _models(name, **kw, bias=False)  # _models asserts keys and shapes
    t_mod, g_mod = _models(name, **kw)
    keys = list(g_mod.state_dict())
    assert "bias_hh_l1_reverse" in keys
    assert ("weight_hr_l0" in keys) == (name == "LSTM")
    assert g_mod._flat_weights_names == t_mod._flat_weights_names
    assert [[p.shape for p in ws] for ws in g_mod.all_weights] == [
        [tuple(p.shape) for p in ws] for ws in t_mod.all_weights
    ]
    assert repr(g_mod) == repr(t_mod)


@pytest.mark.parametrize(
    ("name", "kw"),
    [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}), ("LSTMCell", {}),
     ("LSTMCell", {"bias": False}), ("GRUCell", {}), ("GRUCell", {"bias": False})],
)  # fmt: skip
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("initial", [True, False], ids=["h0", "zeros"])
def test_cells(name, kw, batched, initial):
    t_mod, g_mod = _models(name, **kw)
    assert repr(g_mod) == repr(t_mod)
    rng = np.random.default_rng(3)
    lead = (B,) if batched else ()
    tx, gx = _pair(rng.standard_normal((*lead, I)))
    t_args, g_args, leaves = [tx], [gx], [(tx, gx)]
    if initial:
        th, gh = _pair(rng.standard_normal((*lead, H)))
        leaves.append((th, gh))
        if name == "LSTMCell":
            tc, gc = _pair(rng.standard_normal((*lead, H)))
            leaves.append((tc, gc))
            t_args.append((th, tc))
            g_args.append((gh, gc))
        else:
            t_args.append(th)
            g_args.append(gh)
    t_out, g_out = t_mod(*t_args), g_mod(*g_args)
    t_outs = list(t_out) if isinstance(t_out, tuple) else [t_out]
    g_outs = list(g_out) if isinstance(g_out, tuple) else [g_out]
    _backward_and_compare(t_outs, g_outs, t_mod, g_mod, leaves, name)


def test_cell_over_time_equals_layer():
    """An LSTMCell stepped by hand gives the LSTM layer's output (same weights)."""
    lstm = nn.LSTM(I, H).double()
    cell = nn.LSTMCell(I, H).double()
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = gg.randn(T, B, I, dtype=gg.float64)
    out, (_, c) = lstm(x)
    hc = None
    for t in range(T):
        hc = cell(x[t], hc)
        np.testing.assert_allclose(hc[0].data, out[t].data, rtol=1e-12)
    np.testing.assert_allclose(hc[1].data, c[0].data, rtol=1e-12)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_second_order_matches_torch(name):
    """The fused steps' backward rules are differentiable: grad of a gradient norm agrees."""
    t_mod, g_mod = _models(name, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(4)
    tx, gx = _pair(rng.standard_normal((T, B, I)))
    t_out, g_out = t_mod(tx)[0], g_mod(gx)[0]
    (tg,) = torch.autograd.grad((t_out**2).sum(), tx, create_graph=True)
    (gg_,) = gg.autograd.grad((g_out**2).sum(), gx, create_graph=True)
    _close(gg_, tg, "first derivative")
    t_params, g_params = list(t_mod.parameters()), list(g_mod.parameters())
    t2 = torch.autograd.grad((tg**2).sum(), [tx, *t_params])
    g2 = gg.autograd.grad((gg_**2).sum(), [gx, *g_params])
    for i, (a, b) in enumerate(zip(t2, g2)):
        np.testing.assert_allclose(b.data, a.numpy(), rtol=1e-9, atol=1e-11, err_msg=str(i))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_composed_steps_agree_with_fused(name, monkeypatch):
    """bench/lstm_step.py times both forms; they compute the same thing."""
    mod = getattr(nn, name)(I, H, num_layers=2, bidirectional=True).double()
    x = gg.randn(T, B, I, dtype=gg.float64, requires_grad=True)
    results = []
    for composed in (False, True):
        monkeypatch.setattr(cells, "COMPOSED", composed)
        mod.zero_grad()
        x.grad = None
        out = _flat(mod(x))
        sum((o * o).sum() for o in out).backward()
        results.append(
            [o.data for o in out] + [p.grad.data for p in mod.parameters()] + [x.grad.data]
        )
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_dropout_between_layers_only_in_training():
    gg.manual_seed(0)
    lstm = nn.LSTM(I, H, num_layers=3, dropout=0.5).double()
    x = gg.randn(T, B, I, dtype=gg.float64)
    lstm.eval()
    a, b = lstm(x)[0], lstm(x)[0]
    np.testing.assert_array_equal(a.data, b.data)
    lstm.train()
    c, d = lstm(x)[0], lstm(x)[0]
    assert not np.allclose(c.data, a.data) and not np.allclose(c.data, d.data)
    # the last layer has no dropout after it: a one-layer model is deterministic in training
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        one = nn.GRU(I, H, dropout=0.5).double()
    np.testing.assert_array_equal(one(x)[0].data, one(x)[0].data)


def test_initialisation_bounds():
    gg.manual_seed(0)
    for mod in (nn.LSTM(3, 100, num_layers=2, proj_size=10), nn.GRUCell(3, 100)):
        for p in mod.parameters():
            assert np.abs(p.data).max() <= 0.1
        values = np.concatenate([p.data.ravel() for p in mod.parameters()])
        assert abs(values.mean()) < 0.01 and 0.05 < values.std() < 0.065  # U(-0.1, 0.1): 0.0577


def test_errors_match_torch():
    lstm = nn.LSTM(I, H, num_layers=2)
    with pytest.raises(RuntimeError, match=r"input.size\(-1\) must be equal to input_size"):
        lstm(gg.randn(T, B, I + 1))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        lstm(gg.randn(T))
    with pytest.raises(RuntimeError, match="should also be 3-D"):
        lstm(gg.randn(T, B, I), (gg.zeros(2, H), gg.zeros(2, H)))
    with pytest.raises(
        RuntimeError, match=r"Expected hidden\[0\] size \(2, 3, 5\), got \[1, 3, 5\]"
    ):
        lstm(gg.randn(T, B, I), (gg.zeros(1, B, H), gg.zeros(2, B, H)))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        nn.GRU(I, H)(gg.randn(T, B, I), gg.zeros(1, B + 1, H))
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(I, H, proj_size=H)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(I, H, proj_size=2)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(I, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.RNN(I, H, dropout=1.5)
    with pytest.raises(ValueError, match="does not match weight dtype"):
        nn.RNN(I, H)(gg.randn(T, B, I, dtype=gg.float64))
    with pytest.raises(ValueError, match="Expected input to be 1D or 2D"):
        nn.GRUCell(I, H)(gg.randn(T, B, I))
    # positional nonlinearity, as torch's RNN(input_size, hidden_size, num_layers, nonlinearity)
    assert nn.RNN(I, H, 2, "relu").mode == "RNN_RELU"


# ---- nn.utils.rnn -------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(batch_first, padding_side):
    rng = np.random.default_rng(5)
    seqs = [rng.standard_normal((n, 2)) for n in (2, 4, 1)]
    pairs = [_pair(s) for s in seqs]
    t = trnn.pad_sequence([p[0] for p in pairs], batch_first, 0.5, padding_side)
    g = pad_sequence([p[1] for p in pairs], batch_first, 0.5, padding_side)
    _backward_and_compare([t], [g], tnn.Module(), nn.Module(), pairs, "pad_sequence")


def test_pack_round_trip_and_errors():
    rng = np.random.default_rng(6)
    seqs = [gg.tensor(rng.standard_normal((n, 2))) for n in (2, 4, 1)]
    packed = grnn.pack_sequence(seqs, enforce_sorted=False)
    ref = trnn.pack_sequence([torch.from_numpy(s.numpy()) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(packed.data.data, ref.data.numpy())
    for a, b in zip(grnn.unpack_sequence(packed), seqs):
        np.testing.assert_array_equal(a.data, b.data)
    padded, lengths = grnn.pad_packed_sequence(packed)
    assert tuple(padded.shape) == (4, 3, 2) and lengths.tolist() == [2, 4, 1]
    for a, b in zip(grnn.unpad_sequence(padded, lengths), seqs):
        np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        grnn.pack_sequence(seqs)
    with pytest.raises(ValueError, match="Expected total_length to be at least"):
        grnn.pad_packed_sequence(packed, total_length=3)
    assert isinstance(packed, tuple) and packed.double().data.dtype == np.float64
    inv = grnn.invert_permutation(gg.tensor([2, 0, 1]))
    assert inv.tolist() == [1, 2, 0]


def test_nn_utils_is_still_a_namespace():
    assert nn.utils.rnn is grnn
    assert callable(nn.utils.clip_grad_norm_) and callable(nn.utils.parameters_to_vector)
    assert gg.nn.utils.rnn.PackedSequence is grnn.PackedSequence
