"""Transformer layers against PyTorch: after loading torch's state dict (keys identical), the
outputs and the gradients of every parameter and input agree in float64, with dropout off (p=0
in training mode, or eval mode), for post-norm and pre-norm, relu, gelu and a callable
activation, with and without bias, batch_first or not, and with bool, float and causal masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn

import glassgrad as gg
from glassgrad import nn

# torch warns about its nested-tensor fast path and mixed bool/float masks; not our concern here
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:torch")

RTOL, ATOL = 1e-9, 1e-11
E, NHEAD, FF = 8, 2, 12
N, S, L = 2, 5, 4  # batch, source length, target length


def _close(ours, theirs, what: str) -> None:
    a = theirs.detach().numpy()
    b = ours.detach().data
    assert a.shape == b.shape, f"{what}: shapes {b.shape} vs {a.shape}"
    np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=what)


def _pair(x: np.ndarray):
    return torch.tensor(x, requires_grad=True), gg.tensor(x, requires_grad=True)


def _build(name: str, args, kw, *, train: bool):
    """Both modules, torch's weights loaded into ours (state dict keys identical)."""
    t_kw, g_kw = dict(kw), dict(kw)
    act = kw.get("activation")
    if act == "silu":  # a callable activation: each library's own function
        t_kw["activation"], g_kw["activation"] = torch.nn.functional.silu, gg.nn.functional.silu
    if name in ("TransformerEncoder", "TransformerDecoder"):
        layer = name + "Layer"
        num_layers = t_kw.pop("num_layers")
        use_norm = t_kw.pop("norm")
        g_kw.pop("num_layers"), g_kw.pop("norm")
        extra = {"enable_nested_tensor": False} if name == "TransformerEncoder" else {}
        t_mod = getattr(tnn, name)(
            getattr(tnn, layer)(*args, **t_kw), num_layers, tnn.LayerNorm(E) if use_norm else None,
            **extra,
        )  # fmt: skip
        g_mod = getattr(nn, name)(
            getattr(nn, layer)(*args, **g_kw), num_layers, nn.LayerNorm(E) if use_norm else None,
            **extra,
        )  # fmt: skip
    else:
        t_mod = getattr(tnn, name)(*args, **t_kw)
        g_mod = getattr(nn, name)(*args, **g_kw)
    t_mod = t_mod.double().train(train)
    g_mod = g_mod.double().train(train)
    sd = t_mod.state_dict()
    assert list(g_mod.state_dict()) == list(sd)
    result = g_mod.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    return t_mod, g_mod


def _run(t_mod, g_mod, inputs: list[np.ndarray], masks: dict, label: str) -> None:
    pairs = [_pair(x) for x in inputs]
    t_masks = {k: torch.from_numpy(v) for k, v in masks.items() if not isinstance(v, bool)}
    g_masks = {k: gg.tensor(v) for k, v in masks.items() if not isinstance(v, bool)}
    flags = {k: v for k, v in masks.items() if isinstance(v, bool)}
    t_out = t_mod(*[p[0] for p in pairs], **t_masks, **flags)
    g_out = g_mod(*[p[1] for p in pairs], **g_masks, **flags)
    _close(g_out, t_out, f"{label}: output")
    w = np.random.default_rng(3).standard_normal(tuple(t_out.shape))
    (t_out * torch.from_numpy(w)).sum().backward()
    (g_out * gg.tensor(w)).sum().backward()
    for (n, tp), (m, gp) in zip(t_mod.named_parameters(), g_mod.named_parameters()):
        assert n == m
        _close(gp.grad, tp.grad, f"{label}: grad of {n}")
    for i, (a, b) in enumerate(pairs):
        _close(b.grad, a.grad, f"{label}: grad of input {i}")


