"""The layers of issue 12 against PyTorch: same weights (loaded from torch's state dict), same
outputs, input and parameter gradients, buffers, state_dict keys and reprs, in float64; default
initialisations drawn from PyTorch's distributions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn

import glassgrad as gg
from glassgrad import nn
from tests.test_nn_layers import compare, randn


def _check(name, *args, inputs, kwargs=None, train=True, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t_mod, g_mod = compare(name, *args, inputs=inputs, kwargs=kwargs, train=train, **kw)
    assert repr(g_mod) == repr(t_mod)
    for (k, a), (m, b) in zip(t_mod.state_dict().items(), g_mod.state_dict().items()):
        assert k == m and tuple(a.shape) == tuple(b.shape)
    return t_mod, g_mod


@pytest.mark.parametrize(
    "name,args,kw,shape",
    [
        ("ConvTranspose2d", (4, 6, 3), {}, (2, 4, 5, 5)),
        (
            "ConvTranspose2d",
            (4, 6, (3, 2)),
            {"stride": 2, "padding": 1, "output_padding": 1},
            (2, 4, 4, 3),
        ),
        ("ConvTranspose2d", (4, 6, 3), {"groups": 2, "dilation": 2, "bias": False}, (1, 4, 3, 4)),
        ("ConvTranspose2d", (4, 2, 4), {"stride": 2, "padding": 1}, (4, 5, 5)),  # unbatched
        ("ConvTranspose1d", (3, 2, 3), {"stride": 3, "padding": 2, "output_padding": 2}, (2, 3, 6)),
        ("ConvTranspose3d", (2, 2, 2), {"stride": 2}, (1, 2, 2, 3, 2)),
        ("Conv3d", (2, 3, 2), {"padding": 1, "stride": (1, 2, 1)}, (2, 2, 3, 4, 3)),
        ("Conv3d", (2, 4, 3), {"padding": "same", "padding_mode": "reflect"}, (1, 2, 3, 4, 5)),
    ],
)
def test_convolutions(name, args, kw, shape):
    _check(name, *args, **kw, inputs=[randn(*shape)])


def test_conv_transpose_output_size():
    x = randn(2, 4, 5, 5)
    _check(
        "ConvTranspose2d",
        4,
        3,
        3,
        stride=2,
        padding=1,
        inputs=[x],
        kwargs={"output_size": (10, 10)},
    )
    _check("ConvTranspose2d", 4, 3, 3, stride=3, inputs=[x], kwargs={"output_size": [2, 3, 17, 16]})
    with pytest.raises(ValueError):
        nn.ConvTranspose2d(4, 3, 3, stride=2)(gg.tensor(x), output_size=(20, 20))
    with pytest.raises(ValueError):
        nn.ConvTranspose2d(4, 3, 3, padding_mode="reflect")


def test_dcgan_generator_block_matches_torch():
    """The shape of a DCGAN generator: ConvTranspose2d + BatchNorm2d + ReLU, then Tanh."""

    def build(lib):
        m = lib.nn
        return m.Sequential(
            m.ConvTranspose2d(8, 6, 4, 1, 0, bias=False),
            m.BatchNorm2d(6),
            m.ReLU(True),
            m.ConvTranspose2d(6, 3, 4, 2, 1, bias=False),
            m.Tanh(),
        ).double()

    t, g = build(torch), build(gg)
    g.load_state_dict(t.state_dict())
    z = randn(3, 8, 1, 1)
    tz, gz = torch.tensor(z, requires_grad=True), gg.tensor(z, requires_grad=True)
    to, go = t(tz), g(gz)
    assert tuple(go.shape) == (3, 3, 8, 8)
    np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), rtol=1e-9, atol=1e-11)
    to.square().sum().backward()
    go.square().sum().backward()
    np.testing.assert_allclose(gz.grad.numpy(), tz.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (n, a), (_, b) in zip(t.named_parameters(), g.named_parameters()):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=n)


@pytest.mark.parametrize(
    "name,args,kw,shape",
    [
        ("Upsample", (), {"scale_factor": 2}, (2, 3, 4, 5)),
        ("Upsample", (), {"scale_factor": 1.5, "mode": "bilinear"}, (2, 3, 4, 5)),
        ("Upsample", (), {"size": (7, 3), "mode": "bilinear", "align_corners": True}, (2, 3, 4, 5)),
        ("Upsample", (), {"size": 9, "mode": "linear"}, (2, 3, 4)),
        ("Upsample", (), {"scale_factor": (2.0, 1.5), "mode": "bicubic"}, (1, 2, 4, 4)),
        ("Upsample", (), {"scale_factor": 2, "mode": "trilinear"}, (1, 2, 2, 3, 2)),
        ("Upsample", (), {"size": 5, "mode": "nearest-exact"}, (1, 2, 3, 3)),
        ("UpsamplingNearest2d", (), {"scale_factor": 3}, (2, 1, 2, 3)),
        ("UpsamplingBilinear2d", (), {"size": (5, 6)}, (2, 1, 2, 3)),
        ("PixelShuffle", (2,), {}, (2, 8, 3, 4)),
        ("PixelUnshuffle", (3,), {}, (2, 1, 6, 3)),
        ("Unfold", (2,), {"padding": 1, "stride": 2}, (2, 3, 5, 4)),
        ("Fold", ((4, 5), 2), {}, (2, 12, 12)),
        ("ZeroPad2d", ((1, 0, 2, 1),), {}, (2, 3, 4)),
        ("ZeroPad1d", (2,), {}, (2, 3, 4)),
        ("ConstantPad1d", ((1, 2), 3.5), {}, (2, 3, 4)),
        ("ConstantPad2d", (1, -1.0), {}, (2, 3, 4)),
        ("ConstantPad3d", (1, 0.5), {}, (1, 2, 3, 4)),
        ("ReflectionPad1d", (2,), {}, (2, 3, 4)),
        ("ReflectionPad2d", ((1, 2, 0, 3),), {}, (2, 3, 4, 5)),
        ("ReplicationPad1d", ((3, 1),), {}, (2, 3, 4)),
        ("ReplicationPad2d", (2,), {}, (2, 3, 4, 5)),
        ("ReplicationPad3d", (1,), {}, (1, 2, 3, 4, 2)),
        ("CircularPad2d", (1,), {}, (2, 3, 4, 5)),
        ("AdaptiveMaxPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
        ("AdaptiveMaxPool2d", (4,), {"return_indices": True}, (2, 3, 7, 5)),
        ("AdaptiveMaxPool1d", (3,), {"return_indices": True}, (2, 3, 7)),
        ("AdaptiveMaxPool3d", ((3, None, 2),), {}, (2, 3, 5, 4, 5)),
        ("AdaptiveMaxPool3d", (2,), {"return_indices": True}, (3, 5, 4, 7)),
        ("Softmax2d", (), {}, (2, 3, 4, 5)),
        ("Softmax2d", (), {}, (3, 4, 5)),
        ("Softmin", (), {"dim": 1}, (2, 3, 4)),
        ("CELU", (), {"alpha": 0.5}, (2, 3, 4)),
        ("Softsign", (), {}, (2, 3, 4)),
        ("Tanhshrink", (), {}, (2, 3, 4)),
        ("Threshold", (0.1, 20.0), {}, (2, 3, 4)),
        ("LocalResponseNorm", (3,), {"alpha": 0.1, "k": 2.0}, (2, 5, 4, 3)),
    ],
)
def test_parameter_free_layers(name, args, kw, shape):
    _check(name, *args, **kw, inputs=[randn(*shape)])


@pytest.mark.parametrize(
    "name,args,kw,shape",
    [
        ("GroupNorm", (2, 6), {}, (3, 6, 4, 5)),
        ("GroupNorm", (3, 6), {"affine": False, "eps": 1e-3}, (3, 6, 4)),
        ("GroupNorm", (1, 4), {}, (3, 4)),
        ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
        ("InstanceNorm1d", (3,), {"affine": True}, (3, 5)),  # unbatched
        ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 4, 5)),
        ("InstanceNorm2d", (3,), {"track_running_stats": True, "momentum": None}, (2, 3, 4, 5)),
        ("InstanceNorm3d", (2,), {"affine": True}, (2, 2, 2, 3, 2)),
        ("RMSNorm", (5,), {}, (2, 3, 5)),
        ("RMSNorm", ((3, 5),), {"eps": 1e-3}, (2, 3, 5)),
        ("RMSNorm", (5,), {"elementwise_affine": False}, (2, 3, 5)),
    ],
)
@pytest.mark.parametrize("train", [True, False])
def test_normalisation_layers(name, args, kw, shape, train):
    _check(name, *args, **kw, inputs=[randn(*shape)], train=train)


def test_instance_norm_running_stats_in_eval_mode():
    t, g = _check(
        "InstanceNorm2d", 3, track_running_stats=True, affine=True, inputs=[randn(2, 3, 4, 5)]
    )
    t.eval()
    g.eval()
    x = randn(4, 3, 2, 2)
    np.testing.assert_allclose(
        g(gg.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-9
    )


def test_bilinear():
    _check("Bilinear", 3, 4, 5, inputs=[randn(6, 3), randn(6, 4)])
    _check("Bilinear", 3, 4, 2, bias=False, inputs=[randn(2, 6, 3), randn(2, 6, 4)])


def test_distances():
    _check("CosineSimilarity", inputs=[randn(4, 5), randn(4, 5) + 1])
    _check("CosineSimilarity", dim=-1, eps=0.5, inputs=[randn(3, 4, 5), randn(4, 5)])
    _check("PairwiseDistance", inputs=[randn(4, 5), randn(4, 5) + 1])
    _check("PairwiseDistance", p=3.0, keepdim=True, inputs=[randn(4, 5), randn(4, 5) + 1])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag(mode, padding_idx):
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9], np.int64)
    off = np.array([0, 3, 3, 6], np.int64)
    _check("EmbeddingBag", 10, 3, mode=mode, padding_idx=padding_idx, inputs=[idx, off])
    _check("EmbeddingBag", 10, 3, mode=mode, inputs=[idx.reshape(2, 4)])
    _check("EmbeddingBag", 10, 3, mode=mode, include_last_offset=True, inputs=[idx, off])


def test_embedding_bag_per_sample_weights_and_from_pretrained():
    idx, off, w = np.array([1, 2, 4, 5, 4]), np.array([0, 2]), randn(5)
    _check("EmbeddingBag", 10, 3, mode="sum", inputs=[idx, off, w])
    emb = randn(4, 2)
    for freeze in (True, False):
        t = tnn.EmbeddingBag.from_pretrained(torch.tensor(emb), freeze=freeze, mode="max")
        g = nn.EmbeddingBag.from_pretrained(gg.tensor(emb), freeze=freeze, mode="max")
        assert g.weight.requires_grad == t.weight.requires_grad == (not freeze)
        x = np.array([[0, 3], [2, 2]])
        np.testing.assert_allclose(
            g(gg.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy()
        )
        assert repr(g) == repr(t)


def test_embedding_padding_idx_max_norm_and_from_pretrained():
    """Embedding's options (padding_idx, max_norm renormalising rows in place, from_pretrained)."""
    w = randn(6, 3) * 3
    x = np.array([[0, 2, 5], [5, 1, 2]])
    t = tnn.Embedding.from_pretrained(torch.tensor(w), freeze=False, padding_idx=1, max_norm=1.5)
    g = nn.Embedding.from_pretrained(gg.tensor(w), freeze=False, padding_idx=1, max_norm=1.5)
    to, go = t(torch.tensor(x)), g(gg.tensor(x))
    np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(g.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-6)
    to.sum().backward()
    go.sum().backward()
    np.testing.assert_allclose(g.weight.grad.numpy(), t.weight.grad.numpy())
    assert repr(g) == repr(t)


