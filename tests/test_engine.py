"""The engine: graph recording, the backward walk, accumulation, retain_graph, hooks, grad modes,
version counters and the errors users see. PyTorch is the reference wherever it has an answer."""

from __future__ import annotations

import re
import sys
import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg


def both(values, dtype="float64"):
    """The same leaf in glassgrad and in torch."""
    arr = np.asarray(values, dtype=dtype)
    return gg.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


# ---- graph shapes ---------------------------------------------------------------------------


def test_diamond_graph_sums_both_paths() -> None:
    (a, ta) = both([0.5, -1.5, 2.0])
    for x in (a, ta):
        b = x.sin()
        c = x * 3.0
        d = (b * c + b.exp()).sum()
        d.backward()
    np.testing.assert_allclose(a.grad._data, ta.grad.numpy(), rtol=1e-12)


def test_tensor_reused_many_times() -> None:
    x = gg.tensor(1.7, dtype=gg.float64, requires_grad=True)
    y = x * x * x * x
    y.backward()
    assert x.grad.item() == pytest.approx(4 * 1.7**3)


def test_chain_100000_ops_deep_needs_no_recursion() -> None:
    x = gg.tensor(1.0, dtype=gg.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    assert sys.getrecursionlimit() < 200_000
    y.backward()
    assert x.grad.item() == 1.0


def test_only_paths_that_need_gradients_are_recorded() -> None:
    w = gg.ones(3, requires_grad=True)
    c = gg.ones(3) * 2 + 1  # constants: no graph at all
    assert c.grad_fn is None and not c.requires_grad
    y = (w * c).sum()
    assert y.grad_fn.name() == "SumBackward0"
    # next_functions has one entry per forward argument; non-tensor ones (dims) are None
    nodes = [n for n, _ in y.grad_fn.next_functions if n is not None]
    assert [n.name() for n in nodes] == ["MulBackward0"]
    assert [n is None or n.name() for n, _ in nodes[0].next_functions] == ["AccumulateGrad", True]


def test_repr_shows_grad_fn_like_pytorch() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(gg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(gg.tensor([1.5], dtype=gg.float64)) == "tensor([1.5000], dtype=torch.float64)"


# ---- accumulation and .grad -------------------------------------------------------------------


def test_leaf_gradients_accumulate_across_backward_calls() -> None:
    x, tx = both([1.0, 2.0])
    for _ in range(3):
        (x * x).sum().backward()
        (tx * tx).sum().backward()
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy())
    np.testing.assert_allclose(x.grad._data, [6.0, 12.0])


def test_gradients_of_two_leaves_never_share_memory() -> None:
    x = gg.zeros(3, requires_grad=True)
    y = gg.zeros(3, requires_grad=True)
    (x + y).backward(gg.ones(3))
    x.grad._data[0] = 100.0
    assert y.grad._data[0] == 1.0
    g = gg.ones(3)
    z = gg.zeros(3, requires_grad=True)
    (z * 1.0).backward(g)
    g._data[1] = 7.0  # the user's gradient argument is not aliased into .grad either
    (z + 0.0).backward(g)
    assert z.grad.tolist() == [2.0, 8.0, 2.0]


def test_non_leaf_grad_is_none_with_a_warning_unless_retained() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = x * 3
    z.retain_grad()
    (y * z).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf"):
        assert y.grad is None
    np.testing.assert_allclose(z.grad._data, y._data)
    assert x.is_leaf and not y.is_leaf


def test_backward_with_inputs_only_fills_those() -> None:
    a = gg.tensor(2.0, requires_grad=True)
    b = gg.tensor(3.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 3.0 and b.grad is None


def test_autograd_grad_returns_gradients_and_leaves_dot_grad_alone() -> None:
    x = gg.tensor([1.0, -2.0], requires_grad=True)
    h = x * x
    unused = gg.tensor(1.0, requires_grad=True)
    dx, dh = gg.autograd.grad(h.sum() * 2, [x, h], retain_graph=True)
    np.testing.assert_allclose(dx._data, [4.0, -8.0])
    np.testing.assert_allclose(dh._data, [2.0, 2.0])
    assert x.grad is None
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        gg.autograd.grad(h.sum(), [x, unused], retain_graph=True)
    dx2, du = gg.autograd.grad(h.sum(), [x, unused], allow_unused=True)
    assert du is None and dx2.tolist() == [2.0, -4.0]


# ---- retain_graph ----------------------------------------------------------------------------


def test_second_backward_through_freed_graph_says_retain_graph() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward() -> None:
    x, tx = both([1.0, 2.0])
    for t in (x, tx):
        y = (t.exp() * t).sum()
        y.backward(retain_graph=True)
        y.backward()
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy())


def test_saved_tensors_are_released_after_backward() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node._saved is None


# ---- hooks -----------------------------------------------------------------------------------


def test_hooks_on_leaf_and_non_leaf_can_replace_the_gradient() -> None:
    x, tx = both([1.0, 2.0, 3.0])
    seen = []
    for t in (x, tx):
        h = t * 2
        h.register_hook(lambda g: g * 10)
        t.register_hook(lambda g: seen.append(g.tolist()))
        (h * h).sum().backward()
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy())
    assert seen[0] == seen[1]