def _x(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


def _seq(batch_first: bool, length: int, batched: bool = True, seed: int = 0) -> np.ndarray:
    if not batched:
        return _x(length, E, seed=seed)
    return _x(N, length, E, seed=seed) if batch_first else _x(length, N, E, seed=seed)


def _bool_mask(rows: int, cols: int, seed: int) -> np.ndarray:
    m = np.random.default_rng(seed).random((rows, cols)) < 0.3
    m[:, 0] = False  # every query keeps one key (fully masked rows are NaN in both)
    return m


def _causal(n: int) -> np.ndarray:
    return nn.Transformer.generate_square_subsequent_mask(n, dtype=gg.float64).numpy()


def _float_mask(rows: int, cols: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, cols))


def _padding(length: int, seed: int) -> np.ndarray:
    m = np.zeros((N, length), dtype=bool)
    m[1, -2:] = True  # the second sequence is two shorter
    return m


def _masks(kind: str, src_len: int, tgt_len: int | None = None) -> dict:
    """Masks for an encoder (tgt_len None: src_mask & src_key_padding_mask) or a decoder."""
    if tgt_len is None:
        names = {"mask": "src_mask", "kpm": "src_key_padding_mask", "causal": "is_causal"}
        n = src_len
    else:
        names = {"mask": "tgt_mask", "kpm": "tgt_key_padding_mask", "causal": "tgt_is_causal"}
        n = tgt_len
    out: dict = {}
    if kind == "none":
        return out
    if kind == "bool":
        out[names["mask"]] = _bool_mask(n, n, 1)
    elif kind == "float":
        out[names["mask"]] = _float_mask(n, n, 2)
    elif kind == "causal":
        out[names["mask"]] = _causal(n)
        out[names["causal"]] = True
    elif kind == "padding":
        out[names["kpm"]] = _padding(n, 3)
    elif kind == "all":
        out[names["mask"]] = _causal(n)
        out[names["kpm"]] = _padding(n, 3)
    if tgt_len is not None and kind in ("bool", "all"):
        out["memory_mask"] = _bool_mask(tgt_len, src_len, 4)
        out["memory_key_padding_mask"] = _padding(src_len, 5)
    if tgt_len is not None and kind == "float":
        out["memory_mask"] = _float_mask(tgt_len, src_len, 6)
    return out


LAYER_OPTIONS = [
    {},
    {"norm_first": True},
    {"activation": "gelu"},
    {"activation": "gelu", "norm_first": True, "batch_first": True},
    {"activation": "silu", "bias": False},
    {"batch_first": True, "layer_norm_eps": 1e-3, "bias": False, "norm_first": True},
]
MASKS = ["none", "bool", "float", "causal", "padding", "all"]


def _ids(o: dict) -> str:
    return "-".join(f"{k}={v}" for k, v in o.items()) or "default"


@pytest.mark.parametrize("masks", MASKS)
@pytest.mark.parametrize("opts", LAYER_OPTIONS, ids=_ids)
def test_encoder_layer(opts, masks):
    t_mod, g_mod = _build(
        "TransformerEncoderLayer", (E, NHEAD, FF), {"dropout": 0.0, **opts}, train=True
    )
    bf = opts.get("batch_first", False)
    _run(t_mod, g_mod, [_seq(bf, S)], _masks(masks, S), f"encoder layer {opts} {masks}")


@pytest.mark.parametrize("masks", MASKS)
@pytest.mark.parametrize("opts", LAYER_OPTIONS, ids=_ids)
def test_decoder_layer(opts, masks):
    t_mod, g_mod = _build(
        "TransformerDecoderLayer", (E, NHEAD, FF), {"dropout": 0.0, **opts}, train=True
    )
    bf = opts.get("batch_first", False)
    inputs = [_seq(bf, L), _seq(bf, S, seed=1)]
    _run(t_mod, g_mod, inputs, _masks(masks, S, L), f"decoder layer {opts} {masks}")


