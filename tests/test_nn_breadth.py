"""The nn-breadth layers against PyTorch: weights copied from torch's state dict, same outputs,
input and parameter gradients, state_dict keys/shapes and reprs in float64; random layers
(RReLU, alpha dropout, gumbel-softmax) exactly in eval mode and statistically or with replayed
draws in training; parameter containers and ``nn.Buffer`` with torch's registration rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn
from tests.test_nn_layers import randn
from tests.test_nn_layers_more import _check


def _t(x, grad=True):
    return torch.tensor(x, requires_grad=grad)


def _g(x, grad=True):
    return gg.tensor(x, requires_grad=grad)


def _close(a, b, rtol=1e-10, atol=1e-12, msg=""):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(b, a, rtol=rtol, atol=atol, err_msg=msg)


# ---- activations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,args,kw,shape",
    [
        ("PReLU", (), {}, (3, 4, 5)),
        ("PReLU", (4,), {"init": 0.1}, (3, 4, 5)),
        ("PReLU", (2,), {}, (3, 2)),
        ("RReLU", (), {}, (3, 4)),
        ("RReLU", (0.05, 0.4), {"inplace": False}, (2, 3, 2)),
        ("Hardshrink", (), {}, (3, 4)),
        ("Hardshrink", (0.8,), {}, (3, 4)),
        ("Softshrink", (), {}, (3, 4)),
        ("Softshrink", (0.3,), {}, (2, 3, 4)),
        ("ChannelShuffle", (3,), {}, (2, 6, 2, 2)),
        ("AlphaDropout", (0.3,), {}, (3, 4)),
        ("FeatureAlphaDropout", (0.3,), {}, (3, 4, 2)),
    ],
)
def test_activation_layers_match_torch(name, args, kw, shape):
    _check(name, *args, **kw, inputs=[randn(*shape)], train=False)


def test_activation_reprs():
    for args in [(), (3, 0.5)]:
        assert repr(nn.PReLU(*args)) == repr(tnn.PReLU(*args))
    for kw in [{}, {"inplace": True}, {"lower": 0.2, "upper": 0.3}]:
        assert repr(nn.RReLU(**kw)) == repr(tnn.RReLU(**kw))
    assert repr(nn.AlphaDropout(0.2, True)) == repr(tnn.AlphaDropout(0.2, True))
    assert repr(nn.FeatureAlphaDropout()) == repr(tnn.FeatureAlphaDropout())


def test_prelu_default_initialisation():
    m = nn.PReLU(5, init=0.3)
    assert m.weight.shape == (5,) and np.all(m.weight.detach().numpy() == np.float32(0.3))
    assert m.weight.dtype == np.float32 and nn.PReLU().weight.shape == (1,)


def test_prelu_functional_and_method():
    x, w = randn(2, 3, 4), np.array([0.1, 0.2, 0.3])
    for f, tf in [(F.prelu, TF.prelu), (gg.prelu, torch.prelu)]:
        a, b = _g(x), _g(w)
        ta, tb = _t(x), _t(w)
        f(a, b).pow(2).sum().backward()
        tf(ta, tb).pow(2).sum().backward()
        _close(ta.grad, a.grad)
        _close(tb.grad, b.grad)
    _close(TF.prelu(_t(x), _t(w)), _g(x).prelu(_g(w)))
    with pytest.raises(RuntimeError, match=r"prelu.*shape \(2, 3, 4\)"):
        F.prelu(_g(x), gg.ones(4))


def test_rrelu_training_slopes():
    """Training draws one slope per negative element from U(lower, upper): the ratio out/x
    lies in [lower, upper], the positive part passes through, and the gradient is that ratio."""
    gg.manual_seed(3)
    x = _g(-np.abs(randn(200, 50)) - 0.1)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    ratio = out.detach().numpy() / x.detach().numpy()
    assert ratio.min() >= 0.1 and ratio.max() <= 0.3
    assert abs(ratio.mean() - 0.2) < 0.005 and abs(ratio.std() - 0.2 / np.sqrt(12)) < 0.005
    out.sum().backward()
    _close(ratio, x.grad)
    pos = gg.tensor(np.abs(randn(5)) + 0.1)
    _close(pos, F.rrelu(pos, training=True))
    m = nn.RReLU(0.1, 0.3).train()
    gg.manual_seed(5)
    a = m(gg.tensor(-np.ones(10)))
    gg.manual_seed(5)
    b = F.rrelu(gg.tensor(-np.ones(10)), 0.1, 0.3, True)
    _close(a, b, rtol=0, atol=0)  # replayed draws


def test_inplace_functional_activations():
    x = randn(3, 4)
    cases = [
        ("relu_", ()),
        ("elu_", (0.5,)),
        ("leaky_relu_", (0.2,)),
        ("hardtanh_", (-0.5, 0.5)),
        ("threshold_", (0.1, 2.0)),
        ("selu_", ()),
        ("celu_", (0.5,)),  # (PyTorch rounds celu_'s 1/alpha to float32: 0.5 is exact)
        ("rrelu_", (0.1, 0.3)),
    ]
    for name, args in cases:
        a, ta = _g(x), _t(x)
        b, tb = a * 2, ta * 2
        out = getattr(F, name)(b, *args)
        getattr(TF, name)(tb, *args)
        assert out is b and b._version == tb._version
        assert b.grad_fn.name() == tb.grad_fn.name()
        _close(tb, b, msg=name)
        b.sum().backward()
        tb.sum().backward()
        _close(ta.grad, a.grad, msg=name)
        if hasattr(torch, name):
            c = gg.tensor(x)
            getattr(gg, name)(c, *args)
            _close(getattr(torch, name)(torch.tensor(x), *args), c, msg=name)


def test_alpha_dropout_statistics():
    gg.manual_seed(0)
    x = gg.tensor(np.random.default_rng(0).standard_normal((400, 500)))
    assert F.alpha_dropout(x, 0.5) is x  # training=False by default, as in PyTorch
    m = nn.AlphaDropout(0.3).eval()
    assert m(x) is x
    y = m.train()(x).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01  # mean 0 and variance 1 kept
    sat = -1.7580993408473766
    a = 1 / np.sqrt((sat * sat * 0.3 + 1) * 0.7)
    dropped = np.isclose(y, -sat * a * (0.3 - 1))  # a dropped unit becomes b = alpha a (p - 1)
    assert abs(dropped.mean() - 0.3) < 0.01
    f = F.feature_alpha_dropout(gg.tensor(np.ones((50, 40, 6))), 0.5, training=True).numpy()
    assert np.all(f == f[:, :, :1])  # one draw per (sample, channel)
    assert len(np.unique(f)) == 2


def test_gumbel_softmax_replayed_noise():
    x = randn(4, 6)
    for hard in (False, True):
        gg.manual_seed(7)
        a = _g(x)
        out = F.gumbel_softmax(a, tau=0.5, hard=hard)
        gg.manual_seed(7)
        noise = -np.log(gg.creation.generator().exponential(size=(4, 6)))
        ta = _t(x)
        soft = TF.softmax((ta + torch.tensor(noise)) / 0.5, -1)
        if hard:
            idx = soft.argmax(-1, keepdim=True)
            ref = torch.zeros_like(soft).scatter_(-1, idx, 1.0) - soft.detach() + soft
        else:
            ref = soft
        _close(ref, out)
        assert out.grad_fn.name() == ref.grad_fn.name()
        w = randn(4, 6)
        (out * gg.tensor(w)).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
        _close(ta.grad, a.grad)


def test_channel_shuffle_functional():
    x = randn(2, 6, 3)
    _close(TF.channel_shuffle(torch.tensor(x), 2), F.channel_shuffle(gg.tensor(x), 2))
    _close(torch.channel_shuffle(torch.tensor(x), 3), gg.channel_shuffle(gg.tensor(x), 3))
    with pytest.raises(RuntimeError, match=r"channel_shuffle.*6.*4"):
        F.channel_shuffle(gg.tensor(x), 4)


# ---- containers ---------------------------------------------------------------------------------


def test_parameter_list_matches_torch():
    data = [randn(2, 3), randn(4)]
    t = tnn.ParameterList([tnn.Parameter(torch.tensor(data[0])), torch.tensor(data[1])])
    g = nn.ParameterList([nn.Parameter(gg.tensor(data[0])), gg.tensor(data[1])])
    t.append(torch.ones(1, dtype=torch.float32))
    g.append(gg.ones(1))
    t.extend([torch.zeros(2, 2, dtype=torch.float64)])
    g += [gg.zeros(2, 2, dtype=gg.float64)]
    t.append("note")
    g.append("note")
    assert len(g) == len(t) == 5 and isinstance(g[1], nn.Parameter) and g[-1] == "note"
    assert repr(g) == repr(t)
    assert list(g.state_dict()) == list(t.state_dict()) == ["0", "1", "2", "3"]
    assert [tuple(p.shape) for p in g.parameters()] == [tuple(p.shape) for p in t.parameters()]
    assert [type(x).__name__ for x in g[1:3]] == ["Parameter", "Parameter"]
    assert isinstance(g[1:3], nn.ParameterList)
    g[0] = gg.ones(7)
    assert isinstance(g[0], nn.Parameter) and g[0].shape == (7,)
    with pytest.raises(IndexError, match=r"ParameterList.*index 9.*length 5"):
        g[9]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterList([nn.Parameter(gg.ones(2)) for _ in range(3)])

    assert list(Net().state_dict()) == ["ws.0", "ws.1", "ws.2"]
    assert len(list(Net().parameters())) == 3


def test_parameter_dict_matches_torch():
    t = tnn.ParameterDict({"b": tnn.Parameter(torch.ones(2)), "a": torch.zeros(3)})
    g = nn.ParameterDict({"b": nn.Parameter(gg.ones(2)), "a": gg.zeros(3)})
    assert list(g.keys()) == list(t.keys()) == ["a", "b"]  # a plain dict: sorted, as torch
    assert list(g.state_dict()) == list(t.state_dict())
    t.update([("c", torch.ones(1, 2))])
    g.update([("c", gg.ones(1, 2))])
    t["d"] = tnn.Parameter(torch.ones(1))
    g["d"] = nn.Parameter(gg.ones(1))
    assert repr(g) == repr(t)
    assert list(g.state_dict()) == list(t.state_dict()) == ["a", "b", "c", "d"]
    assert isinstance(g["a"], nn.Parameter) and "c" in g and "z" not in g
    assert g.pop("c").shape == (1, 2) and list(g) == ["a", "b", "d"]
    assert g.get("zz") is None and g.setdefault("e", gg.ones(3)).shape == (3,)
    assert list((g | nn.ParameterDict({"f": gg.ones(1)})).keys()) == ["a", "b", "d", "e", "f"]
    k, _ = g.popitem()
    assert k == "e" and len(g) == 3
    del g["a"]
    assert list(g.state_dict()) == ["b", "d"]
    with pytest.raises(TypeError, match="ParameterDict: keys must be strings"):
        g[1] = gg.ones(1)


def test_buffer_registration():
    def build(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.x = lib.nn.Buffer(lib.ones(2))
                self.y = lib.nn.Buffer(lib.zeros(3), persistent=False)

        return M()

    g, t = build(gg), build(torch)
    assert list(g.state_dict()) == list(t.state_dict()) == ["x"]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()] == ["x", "y"]
    assert type(g.x) is gg.Tensor and not g.x.requires_grad
    src = gg.ones(2)
    m = nn.Module()
    m.b = nn.Buffer(src)
    src.add_(1)  # shares the memory, as torch's Buffer does
    assert m.b.tolist() == [2.0, 2.0]
    assert g.double().x.dtype == gg.float64


# ---- losses -------------------------------------------------------------------------------------


def _loss_pair(name, args, kw, inputs, consts):
    """Build the loss in both libraries, run it on ``inputs`` (differentiable) and ``consts``."""
    t_args = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    g_args = [gg.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    t_mod, g_mod = getattr(tnn, name)(*t_args, **kw), getattr(nn, name)(*g_args, **kw)
    assert repr(g_mod) == repr(t_mod)
    assert list(g_mod.state_dict()) == list(t_mod.state_dict())
    t_in, g_in = [_t(x) for x in inputs], [_g(x) for x in inputs]
    t_c = [torch.tensor(c) for c in consts]
    g_c = [gg.tensor(c) for c in consts]
    t_out, g_out = t_mod(*t_in, *t_c), g_mod(*g_in, *g_c)
    _close(t_out, g_out, msg=name)
    w = randn(*t_out.shape) if t_out.ndim else np.array(1.3)
    (t_out * torch.tensor(w)).sum().backward()
    (g_out * gg.tensor(w)).sum().backward()
    for i, (a, b) in enumerate(zip(t_in, g_in)):
        _close(a.grad, b.grad, msg=f"{name} grad of input {i}")
    assert g_out.grad_fn.name() == t_out.grad_fn.name()


def _signs(*shape):
    return np.where(randn(*shape) > 0, 1.0, -1.0)


REDUCTION_KW = [{}, {"reduction": "sum"}, {"reduction": "none"}]


@pytest.mark.parametrize("kw", REDUCTION_KW + [{"size_average": False}, {"reduce": False}])
def test_margin_and_embedding_losses(kw):
    x, y = randn(5), randn(6)[:5]
    _loss_pair("MarginRankingLoss", (0.2,), kw, [x, y], [_signs(5)])
    _loss_pair("HingeEmbeddingLoss", (), kw, [np.abs(randn(3, 4))], [_signs(3, 4)])
    _loss_pair("SoftMarginLoss", (), kw, [randn(3, 4)], [_signs(3, 4)])
    _loss_pair("CosineEmbeddingLoss", (0.1,), kw, [randn(4, 3), randn(3, 4).T], [_signs(4)])
    _loss_pair(
        "TripletMarginLoss", (), kw, [randn(4, 3), randn(3, 4).T, randn(2, 6).reshape(4, 3)], []
    )
    _loss_pair("PoissonNLLLoss", (), kw, [randn(3, 4)], [np.floor(np.abs(randn(3, 4)) * 3)])
    _loss_pair("MultiLabelSoftMarginLoss", (), kw, [randn(3, 4)], [(randn(4, 3).T > 0) * 1.0])
    t = np.array([0, 3, 1])
    _loss_pair("MultiMarginLoss", (), kw, [randn(3, 4)], [t])
    lab = np.array([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 0, 0, 0]])
    _loss_pair("MultiLabelMarginLoss", (), kw, [randn(3, 4)], [lab])


@pytest.mark.parametrize("kw", REDUCTION_KW)
def test_losses_with_options(kw):
    w = np.array([0.5, 1.0, 2.0, 1.5])
    _loss_pair(
        "TripletMarginLoss",
        (0.5, 1.0, 1e-6, True),
        kw,
        [randn(4, 3), randn(3, 4).T, randn(2, 6).reshape(4, 3)],
        [],
    )
    _loss_pair(
        "PoissonNLLLoss",
        (False, True),
        kw,
        [np.abs(randn(3, 4)) + 0.1],
        [np.floor(np.abs(randn(3, 4)) * 3)],
    )
    _loss_pair(
        "GaussianNLLLoss",
        (),
        {"full": True, **kw},
        [randn(3, 4), randn(4, 3).T],
        [np.abs(randn(2, 6).reshape(3, 4))],
    )
    _loss_pair("GaussianNLLLoss", (), kw, [randn(3, 4), randn(4, 3).T, np.abs(randn(3)) + 0.1], [])
    t = np.array([0, 3, 1])
    _loss_pair("MultiMarginLoss", (2, 0.6, w), kw, [randn(3, 4)], [t])
    # a weight buffer appears in the state dict as in torch
    assert list(nn.MultiMarginLoss(weight=gg.tensor(w)).state_dict()) == ["weight"]
    _loss_pair("MultiLabelSoftMarginLoss", (w,), kw, [randn(3, 4)], [(randn(4, 3).T > 0) * 1.0])


def test_triplet_margin_with_distance_loss():
    a, p, n = randn(4, 3), randn(3, 4).T, randn(2, 6).reshape(4, 3)
    for lib_kw in [{}, {"swap": True, "margin": 0.5}]:
        t_mod = tnn.TripletMarginWithDistanceLoss(**lib_kw)
        g_mod = nn.TripletMarginWithDistanceLoss(**lib_kw)
        assert repr(t_mod) == repr(g_mod)
        ta, tp, tn = _t(a), _t(p), _t(n)
        ga, gp, gn = _g(a), _g(p), _g(n)
        t_out, g_out = t_mod(ta, tp, tn), g_mod(ga, gp, gn)
        _close(t_out, g_out)
        t_out.backward()
        g_out.backward()
        for x, y in [(ta, ga), (tp, gp), (tn, gn)]:
            _close(x.grad, y.grad)
    g_mod = nn.TripletMarginWithDistanceLoss(distance_function=lambda x, y: (x - y).abs().sum(-1))
    t_mod = tnn.TripletMarginWithDistanceLoss(distance_function=lambda x, y: (x - y).abs().sum(-1))
    _close(t_mod(_t(a), _t(p), _t(n)), g_mod(_g(a), _g(p), _g(n)))


def test_loss_errors_name_the_loss():
    with pytest.raises(ValueError, match="MultiMarginLoss: only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="gaussian_nll_loss: var is of incorrect size"):
        F.gaussian_nll_loss(gg.zeros(3, 4), gg.zeros(3, 4), gg.ones(2))
    with pytest.raises(RuntimeError, match=r"margin_ranking_loss.*input1: \(3,\)"):
        F.margin_ranking_loss(gg.zeros(3), gg.zeros(3, 1), gg.ones(3))
    with pytest.raises(ValueError, match="hinge_embedding_loss: bad is not a valid value"):
        F.hinge_embedding_loss(gg.zeros(3), gg.ones(3), reduction="bad")


def test_torch_namespace_losses_take_reduction_codes():
    x, y, t = randn(4), randn(5)[:4], _signs(4)
    _close(
        torch.margin_ranking_loss(torch.tensor(x), torch.tensor(y), torch.tensor(t), 0.1, 2),
        gg.margin_ranking_loss(gg.tensor(x), gg.tensor(y), gg.tensor(t), 0.1, 2),
    )
    _close(
        torch.poisson_nll_loss(torch.tensor(x), torch.tensor(np.abs(y)), True, False, 1e-8, 0),
        gg.poisson_nll_loss(gg.tensor(x), gg.tensor(np.abs(y)), True, False, 1e-8, 0),
    )


# ---- pooling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,args,kw,shape",
    [
        ("MaxPool3d", (2,), {}, (2, 3, 4, 5, 6)),
        ("MaxPool3d", (3, 2, 1), {"ceil_mode": True, "dilation": 1}, (3, 5, 4, 6)),
        ("AvgPool3d", (2,), {}, (2, 3, 4, 5, 6)),
        (
            "AvgPool3d",
            ((3, 2, 3), 2, 1),
            {"count_include_pad": False, "ceil_mode": True},
            (1, 2, 5, 4, 6),
        ),
        ("AvgPool3d", (2,), {"divisor_override": 3}, (2, 4, 4, 4)),
        ("AdaptiveAvgPool3d", ((2, 3, None),), {}, (2, 3, 5, 4, 6)),
        ("AdaptiveAvgPool3d", (1,), {}, (2, 3, 5, 4, 6)),
        ("LPPool1d", (2, 3), {}, (2, 3, 7)),
        ("LPPool2d", (1.5, (2, 3), 2), {"ceil_mode": True}, (2, 3, 5, 7)),
        ("LPPool3d", (3, 2), {}, (1, 2, 4, 4, 5)),
    ],
)
def test_pooling_layers_match_torch(name, args, kw, shape):
    x = randn(*shape)
    if name.startswith("LP"):
        x = np.abs(x) + 0.1  # (x**p of negative inputs has no real root for fractional p)
    _check(name, *args, **kw, inputs=[x])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_max_unpool_layers_match_torch(d):
    shape = (2, 3, *(4, 6, 8)[:d])
    x = randn(*shape)
    t_pool, g_pool = (
        getattr(tnn, f"MaxPool{d}d")(2, return_indices=True),
        getattr(nn, f"MaxPool{d}d")(2, return_indices=True),
    )
    t_un, g_un = getattr(tnn, f"MaxUnpool{d}d")(2), getattr(nn, f"MaxUnpool{d}d")(2)
    assert repr(g_un) == repr(t_un)
    assert repr(getattr(nn, f"MaxUnpool{d}d")(3, 2, 1)) == repr(
        getattr(tnn, f"MaxUnpool{d}d")(3, 2, 1)
    )
    tx, gx = _t(x), _g(x)
    to, ti = t_pool(tx)
    go, gi = g_pool(gx)
    np.testing.assert_array_equal(gi.numpy(), ti.numpy())
    size = [s + 1 for s in shape[-d:]]
    t_out, g_out = t_un(to, ti, output_size=size), g_un(go, gi, output_size=size)
    _close(t_out, g_out)
    assert g_out.grad_fn.name() == t_out.grad_fn.name() or d == 1
    w = randn(*t_out.shape)
    (t_out * torch.tensor(w)).sum().backward()
    (g_out * gg.tensor(w)).sum().backward()
    _close(tx.grad, gx.grad)
    with pytest.raises(ValueError, match=f"max_unpool{d}d: invalid output_size"):
        g_un(go, gi, output_size=[s + 5 for s in shape[-d:]])


def test_with_indices_functionals():
    x = randn(2, 3, 6, 5)
    for f in ("max_pool2d_with_indices", "adaptive_max_pool2d_with_indices"):
        o, i = getattr(F, f)(gg.tensor(x), 2 if f.startswith("max") else (3, 2))
        to, ti = getattr(TF, f)(torch.tensor(x), 2 if f.startswith("max") else (3, 2))
        _close(to, o)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
    o, i = gg.max_pool1d_with_indices(gg.tensor(x[0, 0]), 2)
    to, ti = torch.max_pool1d_with_indices(torch.tensor(x[0, 0]), 2)
    _close(to, o)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())


def test_pdist_matches_torch():
    x = randn(6, 4)
    for p in (0.0, 1.0, 2.0, 3.0, float("inf")):
        a, ta = _g(x), _t(x)
        out, ref = F.pdist(a, p), TF.pdist(ta, p)
        _close(ref, out)
        ref.pow(2).sum().backward()
        out.pow(2).sum().backward()
        _close(ta.grad, a.grad)
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors, got: 3D"):
        F.pdist(gg.zeros(2, 3, 4))


# ---- SyncBatchNorm ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 5)])
def test_sync_batch_norm_matches_torch_on_one_process(shape):
    # torch's SyncBatchNorm refuses to run in training without a process group; in eval it is
    # BatchNorm with the running statistics, and in training BatchNorm over the local batch
    _check("SyncBatchNorm", 3, inputs=[randn(*shape)], train=False)
    g = nn.SyncBatchNorm(3).double()
    t = tnn.BatchNorm1d(3).double() if len(shape) < 4 else tnn.BatchNorm2d(3).double()
    g.load_state_dict(t.state_dict())
    x = randn(*shape)
    _close(t(torch.tensor(x)), g(gg.tensor(x)))
    _close(t.running_var, g.running_var)


def test_convert_sync_batchnorm():
    seq = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3), nn.Sequential(nn.BatchNorm1d(4)))
    seq[1].running_mean.add_(1.5)
    keys = list(seq.state_dict())
    out = nn.SyncBatchNorm.convert_sync_batchnorm(seq)
    assert out is seq and type(seq[1]) is nn.SyncBatchNorm and type(seq[2][0]) is nn.SyncBatchNorm
    assert list(out.state_dict()) == keys and seq[1].running_mean.tolist() == [1.5] * 3
    t = tnn.SyncBatchNorm.convert_sync_batchnorm(
        tnn.Sequential(tnn.Conv2d(2, 3, 1), tnn.BatchNorm2d(3), tnn.Sequential(tnn.BatchNorm1d(4)))
    )
    assert repr(out) == repr(t)
    bn = nn.BatchNorm1d(4)
    assert type(nn.SyncBatchNorm.convert_sync_batchnorm(bn)) is nn.SyncBatchNorm
