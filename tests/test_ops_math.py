"""Non-differentiable elementwise ops, dtype promotion and edge cases of the math/special/statistics
ops, against PyTorch (the differentiable ones are swept from tests/opinfo/)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
import glassgrad.special

NAN, INF = float("nan"), float("inf")


def _same(ours, theirs, dtype=True):
    a, b = ours.numpy(), theirs.numpy()
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, equal_nan=True)
    if dtype:
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.frexp(lib.tensor([3.0, -0.25, 0.0, 1e10])).mantissa,
        lambda lib: lib.frexp(lib.tensor([3.0, -0.25, 0.0, 1e10])).exponent,
        lambda lib: lib.nextafter(lib.tensor([1.0, 0.0]), lib.tensor([2.0, -1.0])),
        lambda lib: lib.gcd(lib.tensor([12, -18, 0]), lib.tensor([8, 12, 5])),
        lambda lib: lib.lcm(lib.tensor([4, 6, 0]), lib.tensor([6, 4, 3])),
        lambda lib: lib.tensor([1.0, -INF, INF, NAN]).isneginf(),
        lambda lib: lib.isposinf(lib.tensor([1.0, -INF, INF, NAN])),
        lambda lib: lib.isreal(lib.tensor([1.0, 2.0])),
        lambda lib: lib.isreal(lib.tensor([1 + 0j, 1j])),
        lambda lib: lib.isin(lib.tensor([1, 2, 3, 4]), lib.tensor([2, 4])),
        lambda lib: lib.isin(lib.tensor([1, 2, 3]), 2, invert=True),
        lambda lib: lib.heaviside(lib.tensor([-1.0, 0.0, 2.0]), lib.tensor([0.5])),
        lambda lib: lib.heaviside(lib.tensor([-1, 0, 2]), lib.tensor([7])),
        lambda lib: lib.aminmax(lib.tensor([[1.0, 5.0], [-2.0, 3.0]])).min,
        lambda lib: lib.aminmax(lib.tensor([[1.0, 5.0], [-2.0, 3.0]]), dim=1, keepdim=True).max,
        lambda lib: lib.logspace(0, 3, 4),
        lambda lib: lib.logspace(-1, 1, 5, base=2.0, dtype=lib.float64),
        lambda lib: lib.nanmedian(lib.tensor([[NAN, 1.0, 3.0], [2.0, NAN, NAN]]), 1).indices,
        lambda lib: lib.nansum(lib.tensor([1, 2, 3], dtype=lib.int32)),
        lambda lib: lib.quantile(lib.tensor([1.0, 2.0, 3.0, 4.0]), 0.5, interpolation="nearest"),
        lambda lib: lib.nanquantile(lib.tensor([[NAN, NAN], [1.0, NAN]]), 0.5, dim=1),
    ],
)
def test_values_and_dtypes_match_torch(fn) -> None:
    _same(fn(gg), fn(torch))


@pytest.mark.parametrize(
    "name",
    "asin acos atan sinh cosh asinh atanh deg2rad rad2deg exp2 sinc erfc erfinv lgamma "
    "digamma i0 logit exp expm1 log log1p log2 log10 sqrt rsqrt reciprocal sin cos tan tanh "
    "sigmoid erf".split(),
)
def test_integer_inputs_promote_to_the_default_float(name) -> None:
    """``torch.exp(int_tensor)`` is float32 (the default float), not NumPy's float64; a bool
    tensor too (not NumPy's float16)."""
    x = [0, 1, 2] if name not in ("asin", "acos", "atanh", "erfinv", "logit") else [0, 0, 1]
    if name == "reciprocal":
        x = [1, 2, 4]  # (1 / 0 warns here, a NumPy warning PyTorch doesn't give)
    ours, theirs = getattr(gg, name)(gg.tensor(x)), getattr(torch, name)(torch.tensor(x))
    _same(ours, theirs)
    flags = [True, True] if name == "reciprocal" else [True, False, True]
    _same(getattr(gg, name)(gg.tensor(flags)), getattr(torch, name)(torch.tensor(flags)))


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, x, y: lib.atan2(x, y),
        lambda lib, x, y: lib.hypot(x, y),
        lambda lib, x, y: lib.copysign(x, y),
        lambda lib, x, y: lib.xlogy(x, y),
        lambda lib, x, y: lib.logaddexp2(x, y),
        lambda lib, x, y: lib.float_power(x, y),
        lambda lib, x, y: lib.fmod(x, y),
    ],
)
def test_binary_int_and_mixed_dtypes(fn) -> None:
    for a, b in [([1, 2], [3, 4]), ([1, 2], [0.5, 1.5]), ([1.0, 2.0], [3, 4])]:
        try:
            theirs = fn(torch, torch.tensor(a), torch.tensor(b))
        except NotImplementedError:  # (hypot/logaddexp2 of two int tensors: PyTorch has none)
            continue
        _same(fn(gg, gg.tensor(a), gg.tensor(b)), theirs)


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, x, y: lib.atan2(x, y),  # NaN at (0, 0)
        lambda lib, x, y: lib.hypot(x, y),  # NaN at (0, 0)
        lambda lib, x, y: lib.xlogy(x, y),
        lambda lib, x, y: lib.special.xlog1py(x, y - 1),
        lambda lib, x, y: lib.copysign(x, y),  # 0 at x == 0
        lambda lib, x, y: lib.lerp(x, y, 1.0),
        lambda lib, x, y: lib.logit(x * 0.5 + 0.5, eps=0.25),
    ],
)
def test_gradients_at_edge_points(fn) -> None:
    x, y = [0.0, 0.0, 1.0, -0.5], [0.0, 2.0, 0.0, 0.25]
    a, b = gg.tensor(x, requires_grad=True), gg.tensor(y, requires_grad=True)
    ta, tb = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    fn(gg, a, b).sum().backward()
    fn(torch, ta, tb).sum().backward()
    for ours, theirs in ((a, ta), (b, tb)):
        if theirs.grad is not None:
            _same(ours.grad, theirs.grad)


