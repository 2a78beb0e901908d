"""Every layer against PyTorch: same weights (loaded from torch's state dict), same outputs and
parameter gradients in float64; train/eval behaviour of Dropout and BatchNorm."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn

import glassgrad as gg
from glassgrad import nn

RTOL, ATOL = 1e-9, 1e-11


def _to_torch(x: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(x.copy())
    return t.requires_grad_(True) if x.dtype.kind == "f" else t


def _to_gg(x: np.ndarray) -> gg.Tensor:
    return gg.tensor(x, requires_grad=x.dtype.kind == "f")


def _close(a, b, what: str) -> None:
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a._data)
    b = np.asarray(b._data) if isinstance(b, gg.Tensor) else np.asarray(b)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} vs {b.shape}"
    np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=what)


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


def compare(name: str, *args, inputs, train: bool = True, kwargs=None, **kw):
    """Build ``name`` in both libraries, copy torch's weights into ours, run forward/backward."""
    kwargs = kwargs or {}
    t_mod = getattr(tnn, name)(*args, **kw).double().train(train)
    g_mod = getattr(nn, name)(*args, **kw).double().train(train)
    result = g_mod.load_state_dict(t_mod.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert list(g_mod.state_dict()) == list(t_mod.state_dict())
    t_in, g_in = [_to_torch(x) for x in inputs], [_to_gg(x) for x in inputs]
    t_out = _outputs(t_mod(*t_in, **kwargs))
    g_out = _outputs(g_mod(*g_in, **kwargs))
    rng = np.random.default_rng(1)
    t_loss, g_loss = 0.0, 0.0
    for i, (a, b) in enumerate(zip(t_out, g_out)):
        if a is None:
            assert b is None, f"{name}: output {i} should be None"
            continue
        _close(a, b, f"{name} output {i}")
        w = rng.standard_normal(tuple(a.shape))
        t_loss = t_loss + (a * torch.from_numpy(w)).sum()
        g_loss = g_loss + (b * gg.tensor(w)).sum()
    t_loss.backward()
    g_loss.backward()
    for (n, tp), (m, gp) in zip(t_mod.named_parameters(), g_mod.named_parameters()):
        assert n == m
        _close(tp.grad, gp.grad, f"{name} grad of {n}")
    for i, (a, b) in enumerate(zip(t_in, g_in)):
        if a.requires_grad:
            _close(a.grad, b.grad, f"{name} grad of input {i}")
    for (n, tb), (_, gb) in zip(t_mod.named_buffers(), g_mod.named_buffers()):
        _close(tb, gb, f"{name} buffer {n}")
    return t_mod, g_mod


def randn(*shape) -> np.ndarray:
    return np.random.default_rng(sum(shape) + len(shape)).standard_normal(shape)


@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias):
    compare("Linear", 5, 3, bias=bias, inputs=[randn(4, 2, 5)])


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"stride": 2, "padding": 1, "dilation": 2, "groups": 2},
        {"padding": "same", "padding_mode": "reflect", "bias": False},
        {"padding": 2, "padding_mode": "circular"},
        {"padding": "valid", "padding_mode": "replicate"},
    ],
)
def test_conv1d(kw):
    compare("Conv1d", 4, 6, 3, **kw, inputs=[randn(2, 4, 9)])


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2},
        {"padding": "same", "padding_mode": "zeros", "bias": False},
        {"padding": 1, "padding_mode": "reflect"},
    ],
)
def test_conv2d(kw):
    compare("Conv2d", 2, 4, (3, 2), **kw, inputs=[randn(2, 2, 7, 6)])


@pytest.mark.parametrize(
    ("name", "args", "kw"),
    [
        ("MaxPool2d", (2,), {}),
        ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
        ("MaxPool1d", (2,), {}),
        ("AvgPool2d", (2,), {}),
        ("AvgPool2d", (3,), {"stride": 1, "padding": 1, "count_include_pad": False}),
        ("AvgPool1d", (3,), {"stride": 2}),
        ("AdaptiveAvgPool2d", ((3, 2),), {}),
        ("AdaptiveAvgPool1d", (4,), {}),
    ],
)
def test_pooling(name, args, kw):
    shape = (2, 3, 7, 6) if name.endswith("2d") else (2, 3, 9)
    compare(name, *args, **kw, inputs=[randn(*shape)])


