"""gradcheck / gradgradcheck: pass on correct rules, catch wrong ones and say where."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad.autograd import Function
from glassgrad.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck


def t64(values, requires_grad=True):
    return gg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ---- custom ops with deliberate mistakes ---------------------------------------------------------


class SquareTwiceTooBig(Function):
    """x**2 whose backward returns twice the right gradient."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * (2 * x * g)


class MulWrongInSecondArg(Function):
    """x * y with the gradient of y off by one."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g * (x + 1)


class CubeSavesIntermediate(Function):
    """x**3 saving x*x, a derived value: right at first order, wrong at second.

    Under create_graph the saved x*x is a constant, so d/dx of the rule misses a term.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x * x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (sq,) = ctx.saved_tensors
        return 3 * sq * g


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


class SquareDoublesSavedInPlace(Function):
    """x**2 whose backward doubles its saved copy of x in place: right once, wrong after."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x.clone())
        return x * x

    @staticmethod
    def backward(ctx, g):
        (c,) = ctx.saved_tensors
        # forbidden: modifies a saved tensor's memory behind the version counter's back
        c._data *= 2
        return g * c


# ---- correct ops pass ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, shapes",
    [
        (lambda x: (x * x.sin()).sum(), [(3,)]),
        (lambda x: x.exp() * 2, [()]),
        (lambda a, b: a @ b, [(2, 3), (3, 4)]),
        (lambda a, b: (a * b, a + b), [(2, 1), (1, 3)]),  # two outputs, broadcasting
        (lambda a, b: a.tanh(), [(2,), (2,)]),  # b unused: its gradient is zero
        (lambda x: x.reshape(6).sum(0), [(2, 3)]),
    ],
)
def test_correct_functions_pass(fn, shapes):
    rng = np.random.default_rng(0)
    xs = [t64(rng.standard_normal(s)) for s in shapes]
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


def test_a_single_tensor_is_accepted_as_inputs():
    assert gradcheck(lambda x: x.sin(), t64([0.1, 0.2]))


def test_non_tensor_and_non_differentiable_inputs_are_passed_through():
    x = t64([1.0, 2.0])
    mask = gg.tensor(np.array([1.0, 0.0]))  # does not require grad: not checked
    assert gradcheck(lambda x, m, k: x * m * k, (x, mask, 3.0))


def test_inputs_are_restored():
    x = t64([0.3, -0.7, 1.1])
    before = x._data.copy()
    gradcheck(lambda t: (t**3).sum(), (x,))
    gradcheck(lambda t: (t**3).sum(), (x,), fast_mode=True)
    np.testing.assert_array_equal(x._data, before)


def test_non_contiguous_input_is_perturbed_correctly():
    x = gg.tensor(np.arange(6.0).reshape(2, 3).T, requires_grad=True)  # a transposed view
    assert not x._data.flags.c_contiguous
    assert gradcheck(lambda t: t * t + t[0:1], (x,))


# ---- wrong rules are caught, and the report says where -------------------------------------------


def test_wrong_rule_is_caught_and_the_message_names_input_and_element():
    x = t64([1.0, 3.0, 2.0])
    with pytest.raises(GradcheckError) as info:
        gradcheck(SquareTwiceTooBig.apply, (x,))
    msg = str(info.value)
    assert "input 0" in msg
    assert "3 of 9 entries" in msg  # the diagonal is wrong, the zeros are right
    # the worst entry is at x[1] = 3: 2 * (2 * 3) = 12 against the true 6
    assert "d output[1] / d input 0[1]" in msg
    analytical = float(re.search(r"analytical (\S+)", msg).group(1))
    numerical = float(re.search(r"numerical +(\S+)", msg).group(1))
    assert analytical == pytest.approx(12.0, abs=1e-12)
    assert numerical == pytest.approx(6.0, abs=1e-6)


def test_torch_gradcheck_catches_the_same_mistake():
    class TorchSquareTwiceTooBig(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * (2 * x * g)

    x = torch.tensor([1.0, 3.0, 2.0], dtype=torch.float64, requires_grad=True)
    assert not torch.autograd.gradcheck(TorchSquareTwiceTooBig.apply, (x,), raise_exception=False)
    assert not gradcheck(SquareTwiceTooBig.apply, (t64([1.0, 3.0, 2.0]),), raise_exception=False)


def test_wrong_gradient_of_the_second_input_names_input_1():
    x, y = t64([[1.0, 2.0]]), t64([[0.5], [4.0]])  # broadcast to (2, 2)
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(2, 1\)\)") as info:
        gradcheck(MulWrongInSecondArg.apply, (x, y))
    assert "/ d input 1[" in str(info.value)


def test_raise_exception_false_returns_false():
    x = t64([1.0, 2.0])
    assert gradcheck(SquareTwiceTooBig.apply, (x,), raise_exception=False) is False
    assert gradgradcheck(CubeSavesIntermediate.apply, (x,), raise_exception=False) is False
    assert gradcheck(Cube.apply, (x,), raise_exception=False) is True


def test_wrong_second_derivative_is_caught_by_gradgradcheck_only():
    x = t64([0.5, -1.5, 2.0])
    assert gradcheck(CubeSavesIntermediate.apply, (x,))
    with pytest.raises(GradcheckError, match="gradgradcheck") as info:
        gradgradcheck(CubeSavesIntermediate.apply, (x,))
    msg = str(info.value)
    assert "input 0" in msg
    assert "(vᵀ dy/d input 0)" in msg  # the output being checked is a first derivative
    # and the correct rule passes both
    assert gradcheck(Cube.apply, (x,)) and gradgradcheck(Cube.apply, (x,))


def test_gradgradcheck_with_given_grad_outputs():
    x = t64([0.5, -1.5])
    v = gg.tensor([1.0, -2.0], dtype=gg.float64)
    assert gradgradcheck(Cube.apply, (x,), grad_outputs=v)
    with pytest.raises(GradcheckError):
        gradgradcheck(CubeSavesIntermediate.apply, (x,), grad_outputs=[v])


def test_a_rule_that_modifies_saved_arrays_is_not_reentrant():
    with pytest.raises(GradcheckError, match="not reentrant"):
        gradcheck(SquareDoublesSavedInPlace.apply, (t64([1.0, 2.0]),))


# ---- large inputs: random projections ------------------------------------------------------------


class CountingCalls:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


def test_large_input_uses_random_projections():
    x = t64(np.random.default_rng(0).uniform(0.5, 1.5, 1000))
    fn = CountingCalls(lambda t: (t * t.log()).sum())
    assert gradcheck(fn, (x,))
    # a full Jacobian would need 2 evaluations per element (2000); projections need a handful
    assert fn.calls < 20


def test_large_input_catches_a_wrong_rule():
    x = t64(np.random.default_rng(1).standard_normal(500))
    with pytest.raises(GradcheckError, match=r"directional derivative mismatch for input 0"):
        gradcheck(SquareTwiceTooBig.apply, (x,))


def test_many_outputs_compare_a_projected_gradient():
    # 300 outputs, 3 inputs: vᵀJ is compared element by element, so the element is named
    x = t64([1.0, 3.0, 2.0])
    fn = lambda t: (SquareTwiceTooBig.apply(t) * gg.ones((100, 1), dtype=gg.float64)).reshape(-1)  # noqa: E731
    with pytest.raises(GradcheckError, match=r"along a random output cotangent v") as info:
        gradcheck(fn, (x,))
    assert "input 0[" in str(info.value)
    assert gradcheck(lambda t: (t * t * gg.ones((100, 1), dtype=gg.float64)).reshape(-1), (x,))


def test_fast_mode_checks_projections_on_small_inputs_too():
    x = t64([1.0, 3.0])
    assert gradcheck(Cube.apply, (x,), fast_mode=True)
    with pytest.raises(GradcheckError, match="directional"):
        gradcheck(SquareTwiceTooBig.apply, (x,), fast_mode=True)


# ---- refusals ------------------------------------------------------------------------------------


def test_float32_inputs_are_refused():
    x = gg.tensor([1.0, 2.0], dtype=gg.float32, requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0 has dtype torch\.float32.*float64"):
        gradcheck(lambda t: t * t, (x,))
    with pytest.raises(GradcheckError, match="float64"):
        gradgradcheck(lambda t: t * t, (x,))


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * 2, (t64([1.0], requires_grad=False),))


def test_constant_output_has_zero_gradient():
    x = t64([1.0, 2.0])
    assert gradcheck(lambda t: gg.ones(2, dtype=gg.float64), (x,))