@pytest.mark.parametrize(
    "name,args,bound",
    [
        ("ConvTranspose2d", (6, 4, 3), 1 / np.sqrt(4 * 9)),  # fan_in = out/groups * k*k
        ("ConvTranspose1d", (6, 8, 3, 1, 0, 0, 2), 1 / np.sqrt(4 * 3)),
        ("Conv3d", (2, 4, 3), 1 / np.sqrt(2 * 27)),
        ("Bilinear", (5, 3, 400), 1 / np.sqrt(5)),
    ],
)
def test_default_init_is_uniform_with_torch_bound(name, args, bound):
    g = getattr(nn, name)(*args)
    t = getattr(tnn, name)(*args)
    for (n, a), (_, b) in zip(t.named_parameters(), g.named_parameters()):
        assert tuple(a.shape) == tuple(b.shape), n
        v = b.detach().numpy()
        assert np.abs(v).max() <= bound + 1e-12
        if v.size > 300:
            assert np.abs(v).max() > 0.9 * bound and abs(v.mean()) < 0.1 * bound
    ones = [
        nn.GroupNorm(2, 4).weight,
        nn.RMSNorm(3).weight,
        nn.InstanceNorm2d(3, affine=True).weight,
    ]
    assert all((p.detach().numpy() == 1).all() for p in ones)