def test_maxpool_return_indices():
    compare("MaxPool2d", 2, return_indices=True, inputs=[randn(1, 2, 4, 4)])


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("ReLU", {}),
        ("LeakyReLU", {"negative_slope": 0.2}),
        ("GELU", {}),
        ("GELU", {"approximate": "tanh"}),
        ("SiLU", {}),
        ("Tanh", {}),
        ("Sigmoid", {}),
        ("Softmax", {"dim": 1}),
        ("LogSoftmax", {"dim": -1}),
        ("ELU", {"alpha": 0.5}),
        ("Softplus", {"beta": 2.0}),
        ("Mish", {}),
        ("Hardtanh", {"min_val": -0.5}),
        ("ReLU6", {}),
        ("SELU", {}),
        ("GLU", {}),
        ("Identity", {}),
        ("Flatten", {}),
        ("Flatten", {"start_dim": 0, "end_dim": 1}),
    ],
)
def test_parameter_free(name, kw):
    compare(name, **kw, inputs=[randn(3, 4, 2)])


def test_unflatten():
    compare("Unflatten", 1, (2, 3), inputs=[randn(4, 6)])


def test_inplace_relu_in_a_graph():
    x = gg.tensor(randn(3, 4), requires_grad=True)
    y = nn.ReLU(inplace=True)(x * 2.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad._data, 2.0 * (x._data > 0))


@pytest.mark.parametrize("kw", [{}, {"elementwise_affine": False}, {"bias": False}])
def test_layer_norm(kw):
    compare("LayerNorm", (3, 4), **kw, inputs=[randn(2, 3, 4)])


@pytest.mark.parametrize(
    ("name", "shape", "kw"),
    [
        ("BatchNorm1d", (6, 3), {}),
        ("BatchNorm1d", (4, 3, 5), {"momentum": None}),
        ("BatchNorm1d", (6, 3), {"affine": False, "eps": 1e-3}),
        ("BatchNorm2d", (4, 3, 2, 5), {"momentum": 0.3}),
        ("BatchNorm2d", (4, 3, 2, 2), {"track_running_stats": False}),
        ("BatchNorm2d", (4, 3, 2, 2), {"bias": False}),
    ],
)
@pytest.mark.parametrize("train", [True, False])
def test_batch_norm(name, shape, kw, train):
    t_mod, g_mod = compare(name, 3, **kw, inputs=[randn(*shape)], train=train)
    # a few more training steps: the running statistics follow torch's (incl. momentum=None)
    for i in range(3):
        x = np.random.default_rng(i).standard_normal(shape)
        _close(t_mod(torch.from_numpy(x)), g_mod(gg.tensor(x)), f"{name} step {i}")
    for (n, tb), (_, gb) in zip(t_mod.named_buffers(), g_mod.named_buffers()):
        _close(tb, gb, f"{name} buffer {n}")


def test_batch_norm_checks_input_dims():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(got 3D"):
        nn.BatchNorm2d(3)(gg.randn(2, 3, 4))


def test_batch_norm_eval_uses_running_stats():
    bn = nn.BatchNorm1d(2)
    bn.running_mean._data[:] = [1.0, -1.0]
    bn.running_var._data[:] = [4.0, 1.0]
    bn.eval()
    out = bn(gg.tensor([[3.0, 0.0]]))
    np.testing.assert_allclose(out._data, [[2.0 / np.sqrt(4 + 1e-5), 1.0 / np.sqrt(1 + 1e-5)]])
    assert int(bn.num_batches_tracked) == 0


@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_embedding(padding_idx):
    idx = np.array([[0, 1, 4], [3, 1, 1]])
    _, g_mod = compare("Embedding", 5, 3, padding_idx=padding_idx, inputs=[idx])
    if padding_idx is not None:
        assert not g_mod.weight.grad._data[padding_idx % 5].any()


def test_embedding_padding_row_starts_at_zero():
    emb = nn.Embedding(10, 4, padding_idx=2)
    assert not emb.weight._data[2].any() and emb.padding_idx == 2
    assert nn.Embedding(10, 4, padding_idx=-1).padding_idx == 9
    pre = nn.Embedding.from_pretrained(gg.ones(3, 2))
    assert not pre.weight.requires_grad and pre(gg.tensor([1])).shape == (1, 2)


def test_dropout_train_and_eval():
    drop = nn.Dropout(0.5)
    x = gg.ones(1000)
    y = drop(x)
    zeros = float((y == 0).float().mean())
    assert 0.4 < zeros < 0.6 and set(np.unique(y._data)) <= {0.0, 2.0}
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match=r"between 0 and 1, but got 1\.5"):
        nn.Dropout(1.5)


def test_dropout_is_seeded():
    gg.manual_seed(3)
    a = nn.Dropout()(gg.ones(50))
    gg.manual_seed(3)
    b = nn.Dropout()(gg.ones(50))
    np.testing.assert_array_equal(a._data, b._data)


# ---- MultiheadAttention --------------------------------------------------------------------------
L, S, N, E = 4, 5, 3, 8