def test_hook_handle_removes_the_hook() -> None:
    x = gg.tensor([1.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    (x * 5).sum().backward()
    assert x.grad.item() == 5.0


def test_hook_returning_the_wrong_shape_is_an_error() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: gg.ones(3))
    with pytest.raises(RuntimeError, match=r"shape \(3,\), expected shape \(2,\)"):
        y.sum().backward()


# ---- grad modes ------------------------------------------------------------------------------


def test_no_grad_records_and_saves_nothing() -> None:
    w = gg.ones(2, requires_grad=True)
    with gg.no_grad():
        y = (w * w).exp()
        assert not gg.is_grad_enabled()
        with gg.enable_grad():
            z = w * 3
    assert gg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert z.grad_fn is not None


def test_grad_mode_decorators_and_set_grad_enabled() -> None:
    @gg.no_grad()
    def infer(t):
        return t * 2

    w = gg.ones(2, requires_grad=True)
    assert infer(w).grad_fn is None
    with gg.set_grad_enabled(False):
        assert (w * 2).grad_fn is None
    assert gg.is_grad_enabled()
    gg.set_grad_enabled(False)
    assert not gg.is_grad_enabled()
    gg.set_grad_enabled(True)


# ---- in-place ops and version counters -------------------------------------------------------


def test_modifying_a_saved_tensor_fails_at_backward_naming_op_and_versions() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1.0
    y = a * a  # MulBackward0 saves a at version 0
    with gg.no_grad():
        a.add_(1)
    message = re.escape("saved by MulBackward0 is at version 1; expected version 0")
    with pytest.raises(RuntimeError, match=message):
        y.sum().backward()


def test_modifying_a_saved_output_in_place_fails_like_pytorch() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1)  # recorded in-place op on a non-leaf: exp's saved output is now stale
    with pytest.raises(RuntimeError, match="ExpBackward0"):
        y.sum().backward()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = tx.exp()
    ty.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()


def test_views_share_the_version_counter() -> None:
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    a = x * 1.0
    v = a.reshape(4)
    y = (a * a).sum()
    with gg.no_grad():
        v.mul_(2)
    assert a._version == v._version == 1
    with pytest.raises(RuntimeError, match="inplace operation"):
        y.backward()


def test_recorded_in_place_ops_give_pytorch_gradients() -> None:
    x, tx = both([1.0, -2.0, 3.0])
    for t in (x, tx):
        y = t * 2
        y.mul_(t)
        y.add_(t, alpha=0.5)
        y.sub_(1.0)
        y.div_(2.0)
        y.clamp_(-2.0, 5.0)
        y.sum().backward()
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy())