def test_embedding_bag_init_is_standard_normal_with_zero_padding_row():
    w = nn.EmbeddingBag(2000, 8, padding_idx=3).weight.detach().numpy()
    assert (w[3] == 0).all()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


def test_errors():
    with pytest.raises(ValueError):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError):
        nn.GroupNorm(2, 4)(gg.randn(2, 6, 3))
    with pytest.raises(ValueError):
        nn.InstanceNorm2d(3, affine=True)(gg.randn(2, 4, 3, 3))
    with pytest.raises(ValueError):
        nn.functional.interpolate(gg.randn(1, 1, 3, 3), scale_factor=2, align_corners=True)
    with pytest.raises(ValueError):
        nn.functional.interpolate(gg.randn(1, 1, 3, 3))
    with pytest.raises(NotImplementedError):
        nn.functional.interpolate(gg.randn(1, 1, 3), scale_factor=2, mode="bilinear")
    with pytest.raises(RuntimeError):
        nn.functional.pixel_shuffle(gg.randn(1, 3, 2, 2), 2)
    with pytest.raises(RuntimeError):
        nn.functional.fold(gg.randn(1, 4, 5), (3, 3), 2)
    with pytest.raises(NotImplementedError):
        nn.functional.embedding_bag(
            gg.tensor([0, 1]),
            gg.randn(3, 2),
            gg.tensor([0]),
            mode="mean",
            per_sample_weights=gg.randn(2),
        )
    with pytest.raises(ValueError):
        nn.functional.embedding_bag(gg.tensor([[0, 1]]), gg.randn(3, 2), gg.tensor([0]))
    with pytest.raises(RuntimeError):
        nn.functional.conv_transpose2d(gg.randn(1, 3, 4, 4), gg.randn(2, 2, 3, 3))
    with pytest.raises(RuntimeError):  # output padding must be smaller than stride or dilation
        nn.functional.conv_transpose2d(gg.randn(1, 2, 4, 4), gg.randn(2, 2, 3, 3), output_padding=1)