def _qkv(batch_first: bool = False, kdim: int = E, vdim: int = E):
    if batch_first:
        return [randn(N, L, E), randn(N, S, kdim) + 0.1, randn(N, S, vdim) - 0.1]
    return [randn(L, N, E), randn(S, N, kdim) + 0.1, randn(S, N, vdim) - 0.1]


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"batch_first": True},
        {"bias": False},
        {"kdim": 6, "vdim": 7},
        {"add_bias_kv": True},
        {"add_zero_attn": True},
        {"add_bias_kv": True, "add_zero_attn": True, "batch_first": True},
    ],
)
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention(kw, need_weights):
    inputs = _qkv(kw.get("batch_first", False), kw.get("kdim", E), kw.get("vdim", E))
    compare("MultiheadAttention", E, 2, **kw, inputs=inputs, kwargs={"need_weights": need_weights})


def test_multihead_attention_self_attention_per_head_weights():
    x = randn(N, L, E)
    compare(
        "MultiheadAttention",
        E,
        4,
        batch_first=True,
        inputs=[x, x, x],
        kwargs={"average_attn_weights": False},
    )


@pytest.mark.parametrize("mask_kind", ["bool", "float", "3d"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_masks(mask_kind, need_weights):
    rng = np.random.default_rng(5)
    if mask_kind == "bool":
        attn_mask = np.triu(np.ones((L, S), bool), 1)
    elif mask_kind == "float":
        attn_mask = rng.standard_normal((L, S))
    else:
        attn_mask = rng.standard_normal((N * 2, L, S))
    kpm = np.zeros((N, S), bool)
    kpm[0, -2:] = True
    kwargs = {"need_weights": need_weights}
    for key, m in (("attn_mask", attn_mask), ("key_padding_mask", kpm)):
        t_mod = tnn.MultiheadAttention(E, 2).double()
        g_mod = nn.MultiheadAttention(E, 2).double()
        g_mod.load_state_dict(t_mod.state_dict())
        q, k, v = _qkv()
        t_out, t_w = t_mod(*map(_to_torch, (q, k, v)), **{key: torch.from_numpy(m)}, **kwargs)
        g_out, g_w = g_mod(*map(_to_gg, (q, k, v)), **{key: gg.tensor(m)}, **kwargs)
        _close(t_out, g_out, f"MHA output with {key}")
        if need_weights:
            _close(t_w, g_w, f"MHA weights with {key}")
    # both masks at once, and unbatched inputs
    t_mod = tnn.MultiheadAttention(E, 2).double()
    g_mod = nn.MultiheadAttention(E, 2).double()
    g_mod.load_state_dict(t_mod.state_dict())
    q, k, v = (x[:, 0] for x in _qkv())
    am = np.triu(np.ones((L, S), bool), 1)
    t_out, _ = t_mod(*map(_to_torch, (q, k, v)), attn_mask=torch.from_numpy(am), **kwargs)
    g_out, _ = g_mod(*map(_to_gg, (q, k, v)), attn_mask=gg.tensor(am), **kwargs)
    _close(t_out, g_out, "MHA unbatched with attn_mask")


def test_multihead_attention_dropout_only_in_training():
    mha = nn.MultiheadAttention(E, 2, dropout=0.5, batch_first=True)
    x = gg.tensor(randn(N, L, E), dtype=gg.float32)
    mha.eval()
    a, _ = mha(x, x, x)
    b, _ = mha(x, x, x)
    np.testing.assert_array_equal(a._data, b._data)
    mha.train()
    c, _ = mha(x, x, x)
    assert not np.allclose(a._data, c._data)


def test_multihead_attention_bad_embed_dim():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(AssertionError, match="expecting embedding dimension of 8, but got 6"):
        m = nn.MultiheadAttention(8, 2)
        x = gg.randn(2, 1, 6)
        m(x, x, x)


# ---- losses ------------------------------------------------------------------------------------
def _loss_case(name: str, kw: dict, logits: np.ndarray, target: np.ndarray):
    t_loss = getattr(tnn, name)(**{k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                                   for k, v in kw.items()})  # fmt: skip
    g_loss = getattr(nn, name)(**{k: gg.tensor(v) if isinstance(v, np.ndarray) else v
                                  for k, v in kw.items()})  # fmt: skip
    assert list(g_loss.state_dict()) == list(t_loss.state_dict())
    assert repr(g_loss) == repr(t_loss)
    ti, gi = _to_torch(logits), _to_gg(logits)
    tt = torch.from_numpy(target)
    gt = gg.tensor(target)
    a, b = t_loss(ti, tt), g_loss(gi, gt)
    _close(a, b, f"{name} {kw}")
    a.sum().backward()
    b.sum().backward()
    _close(ti.grad, gi.grad, f"{name} {kw} input grad")


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"reduction": "sum"},
        {"reduction": "none", "ignore_index": 2},
        {"weight": np.array([1.0, 2.0, 0.5, 1.5])},
        {"label_smoothing": 0.1, "weight": np.array([1.0, 2.0, 0.5, 1.5])},
    ],
)
@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss"])
def test_class_losses(name, kw):
    if name == "NLLLoss" and "label_smoothing" in kw:
        return
    logits = randn(6, 4)
    if name == "NLLLoss":
        logits = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    _loss_case(name, kw, logits, np.array([0, 3, 2, 1, 2, 0]))