def test_in_place_on_a_leaf_that_requires_grad_is_refused() -> None:
    w = gg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w += 1
    with gg.no_grad():
        w.sub_(gg.ones(2), alpha=0.5)
        w.zero_()
        w.fill_(3.0)
        w.copy_(gg.tensor([1.0, 2.0]))
    assert w.tolist() == [1.0, 2.0] and w._version == 4


# ---- bad input -------------------------------------------------------------------------------


def test_backward_on_non_scalar_needs_a_gradient() -> None:
    y = gg.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*shape \(2, 3\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"grad_output has a shape of \(3,\).*\(2, 3\)"):
        y.backward(gg.ones(3))


def test_integer_tensors_cannot_require_grad() -> None:
    with pytest.raises(RuntimeError, match=r"floating point dtype.*torch\.int64"):
        gg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        gg.arange(3).requires_grad_()


def test_backward_of_something_without_graph_explains() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        gg.ones(1).sum().backward()


def test_shapes_that_do_not_broadcast_name_the_op_and_shapes() -> None:
    msg = r"add: the shapes of its inputs, \(2, 3\) \(float32\) and \(4,\) \(float32\), do not"
    with pytest.raises(RuntimeError, match=msg):
        gg.ones(2, 3) + gg.ones(4)
    with pytest.raises(RuntimeError, match=r"maximum: .*\(2,\).*\(3,\)"):
        gg.maximum(gg.ones(2, requires_grad=True), gg.ones(3))
    with pytest.raises(RuntimeError):  # PyTorch raises RuntimeError too
        torch.ones(2, 3) + torch.ones(4)


def test_matmul_inner_dimension_error() -> None:
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\).*3 and 4"):
        gg.ones(2, 3) @ gg.ones(4, 5)


# ---- dtypes ----------------------------------------------------------------------------------


def test_default_dtypes_follow_pytorch() -> None:
    assert gg.tensor(1.5).dtype == gg.float32
    assert gg.tensor([1, 2]).dtype == gg.int64
    assert gg.tensor(np.ones(2)).dtype == gg.float64
    assert gg.tensor([True]).dtype == gg.bool
    gg.set_default_dtype(gg.float64)
    assert gg.tensor(1.5).dtype == gg.float64 and gg.get_default_dtype() == gg.float64


@pytest.mark.parametrize(
    "make",
    [
        lambda x: x * np.float64(2.0),
        lambda x: np.float64(2.0) * x,
        lambda x: x + 1e-300,
        lambda x: x * gg.tensor(2.0, dtype=gg.float64),
        lambda x: x / gg.tensor(3, dtype=gg.int64),
        lambda x: x**2.5,
        lambda x: np.exp(x) * np.ones((), np.float64),
    ],
)
def test_float32_is_never_promoted_by_scalars_or_0d_tensors(make) -> None:
    x = gg.ones(3, requires_grad=True)
    y = make(x)
    assert y.dtype == gg.float32
    y.sum().backward()
    assert x.grad.dtype == gg.float32


def test_integer_tensor_with_python_float_gives_default_float() -> None:
    assert (gg.tensor([1, 2]) * 2.5).dtype == gg.float32
    assert (torch.tensor([1, 2]) * 2.5).dtype == torch.float32
    assert (gg.tensor([1, 2]) / 2).tolist() == [0.5, 1.0]


def test_numpy_functions_on_tensors_are_differentiable() -> None:
    x, tx = both([0.3, -0.7])
    y = np.sum(np.tanh(x) * np.exp(x))
    y.backward()
    (tx.tanh() * tx.exp()).sum().backward()
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-12)


# ---- higher order ----------------------------------------------------------------------------


