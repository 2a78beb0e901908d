"""Initialisation: ``nn.init`` and every layer's default init have PyTorch's distributions.

Each check draws a large sample from glassgrad and from PyTorch and compares them with a
two-sample Kolmogorov-Smirnov statistic (both seeded, so the test is deterministic), besides the
bounds, means and standard deviations PyTorch's formulas give.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as tnn

import glassgrad as gg
from glassgrad import nn
from glassgrad.nn import init


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The largest gap between the two empirical CDFs."""
    a, b = np.sort(a.ravel()), np.sort(b.ravel())
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, "right") / a.size -
                               np.searchsorted(b, grid, "right") / b.size)))  # fmt: skip


def same_distribution(ours: gg.Tensor, theirs: torch.Tensor) -> None:
    a, b = np.asarray(ours._data, np.float64), theirs.detach().double().numpy()
    assert a.shape == b.shape
    n, m = a.size, b.size
    critical = 1.95 * math.sqrt((n + m) / (n * m))  # 0.1% level
    assert ks_statistic(a, b) < critical


# ---- default initialisation of layers ------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "args", "kw"),
    [
        ("Linear", (400, 300), {}),
        ("Conv2d", (16, 64, 3), {}),
        ("Conv1d", (8, 128, 5), {"groups": 4}),
        ("Embedding", (500, 64), {"padding_idx": 3}),
        ("MultiheadAttention", (64, 4), {}),
        ("MultiheadAttention", (32, 4), {"kdim": 16, "vdim": 8, "add_bias_kv": True}),
        ("BatchNorm2d", (32,), {}),
        ("LayerNorm", (64,), {}),
    ],
)
def test_default_init_matches_torch_in_distribution(name, args, kw):
    torch.manual_seed(0)
    t = getattr(tnn, name)(*args, **kw)
    g = getattr(nn, name)(*args, **kw)
    t_state, g_state = t.state_dict(), g.state_dict()
    assert list(t_state) == list(g_state)
    for key, tv in t_state.items():
        gv = g_state[key]
        assert tuple(gv.shape) == tuple(tv.shape), key
        assert gv.dtype == (np.int64 if key.endswith("num_batches_tracked") else np.float32)
        if tv.numel() and torch.all(tv == tv.flatten()[0]):  # constants: ones, zeros
            np.testing.assert_array_equal(gv._data, tv.numpy(), err_msg=key)
        else:
            same_distribution(gv, tv)


def test_linear_and_conv_bounds():
    fan_in = 400
    lin = nn.Linear(fan_in, 300)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=√5) gives exactly this bound
    w, b = lin.weight._data, lin.bias._data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.01 * bound and abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert np.abs(b).max() <= bound
    conv = nn.Conv2d(6, 32, 5, groups=2)
    cbound = 1 / math.sqrt(3 * 25)
    assert np.abs(conv.weight._data).max() <= cbound and np.abs(conv.bias._data).max() <= cbound
    assert np.abs(conv.weight._data).max() > 0.99 * cbound


def test_embedding_is_standard_normal_with_zero_padding_row():
    emb = nn.Embedding(2000, 50, padding_idx=7)
    w = np.delete(emb.weight._data, 7, axis=0)
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1.0) < 0.01
    assert not emb.weight._data[7].any()


def test_default_init_is_seeded():
    gg.manual_seed(42)
    a = nn.Linear(5, 5).weight._data.copy()
    gg.manual_seed(42)
    b = nn.Linear(5, 5).weight._data.copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, nn.Linear(5, 5).weight._data)


def test_dtype_argument():
    lin = nn.Linear(3, 2, dtype=gg.float64)
    assert lin.weight.dtype == np.float64 and lin.bias.dtype == np.float64
    with pytest.raises(TypeError, match="floating-point dtype"):
        nn.Linear(3, 2, dtype=gg.int64)


# ---- nn.init functions ---------------------------------------------------------------------------
SHAPE = (256, 128, 3)