def test_cross_entropy_probability_targets_and_spatial():
    target = np.abs(randn(3, 4))
    _loss_case("CrossEntropyLoss", {}, randn(3, 4), target / target.sum(1, keepdims=True))
    _loss_case("CrossEntropyLoss", {}, randn(2, 4, 3), np.array([[0, 1, 3], [2, 2, 1]]))


def test_nllloss2d_is_nllloss_over_pixels_with_a_deprecation_warning():
    """Pre-0.4 segmentation scripts' ``nn.NLLLoss2d``: PyTorch keeps it, warning."""
    logits = randn(2, 3, 4, 5)
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    target = np.random.default_rng(0).integers(0, 3, (2, 4, 5))
    target[0, 0, :2] = 1  # ignored below
    kw = {"weight": np.array([1.0, 2.0, 0.5]), "ignore_index": 1}
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        _loss_case("NLLLoss2d", kw, log_probs, target)
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        assert isinstance(nn.NLLLoss2d(), nn.NLLLoss)


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("MSELoss", {}),
        ("MSELoss", {"reduction": "sum"}),
        ("L1Loss", {"reduction": "none"}),
        ("HuberLoss", {"delta": 0.5}),
        ("SmoothL1Loss", {"beta": 0.5}),
        ("BCEWithLogitsLoss", {}),
        ("BCEWithLogitsLoss", {"pos_weight": np.array([1.0, 3.0, 0.5])}),
        ("BCEWithLogitsLoss", {"weight": np.array([1.0, 3.0, 0.5]), "reduction": "sum"}),
    ],
)
def test_pointwise_losses(name, kw):
    target = randn(4, 3) if "BCE" not in name else (randn(4, 3) > 0).astype(np.float64)
    _loss_case(name, kw, randn(4, 3), target)


@pytest.mark.parametrize("kw", [{}, {"weight": np.array([1.0, 3.0, 0.5])}])
def test_bce_loss(kw):
    probs = 1 / (1 + np.exp(-randn(4, 3)))
    _loss_case("BCELoss", kw, probs, (randn(4, 3) > 0).astype(np.float64))


def test_loss_rejects_bad_reduction():
    with pytest.raises(ValueError, match="batchmean is not a valid value for reduction"):
        nn.MSELoss(reduction="batchmean")
    assert nn.MSELoss(size_average=False).reduction == "sum"


def test_norm_layers_take_a_half_input_with_float_parameters_as_pytorchs_cpu_norms():
    """A model cast to half but for its norms: float32 inside, float16 out, gradients in each
    tensor's own dtype, running statistics kept in float32."""
    import torch

    def run(lib):
        lib.manual_seed(0)
        data = np.random.default_rng(0).standard_normal((2, 4, 3, 3))
        x = lib.tensor(data, dtype=lib.float16, requires_grad=True)
        out = {}
        layers = [
            ("layer", lib.nn.LayerNorm(3)),
            ("group", lib.nn.GroupNorm(2, 4)),
            ("batch", lib.nn.BatchNorm2d(4)),
            ("batch_eval", lib.nn.BatchNorm2d(4).eval()),
        ]
        for name, layer in layers:
            y = layer(x)
            y.float().pow(2).sum().backward()
            grads = [p.grad for p in layer.parameters()]
            out[name] = (
                str(y.dtype),
                str(x.grad.dtype),
                [str(g.dtype) for g in grads],
                y.detach().float().numpy(),
                x.grad.float().numpy().copy(),
                [g.numpy() for g in grads],
            )
            x.grad = None
            if name == "batch":
                out["running_mean"] = (str(layer.running_mean.dtype), layer.running_mean.numpy())
        return out

    ours, theirs = run(gg), run(torch)
    assert ours["running_mean"][0] == theirs["running_mean"][0]
    np.testing.assert_allclose(ours.pop("running_mean")[1], theirs.pop("running_mean")[1], 1e-3)
    for name, got in ours.items():
        want = theirs[name]
        assert got[:3] == want[:3], name  # the dtypes
        np.testing.assert_allclose(got[3], want[3], rtol=2e-3, atol=2e-3)
        np.testing.assert_allclose(got[4], want[4], rtol=1e-2, atol=1e-2)
        for g, w in zip(got[5], want[5]):
            np.testing.assert_allclose(g, w, rtol=1e-2, atol=1e-2)