def test_hessian_by_double_backward_matches_torch_func() -> None:
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 3))

    def f(lib, v):
        m = lib.tensor(A) if lib is gg else torch.tensor(A)
        return ((m @ v).tanh() * v.sin()).sum()

    xv = rng.standard_normal(3)
    x = gg.tensor(xv, requires_grad=True)
    (g,) = gg.autograd.grad(f(gg, x), x, create_graph=True)
    rows = [gg.autograd.grad(g[i], x, retain_graph=True)[0]._data for i in range(3)]
    expected = torch.func.hessian(lambda v: f(torch, v))(torch.tensor(xv))
    np.testing.assert_allclose(np.stack(rows), expected.numpy(), rtol=1e-10, atol=1e-12)


def test_create_graph_gradient_accumulates_with_its_own_graph() -> None:
    x = gg.tensor(2.0, dtype=gg.float64, requires_grad=True)
    (x**3).backward(create_graph=True)
    assert x.grad.requires_grad
    (gx,) = gg.autograd.grad(x.grad, x)
    assert gx.item() == pytest.approx(12.0)


def test_no_warnings_on_the_plain_path() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = gg.randn(4, 3, requires_grad=True)
        (x @ gg.randn(3)).relu().sum().backward()


def test_nothing_is_kept_alive_by_ops_run_without_recording() -> None:
    import weakref

    from glassgrad.autograd.node import _NO_GRAD_CTX

    x = gg.randn(4, 4)
    with gg.no_grad():
        y = gg.nn.functional.conv2d(gg.randn(1, 1, 6, 6), gg.randn(2, 1, 3, 3)) * 2.0
        z = x[gg.tensor([0, 2])]
    ref = weakref.ref(x._data)
    del x, z
    assert ref() is None and not vars(_NO_GRAD_CTX)
    assert y.grad_fn is None


def test_backward_observer_sees_every_rule_in_order() -> None:
    from glassgrad.autograd.state import state

    seen = []
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    state.backward_observer = lambda node, g, gin, dt, saved: seen.append(
        (node.name(), len(gin), dt >= 0, len(saved))
    )
    try:
        y.backward()
    finally:
        state.backward_observer = None
    assert [s[0] for s in seen] == ["SumBackward0", "MulBackward0", "ExpBackward0"]
    assert seen[1] == ("MulBackward0", 2, True, 2)


def test_backward_inputs_fills_a_retained_non_leaf_once() -> None:
    """``z.retain_grad(); loss.backward(inputs=[z])``: ``z.grad`` is dloss/dz, not twice it (the
    walk fills a retained tensor's grad, the ``inputs=`` capture did it again)."""

    for lib in (gg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        z = x * 2
        z.retain_grad()
        (z**2).sum().backward(inputs=[z], retain_graph=True)
        np.testing.assert_allclose(z.grad.numpy(), [4.0, 8.0])
        (z**2).sum().backward(inputs=[z])  # and accumulates once per call
        np.testing.assert_allclose(z.grad.numpy(), [8.0, 16.0])
        assert x.grad is None


def test_inference_mode_is_reported_and_nests() -> None:
    for lib in (gg, torch):
        assert not lib.is_inference_mode_enabled()
        with lib.inference_mode():
            assert lib.is_inference_mode_enabled() and not lib.is_grad_enabled()
            with lib.inference_mode(False):
                assert not lib.is_inference_mode_enabled()
            assert lib.is_inference_mode_enabled()
        assert not lib.is_inference_mode_enabled()

        @lib.inference_mode()
        def step(lib=lib):
            return lib.is_inference_mode_enabled()

        assert step() and not lib.is_inference_mode_enabled()


def test_autograd_function_module_is_there_after_import_torch() -> None:
    """``@torch.autograd.function.once_differentiable`` with only ``import torch``."""
    import glassgrad

    assert glassgrad.autograd.function.once_differentiable is not None
    assert glassgrad.autograd.function.Function is glassgrad.autograd.Function
    assert glassgrad.autograd.graph.Node is not None