def test_sgn_of_complex_and_its_gradient() -> None:
    x = [1 + 1j, -2j, 0j, 3 + 0j]
    a = gg.tensor(x, requires_grad=True)
    ta = torch.tensor(x, requires_grad=True)
    y, ty = a.sgn(), ta.sgn()
    _same(y.detach(), ty.detach())
    assert y.grad_fn.name() == ty.grad_fn.name() == "SgnBackward0"
    g = [1 - 2j, 0.5j, 1 + 1j, 2 + 0j]
    y.backward(gg.tensor(g))
    ty.backward(torch.tensor(g))
    _same(a.grad, ta.grad)


def test_float_power_inplace_needs_a_double_tensor() -> None:
    with pytest.raises(RuntimeError, match="float_power_"):
        gg.tensor([1.0, 2.0]).float_power_(2)
    with pytest.raises(RuntimeError):
        torch.tensor([1.0, 2.0]).float_power_(2)
    t = gg.tensor([1.0, 2.0], dtype=gg.float64).float_power_(3)
    np.testing.assert_allclose(t.numpy(), [1.0, 8.0])


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda lib: lib.gcd(lib.tensor([1.5]), lib.tensor([2.0])), "gcd"),
        (lambda lib: lib.polygamma(-1, lib.tensor([1.0])), "polygamma"),
        (lambda lib: lib.quantile(lib.tensor([1.0, 2.0]), 1.5), "quantile"),
        (lambda lib: lib.quantile(lib.tensor([1, 2]), 0.5), "quantile"),
        (lambda lib: lib.cov(lib.ones(2, 2, 2)), "cov"),
        (lambda lib: lib.heaviside(lib.tensor([1.0]), lib.tensor([1])), "heaviside"),
        (lambda lib: lib.frexp(lib.tensor([1, 2])), "frexp"),
    ],
)
def test_errors_name_the_op_like_torch(call, match) -> None:
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match=match) as e:
        call(gg)
    assert "ufunc" not in str(e.value) and "broadcast" not in str(e.value)