@pytest.mark.parametrize(
    ("fn", "kw"),
    [
        ("uniform_", {"a": -2.0, "b": 3.0}),
        ("normal_", {"mean": 1.0, "std": 0.5}),
        ("xavier_uniform_", {"gain": 2.0}),
        ("xavier_normal_", {}),
        ("kaiming_uniform_", {}),
        ("kaiming_uniform_", {"a": math.sqrt(5)}),
        ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
        ("kaiming_normal_", {"a": 0.2}),
        ("trunc_normal_", {"mean": 0.5, "std": 1.0, "a": -1.0, "b": 1.5}),
        ("trunc_normal_", {"std": 0.02}),
    ],
)
def test_init_functions_match_torch_in_distribution(fn, kw):
    torch.manual_seed(0)
    theirs = getattr(tnn.init, fn)(torch.empty(SHAPE), **kw)
    t = gg.empty(*SHAPE)
    ours = getattr(init, fn)(t, **kw)
    assert ours is t
    same_distribution(ours, theirs)


def test_init_formulas():
    fan_in, fan_out = 128 * 3, 256 * 3
    w = init.xavier_uniform_(gg.empty(*SHAPE), gain=2.0).data
    a = 2.0 * math.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(w).max() <= a and np.abs(w).max() > 0.99 * a
    w = init.kaiming_normal_(gg.empty(*SHAPE), mode="fan_out", nonlinearity="relu")._data
    assert abs(w.std() - math.sqrt(2.0 / fan_out)) < 0.01 * math.sqrt(2.0 / fan_out)
    w = init.normal_(gg.empty(*SHAPE), 1.0, 0.5).data
    assert abs(w.mean() - 1.0) < 0.01 and abs(w.std() - 0.5) < 0.01
    w = init.trunc_normal_(gg.empty(*SHAPE), std=1.0, a=-1.0, b=1.5).data
    assert w.min() >= -1.0 and w.max() <= 1.5
    assert init.constant_(gg.empty(3), 0.25).tolist() == [0.25] * 3
    assert init.ones_(gg.empty(2)).tolist() == [1.0, 1.0]
    assert init.zeros_(gg.empty(2)).tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(init.eye_(gg.empty(2, 3))._data, np.eye(2, 3))


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (8, 2, 3)])
def test_orthogonal(shape):
    w = init.orthogonal_(gg.empty(*shape), gain=2.0).data.reshape(shape[0], -1)
    rows, cols = w.shape
    gram = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-5)


def test_orthogonal_matches_torch_in_distribution():
    torch.manual_seed(0)
    same_distribution(
        init.orthogonal_(gg.empty(100, 150)), tnn.init.orthogonal_(torch.empty(100, 150))
    )


@pytest.mark.parametrize(("shape", "sparsity"), [((10, 300), 0.25), ((7, 5), 0.5), ((3, 4), 0.0)])
def test_sparse_zeros_a_fraction_of_each_column_as_torch(shape, sparsity):
    torch.manual_seed(0)
    theirs = tnn.init.sparse_(torch.empty(shape), sparsity, std=0.5)
    ours = init.sparse_(gg.empty(*shape), sparsity, std=0.5)
    zeros = math.ceil(sparsity * shape[0])
    assert ((theirs == 0).sum(0) == zeros).all()
    np.testing.assert_array_equal((ours._data == 0).sum(0), zeros)
    same_distribution(ours[ours != 0], theirs[theirs != 0])
    with pytest.warns(FutureWarning, match="nn.init.sparse_"):
        init.sparse(gg.empty(*shape), sparsity)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.sparse_(gg.empty(2, 3, 4), 0.1)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        tnn.init.sparse_(torch.empty(2, 3, 4), 0.1)


@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        tnn.init.calculate_gain(nonlinearity, param), rel=1e-15
    )


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (8, 4, 3, 3), (2, 3, 1, 2, 2)])
def test_fans_match_torch(shape):
    fans = init._calculate_fan_in_and_fan_out(gg.empty(*shape))
    assert fans == tnn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_init_errors_name_the_problem():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(gg.empty(5))
    with pytest.raises(ValueError, match="Unsupported nonlinearity softmax"):
        init.calculate_gain("softmax")
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(gg.empty(3, 3), mode="fan_avg")
    with pytest.raises(TypeError, match="expected a glassgrad Tensor"):
        init.uniform_(np.zeros(3))


def test_init_on_a_parameter_in_grad_mode_and_version():
    p = nn.Parameter(gg.zeros(4, 4))
    v = p._version
    init.kaiming_uniform_(p)  # works on a leaf that requires grad, like torch's no_grad init
    assert p.requires_grad and p.grad_fn is None and p._version > v
    gen = np.random.default_rng(7)
    a = init.normal_(gg.empty(3), generator=gen).numpy().copy()
    b = init.normal_(gg.empty(3), generator=np.random.default_rng(7))._data
    np.testing.assert_array_equal(a, b)
