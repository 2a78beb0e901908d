"""Users' own differentiable ops: ``Function`` subclasses, PyTorch-style, checked against torch.

In glassgrad a user's ``forward`` receives NumPy arrays (Tensor arguments unwrapped, everything else
as passed) and returns an array; ``backward`` receives the gradient as an array, or as a Tensor
under ``create_graph=True`` (and then ``saved_tensors`` are Tensors too), so a rule written with
NumPy functions and operators is differentiable again.
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
        ScaledPower.seen.append(("forward", type(x), type(y), type(p)))
        ctx.save_for_backward(x, y)
        ctx.p, ctx.k = p, k  # extra attributes: a subclass without __slots__ has a __dict__
        return k * x**p * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        ScaledPower.seen.append(("backward", type(g), type(x), ctx.needs_input_grad))
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
    assert out.grad_fn is not None and isinstance(out.grad_fn, ScaledPower)
    v = np.random.default_rng(0).standard_normal(ref.shape)
    out.backward(gg.tensor(v))
    ref.backward(torch.tensor(v))
    close(x.grad, tx.grad)
    close(y.grad, ty.grad)  # the engine summed the broadcast gradient back to y's shape


def test_forward_gets_arrays_backward_gets_arrays():
    x, _ = pair([1.0, 2.0])
    y, _ = pair([3.0, 4.0], requires_grad=False)
    ScaledPower.apply(x, y, 2, 1.0).sum().backward()
    fwd, bwd = ScaledPower.seen
    assert fwd == ("forward", np.ndarray, np.ndarray, int)  # tensors unwrapped, 2 passed as is
    assert bwd[:3] == ("backward", np.ndarray, np.ndarray)
    assert bwd[3] == (True, False, False, False)  # needs_input_grad: only x requires grad
    assert y.grad is None


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
        return np.sum(x)

    @staticmethod
    def backward(ctx, g):
        return np.ones(5)


def test_wrong_number_of_gradients():
    x, _ = pair([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"TooManyGradsBackward.*returned 2 gradients.*1 input"):
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
    with pytest.raises(RuntimeError, match=r"WrongShapeGradBackward.*shape \(5,\).*shape \(2,\)"):
        WrongShapeGrad.apply(x).backward()


def test_non_float_output_is_refused():
    class Positive(Function):
        @staticmethod
        def forward(ctx, x):
            return x > 0

        @staticmethod
        def backward(ctx, g):
            return None

    x, _ = pair([1.0, -2.0])
    with pytest.raises(TypeError, match=r"Positive.*dtype bool"):
        Positive.apply(x)


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
    """sin(x) / x; the backward uses NumPy functions (dispatched to glassgrad on Tensors)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x) / x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (np.cos(x) * x - np.sin(x)) / (x * x)


class SincGG(Function):
    """The same rule spelled with glassgrad ops, which accept arrays and Tensors alike."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x) / x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (gg.cos(x) * x - gg.sin(x)) / (x * x)


class ExpSavesOutput(Function):
    """exp saving its output: under create_graph the output comes back attached to this node."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
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
    kind, g_type, x_type, _ = ScaledPower.seen[-1]
    assert (kind, g_type, x_type) == ("backward", gg.Tensor, gg.Tensor)


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


# ---- known gaps in the engine (each marker goes once the engine is fixed) ------------------------


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


def test_forward_returning_a_tuple_is_not_silently_stacked():
    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return 2 * g1 + 3 * g2

    with pytest.raises((TypeError, RuntimeError, NotImplementedError)):
        Two.apply(gg.tensor([1.0], requires_grad=True))