def test_hardsigmoid_layer():
    # (F.hardsigmoid's gradient differs from PyTorch's in the last float64 bits: 3e-8 relative)
    x = randn(2, 3, 4) * 4
    a, b = torch.tensor(x, requires_grad=True), gg.tensor(x, requires_grad=True)
    ta, gb = tnn.Hardsigmoid()(a), nn.Hardsigmoid()(b)
    np.testing.assert_allclose(gb.detach().numpy(), ta.detach().numpy(), rtol=1e-12)
    ta.sum().backward()
    gb.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-7)
    assert repr(nn.Hardsigmoid()) == repr(tnn.Hardsigmoid())


def test_tensor_unfold_matches_torch():
    x = randn(3, 7, 2)
    for args in [(1, 3, 2), (0, 3, 1), (-1, 1, 1), (1, 7, 5)]:
        a, b = torch.tensor(x, requires_grad=True), gg.tensor(x, requires_grad=True)
        ta, gb = a.unfold(*args), b.unfold(*args)
        np.testing.assert_array_equal(gb.detach().numpy(), ta.detach().numpy())
        ta.sum().backward()
        gb.sum().backward()
        np.testing.assert_array_equal(b.grad.numpy(), a.grad.numpy())


# ---- fractional max pooling ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("d", "shape", "kw"),
    [
        (2, (2, 3, 9, 8), {"kernel_size": 3, "output_ratio": 0.5}),
        (2, (3, 7, 7), {"kernel_size": (2, 3), "output_size": (4, 3), "return_indices": True}),
        (3, (2, 2, 6, 7, 5), {"kernel_size": 2, "output_size": (3, 4, 2)}),
        (3, (2, 6, 6, 6), {"kernel_size": (2, 1, 3), "output_ratio": (0.5, 0.7, 0.5)}),
    ],
)
def test_fractional_max_pool_layers_match_torch_given_the_samples(d, shape, kw):
    """Graham's fractional max pooling (a CIFAR classic): with ``_random_samples`` fixed, the
    windows, maxima, indices and gradients are PyTorch's."""
    rng = np.random.default_rng(0)
    x = rng.permutation(np.linspace(-3.0, 3.0, int(np.prod(shape)))).reshape(shape)
    samples = rng.uniform(0.0, 1.0, (shape[0] if len(shape) == d + 2 else 1, shape[-d - 1], d))
    name = f"FractionalMaxPool{d}d"
    theirs = getattr(tnn, name)(**kw, _random_samples=torch.tensor(samples))
    ours = getattr(nn, name)(**kw, _random_samples=gg.tensor(samples))
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    tx, gx = torch.tensor(x, requires_grad=True), gg.tensor(x, requires_grad=True)
    t_out, g_out = theirs(tx), ours(gx)
    if kw.get("return_indices"):
        np.testing.assert_array_equal(g_out[1]._data, t_out[1].numpy())
        t_out, g_out = t_out[0], g_out[0]
    np.testing.assert_array_equal(g_out._data, t_out.detach().numpy())
    assert g_out.grad_fn.name() == t_out.grad_fn.name()
    v = rng.standard_normal(tuple(t_out.shape))
    t_out.backward(torch.tensor(v))
    g_out.backward(gg.tensor(v))
    np.testing.assert_allclose(gx.grad._data, tx.grad.numpy(), rtol=1e-12)


