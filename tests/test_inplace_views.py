"""In-place ops and views sharing memory, against PyTorch: no tensor keeps a graph its values
no longer have.

An in-place op on a view records ``CopySlices`` on the base (the base, with the view's
elements now the op's result); an in-place op on a base re-derives its live views from the
base's new graph (``AsStridedBackward0``). Before this, a view taken before its base changed
kept the old history and gave a silently wrong gradient, and an in-place op on a view of a
tensor in the graph was refused.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg


def _x(lib, *shape):
    n = int(np.prod(shape))
    return lib.tensor(np.linspace(-1.0, 2.0, n).reshape(shape), requires_grad=True)


def _w(lib, *shape):
    n = int(np.prod(shape))
    return lib.tensor(np.linspace(0.5, 1.5, n).reshape(shape), requires_grad=True)


SCENARIOS = {
    # a view taken before its base is changed in place
    "slice_then_base_mul": lambda lib, x, w: _then(x * 1, lambda a: a[:2], lambda a: a.mul_(2)),
    "view_then_base_add": lambda lib, x, w: _then(
        x * 1, lambda a: a.view(2, 2), lambda a: a.add_(w)
    ),
    "transpose_then_base_add": lambda lib, x, w: _then(
        (x * 1).view(2, 2), lambda a: a.t(), lambda a: a.add_(w.view(2, 2))
    ),
    "two_views_one_written": lambda lib, x, w: _two_views(x * 2, w),
    # an in-place op on a view: the base records CopySlices
    "slice_mul": lambda lib, x, w: _base_after(x * 1, lambda a: a[1:].mul_(3)),
    "slice_add_tensor": lambda lib, x, w: _base_after(x * 1, lambda a: a[:2].add_(w[:2])),
    "column_of_matrix": lambda lib, x, w: _base_after(
        (x * 1).view(2, 2), lambda a: a[:, 1].mul_(w[:2])
    ),
    "strided_slice": lambda lib, x, w: _base_after(x * 1, lambda a: a[::2].mul_(w[1:3])),
    "view_of_view": lambda lib, x, w: _base_after(
        (x * 1).view(2, 2), lambda a: a.t()[0].add_(w[:2] * 5)
    ),
    "zero_part": lambda lib, x, w: _base_after(x * 1, lambda a: a[:2].zero_()),
    "fill_part": lambda lib, x, w: _base_after(x * 1, lambda a: a[1:3].fill_(0.5)),
    "setitem_then_view": lambda lib, x, w: _base_after(x * 1, lambda a: a.__setitem__(1, w[0])),
    "plain_base_view_gets_grad": lambda lib, x, w: _plain_base(lib, w),
    "accumulate_into_rows": lambda lib, x, w: _accumulate_rows(lib, x, w),
    "zero_whole": lambda lib, x, w: _base_after(x * 1, lambda a: a.zero_()),
}


def _then(a, view, change):
    v = view(a)
    change(a)
    return (v * v).sum() + (a * 3).sum()


def _two_views(a, w):
    b, c = a[1:3], a[::2]
    b.mul_(w[:2])
    return (c * c).sum() + b.sum()


def _base_after(a, change):
    change(a)
    return (a * a).sum()


def _plain_base(lib, w):
    d = lib.zeros(5, dtype=lib.float64)
    v = d[1:3]
    v.add_(w[:2] * 2)
    return (d * d).sum() + w.sum()


def _accumulate_rows(lib, x, w):
    """makemore's manual backprop: ``dC[ix] += demb[k]`` into a tensor of zeros."""
    d = x.view(2, 2) @ w.view(2, 2)
    acc = lib.zeros(3, 2, dtype=lib.float64)
    for k, ix in enumerate([0, 2, 2, 1]):
        acc[ix] += d[k % 2]
    return (acc * acc).sum()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_gradients_match_torch(name) -> None:
    grads = []
    for lib in (gg, torch):
        x, w = _x(lib, 4), _w(lib, 4)
        loss = SCENARIOS[name](lib, x, w)
        loss.backward()
        grads.append([np.asarray(t.grad.tolist()) if t.grad is not None else None for t in (x, w)])
        grads[-1].append(float(loss))
    ours, theirs = grads
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)
    for a, b in zip(ours[:2], theirs[:2], strict=True):
        if b is None:
            assert a is None or not a.any()
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_gradients_are_numerically_right_to_second_order(name) -> None:
    x, w = _x(gg, 4), _w(gg, 4)
    fn = SCENARIOS[name]
    assert gg.autograd.gradcheck(lambda a, b: fn(gg, a, b), (x, w))
    assert gg.autograd.gradgradcheck(lambda a, b: fn(gg, a, b), (x, w))


def test_node_names_match_torch() -> None:
    names = []
    for lib in (gg, torch):
        x = _x(lib, 4)
        a = x * 1
        v = a[:2]
        a.mul_(2)
        b = x * 1
        b[1:].mul_(3)
        c = x * 1
        c.zero_()
        names.append([v.grad_fn.name(), b.grad_fn.name(), c.grad_fn.name(), c.requires_grad])
    assert names[0] == names[1]


def test_errors_match_torch() -> None:
    x = gg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="mul_: a view of a leaf Variable that requires grad"):
        x[:2].mul_(2)
    a = gg.ones(3, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        a.expand(2, 3).add_(1)
    a = gg.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1
    v = a[:2]
    v.mul_(v)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        a.sum().backward()


def test_no_grad_writes_leave_the_graph_alone() -> None:
    """A parameter update under no_grad changes no graph (a view of the parameter keeps its
    node; the version counter still catches a saved value that changed)."""
    p = gg.ones(3, requires_grad=True)
    v = p[:2]
    node = v.grad_fn
    with gg.no_grad():
        p.mul_(2)
        v.add_(1)
    assert v.grad_fn is node and p.grad_fn is None and p.requires_grad
    np.testing.assert_array_equal(p.detach().numpy(), [3.0, 3.0, 2.0])


def test_views_and_their_bases_pickle_and_copy() -> None:
    """The registry of live views (weak references) stays behind: a data-loader worker sends
    a view back, ``copy.deepcopy`` copies a base with views."""
    import copy
    import pickle

    x = gg.arange(6.0).view(2, 3)
    row = x[1]
    back = pickle.loads(pickle.dumps(row))
    np.testing.assert_array_equal(back.numpy(), [3.0, 4.0, 5.0])
    twin = copy.deepcopy(x)
    assert twin._live_views() == []
    np.testing.assert_array_equal(twin.numpy(), x.numpy())
