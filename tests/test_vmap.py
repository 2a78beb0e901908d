"""glassgrad.func.vmap and functional_call against torch.func: same numbers, same errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.func as tf

import glassgrad as gg
from glassgrad import func as gf

TOL = {"rtol": 1e-10, "atol": 1e-12}


def arr(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def both(*arrays, requires_grad=False):
    ours = [gg.tensor(a, dtype=gg.float64, requires_grad=requires_grad) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad) for a in arrays]
    return ours, theirs


def same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same(a, b)
        return
    if isinstance(theirs, dict):
        assert ours.keys() == theirs.keys()
        for k in theirs:
            same(ours[k], theirs[k])
        return
    assert tuple(ours.shape) == tuple(theirs.shape), (ours.shape, theirs.shape)
    np.testing.assert_allclose(ours._data, theirs.detach().numpy(), **TOL)


def run_both(make, *arrays, **kw):
    (o, t) = both(*arrays)
    same(make(gf, gg)(*o, **kw), make(tf, torch)(*t, **kw))


# ---- vmap on its own -----------------------------------------------------------------------------


def test_batched_dot_and_matmul():
    run_both(lambda f, lib: f.vmap(lib.dot), arr(5, 3), arr(5, 3, seed=1))
    run_both(lambda f, lib: f.vmap(lib.matmul), arr(4, 2, 3), arr(4, 3, 5, seed=1))
    run_both(lambda f, lib: f.vmap(lib.mv, in_dims=(None, 0)), arr(2, 3), arr(6, 3, seed=1))


def test_in_dims_and_out_dims():
    run_both(lambda f, lib: f.vmap(lambda x, y: x * y, in_dims=(1, None)), arr(3, 4), arr(3))
    run_both(lambda f, lib: f.vmap(lambda x: x.sum(0), in_dims=-1), arr(2, 3, 4))
    run_both(lambda f, lib: f.vmap(lambda x: x * 2, out_dims=1), arr(4, 3))
    run_both(lambda f, lib: f.vmap(lambda x: x * 2, out_dims=-1), arr(4, 3, 2))
    run_both(
        lambda f, lib: f.vmap(lambda x, y: (x + y, x * y), in_dims=(0, 1), out_dims=(1, 0)),
        arr(3, 4),
        arr(4, 3, seed=1),
    )


def test_pytrees_in_and_out():
    def make(f, lib):
        def g(d, scale):
            return {"s": d["a"] * scale + d["b"].sum(), "t": [d["a"].exp()]}

        return f.vmap(g, in_dims=({"a": 0, "b": 1}, None))

    (a, b), (ta, tb) = both(arr(4, 2), arr(3, 4, seed=1))
    same(make(gf, gg)({"a": a, "b": b}, 2.0), make(tf, torch)({"a": ta, "b": tb}, 2.0))


def test_nested_vmap():
    run_both(
        lambda f, lib: f.vmap(f.vmap(lib.dot, in_dims=(0, None)), in_dims=(None, 0)),
        arr(3, 4),
        arr(5, 4, seed=1),
    )
    run_both(lambda f, lib: f.vmap(f.vmap(lambda x: x.sin() * x)), arr(2, 3, 4))


def test_out_dims_none_and_kwargs():
    def make(f, lib):
        return f.vmap(lambda x, c: (x * c.sum(), c), in_dims=(0, None), out_dims=(0, None))

    run_both(make, arr(4, 3), arr(2, seed=1))
    (x,), (tx,) = both(arr(4, 3))
    same(gf.vmap(lambda x, *, k: x * k)(x, k=3.0), tf.vmap(lambda x, *, k: x * k)(tx, k=3.0))


def test_randomness_modes():
    x = gg.zeros(4, 3)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        gf.vmap(lambda t: t + gg.randn(3))(x)
    same_rows = gf.vmap(lambda t: t + gg.randn(3), randomness="same")(x)
    assert np.allclose(same_rows._data, same_rows._data[0])
    diff_rows = gf.vmap(lambda t: t + gg.randn(3), randomness="different")(x)
    assert not np.allclose(diff_rows._data, diff_rows._data[0])
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        gf.vmap(lambda t: t, randomness="sometimes")


ERRORS = [
    ("mismatched sizes", lambda f: f.vmap(lambda a, b: a + b), [(3, 2), (4, 2)]),
    ("in_dim out of range", lambda f: f.vmap(lambda a: a, in_dims=2), [(3, 2)]),
    ("in_dims too long", lambda f: f.vmap(lambda a: a, in_dims=(0, 0)), [(3, 2)]),
    ("in_dims not a tuple", lambda f: f.vmap(lambda a: a, in_dims=[0]), [(3, 2)]),
    ("all None", lambda f: f.vmap(lambda a: a, in_dims=None), [(3, 2)]),
    ("no inputs", lambda f: f.vmap(lambda: 1), []),
    ("returns a float", lambda f: f.vmap(lambda a: 1.0), [(3, 2)]),
    ("bad in_dim type", lambda f: f.vmap(lambda a: a, in_dims=(0.5,)), [(3, 2)]),
    ("bad out_dims", lambda f: f.vmap(lambda a: (a, a), out_dims=(0, 0, 0)), [(3, 2)]),
]


@pytest.mark.parametrize(("what", "make", "shapes"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_as_torch(what, make, shapes):
    o, t = both(*[arr(*s) for s in shapes])
    with pytest.raises(Exception) as theirs:
        make(tf)(*t)
    with pytest.raises(type(theirs.value)) as ours:
        make(gf)(*o)
    # the same message up to the function's name, which torch takes from the lambda too
    assert str(ours.value).split(":")[-1].strip()[:30] == str(theirs.value).split(":")[-1].strip()[
        :30
    ] or str(ours.value).replace("glassgrad", "torch") == str(theirs.value), (ours, theirs)


def test_non_tensor_mapped_and_chunk_size():
    with pytest.raises(ValueError, match="We cannot vmap over non-Tensor arguments"):
        gf.vmap(lambda a, b: a)(gg.ones(2), 3.0)
    with pytest.raises(ValueError, match="chunk_size should be None or greater than 0"):
        gf.vmap(lambda a: a, chunk_size=0)
    out = gf.vmap(lambda a: a * 2, chunk_size=2)(gg.ones(5))
    assert out.tolist() == [2.0] * 5


# ---- composing with the autodiff transforms ------------------------------------------------------


def loss(x, w):
    return ((x @ w).tanh() ** 2).sum()


@pytest.mark.parametrize(
    "make",
    [
        lambda f: f.vmap(f.grad(loss), in_dims=(0, None)),
        lambda f: f.vmap(f.grad(loss, argnums=1), in_dims=(0, None)),
        lambda f: f.vmap(f.jacrev(lambda x, w: (x @ w).sin()), in_dims=(0, None)),
        lambda f: f.vmap(f.jacfwd(lambda x, w: (x @ w).sin()), in_dims=(0, None)),
        lambda f: f.jacrev(f.vmap(loss, in_dims=(0, None)), argnums=(0, 1)),
        lambda f: f.jacfwd(f.vmap(loss, in_dims=(0, None)), argnums=1),
        lambda f: f.grad(lambda x, w: f.vmap(loss, in_dims=(0, None))(x, w).sum(), argnums=1),
        lambda f: f.vmap(f.hessian(loss), in_dims=(0, None)),
    ],
)
def test_composes_with_transforms(make):
    (x, w), (tx, tw) = both(arr(4, 3), arr(3, 2, seed=1))
    same(make(gf)(x, w), make(tf)(tx, tw))


def test_vjp_of_vmap_and_vmap_of_vjp():
    (x, v), (tx, tv) = both(arr(4, 3), arr(4, 3, seed=1))
    out, fn = gf.vjp(gf.vmap(lambda r: r.sin() * r), x)
    tout, tfn = tf.vjp(tf.vmap(lambda r: r.sin() * r), tx)
    same(out, tout)
    same(fn(v), tfn(tv))

    def per_row(f):
        return lambda r, c: f.vjp(lambda z: z.exp() * z, r)[1](c)[0]

    same(gf.vmap(per_row(gf))(x, v), tf.vmap(per_row(tf))(tx, tv))


def test_vmap_result_is_differentiable_with_backward():
    (x,), (tx,) = both(arr(4, 3), requires_grad=True)
    gf.vmap(lambda r: (r**3).sum())(x).sum().backward()
    tf.vmap(lambda r: (r**3).sum())(tx).sum().backward()
    same(x.grad, tx.grad)


class MLP:
    @staticmethod
    def make(lib):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
        return net.double()


def copy_weights(src, dst):
    for (_, p), (_, q) in zip(src.named_parameters(), dst.named_parameters()):
        with torch.no_grad():
            q.copy_(torch.tensor(p._data))


def test_per_sample_gradients_of_an_mlp():
    net, tnet = MLP.make(gg), MLP.make(torch)
    copy_weights(net, tnet)
    (x, y), (tx, ty) = both(arr(6, 3), arr(6, 2, seed=1))

    def compute(f, lib, model):
        params = {k: v.detach() for k, v in model.named_parameters()}

        def sample_loss(p, xi, yi):
            pred = f.functional_call(model, p, (xi.unsqueeze(0),))
            return ((pred - yi.unsqueeze(0)) ** 2).mean()

        return f.vmap(f.grad(sample_loss), in_dims=(None, 0, 0))(
            params, *((x, y) if lib is gg else (tx, ty))
        )

    ours, theirs = compute(gf, gg, net), compute(tf, torch, tnet)
    same(ours, theirs)
    assert ours["0.weight"].shape == (6, 5, 3)


# ---- functional_call -----------------------------------------------------------------------------


def test_functional_call_outputs_and_gradients():
    net, tnet = MLP.make(gg), MLP.make(torch)
    copy_weights(net, tnet)
    names = [k for k, _ in tnet.named_parameters()]
    arrays = [arr(*p.shape, seed=i) for i, (_, p) in enumerate(tnet.named_parameters())]
    ps, tps = both(*arrays, requires_grad=True)
    (x,), (tx,) = both(arr(4, 3))
    out = gf.functional_call(net, dict(zip(names, ps)), (x,))
    tout = tf.functional_call(tnet, dict(zip(names, tps)), (tx,))
    same(out, tout)
    out.sum().backward()
    tout.sum().backward()
    same([p.grad for p in ps], [p.grad for p in tps])
    # the module's own parameters are back, untouched, with no gradient
    same(net(x), tnet(tx))
    assert all(p.grad is None for p in net.parameters())
    assert all(type(p) is gg.nn.Parameter for p in net.parameters())


def test_functional_call_partial_dicts_buffers_and_kwargs():
    bn, tbn = gg.nn.BatchNorm1d(3).double().eval(), torch.nn.BatchNorm1d(3).double().eval()
    (rm, x), (trm, tx) = both(arr(3), arr(4, 3, seed=1))
    same(
        gf.functional_call(bn, ({"running_mean": rm}, {}), x),
        tf.functional_call(tbn, ({"running_mean": trm}, {}), tx),
    )
    assert bn.running_mean.tolist() == [0.0, 0.0, 0.0]

    class Scale(gg.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = gg.nn.Parameter(gg.ones(2))

        def forward(self, x, *, k=1.0):
            return self.w * x * k

    out = gf.functional_call(Scale(), {"w": gg.tensor([2.0, 3.0])}, gg.ones(2), {"k": 2.0})
    assert out.tolist() == [4.0, 6.0]


def test_functional_call_restores_on_exception_and_checks_keys():
    net = MLP.make(gg)
    before = {k: v for k, v in net.named_parameters()}

    class Boom(Exception):
        pass

    def bad(_):
        raise Boom

    net.register_forward_pre_hook(lambda m, a: bad(a))
    with pytest.raises(Boom):
        gf.functional_call(net, {"0.weight": gg.zeros(5, 3)}, (gg.ones(1, 3),))
    assert all(v is before[k] for k, v in net.named_parameters())

    messages = []
    for f, model in ((gf, MLP.make(gg)), (tf, MLP.make(torch))):
        with pytest.raises(RuntimeError) as e:
            f.functional_call(model, {"nope": model[0].weight}, (model[0].weight[:1],), strict=True)
        messages.append(str(e.value))
    assert messages[0] == messages[1]
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        gf.functional_call(net, ({"0.bias": gg.ones(5)}, {"0.bias": gg.ones(5)}), gg.ones(3))


def test_functional_call_tied_weights():
    def make(lib):
        m = lib.nn.Module()
        m.a = lib.nn.Linear(2, 2, bias=False)
        m.b = lib.nn.Linear(2, 2, bias=False)
        m.b.weight = m.a.weight
        m.forward = lambda x: m.b(m.a(x))
        m = m.double()
        with lib.no_grad():
            m.a.weight.copy_(lib.tensor(arr(2, 2, seed=5)))
        return m

    (w, x), (tw, tx) = both(arr(2, 2), arr(2, seed=1))
    same(
        gf.functional_call(make(gg), {"a.weight": w}, x),
        tf.functional_call(make(torch), {"a.weight": tw}, tx),
    )
    same(
        gf.functional_call(make(gg), {"a.weight": w}, x, tie_weights=False),
        tf.functional_call(make(torch), {"a.weight": tw}, tx, tie_weights=False),
    )
    with pytest.raises(ValueError, match="which are tied"):
        gf.functional_call(make(gg), {"a.weight": w, "b.weight": w * 1}, x)


def test_stateless_path():
    from glassgrad.nn.utils.stateless import functional_call

    lin = gg.nn.Linear(2, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        out = functional_call(
            lin, {"weight": gg.tensor([[1.0, 2.0]]), "bias": gg.zeros(1)}, (gg.ones(2),)
        )
    assert out.tolist() == [3.0]
