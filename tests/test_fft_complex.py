"""torch.fft and complex tensors against PyTorch: values, gradients of first and second order
(PyTorch's convention for complex inputs: dL/dRe z + i dL/dIm z), and central differences.

The registry sweep (tests/opinfo/spectral.py) covers these ops through real inputs and outputs
(``view_as_real`` / ``view_as_complex`` around them); here complex tensors go in directly, every
``n``/``s``/``dim``/``norm`` combination is compared, and the errors are checked.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg

torch.set_num_threads(1)
NORMS = [None, "backward", "ortho", "forward"]
RNG = np.random.default_rng(0)


def _values(shape, complex_):
    a = RNG.standard_normal(shape)
    return a + 1j * RNG.standard_normal(shape) if complex_ else a


def _leaf(lib, a):
    return lib.tensor(a).requires_grad_(True)


def _np(t):
    return t.detach().resolve_conj().numpy() if isinstance(t, torch.Tensor) else t.detach()._data


def _real_loss(lib, out, w):
    """A real scalar of a (real or complex) output: sum(w * [Re, Im]) with fixed weights w."""
    parts = lib.view_as_real(out.resolve_conj()) if out.is_complex() else out
    return (parts * lib.tensor(w)).sum()


def _weights(out):
    shape = tuple(out.shape) + ((2,) if out.is_complex() else ())
    return np.random.default_rng(1).standard_normal(shape)


def _check_against_torch(fn, arrays, second_order=True, rtol=1e-9, atol=1e-9):
    """fn(lib, *tensors) on both libraries: the values, the gradient of a real loss, and the
    gradient of a real function of that gradient (second order), all equal to torch's."""
    ours = [_leaf(gg, a) for a in arrays]
    theirs = [_leaf(torch, a) for a in arrays]
    out, ref = fn(gg, *ours), fn(torch, *theirs)
    assert str(out.dtype) == str(ref.dtype), (out.dtype, ref.dtype)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(_np(out), _np(ref), rtol=rtol, atol=atol)
    w = _weights(ref)
    g = gg.autograd.grad(_real_loss(gg, out, w), ours, create_graph=second_order)
    tg = torch.autograd.grad(_real_loss(torch, ref, w), theirs, create_graph=second_order)
    for a, b in zip(g, tg):
        assert a.dtype == np.dtype(str(b.dtype).removeprefix("torch."))
        np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)
    if not second_order:
        return
    v = [_weights(b) for b in tg]
    gg_total = sum(_real_loss(gg, a, vi) for a, vi in zip(g, v))
    t_total = sum(_real_loss(torch, b, vi) for b, vi in zip(tg, v))
    if not t_total.requires_grad:  # the gradient is constant in the inputs (a linear map)
        assert not gg_total.requires_grad or not any(
            np.any(_np(h))
            for h in gg.autograd.grad(gg_total, ours, allow_unused=True)
            if h is not None
        )
        return
    gg2 = gg.autograd.grad(gg_total, ours, allow_unused=True)
    t2 = torch.autograd.grad(t_total, theirs, allow_unused=True)
    for a, b in zip(gg2, t2):
        if b is None:
            assert a is None or not np.any(_np(a))
            continue
        np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)


def _numeric_check(fn, arrays, eps=1e-6, tol=1e-6):
    """Central differences on every real and imaginary part: the gradient glassgrad stores is
    dL/dRe + i dL/dIm for a real loss L."""
    ours = [_leaf(gg, a) for a in arrays]
    out = fn(gg, *ours)
    w = _weights(out)
    grads = gg.autograd.grad(_real_loss(gg, out, w), ours)

    def loss(vals):
        with gg.no_grad():
            return float(_real_loss(gg, fn(gg, *[gg.tensor(v) for v in vals]), w).item())

    for k, a in enumerate(arrays):
        expected = np.zeros(a.shape, a.dtype)
        for idx in np.ndindex(a.shape):
            for unit in (1, 1j) if np.iscomplexobj(a) else (1,):
                plus = [b.copy() for b in arrays]
                minus = [b.copy() for b in arrays]
                plus[k][idx] += eps * unit
                minus[k][idx] -= eps * unit
                expected[idx] += unit * (loss(plus) - loss(minus)) / (2 * eps)
        np.testing.assert_allclose(_np(grads[k]), expected, rtol=tol, atol=tol)


# ---- the transforms ------------------------------------------------------------------------------

ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
REAL_ONLY = {"rfft", "ihfft"}
C2R = {"irfft", "hfft"}


def _one_d_cases():
    for name in ONE_D:
        for complex_ in (False, True):
            if complex_ and name in REAL_ONLY:
                continue
            for n in (None, 3, 4, 8):
                for norm in NORMS:
                    yield name, complex_, n, norm


