"""Users' own differentiable ops: ``Function`` subclasses with PyTorch's contract, checked on torch.

As in PyTorch, ``forward`` receives the Tensors it is given (with recording off) and returns a
Tensor; ``backward`` receives Tensors and ``ctx.saved_tensors`` are Tensors. Under
``create_graph=True`` the backward runs with grad mode on, so a rule written with Tensor ops (or
NumPy functions, which dispatch to glassgrad on Tensors) is differentiable again.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad.autograd import Function
from glassgrad.autograd.gradcheck import gradcheck, gradgradcheck

TOL = {"rtol": 1e-12, "atol": 1e-12}


def pair(values, requires_grad=True):
    """The same float64 values as a glassgrad and a torch tensor."""
    a = np.asarray(values, dtype=np.float64)
    return (
        gg.tensor(a, requires_grad=requires_grad),
        torch.tensor(a, requires_grad=requires_grad),
    )


def close(ours, theirs):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL)


# ---- a custom op with everything a ctx offers, twice: glassgrad and torch ------------------------


class ScaledPower(Function):
    """k * x**p * y, with p and k plain Python numbers."""

    seen: ClassVar[list] = []  # what the rules received, for the tests to inspect

    @staticmethod
    def forward(ctx, x, y, p, k):
        ScaledPower.seen.append(("forward", type(x), type(y), type(p), gg.is_grad_enabled()))
        ctx.save_for_backward(x, y)
        ctx.p, ctx.k = p, k  # extra attributes: a subclass without __slots__ has a __dict__
        return k * x**p * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        ScaledPower.seen.append(
            ("backward", type(g), type(x), ctx.needs_input_grad, gg.is_grad_enabled())
        )
        p, k = ctx.p, ctx.k
        dx = k * p * x ** (p - 1) * y * g if ctx.needs_input_grad[0] else None
        dy = k * x**p * g if ctx.needs_input_grad[1] else None
        return dx, dy, None, None


class TorchScaledPower(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, p, k):
        ctx.save_for_backward(x, y)
        ctx.p, ctx.k = p, k
        return k * x**p * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        p, k = ctx.p, ctx.k
        dx = k * p * x ** (p - 1) * y * g if ctx.needs_input_grad[0] else None
        dy = k * x**p * g if ctx.needs_input_grad[1] else None
        return dx, dy, None, None


@pytest.fixture(autouse=True)
def _clear_seen():
    ScaledPower.seen.clear()


def test_forward_and_backward_match_torch():
    x, tx = pair([0.5, 1.5, 2.0])
    y, ty = pair([[1.0], [-2.0]])  # broadcasts against x
    out = ScaledPower.apply(x, y, 3, 0.5)
    ref = TorchScaledPower.apply(tx, ty, 3, 0.5)
    close(out, ref)
    assert out.grad_fn.name() == "ScaledPowerBackward"  # torch: "TorchScaledPowerBackward"
    assert ref.grad_fn.name() == "TorchScaledPowerBackward"
    v = np.random.default_rng(0).standard_normal(ref.shape)
    out.backward(gg.tensor(v))
    ref.backward(torch.tensor(v))
    close(x.grad, tx.grad)
    close(y.grad, ty.grad)  # the engine summed the broadcast gradient back to y's shape


def test_forward_gets_tensors_backward_gets_tensors():
    x, _ = pair([1.0, 2.0])
    y, _ = pair([3.0, 4.0], requires_grad=False)
    ScaledPower.apply(x, y, 2, 1.0).sum().backward()
    fwd, bwd = ScaledPower.seen
    # the caller's Tensors, 2 passed as is; recording is off inside forward, as in torch
    assert fwd == ("forward", gg.Tensor, gg.Tensor, int, False)
    assert bwd[:3] == ("backward", gg.Tensor, gg.Tensor)
    assert bwd[3] == (True, False, False, False)  # needs_input_grad: only x requires grad
    assert bwd[4] is False  # backward runs under no_grad without create_graph
    assert y.grad is None


def test_forward_sees_the_callers_tensors():
    seen = []

    class Spy(Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x, _ = pair([1.0, 2.0])
    Spy.apply(x)
    assert seen[0] is x


def test_needs_input_grad_matches_torch():
    for x_grad, y_grad in [(True, False), (False, True), (True, True)]:
        x, tx = pair([1.0, 2.0], x_grad)
        y, ty = pair([3.0, 4.0], y_grad)
        ScaledPower.apply(x, y, 2, 1.0).sum().backward()
        TorchScaledPower.apply(tx, ty, 2, 1.0).sum().backward()
        assert ScaledPower.seen[-1][3] == (x_grad, y_grad, False, False)
        for ours, theirs in [(x, tx), (y, ty)]:
            assert (ours.grad is None) == (theirs.grad is None)
            if theirs.grad is not None:
                close(ours.grad, theirs.grad)


def test_no_graph_without_grad():
    x, _ = pair([1.0, 2.0], requires_grad=False)
    out = ScaledPower.apply(x, x, 2, 1.0)
    assert out.grad_fn is None and not out.requires_grad
    x, _ = pair([1.0, 2.0])
    with gg.no_grad():
        out = ScaledPower.apply(x, x, 2, 1.0)
    assert out.grad_fn is None and not out.requires_grad
    np.testing.assert_allclose(out._data, [1.0, 8.0], **TOL)


def test_returning_none_for_an_input_gives_no_gradient_like_torch():
    class Half(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, None

    class TorchHalf(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, None

    x, tx = pair([1.0, 2.0])
    y, ty = pair([3.0, 4.0])
    Half.apply(x, y).sum().backward()
    TorchHalf.apply(tx, ty).sum().backward()
    close(x.grad, tx.grad)
    assert y.grad is None and ty.grad is None


def test_float32_stays_float32():
    x = gg.tensor([1.0, 2.0], dtype=gg.float32, requires_grad=True)
    y = gg.tensor([3.0, 4.0], dtype=gg.float32)
    out = ScaledPower.apply(x, y, 2, 0.5)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


# ---- mistakes in a user's rule give clear errors -------------------------------------------------


class TooManyGrads(Function):
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return 2 * g, g


class WrongShapeGrad(Function):
    @staticmethod
    def forward(ctx, x):
        return x.sum()

    @staticmethod
    def backward(ctx, g):
        return gg.ones(5, dtype=gg.float64)


def test_wrong_number_of_gradients():
    x, _ = pair([1.0, 2.0])
    with pytest.raises(
        RuntimeError,
        match=r"TooManyGradsBackward returned an incorrect number of gradients "
        r"\(expected 1, got 2\)",
    ):
        TooManyGrads.apply(x).sum().backward()


def test_wrong_number_of_gradients_torch_also_refuses():
    class TorchTooMany(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return 2 * g, g

    _, tx = pair([1.0, 2.0])
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TorchTooMany.apply(tx).sum().backward()


def test_wrong_gradient_shape():
    x, _ = pair([1.0, 2.0])
    with pytest.raises(
        RuntimeError, match=r"WrongShapeGradBackward.*shape \(5,\) for input 0.*shape \(2,\)"
    ):
        WrongShapeGrad.apply(x).backward()


def test_non_float_output_does_not_require_grad_like_torch():
    class Positive(Function):
        @staticmethod
        def forward(ctx, x):
            return x > 0

        @staticmethod
        def backward(ctx, g):
            return None

    class TorchPositive(torch.autograd.Function):
        forward = staticmethod(Positive.forward)
        backward = staticmethod(Positive.backward)

    x, tx = pair([1.0, -2.0])
    out, ref = Positive.apply(x), TorchPositive.apply(tx)
    assert out.requires_grad == ref.requires_grad is False
    assert out.grad_fn is None and ref.grad_fn is None
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_saved_tensors_are_released_after_backward():
    x, _ = pair([1.0, 2.0])
    out = ScaledPower.apply(x, x, 2, 1.0).sum()
    out.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        out.backward()


def test_modifying_a_saved_input_in_place_is_detected():
    w, _ = pair([1.0, 2.0])
    x = w * 1.0  # a non-leaf, so it may be modified in place
    out = ScaledPower.apply(x, x, 2, 1.0).sum()
    x.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


# ---- higher order: a rule written with NumPy functions or glassgrad ops differentiates again -----


class Sinc(Function):
    """sin(x) / x with NumPy functions, which dispatch to glassgrad ops on Tensors."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x) / x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (np.cos(x) * x - np.sin(x)) / (x * x)


