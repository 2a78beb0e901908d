"""APIs real programs use that glassgrad lacked, each checked against torch: module backward
hooks and kwargs hooks, Module path helpers, constants, window functions, stft/istft,
distributions, autograd.functional's vjp/jvp/hessian and nn.init's old spellings."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg


def _lists(gs):
    return [
        None if g is None else np.round(np.asarray(g.tolist(), dtype=float), 5).tolist() for g in gs
    ]


def _module_hook_log(lib):
    lib.manual_seed(0)
    nn = lib.nn
    log = []

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def forward(self, x, scale, y=None):
            return self.lin(x) * scale * (y or 1), x.sum()

    m = M()
    with lib.no_grad():
        m.lin.weight.copy_(lib.arange(6.0).reshape(2, 3) / 5)
        m.lin.bias.fill_(0.1)
    m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", _lists(go))))

    def bh(mod, gi, go):
        log.append(("bh", _lists(gi), _lists(go)))
        return tuple(None if g is None else g * 2 for g in gi)

    m.register_full_backward_hook(bh)
    m.register_forward_pre_hook(lambda mod, a, k: (a, {**k, "y": 2}), with_kwargs=True)
    m.register_forward_hook(lambda mod, a, k, o: log.append(("fk", sorted(k))), with_kwargs=True)
    m.register_forward_pre_hook(lambda mod, a: log.append("first"), prepend=True)
    x = lib.tensor([[1.0, 2, 3]], requires_grad=True)
    a, b = m(x, lib.tensor(2.0))
    log.append(a.grad_fn.name())
    (a.sum() * 3 + b).backward()
    log.append(("xgrad", _lists([x.grad])))
    lin = nn.Linear(3, 1)  # no input needs a gradient: the hook fires with Nones
    lin.register_full_backward_hook(
        lambda mod, gi, go: log.append(("nogi", gi, [g.shape for g in go]))
    )
    # the deprecated spelling: grad_output (what Grad-CAM reads) is the same in both
    old = nn.Linear(3, 1)
    old.register_backward_hook(lambda mod, gi, go: log.append(("old", _lists(go))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lin(lib.ones(2, 3)).sum().backward()
        old(lib.ones(2, 3)).sum().backward()
    return log


def test_module_backward_and_kwargs_hooks_match_torch():
    ours, theirs = _module_hook_log(gg), _module_hook_log(torch)
    assert [str(e) for e in ours] == [str(e) for e in theirs]


def test_forward_hook_always_call_runs_when_forward_raises():
    for lib in (gg, torch):
        seen = []

        class Bad(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")

        m = Bad()
        m.register_forward_hook(lambda mod, a, o, seen=seen: seen.append(o), always_call=True)
        with pytest.raises(ValueError, match="boom"):
            m(lib.ones(1))
        assert seen == [None]


def test_module_path_helpers_match_torch():
    for lib in (gg, torch):
        nn = lib.nn
        m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
        assert m.get_buffer("1.running_mean").tolist() == [0.0, 0.0]
        with pytest.raises(AttributeError):
            m.get_buffer("1.weight")
        m.set_submodule("0", nn.Identity())
        assert type(m[0]).__name__ == "Identity"
        with pytest.raises(AttributeError):
            m.set_submodule("5", nn.Identity(), strict=True)
        assert m.to_empty(device="cpu") is m and tuple(m[1].weight.shape) == (2,)
        assert m.share_memory() is m


# ---- distributions -------------------------------------------------------------------------------


def _dist_cases(lib):
    D, T = lib.distributions, lib.distributions.transforms
    f = lambda v: lib.tensor(v, dtype=lib.float64, requires_grad=True)  # noqa: E731
    v = lambda x: lib.tensor(x, dtype=lib.float64)  # noqa: E731
    loc, sc, pr = f([0.3, -1.0]), f([1.5, 0.7]), f([0.2, 0.3, 0.5])
    pp, df, w = f([0.3, 0.6]), f([3.0, 5.0]), f([0.2, 0.8])
    normal = D.Normal(loc, sc)
    x, n = v([0.1, 0.9]), v([0.0, 3.0])
    cases = [
        ("Independent", D.Independent(normal, 1), x),
        ("Laplace", D.Laplace(loc, sc), x),
        ("Exponential", D.Exponential(sc), x),
        ("Cauchy", D.Cauchy(loc, sc), x),
        ("StudentT", D.StudentT(df, loc, sc), x),
        ("Poisson", D.Poisson(sc), n),
        ("Geometric", D.Geometric(pp), n),
        ("GeometricLogits", D.Geometric(logits=loc), n),
        ("Binomial", D.Binomial(5, pp), n),
        ("BinomialLogits", D.Binomial(v([4.0, 6.0]), logits=loc), n),
        ("OneHot", D.OneHotCategorical(pr), v([0.0, 1.0, 0.0])),
        ("Relaxed", D.RelaxedOneHotCategorical(v(0.5), pr), v([0.1, 0.6, 0.3])),
        ("LogNormal", D.LogNormal(loc, sc), x),
        (
            "TanhAffine",
            D.TransformedDistribution(normal, [T.TanhTransform(), T.AffineTransform(1.0, 2.0)]),
            x,
        ),
        (
            "SigmoidPow",
            D.TransformedDistribution(normal, [T.SigmoidTransform(), T.PowerTransform(2.0)]),
            x,
        ),
        ("Softplus", D.TransformedDistribution(normal, T.SoftplusTransform()), x),
        ("Exp", D.TransformedDistribution(normal, T.ExpTransform().inv.inv), x),
        ("Mixture", D.MixtureSameFamily(D.Categorical(w), normal), x),
        (
            "MixtureInd",
            D.MixtureSameFamily(
                D.Categorical(w), D.Independent(D.Normal(lib.stack([loc, sc]), sc), 1)
            ),
            x,
        ),
    ]
    return cases, [loc, sc, pr, pp, df, w]


def _dist_summary(lib, d, value, leaves):
    r = {}
    lp = d.log_prob(value)
    r["log_prob"] = lp
    grads = lib.autograd.grad(lp.sum(), leaves, allow_unused=True, create_graph=True)
    r["grad"] = [g for g in grads if g is not None]
    used = [t for t, g in zip(leaves, grads) if g is not None]
    r["grad2"] = list(
        lib.autograd.grad(sum(g.sin().sum() for g in r["grad"]), used, allow_unused=True)
    )
    for attr in ("mean", "variance", "entropy", "cdf"):
        try:
            val = getattr(d, attr)
            r[attr] = val() if attr == "entropy" else val(value) if attr == "cdf" else val
        except NotImplementedError:
            r[attr] = "NotImplemented"
    r["shapes"] = (tuple(d.batch_shape), tuple(d.event_shape), tuple(d.sample((3,)).shape))
    if d.has_rsample:
        r["rsample"] = tuple(d.rsample((2,)).shape)
    return r


def _same(a, b):
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is b
    if hasattr(a, "detach") and hasattr(b, "detach"):
        return np.allclose(
            np.asarray(a.tolist()), np.asarray(b.tolist()), rtol=1e-7, atol=1e-10, equal_nan=True
        )
    return a == b


def test_more_distributions_match_torch():
    (ours, our_leaves), (theirs, their_leaves) = _dist_cases(gg), _dist_cases(torch)
    for (name, d, v), (_, td, tv) in zip(ours, theirs):
        a, b = _dist_summary(gg, d, v, our_leaves), _dist_summary(torch, td, tv, their_leaves)
        for key in b:
            assert _same(a[key], b[key]), (name, key, a[key], b[key])


def test_more_kl_divergences_match_torch():
    def kls(lib):
        D = lib.distributions
        t = lambda x: lib.tensor(x, dtype=lib.float64)  # noqa: E731
        a, b = t([0.3, -1.0]), t([1.5, 0.7])
        return [
            D.kl_divergence(D.Independent(D.Normal(a, b), 1), D.Independent(D.Normal(b, b), 1)),
            D.kl_divergence(D.Laplace(a, b), D.Laplace(b, b)),
            D.kl_divergence(D.Exponential(b), D.Exponential(b * 2)),
            D.kl_divergence(D.Poisson(b), D.Poisson(b * 2)),
            D.kl_divergence(D.OneHotCategorical(b.softmax(-1)), D.OneHotCategorical(a.softmax(-1))),
            D.kl_divergence(D.LogNormal(a, b), D.LogNormal(b, b)),
        ]

    assert _same(kls(gg), kls(torch))


def test_tanh_transform_inverts_its_own_sample_exactly():
    D = gg.distributions
    d = D.TransformedDistribution(
        D.Normal(gg.zeros(3), gg.ones(3) * 5), [D.transforms.TanhTransform(cache_size=1)]
    )
    y = d.rsample()
    assert bool(gg.isfinite(d.log_prob(y)).all())


# ---- windows, stft, istft ------------------------------------------------------------------------

WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


@pytest.mark.parametrize("name", WINDOWS)
def test_windows_match_torch(name):
    for n in [0, 1, 2, 5, 8]:
        for periodic in [True, False]:
            a = getattr(torch, name)(n, periodic, dtype=torch.float64).numpy()
            b = getattr(gg, name)(n, periodic, dtype=gg.float64).numpy()
            np.testing.assert_allclose(b, a, atol=1e-12)
    assert getattr(gg, name)(4).dtype == gg.float32
    assert getattr(gg, name)(4, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match=name):
        getattr(gg, name)(4, dtype=gg.int64)


def test_window_extra_parameters_match_torch():
    np.testing.assert_allclose(
        gg.hamming_window(5, False, 0.5, 0.5).numpy(),
        torch.hamming_window(5, False, 0.5, 0.5).numpy(),
    )
    np.testing.assert_allclose(
        gg.kaiser_window(6, True, 5.0).numpy(), torch.kaiser_window(6, True, 5.0).numpy(), rtol=1e-6
    )


STFT_CASES = [
    (dict(n_fft=8, hop_length=2, return_complex=True), dict(n_fft=8, hop_length=2), (2, 30), 8),
    (
        dict(n_fft=8, hop_length=3, return_complex=True, center=False, normalized=True),
        None,
        (25,),
        8,
    ),
    (
        dict(
            n_fft=8,
            hop_length=2,
            win_length=6,
            return_complex=True,
            pad_mode="constant",
            onesided=False,
        ),
        dict(n_fft=8, hop_length=2, win_length=6, onesided=False, length=31),
        (31,),
        6,
    ),
    (dict(n_fft=8, return_complex=False, normalized=True), None, (3, 20), 8),
    (
        dict(n_fft=8, hop_length=2, return_complex=True, normalized=True),
        dict(n_fft=8, hop_length=2, normalized=True, length=20),
        (20,),
        8,
    ),
]


def _stft_run(lib, xa, wa, kw, ikw):
    x, w = lib.tensor(xa, requires_grad=True), lib.tensor(wa, requires_grad=True)
    s = lib.stft(x, window=w, **kw)
    out = [s]
    r = lib.view_as_real(s) if s.is_complex() else s
    loss = (r * lib.tensor(np.linspace(-1, 1, r.numel()).reshape(r.shape))).sum()
    if ikw is not None:
        y = lib.istft(s, window=w, **ikw)
        out.append(y)
        loss = loss + (y * lib.tensor(np.linspace(0, 2, y.numel()).reshape(y.shape))).sin().sum()
    gx, gw = lib.autograd.grad(loss, [x, w], create_graph=True)
    return [*out, gx, gw, *lib.autograd.grad(gx.sin().sum() + gw.cos().sum(), [x, w])]


@pytest.mark.parametrize("case", range(len(STFT_CASES)))
def test_stft_istft_values_and_two_orders_of_gradients_match_torch(case):
    kw, ikw, shape, wl = STFT_CASES[case]
    rng = np.random.default_rng(case)
    xa, wa = rng.standard_normal(shape), np.hanning(wl + 2)[1:-1] + 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, ours = _stft_run(torch, xa, wa, kw, ikw), _stft_run(gg, xa, wa, kw, ikw)
    for t, o in zip(theirs, ours):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().resolve_conj().numpy(), atol=1e-9)


def test_stft_roundtrip_and_errors():
    x = gg.randn(2, 64)
    w = gg.hann_window(16)
    y = gg.istft(gg.stft(x, 16, 4, window=w, return_complex=True), 16, 4, window=w, length=64)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-5)
    with pytest.raises(RuntimeError, match="return_complex"):
        gg.stft(x, 16)
    with pytest.raises(RuntimeError, match="window overlap add min"):
        gg.istft(
            gg.stft(x, 16, 4, window=w, return_complex=True, center=False),
            16,
            4,
            window=w,
            center=False,
        )
    with pytest.raises(RuntimeError, match="stft: expected a 1D or 2D"):
        gg.stft(gg.ones(1, 2, 64), 16, return_complex=True)


# ---- nn.init's old names, autograd.functional, top-level names -----------------------------------


@pytest.mark.parametrize(
    "name",
    ["uniform", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform", "orthogonal"],
)
def test_deprecated_init_names_warn_and_fill_like_torch(name):
    for lib in (gg, torch):
        w = lib.zeros(4, 3)
        with pytest.warns(FutureWarning, match=re.escape(f"nn.init.{name}_")):
            out = getattr(lib.nn.init, name)(w)
        assert out is w and bool((w != 0).any())
    with pytest.warns(FutureWarning):
        assert gg.nn.init.constant(gg.zeros(2), 3.0).tolist() == [3.0, 3.0]


def _functional_results(lib):
    af = lib.autograd.functional
    x = lib.tensor([1.0, 2.0], dtype=lib.float64)
    y = lib.tensor([0.5, 0.3], dtype=lib.float64)
    ones = lib.ones(2, dtype=lib.float64)
    two = lambda a, b: (a**3 * b.sin()).sum()  # noqa: E731
    cube = lambda a: (a**3).sum()  # noqa: E731
    vec = lambda a: a.exp() * 2  # noqa: E731
    return [
        af.hessian(two, (x, y)),
        af.hessian(cube, x),
        af.hessian(cube, x, vectorize=True, outer_jacobian_strategy="forward-mode"),
        af.vjp(vec, x, ones),
        af.vjp(two, (x, y)),
        af.jvp(vec, x, lib.tensor([1.0, 3.0], dtype=lib.float64)),
        af.jvp(lambda a, b: (a * b, a + b), (x, y), (ones, ones)),
        af.vhp(cube, x, ones),
    ]


def test_autograd_functional_vjp_jvp_vhp_hessian_match_torch():
    assert _same(_functional_results(gg), _functional_results(torch))


def test_autograd_functional_create_graph_differentiates_again():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    _, (g,) = gg.autograd.functional.vjp(lambda a: (a**3,), (x,), (gg.ones(2),), create_graph=True)
    (h,) = gg.autograd.grad(g.sum(), x)
    assert h.tolist() == [6.0, 12.0]


def test_top_level_names_match_torch():
    for name in ["pi", "e", "inf", "nan", "newaxis"]:
        a, b = getattr(gg, name), getattr(torch, name)
        assert a == b or (a != a and b != b)
    assert gg.typename(gg.ones(1)) == torch.typename(torch.ones(1)) == "torch.FloatTensor"
    assert gg.typename(1) == torch.typename(1) == "int"
    assert gg.vmap(lambda r: r.sum())(gg.ones(3, 2)).tolist() == [2.0, 2.0, 2.0]
    gg.set_anomaly_enabled(True)
    try:
        assert gg.is_anomaly_enabled()
    finally:
        gg.set_anomaly_enabled(False)
    assert not gg.is_anomaly_enabled()


def test_dsplit_and_H_match_torch():
    a = np.arange(24.0).reshape(2, 3, 4)
    ours, theirs = gg.dsplit(gg.tensor(a), [1, 3]), torch.dsplit(torch.tensor(a), [1, 3])
    assert [o.tolist() for o in ours] == [t.tolist() for t in theirs]
    for bad in (gg.ones(2, 3), gg.ones(2, 3, 5)):
        with pytest.raises(RuntimeError, match=r"torch\.dsplit"):
            gg.dsplit(bad, 2)
    m = np.array([[1 + 2j, 3j], [2.0, -1j]])
    assert gg.tensor(m).H.tolist() == torch.tensor(m).H.tolist()
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        _ = gg.ones(3).H


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("independent", "Independent"),
        ("transformed_distribution", "TransformedDistribution"),
        ("transforms", "TanhTransform"),
        ("log_normal", "LogNormal"),
        ("laplace", "Laplace"),
        ("exponential", "Exponential"),
        ("studentT", "StudentT"),
        ("one_hot_categorical", "OneHotCategorical"),
        ("relaxed_categorical", "RelaxedOneHotCategorical"),
        ("mixture_same_family", "MixtureSameFamily"),
    ],
)
def test_distribution_module_paths_exist_as_in_torch(module, name):
    import importlib

    torch_mod = importlib.import_module(f"torch.distributions.{module}")
    ours = importlib.import_module(f"glassgrad.distributions.{module}")
    assert hasattr(torch_mod, name) and getattr(ours, name) is getattr(gg.distributions, name)


SIZE_CALLS = {
    "zeros": lambda lib, n: lib.zeros(2, n),
    "zeros_tuple": lambda lib, n: lib.zeros((2, n)),
    "ones": lambda lib, n: lib.ones(n),
    "empty": lambda lib, n: lib.empty(n, 2),
    "full": lambda lib, n: lib.full((n,), 1.5),
    "randn": lambda lib, n: lib.randn(n, 2),
    "rand": lambda lib, n: lib.rand(2, n),
    "randint": lambda lib, n: lib.randint(0, 5, (n,)),
    "new_zeros": lambda lib, n: lib.ones(6).new_zeros(n, 2),
    "view": lambda lib, n: lib.ones(6).view(2, n),
    "expand": lambda lib, n: lib.ones(1, 3).expand(n, 3),
    "split": lambda lib, n: lib.ones(6).split(n)[1],
    "chunk": lambda lib, n: lib.ones(6).chunk(n)[0],
    "topk": lambda lib, n: lib.arange(6.0).topk(n).values,
    "kthvalue": lambda lib, n: lib.arange(6.0).kthvalue(n).values,
}


@pytest.mark.parametrize("name", sorted(SIZE_CALLS))
def test_a_zero_dim_integer_tensor_serves_as_a_size(name) -> None:
    """``torch.zeros(len(seqs), lengths.max())``: a 0-d integer tensor is taken as the int it
    holds wherever a size or count is, as PyTorch takes it."""
    ours = SIZE_CALLS[name](gg, gg.tensor(3))
    theirs = SIZE_CALLS[name](torch, torch.tensor(3))
    assert tuple(ours.shape) == tuple(theirs.shape)
    if name in ("topk", "kthvalue", "full", "zeros"):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_float_tensor_is_no_size() -> None:
    for make in (lambda: gg.zeros(2, gg.tensor(3.0)), lambda: gg.full((gg.tensor(2.5),), 1.0)):
        with pytest.raises(TypeError, match=r"(zeros|full)\(\): sizes must be ints, got a tensor"):
            make()


def test_storage_reads_match_torch() -> None:
    """``v.data.storage().tolist()`` (older GAN scripts read losses so): a view's storage is its
    base's memory; writes through a storage are refused, not made behind backward's checks."""
    for make in (
        lambda lib: lib.arange(6.0).view(2, 3)[:, 1],
        lambda lib: lib.ones(3, dtype=lib.int64),
        lambda lib: lib.tensor(2.5),
    ):
        ours, theirs = make(gg), make(torch)
        s, r = ours.storage(), theirs.storage()
        assert s.tolist() == r.tolist() and list(s) == list(r)
        assert (len(s), s.size(), s.nbytes(), s.element_size()) == (
            len(r),
            r.size(),
            r.nbytes(),
            r.element_size(),
        )
        assert s[0] == r[0] and s[len(s) - 1] == r[len(r) - 1]
        assert repr(s) == repr(r)
        u, v = ours.untyped_storage(), theirs.untyped_storage()
        assert u.tolist() == v.tolist() and u[0:2].tolist() == v[0:2].tolist()
        assert s.data_ptr() == ours.untyped_storage().data_ptr()
    with pytest.raises(NotImplementedError, match="write through the tensor"):
        gg.ones(2).storage()[0] = 3.0


def test_fusing_batchnorm_into_conv_and_linear_gives_pytorchs_weights_and_outputs():
    import torch

    def fused(lib, transpose):
        lib.manual_seed(0)
        conv = (lib.nn.ConvTranspose2d if transpose else lib.nn.Conv2d)(3, 4, 3)
        bn = lib.nn.BatchNorm2d(4)
        lin, bn1 = lib.nn.Linear(5, 4), lib.nn.BatchNorm1d(4)
        return conv, bn, lin, bn1

    for transpose in (False, True):
        ours, theirs = fused(gg, transpose), fused(torch, transpose)
        rng = np.random.default_rng(1)
        for o, t in zip(ours, theirs):  # the same weights and running statistics
            for name, value in t.state_dict().items():
                if value.dtype.is_floating_point:
                    value = value + torch.tensor(rng.uniform(0.1, 1.0, tuple(value.shape)))
                    t.state_dict()[name].copy_(value)
                o.state_dict()[name].copy_(gg.tensor(value.numpy()))
            o.eval(), t.eval()
        fc = gg.nn.utils.fuse_conv_bn_eval(ours[0], ours[1], transpose)
        tc = torch.nn.utils.fuse_conv_bn_eval(theirs[0], theirs[1], transpose)
        np.testing.assert_allclose(fc.weight.detach().numpy(), tc.weight.detach().numpy(), 1e-5)
        np.testing.assert_allclose(fc.bias.detach().numpy(), tc.bias.detach().numpy(), 1e-5)
        x = np.random.default_rng(2).standard_normal((2, 3, 6, 6)).astype(np.float32)
        np.testing.assert_allclose(
            fc(gg.tensor(x)).detach().numpy(),
            ours[1](ours[0](gg.tensor(x))).detach().numpy(),
            rtol=1e-4,
            atol=1e-5,
        )
    fl = gg.nn.utils.fuse_linear_bn_eval(ours[2], ours[3])
    tl = torch.nn.utils.fuse_linear_bn_eval(theirs[2], theirs[3])
    np.testing.assert_allclose(fl.weight.detach().numpy(), tl.weight.detach().numpy(), 1e-5)
    np.testing.assert_allclose(fl.bias.detach().numpy(), tl.bias.detach().numpy(), 1e-5)
    ours[0].train()
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        gg.nn.utils.fuse_conv_bn_eval(ours[0], ours[1])


def test_small_pytorch_names_scripts_call():
    import typing

    import torch

    w = gg.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = gg.nn.utils.clip_grad_norm(w, 1.0)
    assert total.item() == pytest.approx(torch.tensor([2.0] * 3).norm().item())
    assert w.grad.norm().item() == pytest.approx(1.0, rel=1e-5)
    reset = vars(gg.nn.Linear)["reset_parameters"]
    skipped = gg.nn.utils.skip_init(gg.nn.Linear, 3, 2)
    assert skipped.weight.shape == (2, 3) and vars(gg.nn.Linear)["reset_parameters"] is reset

    class Twice(gg.autograd.Function):
        @staticmethod
        @gg.amp.custom_fwd(device_type="cpu", cast_inputs=gg.float32)
        def forward(ctx, x):
            return x * 2

        @staticmethod
        @gg.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            return g * 2

    x = gg.ones(2, requires_grad=True)
    Twice.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    assert gg.cuda.amp.custom_fwd(lambda ctx, v: v)(None, 3) == 3

    from glassgrad.nn.attention import SDPBackend, sdpa_kernel

    assert list(SDPBackend.__members__) == list(torch.nn.attention.SDPBackend.__members__)
    q = gg.randn(1, 2, 4, 8)
    plain = gg.nn.functional.scaled_dot_product_attention(q, q, q)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):
        assert gg.equal(gg.nn.functional.scaled_dot_product_attention(q, q, q), plain)
    with pytest.raises(AssertionError, match="instance of SDPBackend"), sdpa_kernel("flash"):
        pass

    mp = gg.multiprocessing
    assert mp.get_all_sharing_strategies() == torch.multiprocessing.get_all_sharing_strategies()
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    mp.set_sharing_strategy("file_descriptor")
    with pytest.raises(ValueError, match="unknown strategy 'shm'"):
        mp.set_sharing_strategy("shm")

    images, labels = gg.arange(6.0).reshape(3, 2), gg.arange(3)
    stacked = gg.utils.data.StackDataset(images, labels)
    named = gg.utils.data.StackDataset(image=images, label=labels)
    assert len(stacked) == 3 and stacked[1][1].item() == 1 and named[2]["label"].item() == 2
    with pytest.raises(ValueError, match=r"Size mismatch between datasets: lengths \[3, 2\]"):
        gg.utils.data.StackDataset(images, labels[:2])

    for value, ours, theirs in [
        ([1, 2], list[int], list[int]),
        ({"a": gg.ones(1)}, dict[str, gg.Tensor], dict[str, object]),
        (None, typing.Optional[int], typing.Optional[int]),  # noqa: UP045
        ((1, "a"), tuple[int, str], tuple[int, str]),
        ([1, "a"], list[int], list[int]),
    ]:
        assert gg.jit.isinstance(value, ours) == torch.jit.isinstance(value, theirs), value
    assert gg.jit.Attribute(3, int) == 3 and not isinstance(gg.nn.Linear(1, 1), gg.jit.ScriptModule)