@pytest.mark.parametrize("name,complex_,n,norm", list(_one_d_cases()))
def test_one_d_transform_matches_torch(name, complex_, n, norm):
    a = _values((2, 5), complex_)

    def fn(lib, x):
        return getattr(lib.fft, name)(x, n=n, dim=-1, norm=norm)

    _check_against_torch(fn, [a])


N_D = ["fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn"]
N_D += ["hfft2", "ihfft2", "hfftn", "ihfftn"]


_SIZES_AND_DIMS = [
    (None, None),
    ((3, 4), None),
    (None, (0, 2)),
    ((2, 6), (2, 0)),
    ((-1, 4), (1, 2)),
    ((5,), None),
]
# (the 2-d transforms take two sizes: one size with the default dims is for the n-d ones only)
_N_D_CASES = [
    (name, s, dim)
    for name in N_D
    for s, dim in _SIZES_AND_DIMS
    if not (name.endswith("2") and dim is None and s is not None and len(s) != 2)
]


@pytest.mark.parametrize("name,s,dim", _N_D_CASES)
@pytest.mark.parametrize("norm", NORMS)
def test_n_d_transform_matches_torch(name, s, dim, norm):
    complex_ = not (name.startswith("rfft") or name.startswith("ihfft"))
    a = _values((3, 4, 5), complex_)
    kwargs = {"s": s, "norm": norm}
    if dim is not None:
        kwargs["dim"] = dim

    def fn(lib, x):
        return getattr(lib.fft, name)(x, **kwargs)

    _check_against_torch(fn, [a])


@pytest.mark.parametrize("name", ["fft", "ifft", "fftn", "ifft2"])
def test_complex_transforms_of_real_input_match_torch(name):
    _check_against_torch(lambda lib, x: getattr(lib.fft, name)(x), [_values((3, 4), False)])


@pytest.mark.parametrize(
    "name,complex_,n",
    [
        ("fft", True, 6),
        ("fft", False, 3),
        ("rfft", False, 7),
        ("irfft", True, 7),
        ("irfft", True, 4),
        ("hfft", True, 5),
        ("ihfft", False, 4),
        ("ifft", True, None),
    ],
)
def test_gradients_match_central_differences(name, complex_, n):
    a = _values((2, 4), complex_)
    _numeric_check(lambda lib, x: getattr(lib.fft, name)(x, n=n, norm="ortho"), [a])


def test_rfft2_and_irfftn_match_central_differences():
    _numeric_check(lambda lib, x: lib.fft.rfft2(x, s=(3, 4)), [_values((2, 3), False)])
    _numeric_check(lambda lib, x: lib.fft.irfftn(x, s=(2, 5)), [_values((2, 3), True)])


def test_round_trip_and_float32_dtypes():
    x = gg.randn(3, 8)
    assert gg.fft.fft(x).dtype == gg.complex64
    assert gg.fft.rfft(x).shape == (3, 5)
    np.testing.assert_allclose(gg.fft.irfft(gg.fft.rfft(x), n=8).numpy(), x.numpy(), atol=1e-5)
    assert gg.fft.irfft(gg.fft.rfft(x)).dtype == gg.float32
    assert gg.fft.fft(gg.arange(4)).dtype == gg.complex64
    assert gg.fft.fft(x.double()).dtype == gg.complex128
    xr = gg.randn(4, 4, requires_grad=True)
    gg.view_as_real(gg.fft.fft2(xr)).sum().backward()
    assert xr.grad.dtype == gg.float32


def test_node_names_match_torch():
    for name, complex_, kw in [
        ("fft", False, {}),
        ("fft", True, {}),
        ("rfft", False, {}),
        ("irfft", True, {}),
        ("hfft", True, {}),
        ("fft", True, {"n": 8}),
        ("fft", True, {"n": 2}),
        ("ifft", False, {}),
        ("ihfft", False, {}),
        ("ifft", True, {}),
    ]:
        a = _values((5,), complex_)
        ours = getattr(gg.fft, name)(_leaf(gg, a), **kw)
        theirs = getattr(torch.fft, name)(_leaf(torch, a), **kw)
        assert ours.grad_fn.name() == theirs.grad_fn.name(), name
        if kw:
            inner = ours.grad_fn.next_functions[0][0].name()
            assert inner == theirs.grad_fn.next_functions[0][0].name()


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("dim", [None, 0, (1,), (0, 1)])
def test_shifts_match_torch(name, dim):
    _check_against_torch(lambda lib, x: getattr(lib.fft, name)(x, dim=dim), [_values((4, 5), True)])