@pytest.mark.parametrize("norm", [True, False])
@pytest.mark.parametrize(
    "opts", [{}, {"norm_first": True, "activation": "gelu", "batch_first": True}], ids=_ids
)
def test_encoder_and_decoder_stacks(opts, norm):
    bf = opts.get("batch_first", False)
    kw = {"dropout": 0.1, "num_layers": 2, "norm": norm, **opts}
    t_mod, g_mod = _build("TransformerEncoder", (E, NHEAD, FF), kw, train=False)  # eval: no dropout
    masks = {("mask" if k == "src_mask" else k): v for k, v in _masks("all", S).items()}
    _run(t_mod, g_mod, [_seq(bf, S)], masks, "encoder")
    t_mod, g_mod = _build("TransformerDecoder", (E, NHEAD, FF), kw, train=False)
    _run(t_mod, g_mod, [_seq(bf, L), _seq(bf, S, seed=1)], _masks("all", S, L), "decoder")


@pytest.mark.parametrize("masks", ["none", "bool", "float", "all"])
@pytest.mark.parametrize(
    "opts",
    [{}, {"norm_first": True, "activation": "gelu"}, {"batch_first": True, "bias": False},
     {"activation": "silu", "layer_norm_eps": 1e-4}],
    ids=_ids,
)  # fmt: skip
def test_transformer(opts, masks):
    kw = {"num_encoder_layers": 2, "num_decoder_layers": 2, "dim_feedforward": FF, **opts}
    t_mod, g_mod = _build("Transformer", (E, NHEAD), kw, train=False)
    bf = opts.get("batch_first", False)
    m = _masks(masks, S, L)
    if masks == "all":
        m["src_key_padding_mask"] = _padding(S, 7)
        m["src_mask"] = _bool_mask(S, S, 8)
    _run(t_mod, g_mod, [_seq(bf, S, seed=2), _seq(bf, L, seed=3)], m, f"transformer {opts}")


def test_unbatched_input():
    t_mod, g_mod = _build("Transformer", (E, NHEAD), {"num_encoder_layers": 1,
                          "num_decoder_layers": 1, "dim_feedforward": FF}, train=False)  # fmt: skip
    masks = {"tgt_mask": _causal(L), "src_key_padding_mask": np.array([False] * (S - 1) + [True])}
    _run(t_mod, g_mod, [_seq(False, S, False), _seq(False, L, False, seed=1)], masks, "unbatched")


def test_default_sizes_and_state_dict_keys():
    t_mod, g_mod = tnn.Transformer(), nn.Transformer()
    t_sd, g_sd = t_mod.state_dict(), g_mod.state_dict()
    assert list(g_sd) == list(t_sd)
    assert [tuple(v.shape) for v in g_sd.values()] == [tuple(v.shape) for v in t_sd.values()]
    layer = g_mod.encoder.layers[0]
    assert (layer.linear1.out_features, layer.self_attn.num_heads, layer.dropout.p) == (
        2048,
        8,
        0.1,
    )
    assert g_mod.encoder.layers[0] is not g_mod.encoder.layers[1]  # deep copies
    assert layer.activation_relu_or_gelu == 1
    # xavier_uniform_ on every matrix: bound sqrt(6 / (fan_in + fan_out))
    w = layer.linear1.weight.data
    assert np.abs(w).max() <= np.sqrt(6 / (512 + 2048)) and w.std() > 0.02


def test_generate_square_subsequent_mask():
    for n in (1, 4):
        ours = nn.Transformer.generate_square_subsequent_mask(n)
        theirs = tnn.Transformer.generate_square_subsequent_mask(n)
        assert ours.dtype == np.float32
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=gg.float64).dtype == np.float64


def test_dropout_in_training_only():
    gg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(E, NHEAD, FF, dropout=0.5).double()
    x = gg.tensor(_seq(False, S))
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)
    layer.train()
    assert not np.allclose(layer(x).data, layer(x).data)


def test_errors():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(E, NHEAD, activation="tanh")
    model = nn.Transformer(E, NHEAD, 1, 1, FF)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(gg.randn(S, N, E), gg.randn(L, N + 1, E))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal"):
        model(gg.randn(S, N, E + 2), gg.randn(L, N, E + 2))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        nn.TransformerEncoderLayer(E, NHEAD, FF)(gg.randn(S, N, E), is_causal=True)