def test_fractional_max_pool_draws_its_steps_and_keeps_the_last_nan_as_torch():
    gg.manual_seed(0)
    x = gg.randn(2, 3, 10, 10)
    out = nn.FractionalMaxPool2d(2, output_ratio=0.5)(x)
    assert out.shape == (2, 3, 5, 5) and np.isin(out._data, x._data).all()
    nan = float("nan")
    rows = [[[[1.0, nan, 2.0], [nan, 0.0, 3.0], [1.0, 1.0, 1.0]]]]
    samples = [[[0.3, 0.6]]]
    t = torch.nn.functional.fractional_max_pool2d(
        torch.tensor(rows), 2, 2, return_indices=True, _random_samples=torch.tensor(samples)
    )
    g = nn.functional.fractional_max_pool2d(
        gg.tensor(rows), 2, 2, return_indices=True, _random_samples=gg.tensor(samples)
    )
    np.testing.assert_array_equal(g[0]._data, t[0].numpy())
    np.testing.assert_array_equal(g[1]._data, t[1].numpy())


def test_fractional_max_pool_errors_name_the_problem():
    for lib in (nn, tnn):
        with pytest.raises(ValueError, match="requires specifying either an output size"):
            lib.FractionalMaxPool2d(2)
        with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
            lib.FractionalMaxPool3d(2, output_size=2, output_ratio=0.5)
        with pytest.raises(ValueError, match=r"output_ratio must be between 0 and 1 \(got 1.5\)"):
            lib.FractionalMaxPool2d(2, output_ratio=1.5)
        with pytest.raises(ValueError, match="kernel_size must be greater than 0"):
            lib.FractionalMaxPool3d(0, output_size=2)
    with pytest.raises(RuntimeError, match="pool height 3 too large relative to input height 5"):
        nn.functional.fractional_max_pool2d(gg.zeros(1, 1, 5, 5), 3, output_size=4)
    with pytest.raises(RuntimeError, match="pool depth 3 too large relative to input depth 5"):
        nn.functional.fractional_max_pool3d(gg.zeros(1, 1, 5, 5, 5), 3, output_size=3)
    with pytest.raises(RuntimeError, match="_random_samples must have shape"):
        nn.functional.fractional_max_pool2d(
            gg.zeros(1, 2, 5, 5), 2, output_size=2, _random_samples=gg.rand(2, 2, 2)
        )
    with pytest.raises(RuntimeError, match="expected a 3D or 4D input"):
        nn.functional.fractional_max_pool2d(gg.zeros(5, 5), 2, output_size=2)
