"""``torch.autograd.forward_ad``: dual tensors, their tangents, and gradcheck's forward mode,
against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import glassgrad as gg
import glassgrad.autograd.forward_ad as gfw

RNG = np.random.default_rng(0)
P, T, W = (RNG.standard_normal((3, 4)) for _ in range(3))


def _net(lib, x, w):
    return (lib.tanh(x @ w.T) @ x).sum(0).log_softmax(0)


FUNCTIONS = {
    "square_plus_constant": lambda lib, x: x**2 + lib.tensor(W) ** 2,
    "matmul_tanh_softmax": lambda lib, x: _net(lib, x, lib.tensor(W)),
    "reduction": lambda lib, x: (x.exp() * x).sum(),
    "indexing_and_views": lambda lib, x: x[1:, ::2].reshape(-1).cumsum(0),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_tangents_match_torch(name):
    fn = FUNCTIONS[name]
    got = []
    for lib, fw in ((gg, gfw), (torch, tfw)):
        primal, tangent = lib.tensor(P), lib.tensor(T)
        with fw.dual_level():
            dual = fw.make_dual(primal, tangent)
            assert fw.unpack_dual(dual).tangent is tangent
            out = fw.unpack_dual(fn(lib, dual))
            got.append((out.primal.numpy(), out.tangent.numpy(), out.tangent.requires_grad))
        assert fw.unpack_dual(dual).tangent is None  # dropped with the level
    np.testing.assert_allclose(got[0][0], got[1][0], rtol=1e-12)
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-10, atol=1e-12)
    assert got[0][2] == got[1][2] is False


def test_a_tangent_in_another_layout_is_copied_and_plain_tensors_have_none():
    for lib, fw in ((gg, gfw), (torch, tfw)):
        t = lib.tensor(T)
        with fw.dual_level():
            dual = fw.make_dual(lib.tensor(P.T.copy()), t.T)
            kept = fw.unpack_dual(dual).tangent
            assert kept is not t and np.array_equal(kept.numpy(), T.T)
            plain = lib.tensor(W)
            assert fw.unpack_dual(plain).tangent is None
            assert fw.unpack_dual(plain * 2).tangent is None
        assert fw.unpack_dual(plain) == (plain, None)


def test_module_parameters_as_duals_and_functional_call_like_torch():
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    tangents = {"weight": RNG.random((3, 4)), "bias": RNG.random(3)}
    got = []
    for lib, fw in ((gg, gfw), (torch, tfw)):
        torch.manual_seed(0)
        lin = torch.nn.Linear(4, 3)
        model = lib.nn.Linear(4, 3)
        model.load_state_dict(
            {k: lib.tensor(v.detach().numpy()) for k, v in lin.state_dict().items()}
        )
        params = dict(model.named_parameters())
        tans = {k: lib.tensor(v, dtype=lib.float32) for k, v in tangents.items()}
        with fw.dual_level():
            for name, p in params.items():
                delattr(model, name)
                setattr(model, name, fw.make_dual(p, tans[name]))
            j1 = fw.unpack_dual(model(lib.tensor(x))).tangent
        fresh = lib.nn.Linear(4, 3)
        with fw.dual_level():
            duals = {k: fw.make_dual(p, tans[k]) for k, p in params.items()}
            j2 = fw.unpack_dual(lib.func.functional_call(fresh, duals, lib.tensor(x))).tangent
        got.append((j1.detach().numpy(), j2.detach().numpy()))
    np.testing.assert_allclose(got[0][0], got[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[0][1], got[1][0], rtol=1e-5, atol=1e-6)


def _exp_with_jvp(lib):
    class Exp(lib.autograd.Function):
        """Forward rule only: no backward."""

        @staticmethod
        def forward(ctx, x):
            result = lib.exp(x)
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, t):
            out = t * ctx.result
            del ctx.result
            return out

    return Exp


def test_a_custom_function_with_only_jvp_gives_its_tangent():
    got = []
    for lib, fw in ((gg, gfw), (torch, tfw)):
        primal = lib.tensor(P, requires_grad=True)
        with fw.dual_level():
            out = _exp_with_jvp(lib).apply(fw.make_dual(primal, lib.tensor(T)))
            got.append(fw.unpack_dual(out).tangent.detach().numpy())
    np.testing.assert_allclose(got[0], T * np.exp(P), rtol=1e-12)
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12)
    # torch.func.jvp too (PyTorch's asks such a Function for setup_context; glassgrad's runs it)
    _, tangent = gg.func.jvp(_exp_with_jvp(gg).apply, (gg.tensor(P),), (gg.tensor(T),))
    np.testing.assert_allclose(tangent.numpy(), T * np.exp(P), rtol=1e-12)


def test_tangents_keep_a_graph_when_the_primal_requires_grad():
    w = gg.ones(2, requires_grad=True)
    with gfw.dual_level():
        s = (gfw.make_dual(w, gg.full((2,), 3.0)) * gfw.make_dual(gg.ones(2), gg.ones(2))).sum()
        primal, tangent = gfw.unpack_dual(s)
        assert tangent.item() == 8.0 and tangent.requires_grad and primal.requires_grad
        tangent.backward()  # d/dw of (t_w * x + w * t_x) summed: t_x
        s.backward()
    assert w.grad.tolist() == [2.0, 2.0]


def test_gradcheck_checks_forward_mode():
    x = gg.tensor(P, requires_grad=True)
    assert gg.autograd.gradcheck(
        _exp_with_jvp(gg).apply,
        (x,),
        check_forward_ad=True,
        check_backward_ad=False,
        check_undefined_grad=False,
        check_batched_grad=False,
    )
    assert gg.autograd.gradcheck(lambda a: (a * a.sin()).sum(0), (x,), check_forward_ad=True)

    class WrongJvp(gg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a.sin()

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * a.cos()

        @staticmethod
        def jvp(ctx, t):
            return 2 * t

    assert gg.autograd.gradcheck(WrongJvp.apply, (x,))
    with pytest.raises(gg.autograd.GradcheckError, match="forward-mode \\(jvp\\) mismatch"):
        gg.autograd.gradcheck(WrongJvp.apply, (x,), check_forward_ad=True)
    with pytest.raises(ValueError, match="nothing to check"):
        gg.autograd.gradcheck(WrongJvp.apply, (x,), check_backward_ad=False)


def test_dual_tensor_errors_like_torch():
    with pytest.raises(RuntimeError, match="no level exists, make sure to enter_dual_level"):
        gfw.make_dual(gg.ones(2), gg.ones(2))
    with gfw.dual_level():
        with pytest.raises(RuntimeError, match=r"Tensor is of size \[2\] while the given forward"):
            gfw.make_dual(gg.ones(2), gg.ones(3))
        with pytest.raises(ValueError, match=r"floating point or complex, but got: torch\.int64"):
            gfw.make_dual(gg.ones(2, dtype=gg.int64), gg.ones(2))
        with pytest.raises(RuntimeError, match="current level is not valid"):
            gfw.enter_dual_level()
    with pytest.raises(RuntimeError, match="not the last one"):
        gfw.exit_dual_level()
