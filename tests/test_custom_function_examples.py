"""PyTorch's own custom-Function examples, run unchanged on glassgrad and on torch, compared.

Each example below is source text in PyTorch's spelling (``torch.…``). It is executed twice: once
with ``torch`` bound to glassgrad (``import glassgrad as torch``) and once with the real torch;
outputs and gradients must agree in float64, and glassgrad's ``gradcheck``/``gradgradcheck``
must pass on the glassgrad version.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad.autograd.gradcheck import gradcheck, gradgradcheck

TOL = {"rtol": 1e-12, "atol": 1e-12}

# "Learning PyTorch with Examples": the custom ReLU and the Legendre polynomial P3.
TUTORIAL = """
class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)
"""

# "Extending PyTorch": LinearFunction (setup_context, needs_input_grad), MulConstant (a
# non-Tensor argument whose gradient is None), mark_non_differentiable, once_differentiable.
EXTENDING = """
Function = torch.autograd.Function  # (the docs import these; here `torch` is bound by exec)
once_differentiable = torch.autograd.function.once_differentiable


class LinearFunction(Function):
    @staticmethod
    def forward(input, weight, bias):
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def setup_context(ctx, inputs, output):
        input, weight, bias = inputs
        ctx.save_for_backward(input, weight, bias)

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


class MulConstant(Function):
    @staticmethod
    def forward(tensor, constant):
        return tensor * constant

    @staticmethod
    def setup_context(ctx, inputs, output):
        tensor, constant = inputs
        ctx.constant = constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None


class MyCube(Function):
    @staticmethod
    def forward(x):
        dx = 3 * x ** 2
        result = x ** 3
        return result, dx

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, = inputs
        result, dx = output
        ctx.save_for_backward(x, dx)

    @staticmethod
    def backward(ctx, grad_output, grad_dx):
        x, dx = ctx.saved_tensors
        result = grad_output * dx + grad_dx * 6 * x
        return result


class SplitSign(Function):
    # the positive part, and the sign as a non-differentiable second output
    @staticmethod
    def forward(ctx, x):
        sign = (x > 0).to(x.dtype)
        ctx.mark_non_differentiable(sign)
        ctx.save_for_backward(sign)
        return x * sign, sign

    @staticmethod
    @once_differentiable
    def backward(ctx, g1, g2):  # still receives g2 (zeros)
        sign, = ctx.saved_tensors
        return g1 * sign


class Floor(Function):
    @staticmethod
    def forward(ctx, x):
        out = x.floor()
        ctx.mark_non_differentiable(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return None


class SquareDetached(Function):
    # a backward using (x * x).detach(): right once, a constant under double backward
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return grad_output * 3 * (x * x).detach()


class SimpleFunc(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x)
        return x.clone(), x.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, g1, g2):
        x, = ctx.saved_tensors
        grad_input = torch.zeros_like(x)
        if g1 is not None:
            grad_input += g1
        if g2 is not None:
            grad_input += g2
        SEEN.append((g1 is None, g2 is None))
        return grad_input


class Inplace(Function):
    @staticmethod
    def forward(ctx, x):
        x.mul_(2)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        return grad_output * 2


# "Double Backward with Custom Functions": a backward that is itself a custom Function
def cube_forward(x):
    return x**3

def cube_backward(grad_out, x):
    return grad_out * 3 * x**2

def cube_backward_backward(grad_out, sav_grad_out, x):
    return grad_out * sav_grad_out * 6 * x

def cube_backward_backward_grad_out(grad_out, x):
    return grad_out * 3 * x**2


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return cube_forward(x)

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved_tensors
        return CubeBackward.apply(grad_out, x)


class CubeBackward(Function):
    @staticmethod
    def forward(ctx, grad_out, x):
        ctx.save_for_backward(x, grad_out)
        return cube_backward(grad_out, x)

    @staticmethod
    def backward(ctx, grad_out):
        x, sav_grad_out = ctx.saved_tensors
        dx = cube_backward_backward(grad_out, sav_grad_out, x)
        dgrad_out = cube_backward_backward_grad_out(grad_out, x)
        return dgrad_out, dx


# the newer style with forward mode: setup_context, save_for_forward and jvp
class Sin(Function):
    @staticmethod
    def forward(x):
        return x.sin()

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x.cos()

    @staticmethod
    def jvp(ctx, t):
        JVP_CALLS.append(t.shape)
        x, = ctx.saved_tensors
        return t * x.cos()
