"""Module, Parameter, containers and nn.utils against PyTorch: registration, traversal order,
state dicts (and their one-error-lists-all message), printing, modes, dtypes, hooks, clipping."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as tnn

import glassgrad as gg
from glassgrad import nn
from glassgrad.nn import utils


def make_net(lib):
    """The same small model written against either library."""

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.Sequential(
                lib.Conv2d(1, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2)
            )
            self.blocks = lib.ModuleList([lib.Linear(16, 16) for _ in range(3)])
            self.heads = lib.ModuleDict({"cls": lib.Linear(16, 10), "aux": lib.Linear(16, 2)})
            self.drop = lib.Dropout(0.1)
            self.register_buffer("scale", torch.ones(1) if lib is tnn else gg.ones(1))
            self.register_buffer(
                "cache", torch.zeros(2) if lib is tnn else gg.zeros(2), persistent=False
            )

        def forward(self, x):
            h = self.features(x).flatten(1)
            for b in self.blocks:
                h = b(h).relu()
            return self.heads["cls"](self.drop(h)) * self.scale

    return Net()


# ---- Parameter -----------------------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_sharing_memory():
    t = gg.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, gg.Tensor) and p.is_leaf and p.requires_grad
    assert p._data is t._data  # shares memory, as torch.nn.Parameter does
    assert type(p * 2) is gg.Tensor and type(p.detach()) is gg.Tensor
    assert repr(p) == repr(tnn.Parameter(torch.tensor([1.0, 2.0])))
    assert not nn.Parameter(gg.ones(2), requires_grad=False).requires_grad
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad._data, [2.0, 4.0])


# ---- registration and traversal ------------------------------------------------------------------
def test_names_and_order_match_torch():
    g, t = make_net(nn), make_net(tnn)
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in g.named_children()] == [n for n, _ in t.named_children()]
    assert list(g.state_dict()) == list(t.state_dict())
    assert "cache" not in g.state_dict() and "features.1.num_batches_tracked" in g.state_dict()
    assert sum(p.numel() for p in g.parameters()) == sum(p.numel() for p in t.parameters())
    assert utils.count_parameters(g) == sum(p.numel() for p in t.parameters())
    assert len(list(g.parameters(recurse=False))) == 0


def test_shared_modules_and_parameters_are_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]


def test_assignment_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        m.weight = gg.ones(2, 2)
    m.bias = None
    assert m.bias is None and "bias" not in m.state_dict()
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        _ = m.nope

    class Early(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Early()
    del m.weight
    assert "weight" not in dict(m.named_parameters())


# ---- state dicts ---------------------------------------------------------------------------------
def test_state_dict_round_trip_and_torch_weights():
    torch.manual_seed(0)
    t = make_net(tnn).double().eval()
    g = make_net(nn).double().eval()
    assert repr(g.load_state_dict(t.state_dict())) == "<All keys matched successfully>"
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    np.testing.assert_allclose(g(gg.tensor(x))._data, t(torch.from_numpy(x)).detach().numpy())
    g2 = make_net(nn).double().eval()
    g2.load_state_dict(g.state_dict())
    np.testing.assert_array_equal(g2(gg.tensor(x))._data, g(gg.tensor(x))._data)
    sd = g.state_dict()
    assert not sd["blocks.0.weight"].requires_grad
    assert sd["blocks.0.weight"]._data is g.blocks[0].weight._data  # detached, shared memory
    assert g.state_dict(keep_vars=True)["blocks.0.weight"] is g.blocks[0].weight
    w = g.blocks[0].weight
    g.load_state_dict(t.state_dict())
    assert g.blocks[0].weight is w  # loaded in place


def test_load_state_dict_lists_every_problem_in_one_error():
    g = make_net(nn)
    sd = g.state_dict()
    sd.pop("heads.aux.bias")
    sd.pop("features.0.weight")
    sd["extra.weight"] = gg.zeros(1)
    sd["blocks.1.weight"] = gg.zeros(16, 15)
    before = g.blocks[0].weight._data.copy()
    sd["blocks.0.weight"] = gg.zeros(16, 16)
    with pytest.raises(RuntimeError) as err:
        g.load_state_dict(sd)
    assert str(err.value) == (
        "Error(s) in loading state_dict for Net:\n"
        '\tMissing key(s) in state_dict: "features.0.weight", "heads.aux.bias". \n'
        '\tUnexpected key(s) in state_dict: "extra.weight". \n'
        "\tsize mismatch for blocks.1.weight: copying a param with shape (16, 15) from "
        "checkpoint, the shape in current model is (16, 16)."
    )
    np.testing.assert_array_equal(g.blocks[0].weight._data, before)  # nothing half-loaded
    # torch lists the same problems, in the same order
    t = make_net(tnn)
    tsd = {k: torch.from_numpy(np.array(v._data)) for k, v in sd.items()}
    with pytest.raises(RuntimeError) as terr:
        t.load_state_dict(tsd)
    ours = [line.split(":")[0] for line in str(err.value).split("\n")]
    theirs = [line.split(":")[0] for line in str(terr.value).split("\n")]
    assert ours == theirs


def test_load_state_dict_non_strict():
    g = nn.Linear(3, 2)
    res = g.load_state_dict({"weight": gg.ones(2, 3), "other": gg.ones(1)}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["other"]
    assert res == (["bias"], ["other"])
    np.testing.assert_array_equal(g.weight._data, 1.0)
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        g.load_state_dict({"weight": gg.ones(3, 3)}, strict=False)


def test_load_casts_to_the_models_dtype():
    g = nn.Linear(3, 2)  # float32
    t = tnn.Linear(3, 2).double()
    g.load_state_dict(t.state_dict())
    assert g.weight.dtype == np.float32
    np.testing.assert_allclose(g.weight._data, t.weight.detach().numpy(), rtol=1e-6)


# ---- printing ------------------------------------------------------------------------------------
def test_repr_matches_torch():
    assert repr(make_net(nn)) == repr(make_net(tnn))
    for lib_models in [
        lambda L: L.Sequential(L.Linear(64, 128), L.ReLU()),
        lambda L: L.Sequential(
            OrderedDict([("emb", L.Embedding(10, 4)), ("norm", L.LayerNorm(4))])
        ),
        lambda L: L.ModuleList([L.Linear(2, 2), L.Linear(2, 2), L.Tanh(), L.Linear(2, 2)]),
        lambda L: L.ModuleList(),
        lambda L: L.Sequential(),
        lambda L: L.Sequential(L.Sequential(L.Conv1d(2, 3, 3, bias=False), L.GELU()), L.SiLU()),
    ]:
        assert repr(lib_models(nn)) == repr(lib_models(tnn))


def test_extra_repr_in_a_custom_module():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.factor = 2.0

        def extra_repr(self):
            return f"factor={self.factor}"

    assert repr(Scale()) == "Scale(factor=2.0)"


# ---- modes, gradients, dtypes, apply -------------------------------------------------------------
def test_train_eval_propagates():
    g = make_net(nn)
    assert g.training and all(m.training for m in g.modules())
    assert g.eval() is g
    assert not any(m.training for m in g.modules())
    g.train()
    assert all(m.training for m in g.modules())


def test_zero_grad():
    g = nn.Linear(3, 2)
    g(gg.ones(1, 3)).sum().backward()
    g.zero_grad(set_to_none=False)
    assert g.weight.grad is not None and not g.weight.grad._data.any()
    g.zero_grad()
    assert g.weight.grad is None and g.bias.grad is None


def test_to_dtype_keeps_parameter_objects():
    g = make_net(nn)
    w = g.blocks[0].weight
    assert g.to(gg.float64) is g and g.blocks[0].weight is w
    assert all(p.dtype == np.float64 for p in g.parameters())
    assert g.features[1].running_mean.dtype == np.float64
    assert g.features[1].num_batches_tracked.dtype == np.int64  # integer buffers are kept
    g.float()
    assert w.dtype == np.float32
    g.double()
    assert w.dtype == np.float64
    assert g.to("cpu") is g and g.to("cpu", dtype=gg.float32) is g and w.dtype == np.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        g.to("cuda")
    with pytest.raises(TypeError, match="floating point dtypes"):
        g.to(gg.int64)


def test_apply_visits_children_first_as_torch():
    seen_g, seen_t = [], []
    make_net(nn).apply(lambda m: seen_g.append(type(m).__name__))
    make_net(tnn).apply(lambda m: seen_t.append(type(m).__name__))
    assert seen_g == seen_t


def test_apply_for_custom_init():
    seq = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))

    def init_fn(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    seq.apply(init_fn)
    assert not any(p._data.any() for n, p in seq.named_parameters() if n.endswith("weight"))


def test_deepcopy_is_independent():
    g = make_net(nn)
    h = copy.deepcopy(g)
    h.blocks[0].weight._data += 1
    assert not np.allclose(h.blocks[0].weight._data, g.blocks[0].weight._data)
    assert isinstance(h.blocks[0].weight, nn.Parameter)
    assert list(h.state_dict()) == list(g.state_dict())


# ---- hooks ---------------------------------------------------------------------------------------
def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    handle = lin.register_forward_hook(lambda m, args, out: calls.append((m, args, out)))
    x = gg.ones(1, 2)
    y = lin(x)
    assert calls[0][0] is lin and calls[0][1][0] is x and calls[0][2] is y
    replace = lin.register_forward_hook(lambda m, args, out: out * 0)
    assert not lin(x)._data.any()
    replace.remove()
    handle.remove()
    lin(x)
    assert len(calls) == 2
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    np.testing.assert_allclose(lin(x)._data, lin.bias._data[None])
    pre.remove()


# ---- containers ----------------------------------------------------------------------------------
def test_sequential_container_ops_match_torch():
    def build(L):
        return L.Sequential(L.Linear(2, 3), L.ReLU(), L.Linear(3, 4), L.Tanh())

    g, t = build(nn), build(tnn)
    assert len(g) == 4 and isinstance(g[0], nn.Linear) and isinstance(g[-1], nn.Tanh)
    assert repr(g[1:3]) == repr(t[1:3]) and isinstance(g[1:3], nn.Sequential)
    assert [type(m).__name__ for m in g] == [type(m).__name__ for m in t]
    del g[1]
    del t[1]
    assert list(g.state_dict()) == list(t.state_dict())
    g.append(nn.Sigmoid())
    t.append(tnn.Sigmoid())
    assert repr(g) == repr(t)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    with pytest.raises(IndexError, match="index 5 is out of range"):
        named[5]
    x = gg.randn(3, 2)
    np.testing.assert_allclose(named(x)._data, named.act(named.fc(x))._data)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh(), nn.Sigmoid()])
    ml.insert(1, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Linear", "Identity", "ReLU", "Tanh", "Sigmoid"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    assert ml[-1] is ml[4]
    md = nn.ModuleDict({"a": nn.Linear(1, 2)})
    md["b"] = nn.Linear(2, 3)
    assert list(md) == ["a", "b"] and "a" in md and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert md.pop("a") is not None and list(md.keys()) == ["b"]
    with pytest.raises(TypeError, match="should be called with an iterable"):
        ml.extend(nn.ReLU())


# ---- nn.utils ------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(3, 4), (4,), (2, 2, 2)]]
    t_params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    g_params = [nn.Parameter(gg.zeros(*g.shape, dtype=gg.float64)) for g in grads]
    for tp, gp, g in zip(t_params, g_params, grads):
        tp.grad = torch.from_numpy(g.copy())
        gp.grad = gg.tensor(g)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type)
    g_total = utils.clip_grad_norm_(g_params, max_norm, norm_type)
    assert isinstance(g_total, gg.Tensor) and g_total.shape == ()
    np.testing.assert_allclose(g_total.item(), t_total.item(), rtol=1e-12)
    for tp, gp in zip(t_params, g_params):
        np.testing.assert_allclose(gp.grad._data, tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_without_underscore_warns_and_clips_as_torch():
    """The deprecated name old tutorials call (``nn.utils.clip_grad_norm(params, 5)``)."""
    g = np.array([3.0, 4.0])
    t, p = torch.zeros(2, dtype=torch.float64, requires_grad=True), nn.Parameter(gg.zeros(2))
    t.grad, p.grad = torch.tensor(g), gg.tensor(g, dtype=gg.float32)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        t_total = torch.nn.utils.clip_grad_norm([t], 1.0)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        g_total = utils.clip_grad_norm([p], 1.0)
    assert g_total.item() == t_total.item() == 5.0
    np.testing.assert_allclose(p.grad._data, t.grad.numpy(), rtol=1e-6)


def _same_weights(ours, theirs):
    with torch.no_grad():
        for name, value in ours.state_dict().items():
            theirs.state_dict()[name].copy_(torch.from_numpy(value._data.copy()))


@pytest.mark.parametrize(
    ("conv", "bn", "transpose"),
    [
        (("Conv2d", (3, 4, 3), {"padding": 1}), ("BatchNorm2d", (4,), {}), False),
        (("Conv1d", (3, 4, 2), {"bias": False}), ("BatchNorm1d", (4,), {"affine": False}), False),
        (("ConvTranspose2d", (3, 4, 2), {"stride": 2}), ("BatchNorm2d", (4,), {}), True),
    ],
)
def test_fuse_conv_bn_eval_folds_the_batchnorm_as_torch(conv, bn, transpose):
    """The inference-time fold of a trained CNN's Conv + BatchNorm pairs."""
    gg.manual_seed(0)
    layers = []
    for lib in (nn, torch.nn):
        c, b = (getattr(lib, kind)(*args, **kw) for kind, args, kw in (conv, bn))
        layers.append((c, b))
    (gc, gb), (tc, tb) = layers
    with gg.no_grad():  # trained-looking statistics and affine parameters
        gb.running_mean.uniform_(-1.0, 1.0)
        gb.running_var.uniform_(0.5, 2.0)
        if gb.affine:
            gb.weight.uniform_(0.5, 1.5)
            gb.bias.uniform_(-1.0, 1.0)
    _same_weights(gc, tc)
    _same_weights(gb, tb)
    for m in (gc, gb, tc, tb):
        m.eval()
    ours = utils.fuse_conv_bn_eval(gc, gb, transpose=transpose)
    theirs = torch.nn.utils.fuse_conv_bn_eval(tc, tb, transpose=transpose)
    assert type(ours) is type(gc) and ours is not gc and gc.bias is not ours.bias
    x = np.random.default_rng(0).standard_normal((2, 3) + (5,) * (gc.weight.ndim - 2))
    x = x.astype(np.float32)
    np.testing.assert_allclose(ours.weight._data, theirs.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.bias._data, theirs.bias.detach().numpy(), rtol=1e-6)
    y = ours(gg.tensor(x))
    np.testing.assert_allclose(y._data, gb(gc(gg.tensor(x)))._data, rtol=1e-4, atol=1e-5)
    assert isinstance(ours.weight, nn.Parameter) and ours.weight.requires_grad
    assert ours.bias.requires_grad == theirs.bias.requires_grad