class SincGG(Function):
    """The same rule spelled with glassgrad ops."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return gg.sin(x) / x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (gg.cos(x) * x - gg.sin(x)) / (x * x)


class ExpSavesOutput(Function):
    """exp saving its output: under create_graph the output comes back attached to this node."""

    @staticmethod
    def forward(ctx, x):
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class TorchSinc(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x) / x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (torch.cos(x) * x - torch.sin(x)) / (x * x)


@pytest.mark.parametrize("op", [Sinc, SincGG], ids=["numpy_rule", "glassgrad_rule"])
def test_double_backward_matches_torch(op):
    x, tx = pair([0.5, -1.3, 2.2])
    (g,) = gg.autograd.grad(op.apply(x).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(TorchSinc.apply(tx).sum(), tx, create_graph=True)
    close(g, tg)
    assert g.requires_grad
    (h,) = gg.autograd.grad((g * g).sum(), x)
    (th,) = torch.autograd.grad((tg * tg).sum(), tx)
    close(h, th)


def test_backward_sees_tensors_under_create_graph():
    x, _ = pair([1.0, 2.0])
    gg.autograd.grad(ScaledPower.apply(x, x, 3, 1.0).sum(), x, create_graph=True)
    kind, g_type, x_type, _, grad_mode = ScaledPower.seen[-1]
    assert (kind, g_type, x_type, grad_mode) == ("backward", gg.Tensor, gg.Tensor, True)


def test_saved_output_is_reconnected_under_create_graph():
    x, tx = pair([0.3, -0.4])
    (g,) = gg.autograd.grad(ExpSavesOutput.apply(x).sum(), x, create_graph=True)
    (h,) = gg.autograd.grad(g.sum(), x)
    (tg,) = torch.autograd.grad(torch.exp(tx).sum(), tx, create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), tx)
    close(g, tg)
    close(h, th)


def test_custom_ops_pass_gradcheck_and_gradgradcheck():
    x, _ = pair([0.5, -1.3, 2.2])
    y, _ = pair([[0.7], [1.1]])
    for op in (Sinc, SincGG, ExpSavesOutput):
        assert gradcheck(op.apply, (x,))
        assert gradgradcheck(op.apply, (x,))
    fn = lambda a, b: ScaledPower.apply(a, b, 3, 0.5)  # noqa: E731
    assert gradcheck(fn, (x, y))
    assert gradgradcheck(fn, (x, y))


def test_custom_op_hooks_and_graph_introspection():
    x, _ = pair([1.0, 2.0])
    out = ScaledPower.apply(x, x, 2, 1.0)
    seen = []
    out.grad_fn.register_hook(lambda g: seen.append(g.shape))
    assert out.grad_fn.name() == "ScaledPowerBackward"
    assert [type(n).__name__ for n, _ in out.grad_fn.next_functions] == [
        "AccumulateGrad",
        "AccumulateGrad",
        "NoneType",
        "NoneType",
    ]
    out.sum().backward()
    assert seen == [(2,)]


def test_saved_tensors_when_nothing_was_saved_under_create_graph():
    # regression: saved_tensors under create_graph once failed when forward saved nothing
    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            assert ctx.saved_tensors == ()
            return 2 * g

    x, _ = pair([1.0, 2.0])
    (g,) = gg.autograd.grad(Twice.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g._data, [2.0, 2.0])


# ---- what forward sees ---------------------------------------------------------------------------


def test_needs_input_grad_in_forward_when_nothing_is_recorded():
    seen = []

    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(ctx.needs_input_grad[0])
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    Twice.apply(gg.tensor([1.0]))
    Twice.apply(gg.tensor([1.0], requires_grad=True))
    assert seen == [False, True]


def test_mark_non_differentiable_like_torch():
    class Floor(Function):
        @staticmethod
        def forward(ctx, x):
            out = np.floor(x)
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, g):
            return None

    out = Floor.apply(gg.tensor([1.5], requires_grad=True))
    assert not out.requires_grad  # as torch: a non-differentiable output does not require grad


def test_needs_input_grad_under_no_grad_is_as_torch():
    seen = []

    def make(base):
        class Twice(base):
            @staticmethod
            def forward(ctx, x):
                seen.append(ctx.needs_input_grad)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        return Twice

    x, tx = pair([1.0])
    with gg.no_grad():
        make(Function).apply(x)
    with torch.no_grad():
        make(torch.autograd.Function).apply(tx)
    assert seen[0] == seen[1] == (True,)


# ---- more of PyTorch's contract, and clear errors ------------------------------------------------


def test_forward_returning_a_numpy_array_is_wrapped():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x.detach().numpy() * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x, _ = pair([1.0, 2.0])
    out = Double.apply(x)
    assert isinstance(out, gg.Tensor) and out.grad_fn.name() == "DoubleBackward"
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_forward_returning_something_else_names_the_function():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return 3

        @staticmethod
        def backward(ctx, g):
            return g

    x, _ = pair([1.0])
    with pytest.raises(TypeError, match=r"Bad\.forward must return a Tensor.*got int"):
        Bad.apply(x)


def test_too_few_gradients_as_torch():
    class Few(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x, _ = pair([1.0, 2.0])
    y, _ = pair([3.0, 4.0])
    with pytest.raises(RuntimeError, match=r"FewBackward.*incorrect number.*expected 2, got 1"):
        Few.apply(x, y).sum().backward()


def test_extra_none_gradients_are_ignored_as_torch():
    class Extra(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    x, _ = pair([1.0, 2.0])
    Extra.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_a_gradient_for_a_non_tensor_argument_is_refused_as_torch():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    x, _ = pair([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"ScaleBackward.*position 2.*not a Tensor"):
        Scale.apply(x, 2.0).sum().backward()


def test_gradients_may_be_arrays_or_numbers():
    class Twice(Function):
        @staticmethod
        def forward(ctx, x, y):
            return 2 * x + 3 * y

        @staticmethod
        def backward(ctx, g):
            return 2 * g.numpy(), 3.0  # an array, and a number (filled to y's shape)

    x, _ = pair([1.0, 2.0])
    y, _ = pair([[1.0, 1.0], [2.0, 2.0]])
    Twice.apply(x, y).backward(gg.ones(2, 2, dtype=gg.float64))
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0])  # summed over the broadcast rows
    np.testing.assert_allclose(y.grad.numpy(), np.full((2, 2), 3.0))


def test_a_gradient_of_another_type_names_the_function():
    class Weird(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return "two"

    x, _ = pair([1.0])
    with pytest.raises(TypeError, match=r"WeirdBackward.*type str for input 0"):
        Weird.apply(x).sum().backward()


def test_missing_backward_and_base_apply():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x, _ = pair([1.0])
    with pytest.raises(NotImplementedError, match="implement either the backward or vjp"):
        NoBackward.apply(x).sum().backward()
    with pytest.raises(TypeError, match="subclass of Function"):
        Function.apply(x)


def test_save_for_backward_takes_only_tensors_as_torch():
    class SavesNumber(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x, _ = pair([1.0])
    with pytest.raises(TypeError, match=r"save_for_backward can only save tensors.*argument 1"):
        SavesNumber.apply(x)


def test_saved_intermediate_and_none():
    # a saved intermediate comes back as it was (a constant); None stays None, as in torch
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            sq = x * x
            ctx.save_for_backward(sq, None)
            return sq * x

        @staticmethod
        def backward(ctx, g):
            sq, nothing = ctx.saved_tensors
            assert nothing is None
            return 3 * sq * g

    x, _ = pair([1.0, 2.0])
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])


def test_hessian_of_a_custom_function_matches_torch():
    class TorchSinc2(torch.autograd.Function):
        forward = staticmethod(TorchSinc.forward)
        backward = staticmethod(TorchSinc.backward)

    p = np.array([0.5, -1.3, 2.2])
    h = gg.func.hessian(lambda t: SincGG.apply(t).sum())(gg.tensor(p))
    th = torch.autograd.functional.hessian(lambda t: TorchSinc2.apply(t).sum(), torch.tensor(p))
    np.testing.assert_allclose(h.numpy(), th.numpy(), **TOL)


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
def test_anomaly_mode_names_the_custom_function():
    class NaNGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x, _ = pair([1.0])
    with gg.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="NaNGradBackward"):
        NaNGrad.apply(x).sum().backward()