def test_special_namespace_matches_torch_values() -> None:
    x = np.linspace(-3, 3, 13)
    for name in ("expit", "ndtr", "log_ndtr", "erfcx", "i0", "i1", "sinc", "exp2"):
        _same(
            getattr(gg.special, name)(gg.tensor(x)), getattr(torch.special, name)(torch.tensor(x))
        )
    p = np.linspace(0.001, 0.999, 11)
    _same(gg.special.ndtri(gg.tensor(p)), torch.special.ndtri(torch.tensor(p)))
    _same(
        gg.special.round(gg.tensor(x), decimals=1), torch.special.round(torch.tensor(x), decimals=1)
    )


def test_erfinv_and_log_ndtr_tails() -> None:
    y = np.array([-1.0, -0.999999, -1e-12, 0.0, 0.5, 0.99999999, 1.0, 1.5])
    _same(gg.erfinv(gg.tensor(y)), torch.erfinv(torch.tensor(y)))
    x = np.array([-40.0, -20.0, -5.0, 0.0, 5.0, 20.0])
    _same(gg.special.log_ndtr(gg.tensor(x)), torch.special.log_ndtr(torch.tensor(x)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_keeps_its_small_outputs_as_pytorch_does(dtype) -> None:
    # in the negative tail sigmoid is tiny but not 0: BCE on it, and log(sigmoid), need its digits
    x = np.concatenate([np.linspace(-120.0, 120.0, 2001), [-20.0, -30.0, -87.0, 40.0]])
    ours = gg.tensor(x, dtype=getattr(gg, dtype), requires_grad=True)
    theirs = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    a, b = gg.sigmoid(ours), torch.sigmoid(theirs)
    tiny = np.finfo(dtype).tiny
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=4e-7, atol=tiny)
    g = np.cos(x)  # the gradient rule multiplies as PyTorch's does: g * (1 - y) * y
    a.backward(gg.tensor(g, dtype=a.dtype))
    b.backward(torch.tensor(g, dtype=b.dtype))
    # (1 - y) for y near 1 turns y's last-bit differences (NumPy's exp, not PyTorch's) into 1e-5
    rtol = 3e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=rtol, atol=tiny)
    # the fused losses and recurrent cells use the same formula
    y = np.linspace(0.0, 1.0, x.size)
    for lib, t in ((gg, ours), (torch, theirs)):
        t.grad = None
        lib.nn.functional.binary_cross_entropy_with_logits(
            t, lib.tensor(y, dtype=t.dtype)
        ).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=rtol, atol=tiny)


INT_QUOTIENTS = [
    lambda lib: lib.tensor([7, -7, 6, -6, 0]) // 2,
    lambda lib: lib.tensor([7, -7, 6, -6, 0]) // lib.tensor([-2, -2, -4, 4, 3]),
    lambda lib: lib.tensor([7, -7], dtype=lib.int32) // 2,  # a number keeps int32
    lambda lib: lib.tensor([7, -7], dtype=lib.int32) // lib.tensor([2, 3], dtype=lib.int16),
    lambda lib: lib.tensor([7, 250], dtype=lib.uint8) // 3,
    lambda lib: 7 // lib.tensor([2, -2, 3]),
    lambda lib: lib.tensor([True, False]) // 2,
    lambda lib: lib.floor_divide(lib.tensor([9, -9]), lib.tensor([4, 4])),
    lambda lib: lib.div(
        lib.tensor([7, -7, 6, -6]), lib.tensor([-2, -2, -4, 4]), rounding_mode="trunc"
    ),
    lambda lib: lib.div(lib.tensor([7, -7, 6, -6]), 4, rounding_mode="floor"),
    lambda lib: lib.tensor([7, -7]) // 2.0,  # a float: float quotient
    lambda lib: lib.div(lib.tensor([7, -7]), 2.5, rounding_mode="trunc"),
    lambda lib: lib.tensor([7, -7]).div_(2, rounding_mode="floor"),
    lambda lib: lib.tensor([7.5, -7.5]).div_(2, rounding_mode="trunc"),
]