"""


def load(lib, source):
    """Run ``source`` with ``torch`` bound to ``lib``; its namespace."""
    ns = {"torch": lib, "SEEN": [], "JVP_CALLS": []}
    exec(compile(source, f"<{lib.__name__} example>", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def ours():
    return {**load(gg, TUTORIAL), **load(gg, EXTENDING)}


@pytest.fixture(scope="module")
def theirs():
    return {**load(torch, TUTORIAL), **load(torch, EXTENDING)}


@pytest.fixture(autouse=True)
def _reset(ours, theirs):
    for ns in (ours, theirs):
        ns["SEEN"].clear()
        ns["JVP_CALLS"].clear()


def pair(values, requires_grad=True):
    a = np.asarray(values, dtype=np.float64)
    return (
        gg.tensor(a, requires_grad=requires_grad),
        torch.tensor(a, requires_grad=requires_grad),
    )


def close(a, b):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **TOL)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def both(ours, theirs, name, *arrays, requires_grad=True, extra=()):
    """Apply example ``name`` to the same values in both libraries; the outputs and inputs."""
    gs = [gg.tensor(a, requires_grad=requires_grad) for a in arrays]
    ts = [torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    return ours[name].apply(*gs, *extra), theirs[name].apply(*ts, *extra), gs, ts


# ---- the tutorial --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["MyReLU", "LegendrePolynomial3"])
def test_tutorial_functions_match_torch(ours, theirs, name):
    out, ref, (x,), (tx,) = both(ours, theirs, name, rand(7))
    close(out, ref)
    assert repr(out.grad_fn).startswith(f"<glassgrad.autograd.function.{name}Backward object")
    assert out.grad_fn.name() == ref.grad_fn.name() == f"{name}Backward"
    assert f"grad_fn=<{name}Backward>" in repr(out)
    v = rand(7, seed=1)
    out.backward(gg.tensor(v))
    ref.backward(torch.tensor(v))
    close(x.grad, tx.grad)
    assert gradcheck(ours[name].apply, (gg.tensor(rand(5) + 0.05, requires_grad=True),))


def test_tutorial_training_loop_matches_torch(ours, theirs):
    # the tutorial's loop: fit y = a + b P3(c + d x) to sin(x), a few steps in float64
    results = []
    for lib, ns in ((gg, ours), (torch, theirs)):
        x = lib.linspace(-np.pi, np.pi, 200, dtype=lib.float64)
        y = lib.sin(x)
        a, b, c, d = (
            lib.full((), v, dtype=lib.float64, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3)
        )
        P3 = ns["LegendrePolynomial3"].apply
        for _ in range(20):
            y_pred = a + b * P3(c + d * x)
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with lib.no_grad():
                for p in (a, b, c, d):
                    p -= 5e-6 * p.grad
                    p.grad = None
        results.append([float(p.item()) for p in (a, b, c, d)] + [float(loss.item())])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10, atol=1e-12)


def test_tutorial_functions_pass_gradgradcheck(ours):
    x = gg.tensor(rand(4), requires_grad=True)
    assert gradgradcheck(ours["LegendrePolynomial3"].apply, (x,))


# ---- "Extending PyTorch" -------------------------------------------------------------------------


@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_function_matches_torch(ours, theirs, with_bias):
    arrays = [rand(4, 3), rand(2, 3, seed=1)] + ([rand(2, seed=2)] if with_bias else [])
    gs = [gg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    if not with_bias:
        gs.append(None)
        ts.append(None)
    out, ref = ours["LinearFunction"].apply(*gs), theirs["LinearFunction"].apply(*ts)
    close(out, ref)
    v = rand(4, 2, seed=3)
    out.backward(gg.tensor(v))
    ref.backward(torch.tensor(v))
    for g, t in zip(gs, ts):
        if t is not None:
            close(g.grad, t.grad)
    assert gradcheck(ours["LinearFunction"].apply, tuple(gs), eps=1e-6, atol=1e-4)
    assert gradgradcheck(ours["LinearFunction"].apply, tuple(gs))


def test_linear_function_needs_input_grad(ours, theirs):
    # only the weight requires grad: the others get no gradient, in both
    for lib, ns in ((gg, ours), (torch, theirs)):
        x = lib.tensor(rand(4, 3))
        w = lib.tensor(rand(2, 3, seed=1), requires_grad=True)
        b = lib.tensor(rand(2, seed=2))
        ns["LinearFunction"].apply(x, w, b).sum().backward()
        assert x.grad is None and b.grad is None and w.grad is not None


def test_linear_function_with_keyword_arguments_as_torch(ours, theirs):
    # with setup_context, torch binds keyword arguments to forward's parameters
    out, _, (x, w, b), (tx, tw, tb) = both(
        ours, theirs, "LinearFunction", rand(4, 3), rand(2, 3), rand(2)
    )
    out2 = ours["LinearFunction"].apply(x, weight=w, bias=b)
    ref2 = theirs["LinearFunction"].apply(tx, weight=tw, bias=tb)
    close(out2, ref2)
    close(out2, out)
    out2.sum().backward()
    ref2.sum().backward()
    close(b.grad, tb.grad)
    with pytest.raises(TypeError, match=r"LinearFunction\.apply.*unexpected keyword argument"):
        ours["LinearFunction"].apply(x, w, b, scale=2)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        theirs["LinearFunction"].apply(tx, tw, tb, scale=2)


def test_keyword_arguments_of_an_old_style_forward_count_as_inputs_as_torch():
    class Scale(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x, k=2.0):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None  # torch counts k=... as an input: two gradients

    class TorchScale(torch.autograd.Function):
        forward = staticmethod(Scale.forward)
        backward = staticmethod(Scale.backward)

    x, tx = pair([1.0, 2.0])
    out, ref = Scale.apply(x, k=3.0), TorchScale.apply(tx, k=3.0)
    close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    close(x.grad, tx.grad)


def test_mul_constant_matches_torch(ours, theirs):
    out, ref, (x,), (tx,) = both(ours, theirs, "MulConstant", rand(3), extra=(2.5,))
    close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    close(x.grad, tx.grad)
    fn = lambda t: ours["MulConstant"].apply(t, 2.5)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_two_outputs_match_torch_to_second_order(ours, theirs):
    (out, dx), (rout, rdx), (x,), (tx,) = both(ours, theirs, "MyCube", rand(4))
    close(out, rout)
    close(dx, rdx)
    assert out.grad_fn.name() == dx.grad_fn.name() == "MyCubeBackward"
    assert [type(n).__name__ for n, _ in out.grad_fn.next_functions] == ["AccumulateGrad"]
    (g,) = gg.autograd.grad(out.sum() + (dx * dx).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(rout.sum() + (rdx * rdx).sum(), tx, create_graph=True)
    close(g, tg)
    (h,) = gg.autograd.grad((g * g).sum(), x)
    (th,) = torch.autograd.grad((tg * tg).sum(), tx)
    close(h, th)
    both_outputs = lambda t: ours["MyCube"].apply(t)  # noqa: E731
    assert gradcheck(both_outputs, (x,))
    assert gradgradcheck(both_outputs, (x,))


def test_a_non_differentiable_output_like_torch(ours, theirs):
    (pos, sign), (rpos, rsign), (x,), (tx,) = both(ours, theirs, "SplitSign", rand(5))
    close(pos, rpos)
    assert sign.requires_grad == rsign.requires_grad is False
    assert pos.requires_grad == rpos.requires_grad is True
    pos.sum().backward()
    rpos.sum().backward()
    close(x.grad, tx.grad)


def test_mark_non_differentiable_single_output(ours, theirs):
    out, ref, _, _ = both(ours, theirs, "Floor", rand(3))
    close(out, ref)
    assert out.requires_grad == ref.requires_grad is False


def test_set_materialize_grads_false_gives_none_like_torch(ours, theirs):
    for ns, lib in ((ours, gg), (theirs, torch)):
        x = lib.tensor(rand(3), requires_grad=True)
        a, b = ns["SimpleFunc"].apply(x)
        a.sum().backward(retain_graph=True)  # b's gradient never arrives
        (a * 2 + b).sum().backward()
    assert ours["SEEN"] == theirs["SEEN"] == [(False, True), (False, False)]


def test_materialized_zeros_by_default(ours, theirs):
    seen = []

    def make(base):
        class Two(base):
            @staticmethod
            def forward(ctx, x):
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                seen.append(g2.detach().numpy().copy())
                return g1 * 2 + g2 * 3

        return Two

    x, tx = pair([1.0, 2.0])
    make(gg.autograd.Function).apply(x)[0].sum().backward()
    make(torch.autograd.Function).apply(tx)[0].sum().backward()
    np.testing.assert_array_equal(seen[0], seen[1])
    close(x.grad, tx.grad)


def test_detach_inside_backward_matches_torch_at_both_orders(ours, theirs):
    out, ref, (x,), (tx,) = both(ours, theirs, "SquareDetached", rand(4))
    (g,) = gg.autograd.grad(out.sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(ref.sum(), tx, create_graph=True)
    close(g, tg)
    assert g.requires_grad == tg.requires_grad is False  # (x * x).detach() cut the graph


def test_a_backward_that_is_itself_a_custom_function(ours, theirs):
    out, ref, (x,), (tx,) = both(ours, theirs, "Cube", rand(3))
    (g,) = gg.autograd.grad(out.sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(ref.sum(), tx, create_graph=True)
    close(g, tg)
    assert g.grad_fn.name() == tg.grad_fn.name() == "CubeBackwardBackward"
    (h,) = gg.autograd.grad(g.sum(), x)
    (th,) = torch.autograd.grad(tg.sum(), tx)
    close(h, th)
    assert gradgradcheck(ours["Cube"].apply, (x,))


def test_mark_dirty_like_torch(ours, theirs):
    results = []
    for lib, ns in ((gg, ours), (torch, theirs)):
        w = lib.tensor(rand(3), requires_grad=True)
        a = w * 1.0
        b = ns["Inplace"].apply(a)
        assert b is a and b.grad_fn.name() == "InplaceBackward"
        (b * b).sum().backward()
        results.append((b.detach().numpy().copy(), w.grad.numpy().copy()))
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            ns["Inplace"].apply(lib.tensor(rand(3), requires_grad=True))
    for ours_, theirs_ in zip(*results):
        np.testing.assert_allclose(ours_, theirs_, **TOL)


# ---- once_differentiable -------------------------------------------------------------------------


def test_once_differentiable_first_order_and_error_on_second(ours, theirs):
    out, ref, (x,), (tx,) = both(ours, theirs, "SimpleFunc", rand(3))
    v, tv = pair(rand(3, seed=1))
    (g,) = gg.autograd.grad(out[0], x, v, create_graph=True)
    (tg,) = torch.autograd.grad(ref[0], tx, tv, create_graph=True)
    close(g, tg)
    assert g.requires_grad and tg.requires_grad  # the incoming gradient requires grad
    with pytest.raises(RuntimeError, match=r"differentiate twice.*once_differentiable"):
        g.sum().backward()
    with pytest.raises(RuntimeError, match=r"differentiate twice.*once_differentiable"):
        tg.sum().backward()


def test_once_differentiable_backward_runs_under_no_grad():
    seen = []

    class Square(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @gg.autograd.function.once_differentiable
        def backward(ctx, g):
            seen.append(gg.is_grad_enabled())
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x, _ = pair([1.0, 2.0])
    (g,) = gg.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    assert seen == [False] and not g.requires_grad
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])


# ---- forward mode: a custom jvp ------------------------------------------------------------------


def test_custom_jvp_is_used_by_func_jvp(ours, theirs):
    # Sin's backward is once_differentiable: the double-vjp trick could not go through it, so
    # a correct answer (and the recorded calls) show that the Function's own jvp ran
    p, t = rand(4), rand(4, seed=1)
    out, jv = gg.func.jvp(ours["Sin"].apply, (gg.tensor(p),), (gg.tensor(t),))
    rout, rjv = torch.func.jvp(theirs["Sin"].apply, (torch.tensor(p),), (torch.tensor(t),))
    close(out, rout)
    close(jv, rjv)
    assert ours["JVP_CALLS"] == [(4,)]
    assert theirs["JVP_CALLS"] == [(4,)]


def test_custom_jvp_is_used_by_jacfwd(ours):
    p = rand(3)
    jac = gg.func.jacfwd(ours["Sin"].apply)(gg.tensor(p))
    np.testing.assert_allclose(jac.numpy(), np.diag(np.cos(p)), **TOL)
    assert len(ours["JVP_CALLS"]) == 3  # one jvp per column
    ref = torch.autograd.functional.jacobian(torch.sin, torch.tensor(p))
    np.testing.assert_allclose(jac.numpy(), ref.numpy(), **TOL)


def test_jvp_through_a_chain_with_a_custom_jvp():
    p, t = rand(3), rand(3, seed=2)

    def f(lib, sin):
        return lambda x: (sin(x * 2.0) * x).exp()

    ns = load(gg, EXTENDING)
    tns = load(torch, EXTENDING)
    _, jv = gg.func.jvp(f(gg, ns["Sin"].apply), (gg.tensor(p),), (gg.tensor(t),))
    _, rjv = torch.func.jvp(f(torch, tns["Sin"].apply), (torch.tensor(p),), (torch.tensor(t),))
    close(jv, rjv)
    assert ns["JVP_CALLS"] == [(3,)]


def test_without_jvp_forward_mode_differentiates_the_backward(ours, theirs):
    p, t = rand(3), rand(3, seed=1)
    _, jv = gg.func.jvp(ours["LegendrePolynomial3"].apply, (gg.tensor(p),), (gg.tensor(t),))
    x = torch.tensor(p)
    ref = 0.5 * (15 * x**2 - 3) * torch.tensor(t)
    np.testing.assert_allclose(jv.numpy(), ref.numpy(), **TOL)