def test_fuse_linear_bn_eval_as_torch_and_refuses_training_mode():
    gg.manual_seed(0)
    lin, bn = nn.Linear(3, 4), nn.BatchNorm1d(4)
    with gg.no_grad():
        bn.running_mean.uniform_(-1.0, 1.0)
        bn.running_var.uniform_(0.5, 2.0)
    tlin, tbn = torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)
    _same_weights(lin, tlin)
    _same_weights(bn, tbn)
    for m in (lin, bn, tlin, tbn):
        m.eval()
    ours, theirs = utils.fuse_linear_bn_eval(lin, bn), torch.nn.utils.fuse_linear_bn_eval(tlin, tbn)
    np.testing.assert_allclose(ours.weight._data, theirs.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.bias._data, theirs.bias.detach().numpy(), rtol=1e-6)
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        utils.fuse_linear_bn_eval(lin, bn.train())
    with pytest.raises(AssertionError, match=r"linear\.out_features == bn\.num_features"):
        utils.fuse_linear_bn_eval(lin, nn.BatchNorm1d(3).eval())
    with pytest.raises(AssertionError, match="running_mean"):
        utils.fuse_conv_bn_eval(
            nn.Conv2d(1, 2, 1).eval(), nn.BatchNorm2d(2, track_running_stats=False).eval()
        )