@pytest.mark.parametrize("fn", INT_QUOTIENTS)
def test_integer_division_stays_integer_as_pytorch(fn) -> None:
    """``idx // n`` of integer tensors is an integer tensor (an index), not a float one."""
    _same(fn(gg), fn(torch))


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.tensor([7, -7]) // 0,
        lambda lib: lib.tensor([7, -7]) // lib.tensor([1, 0]),
        lambda lib: lib.div(lib.tensor([7]), 0, rounding_mode="trunc"),
        lambda lib: lib.tensor([7, -7]) % 0,
        lambda lib: lib.remainder(lib.tensor([7, -7]), lib.tensor([0, 3])),
    ],
)
def test_integer_division_by_zero_raises_as_pytorch(fn) -> None:
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fn(torch)
    with pytest.raises(RuntimeError, match=r"ZeroDivisionError \(integer division by zero\)"):
        fn(gg)


def test_floor_division_of_two_bools_is_refused_as_pytorch() -> None:
    for lib in (torch, gg):
        with pytest.raises(NotImplementedError):
            lib.tensor([True, False]) // lib.tensor([True, True])


@pytest.mark.parametrize("op", ["//=", "%=", "**=", "&=", "|=", "^="])
def test_augmented_assignments_change_the_tensor_itself(op) -> None:
    """``x //= 3`` writes into ``x`` (and so into the tensor it is a row of), as PyTorch's does;
    it does not bind ``x`` to a new tensor."""
    results = []
    for lib in (torch, gg):
        base = lib.tensor([[7, -7, 6], [1, 2, 3]])
        row = base[0]
        alias = row
        scope = {"row": row}
        exec(f"row {op} 3", scope)
        assert scope["row"] is alias
        results.append(base.tolist())
    assert results[0] == results[1]


def test_pow_in_place_records_the_gradient() -> None:
    for lib in (torch, gg):
        w = lib.tensor([2.0, 3.0], requires_grad=True)
        h = w * 1
        h **= 2
        h.sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), [4.0, 6.0])


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.tensor([1, 2, -3]) << 2,
        lambda lib: lib.tensor([8, -8, 7]) >> 1,
        lambda lib: 1 << lib.tensor([1, 2]),
        lambda lib: lib.tensor([1], dtype=lib.int32) << lib.tensor([3]),
        lambda lib: lib.bitwise_left_shift(lib.tensor([1, 3], dtype=lib.uint8), 7),
        lambda lib: lib.tensor([1, -1]) << 64,  # past the width: 0, as PyTorch (C: undefined)
        lambda lib: lib.tensor([8, -8]) >> 70,  # -1 for a negative number
        lambda lib: lib.tensor([5, 6]).bitwise_right_shift(lib.tensor([1, 2])),
    ],
)
def test_bit_shifts_match_torch(fn) -> None:
    _same(fn(gg), fn(torch))


def test_bit_shifts_refuse_floats_and_shift_in_place() -> None:
    for lib in (gg, torch):
        with pytest.raises(NotImplementedError):
            lib.tensor([1.5]) << 1
        x = lib.tensor([1, 2])
        alias = x
        x <<= 3
        x >>= 1
        assert x is alias and x.tolist() == [4, 8]


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.clamp(lib.tensor([1, 5]), max=2.5),  # a float bound: the default float
        lambda lib: lib.tensor([1, 5]).clamp(min=1.5),
        lambda lib: lib.clamp(lib.tensor([True, False]), max=0.5),
        lambda lib: lib.clamp(lib.tensor([1, 5]), 0, 2),  # int bounds: still int
    ],
)
def test_clamp_of_integers_by_a_float_promotes_as_pytorch(fn) -> None:
    _same(fn(gg), fn(torch))