@pytest.mark.parametrize("n,d", [(1, 1.0), (5, 1.0), (8, 0.25), (7, 3.0)])
def test_frequencies_match_torch(n, d):
    for name in ("fftfreq", "rfftfreq"):
        ours, theirs = getattr(gg.fft, name)(n, d), getattr(torch.fft, name)(n, d)
        assert ours.dtype == gg.float32
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
        ours = getattr(gg.fft, name)(n, d, dtype=gg.float64)
        theirs = getattr(torch.fft, name)(n, d, dtype=torch.float64)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.fft.fft(lib.randn(4), norm="foo"),
        lambda lib: lib.fft.rfft(lib.randn(4, dtype=lib.cfloat)),
        lambda lib: lib.fft.fft(lib.randn(4), n=0),
        lambda lib: lib.fft.fftn(lib.randn(3, 3), dim=(0, 0)),
        lambda lib: lib.fft.fftn(lib.randn(3, 3), s=(2,), dim=(0, 1)),
        lambda lib: lib.fft.fft(lib.randn(4).half()),
        lambda lib: lib.fft.irfft(lib.randn(1, dtype=lib.cfloat)),
        lambda lib: lib.fft.fft(lib.randn(0)),
    ],
)
def test_errors_like_torch(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(gg)
    text = str(ours.value)
    assert str(theirs.value).split(" (")[0].split(", but")[0] in text
    assert "ufunc" not in text and "operands could not" not in text


def test_index_errors_like_torch():
    for lib in (torch, gg):
        with pytest.raises(IndexError):
            lib.fft.fft(lib.tensor(1.0))
        with pytest.raises(IndexError):
            lib.fft.fft(lib.randn(4), dim=3)


# ---- complex tensors -------------------------------------------------------------------------


def test_complex_creation_dtypes_and_printing():
    assert gg.tensor([1 + 2j]).dtype == gg.complex64 == gg.cfloat
    assert gg.cdouble == gg.complex128
    for shape_data in (
        [1 + 2j, 3 - 1j],
        [[1.5 + 2j, 0.25 - 1j], [100 + 0.5j, -3 - 3j]],
        [1 + 10.5j, 1 - 2j],
        1.5 + 2j,
    ):
        assert repr(gg.tensor(shape_data)) == repr(torch.tensor(shape_data))
    t = gg.tensor([1 + 1j], dtype=gg.cdouble, requires_grad=True)
    assert repr(t) == repr(torch.tensor([1 + 1j], dtype=torch.cdouble, requires_grad=True))
    z = gg.randn(2000, dtype=gg.cfloat)
    assert z.dtype == gg.complex64 and z.is_complex() and gg.is_complex(z)
    assert abs(np.var(z.numpy().real) - 0.5) < 0.1  # PyTorch: each part has variance 1/2
    assert not gg.randn(2).is_complex()
    gg.set_default_dtype(gg.float64)
    try:
        assert gg.tensor([1j]).dtype == gg.complex128
    finally:
        gg.set_default_dtype(gg.float32)


@pytest.mark.parametrize(
    "a_dtype,b",
    [
        ("float32", 1j),
        ("float64", 1j),
        ("int64", 1j),
        ("float32", "c128_0d"),
        ("float64", "c64_0d"),
        ("complex64", 2.5),
        ("float64", "c64"),
        ("complex64", "f64"),
    ],
)
def test_promotion_matches_torch(a_dtype, b):
    def operand(lib):
        if not isinstance(b, str):
            return b
        dt = {"c128_0d": "complex128", "c64_0d": "complex64", "c64": "complex64", "f64": "float64"}[
            b
        ]
        shape = () if b.endswith("0d") else (3,)
        return lib.ones(shape, dtype=getattr(lib, dt))

    ours = gg.ones(3, dtype=getattr(gg, a_dtype)) * operand(gg)
    theirs = torch.ones(3, dtype=getattr(torch, a_dtype)) * operand(torch)
    assert str(ours.dtype) == str(theirs.dtype)


BINARY = {
    "mul": lambda lib, z, w: z * w,
    "div": lambda lib, z, w: z / w,
    "add": lambda lib, z, w: z + w,
    "sub": lambda lib, z, w: z - w,
    "pow": lambda lib, z, w: z**w,
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_complex_binary_ops_match_torch(name):
    z, w = _values((3,), True), _values((3,), True) + 2
    _check_against_torch(BINARY[name], [z, w])


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, z, x: z * x,  # complex * real tensor: the real one gets a real gradient
        lambda lib, z, x: x / z,
        lambda lib, z, x: (z * 2.5 - 1j) / (1 + 2j) + x * 1j,
        lambda lib, z, x: z**2 + z**0.5 * x,
    ],
)
def test_mixed_real_complex_match_torch(fn):
    _check_against_torch(fn, [_values((4,), True) + 1.5, _values((4,), False)])