def test_skip_init_builds_the_module_with_uninitialised_parameters_as_torch():
    lin = utils.skip_init(nn.Linear, 3, 4, bias=False)
    assert isinstance(lin, nn.Linear) and lin.weight.shape == (4, 3) and lin.bias is None
    assert torch.nn.utils.skip_init(torch.nn.Linear, 3, 4).weight.shape == (4, 3)
    with pytest.raises(RuntimeError, match="Expected a Module"):
        utils.skip_init(int, 3)
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg"):
        utils.skip_init(nn.ReLU)
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg"):
        torch.nn.utils.skip_init(torch.nn.ReLU)


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(gg.ones(2))
    assert utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no gradients at all
    p.grad = gg.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_and_vectors():
    a, b = nn.Parameter(gg.zeros(2, 2)), nn.Parameter(gg.zeros(3))
    a.grad = gg.tensor([[-3.0, 0.5], [2.0, -0.1]])
    b.grad = gg.tensor([1.0, -1.5, 0.0])
    utils.clip_grad_value_([a, b], 1.0)
    np.testing.assert_allclose(a.grad._data, [[-1.0, 0.5], [1.0, -0.1]])
    np.testing.assert_allclose(b.grad._data, [1.0, -1.0, 0.0])
    vec = utils.parameters_to_vector([a, b])
    assert vec.shape == (7,)
    utils.vector_to_parameters(gg.arange(7.0), [a, b])
    np.testing.assert_allclose(a._data, [[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(b._data, [4.0, 5.0, 6.0])
    np.testing.assert_allclose(utils.parameters_to_vector([a, b]).data, np.arange(7.0))
    with pytest.raises(ValueError, match="vec has 5 elements but the parameters hold 7"):
        utils.vector_to_parameters(gg.zeros(5), [a, b])


# ---- end to end ----------------------------------------------------------------------------------
def test_manual_sgd_training_follows_torch():
    """Same weights, same data, five plain SGD steps through a Sequential: same trajectory."""

    def build(L):
        return L.Sequential(
            L.Linear(4, 16), L.BatchNorm1d(16), L.GELU(), L.Linear(16, 3), L.LogSoftmax(dim=1)
        )

    t, g = build(tnn).double(), build(nn).double()
    g.load_state_dict(t.state_dict())
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 4)), rng.integers(0, 3, 32)
    t_loss_fn, g_loss_fn = tnn.NLLLoss(), nn.NLLLoss()
    for _ in range(5):
        t.zero_grad()
        g.zero_grad()
        t_loss = t_loss_fn(t(torch.from_numpy(x)), torch.from_numpy(y))
        g_loss = g_loss_fn(g(gg.tensor(x)), gg.tensor(y))
        np.testing.assert_allclose(g_loss.item(), t_loss.item(), rtol=1e-12)
        t_loss.backward()
        g_loss.backward()
        with torch.no_grad(), gg.no_grad():
            for tp, gp in zip(t.parameters(), g.parameters()):
                tp -= 0.1 * tp.grad
                gp.sub_(0.1 * gp.grad)
    for (n, a), b in zip(t.state_dict().items(), g.state_dict().values()):
        np.testing.assert_allclose(b._data, a.numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


def test_a_replaced_child_or_parameter_keeps_its_place_like_torch() -> None:
    """``m.conv1 = nn.Conv2d(...)`` on a built model keeps conv1 first in ``children()`` and
    ``named_parameters()`` (the siamese example then drops the last child, ``fc``)."""
    import torch

    names = {}
    for lib in (torch, gg):
        m = lib.nn.Module()
        m.a, m.b = lib.nn.Linear(1, 1), lib.nn.ReLU()
        m.w, m.v = lib.nn.Parameter(lib.zeros(1)), lib.nn.Parameter(lib.zeros(2))
        m.a, m.w = lib.nn.Linear(2, 2), lib.nn.Parameter(lib.ones(3))
        names[lib] = [n for n, _ in m.named_children()], [n for n, _ in m.named_parameters()]
    assert names[gg] == names[torch] == (["a", "b"], ["w", "v", "a.weight", "a.bias"])


def test_forward_hooks_are_kept_by_handle_id_as_pytorch_keeps_them():
    import torch

    def hooks(lib):
        layer = lib.nn.Linear(2, 2)
        calls = []
        first = layer.register_forward_pre_hook(lambda m, a: calls.append("first"))
        layer.register_forward_pre_hook(lambda m, a: calls.append("prepended"), prepend=True)
        post = layer.register_forward_hook(lambda m, a, o: calls.append("post"))
        layer(lib.ones(1, 2))
        shape = (type(layer._forward_pre_hooks).__name__, len(layer._forward_pre_hooks))
        keyed = first.id in layer._forward_pre_hooks and post.id in layer._forward_hooks
        first.remove()
        layer(lib.ones(1, 2))
        return calls, shape, keyed, len(layer._forward_pre_hooks)

    assert hooks(gg) == hooks(torch)