def test_python_float_as_dtype_is_a_double_as_pytorch() -> None:
    """``dtype=float`` is float64 in PyTorch (Python's float is a double), whatever the default."""
    for lib in (gg, torch):
        assert lib.zeros(2, dtype=float).dtype == lib.float64
        assert lib.tensor([1], dtype=float).dtype == lib.float64
        assert lib.ones(1).to(float).dtype == lib.float64
        assert lib.zeros(1, dtype=int).dtype == lib.int64
        assert lib.zeros(1, dtype=complex).dtype == lib.complex128


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.nn.functional.relu6(lib.tensor([-3, 2, 9])),  # ints stay ints
        lambda lib: lib.nn.functional.hardtanh(lib.tensor([-3, 0, 9], dtype=lib.int32)),
        lambda lib: lib.square(lib.tensor([True, False])),  # int64, not NumPy's int8
        lambda lib: lib.tensor([True, False]) ** 2,
        lambda lib: lib.sign(lib.tensor([True, False])),  # a bool is its own sign
        lambda lib: lib.sgn(lib.tensor([True, False])),
        lambda lib: lib.tensor([True, False]).sign(),
    ],
)
def test_integer_and_bool_activations_keep_pytorchs_dtypes(fn) -> None:
    _same(fn(gg), fn(torch))


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib: lib.tensor([1, 2]).div_(2),
        lambda lib: lib.tensor([1, 2]).add_(1.5),
        lambda lib: lib.tensor([1, 2]).mul_(0.5),
    ],
)
def test_in_place_float_result_into_an_int_tensor_is_refused_as_pytorch(fn) -> None:
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        fn(torch)
    with pytest.raises(RuntimeError, match=r"is floating-point and can't be cast .*int64"):
        fn(gg)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, m, x: lib.addcmul(x, x, x, value=np.float64(0.5)),
        lambda lib, m, x: lib.addcdiv(x, x, x + 1, value=np.float64(0.5)),
        lambda lib, m, x: x.clone().addcmul_(x, x, value=np.float32(2.0)),
        lambda lib, m, x: lib.where(m, np.float64(0.5), 0.0),
        lambda lib, m, x: lib.where(m, np.float64(0.5), np.float64(-1.0)),
        lambda lib, m, x: lib.where(m, x, np.float64(0.5)),
        lambda lib, m, x: lib.where(m, lib.arange(3), np.float64(0.5)),
        lambda lib, m, x: lib.where(m, np.int64(2), lib.arange(3, dtype=lib.int32)),
    ],
)
def test_numpy_scalars_are_weak_numbers_in_addcmul_and_where(make) -> None:
    """``np.float64`` values (``np.sqrt(d)``, a NumPy mean) count as Python numbers, as in
    PyTorch: they never turn a float32 result into float64."""
    ours = make(gg, gg.tensor([True, False, True]), gg.tensor([1.0, 2.0, 3.0]))
    theirs = make(torch, torch.tensor([True, False, True]), torch.tensor([1.0, 2.0, 3.0]))
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours._data, theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, x: lib.addmm(lib.zeros(1, 1), x.view(1, 3), x.view(3, 1), beta=np.float64(0.5)),
        lambda lib, x: lib.addmv(lib.zeros(1), x.view(1, 3), x, alpha=np.float64(0.5)),
        lambda lib, x: lib.addr(lib.zeros(3, 3), x, x, alpha=np.float64(0.5)),
        lambda lib, x: lib.baddbmm(
            lib.ones(1, 1, 1), x.view(1, 1, 3), x.view(1, 3, 1), beta=np.float64(2)
        ),
        lambda lib, x: lib.nn.functional.celu(x - 1, alpha=np.float64(0.5)),
        lambda lib, x: lib.nn.functional.threshold(x, np.float64(0.5), np.float64(9.0)),
        lambda lib, x: lib.nn.functional.threshold(x.clone(), 0.5, np.float64(9.0), inplace=True),
    ],
)
def test_numpy_scalar_coefficients_keep_float32(make) -> None:
    """alpha=/beta= and activation parameters given as NumPy doubles leave float32 float32."""
    ours, theirs = make(gg, gg.tensor([0.2, 0.7, 1.5])), make(torch, torch.tensor([0.2, 0.7, 1.5]))
    assert str(ours.dtype) == str(theirs.dtype) == "torch.float32"
    np.testing.assert_allclose(ours._data, theirs.numpy(), rtol=1e-6)