UNARY = {
    "abs": lambda lib, z: z.abs(),
    "angle": lambda lib, z: z.angle(),
    "real": lambda lib, z: z.real,
    "imag": lambda lib, z: z.imag,
    "conj": lambda lib, z: z.conj() * z,
    "conj_physical": lambda lib, z: lib.conj_physical(z) * z,
    "exp": lambda lib, z: lib.exp(z),
    "log": lambda lib, z: lib.log(z),
    "sqrt": lambda lib, z: lib.sqrt(z),
    "sin": lambda lib, z: lib.sin(z),
    "cos": lambda lib, z: lib.cos(z),
    "tanh": lambda lib, z: lib.tanh(z),
    "sigmoid": lambda lib, z: lib.sigmoid(z),
    "reciprocal": lambda lib, z: lib.reciprocal(z),
    "square": lambda lib, z: lib.square(z),
    "sum": lambda lib, z: (z * z).sum(),
    "mean": lambda lib, z: (z * z).mean(dim=0),
    "view_as_real": lambda lib, z: lib.view_as_real(z * z),
    "view_as_complex": lambda lib, z: lib.view_as_complex(lib.view_as_real(z) * 2.0) * z,
    "abs_times": lambda lib, z: z.abs() * z,
    "reshape": lambda lib, z: z.reshape(3, 2).t() * 1j,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_complex_unary_and_reductions_match_torch(name):
    _check_against_torch(UNARY[name], [_values((2, 3), True)])


def test_complex_grads_match_central_differences():
    _numeric_check(lambda lib, z: (z.abs() * lib.exp(z)).sum(), [_values((3,), True)])
    _numeric_check(lambda lib, z, w: (z * w / (w + 3)).real.sum(), [_values((3,), True)] * 2)
    _numeric_check(lambda lib, z: z.angle() + lib.view_as_real(z * z).sum(), [_values((3,), True)])


def test_conventions_from_the_docs():
    z = gg.tensor([3 + 4j, -1 + 2j], dtype=gg.cdouble, requires_grad=True)
    z.abs().sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), z.detach().numpy() / np.abs(z.detach().numpy()))
    w = gg.tensor([2 - 1j, 0.5 + 1j], dtype=gg.cdouble)
    z.grad = None
    (z * w).real.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), np.conj(w.numpy()))


def test_complex_from_parts_and_polar_match_torch():
    a, b = _values((3,), False), _values((2, 1), False)
    _check_against_torch(lambda lib, x, y: lib.complex(x, y), [a, b])
    _check_against_torch(lambda lib, r, t: lib.polar(r, t), [np.abs(a) + 0.5, b])
    _numeric_check(lambda lib, r, t: lib.polar(r, t), [np.abs(a) + 0.5, a[::-1].copy()])


def test_parts_views_and_refusals():
    z = gg.tensor([1 + 2j, 3 - 1j])
    r = gg.view_as_real(z)
    assert r.shape == (2, 2) and r.dtype == gg.float32
    assert gg.view_as_complex(r).dtype == gg.complex64
    x = gg.randn(3)
    assert x.real is x and x.conj() is x and not x.is_conj()
    for lib in (torch, gg):
        with pytest.raises(RuntimeError, match="imag is not implemented"):
            lib.randn(3).imag  # noqa: B018
        with pytest.raises(RuntimeError, match="view_as_real is only supported"):
            lib.view_as_real(lib.randn(3))
        with pytest.raises(RuntimeError, match="last dimension of size 2"):
            lib.view_as_complex(lib.randn(3, 3))
        with pytest.raises(RuntimeError):
            lib.complex(lib.randn(2), lib.randn(2, dtype=lib.float64))


def test_backward_of_complex_output_refused_like_torch():
    for lib in (torch, gg):
        z = lib.tensor([1 + 2j], requires_grad=True)
        with pytest.raises(
            RuntimeError, match="grad can be implicitly created only for real scalar"
        ):
            (z * z).sum().backward()


def test_torch_fft_resolves_in_the_compat_harness():
    from tests.compat.harness import torch_is_glassgrad

    with torch_is_glassgrad():
        import torch as t2
        import torch.fft as tfft

        assert tfft is gg.fft and t2.fft.fft is gg.fft.fft
        out = t2.fft.rfft(t2.ones(4))
    np.testing.assert_allclose(out.numpy(), [4, 0, 0])
