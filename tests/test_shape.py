"""Shape ops beyond the registry sweep: views and version counters, copies that must not alias,
splits against PyTorch, argument variants, dtype promotion in joins, errors, NumPy dispatch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg

RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3, 4))


def _both(a: np.ndarray = A):
    return gg.tensor(a, dtype=gg.float64), torch.tensor(a, dtype=torch.float64)


def _same(ours, theirs) -> None:
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours._data, theirs.detach().numpy())


# ---- views share memory and the version counter -------------------------------------------------

VIEWS = [
    lambda x: x.reshape(6, 4),
    lambda x: x.view(-1),
    lambda x: x.view_as(x.reshape(4, 6)),
    lambda x: x.flatten(1),
    lambda x: x.unflatten(2, (2, 2)),
    lambda x: x.unsqueeze(1),
    lambda x: x[:1].squeeze(0),
    lambda x: x.permute(2, 0, 1),
    lambda x: x.transpose(0, 2),
    lambda x: x.mT,
    lambda x: x.movedim(0, -1),
    lambda x: x[:, :1].expand(2, 5, 4),
    lambda x: x.narrow(1, 1, 2),
    lambda x: x.split(2, dim=2)[1],
    lambda x: x.chunk(2, 1)[0],
    lambda x: x.unbind(1)[2],
    lambda x: x.tensor_split(3, dim=2)[1],
]


@pytest.mark.parametrize("k", range(len(VIEWS)))
def test_views_share_memory_and_version_counter(k) -> None:
    x = gg.tensor(A)
    v = VIEWS[k](x)
    assert np.shares_memory(v._data, x._data)
    assert v._version == x._version == 0
    x.add_(1.0)
    assert v._version == 1
    ref = VIEWS[k](torch.tensor(A) + 1.0)
    np.testing.assert_allclose(v._data, ref.numpy())


def test_modifying_a_view_after_it_was_saved_raises_on_backward() -> None:
    x = gg.tensor(A, requires_grad=True)
    y = x * 1.0
    row = y[0]
    z = (row * row).sum()
    y.mul_(2.0)  # bumps the version row shares
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


COPIES = [
    lambda lib, x: x.flip(0),
    lambda lib, x: x.roll(1, 2),
    lambda lib, x: x.repeat(1, 1, 1),
    lambda lib, x: lib.tile(x, (1,)),
    lambda lib, x: x.clone(),
    lambda lib, x: lib.cat([x]),
    lambda lib, x: lib.stack([x]),
    lambda lib, x: x.mT.contiguous(),
    lambda lib, x: x.mT.reshape(-1),
]


@pytest.mark.parametrize("k", range(len(COPIES)))
def test_ops_that_copy_in_torch_do_not_alias(k) -> None:
    x = gg.tensor(A)
    y = COPIES[k](gg, x)
    y.add_(1.0)
    np.testing.assert_array_equal(x._data, A)
    assert x._version == 0


def test_view_refuses_a_layout_that_needs_a_copy_and_reshape_copies() -> None:
    x, xt = _both()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.mT.view(-1)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        xt.mT.view(-1)
    _same(x.mT.reshape(-1), xt.mT.reshape(-1))
    assert not x.mT.is_contiguous() and x.is_contiguous()
    assert x.mT.contiguous().is_contiguous()
    assert x.contiguous() is x
    assert x.stride() == xt.stride() and x.mT.stride(1) == xt.mT.stride(1)


def test_reshape_arguments_and_errors_match_torch() -> None:
    x, xt = _both()
    for args in [(4, -1), ([24],), (-1,), ((2, 12),)]:
        _same(x.reshape(*args), xt.reshape(*args))
        _same(x.view(*args), xt.view(*args))
    _same(gg.reshape(x, (3, 8)), torch.reshape(xt, (3, 8)))
    for bad, msg in [((5, 5), "invalid for input of size 24"), ((-1, -1), "only one dimension")]:
        with pytest.raises(RuntimeError, match=msg):
            x.reshape(bad)
        with pytest.raises(RuntimeError, match=msg):
            x.view(bad)
        with pytest.raises(RuntimeError):
            xt.reshape(bad)


@pytest.mark.parametrize(
    "f",
    [
        lambda lib, x: x.flatten(),
        lambda lib, x: x.flatten(0, 1),
        lambda lib, x: x.flatten(-2),
        lambda lib, x: lib.flatten(x[0, 0, 0]),
        lambda lib, x: x.ravel(),
        lambda lib, x: x.unflatten(-1, (2, -1)),
        lambda lib, x: x[:1].squeeze(),
        lambda lib, x: x[:1, :, :1].squeeze((0, 2)),
        lambda lib, x: x.squeeze(1),
        lambda lib, x: x[0, 0, 0].squeeze(0),
        lambda lib, x: x.unsqueeze(-1),
        lambda lib, x: x[0, 0, 0].unsqueeze(0),
        lambda lib, x: x.permute(-1, 0, 1),
        lambda lib, x: x.permute((1, 2, 0)),
        lambda lib, x: x.transpose(-1, 0),
        lambda lib, x: x[0].t(),
        lambda lib, x: x[0, 0].t(),
        lambda lib, x: x[0].T,
        lambda lib, x: x.movedim((0, 1), (2, 0)),
        lambda lib, x: lib.moveaxis(x, -1, 0),
        lambda lib, x: x[:, :1].expand(-1, 3, -1),
        lambda lib, x: x[0, 0].expand(2, 2, 4),
        lambda lib, x: lib.broadcast_to(x[0, 0], (3, 4)),
        lambda lib, x: x.repeat(2, 1, 1, 2),
        lambda lib, x: lib.tile(x, (2,)),
        lambda lib, x: x.flip(0, 2),
        lambda lib, x: lib.flip(x, (-1,)),
        lambda lib, x: lib.fliplr(x),
        lambda lib, x: lib.flipud(x),
        lambda lib, x: x.roll(1),
        lambda lib, x: x.roll((1, -2), (0, 2)),
        lambda lib, x: lib.roll(x, -1, -1),
        lambda lib, x: lib.atleast_2d(x[0, 0]),
        lambda lib, x: lib.atleast_3d(x[0, :, 0]),
        lambda lib, x: lib.hstack([x, x]),
        lambda lib, x: lib.vstack([x[0, 0], x[1, 1]]),
        lambda lib, x: lib.dstack([x[0], x[1]]),
        lambda lib, x: lib.column_stack([x[0, :, 0], x[1, :, :2]]),
    ],
)
def test_argument_variants_match_torch(f) -> None:
    x, xt = _both()
    _same(f(gg, x), f(torch, xt))


# ---- joining and splitting ----------------------------------------------------------------------


def test_cat_promotes_dtypes_like_torch() -> None:
    cases = [
        (np.float32, np.float64),
        (np.int64, np.float32),
        (np.bool_, np.int32),
        (np.int32, np.int64),
    ]
    for a, b in cases:
        ours = gg.cat([gg.zeros(2, dtype=a), gg.zeros(1, dtype=b)])
        theirs = torch.cat(
            [
                torch.zeros(2, dtype=getattr(torch, np.dtype(a).name)),
                torch.zeros(1, dtype=getattr(torch, np.dtype(b).name)),
            ]
        )
        assert str(ours.dtype) == str(theirs.dtype)
        assert gg.stack([gg.zeros(2, dtype=a), gg.zeros(2, dtype=b)]).dtype == ours.dtype


def test_cat_skips_legacy_empty_vectors_and_still_gives_them_a_gradient() -> None:
    x = gg.ones(2, 3, requires_grad=True)
    e = gg.zeros(0, requires_grad=True)
    out = gg.cat([e, x, e], dim=1)
    assert out.shape == (2, 3)
    out.sum().backward()
    assert e.grad.shape == (0,) and x.grad._data.sum() == 6.0


def test_cat_and_stack_gradients_reach_each_input() -> None:
    parts = [RNG.standard_normal((2, n)) for n in (1, 0, 3)]
    ours = [gg.tensor(p, requires_grad=True) for p in parts]
    theirs = [torch.tensor(p, requires_grad=True) for p in parts]
    w = RNG.standard_normal((2, 4))
    (gg.cat(ours, 1) * gg.tensor(w)).sum().backward()
    (torch.cat(theirs, 1) * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad._data, b.grad.numpy())
    # a tensor used twice gets both slices
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    (gg.stack([x, x * 3.0], dim=1) * gg.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [7.0, 15.0])


@pytest.mark.parametrize(
    "f",
    [
        lambda lib, x: x.split(2),
        lambda lib, x: x.split(3, dim=2),
        lambda lib, x: x.split(5, -1),
        lambda lib, x: lib.split(x, [1, 0, 2], 1),
        # the method's argument is named split_size, torch.split's split_size_or_sections
        lambda lib, x: x.split(split_size=[2, 1], dim=-2),
        lambda lib, x: lib.split(x, split_size_or_sections=3, dim=2),
        lambda lib, x: x.chunk(3, 2),
        lambda lib, x: x.chunk(4, 1),  # 3 rows in 4 chunks: PyTorch returns 3
        lambda lib, x: lib.chunk(x[:, :0], 2, 1),
        lambda lib, x: x.unbind(2),
        lambda lib, x: lib.unbind(x, -3),
        lambda lib, x: x.tensor_split(3, dim=2),
        lambda lib, x: lib.tensor_split(x, [1, -1, 10], 2),
        lambda lib, x: lib.tensor_split(x, (3, 1), 2),
        lambda lib, x: lib.hsplit(x, 3),
        lambda lib, x: lib.vsplit(x, [1]),
        lambda lib, x: lib.split(x.reshape(-1)[:0], 2),
    ],
)
def test_splits_match_torch(f) -> None:
    x, xt = _both()
    ours, theirs = f(gg, x), f(torch, xt)
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        _same(a, b)


@pytest.mark.parametrize(
    "f",
    [
        lambda lib, x: x.view(size=(6, 4)),
        lambda lib, x: x.reshape(shape=[4, -1]),
        lambda lib, x: lib.reshape(x, shape=(24,)),
        lambda lib, x: x[:, :1].expand(size=(2, 3, 4)),
        lambda lib, x: x.permute(dims=(2, 0, 1)),
        lambda lib, x: lib.permute(x, dims=[1, 2, 0]),
        lambda lib, x: x.flip(dims=(1,)),  # pytorch-normalizing-flows' MAF
        lambda lib, x: lib.flip(x, dims=[0, 2]),
        lambda lib, x: x.repeat(repeats=(1, 2, 1)),
        lambda lib, x: x.new_zeros(size=(2, 3)),
        lambda lib, x: x.new_ones(size=[4]),
        lambda lib, x: x.new_empty(size=(0, 2)),
    ],
)
def test_shape_arguments_by_their_pytorch_keywords(f) -> None:
    """``x.view(size=...)``, ``x.flip(dims=...)``: the varargs shape ops take PyTorch's keyword
    (new_zeros(size=) used to drop it silently and return a 0-d tensor), with gradients."""
    x, xt = _both()
    x.requires_grad_(True)
    xt.requires_grad_(True)
    ours, theirs = f(gg, x), f(torch, xt)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == gg.float64
    if theirs.numel():  # (new_empty's values are not defined: it is asked for no elements)
        _same(ours, theirs)
    if theirs.requires_grad:
        w = np.arange(theirs.numel(), dtype=np.float64).reshape(tuple(theirs.shape))
        (ours * gg.tensor(w)).sum().backward()
        (theirs * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(x.grad._data, xt.grad.numpy())


def test_a_shape_given_both_ways_is_refused() -> None:
    x = gg.zeros(2, 3)
    with pytest.raises(TypeError, match=r"view.*multiple values.*'size'"):
        x.view(6, size=(6,))
    with pytest.raises(TypeError, match=r"flip.*multiple values.*'dims'"):
        x.flip(0, dims=(1,))
    with pytest.raises(TypeError, match=r"multiple values.*'size'"):
        x.new_zeros(2, size=(2,))


def test_iterating_a_tensor_unbinds_it_with_gradients() -> None:
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    total = sum((row * (i + 1)).sum() for i, row in enumerate(x))
    total.backward()
    np.testing.assert_array_equal(x.grad._data, [[1.0, 1.0], [2.0, 2.0]])


def test_numpy_functions_dispatch_to_differentiable_shape_ops() -> None:
    x = gg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    outs = [
        np.concatenate([x, x], axis=1),
        np.concatenate([x, x], axis=None),
        np.stack([x, x]),
        np.flip(x, 1),
        np.roll(x, 1),
        np.tile(x, (2, 1)),
        np.squeeze(x),
        np.moveaxis(x, 0, 1),
        np.ravel(x),
        np.copy(x),
    ]
    for o in outs:
        assert isinstance(o, gg.Tensor) and o.requires_grad
    sum(o.sum() for o in outs).backward()
    np.testing.assert_array_equal(x.grad._data, [[14.0, 14.0, 14.0]])


@pytest.mark.parametrize(
    "f",
    [
        lambda lib: lib.zeros(2, 3).view(5),
        lambda lib: lib.zeros(2, 3).reshape(-2, 3),
        lambda lib: lib.zeros(2, 3).permute(0, 0),
        lambda lib: lib.zeros(2, 3).permute(0),
        lambda lib: lib.zeros(2, 3).permute(0, 2),
        lambda lib: lib.zeros(2, 3).transpose(0, 2),
        lambda lib: lib.zeros(2, 3, 4).t(),
        lambda lib: lib.zeros(2, 3).expand(-1, 2, 3),
        lambda lib: lib.zeros(2, 3).expand(4, 3),
        lambda lib: lib.zeros(2, 3).expand(3),
        lambda lib: lib.zeros(2, 3).repeat(2),
        lambda lib: lib.zeros(2, 3).flatten(1, 0),
        lambda lib: lib.zeros(2, 3).unflatten(1, (2, 2)),
        lambda lib: lib.zeros(2, 3).squeeze(2),
        lambda lib: lib.zeros(2, 3).unsqueeze(3),
        lambda lib: lib.zeros(2, 3).movedim((0, 1), (1,)),
        lambda lib: lib.zeros(2, 3).movedim((0, 0), (1, 0)),
        lambda lib: lib.zeros(2, 3).flip(0, 0),
        lambda lib: lib.zeros(2, 3).roll(1, (0, 1)),
        lambda lib: lib.fliplr(lib.zeros(3)),
        lambda lib: lib.cat([lib.zeros(2, 3), lib.zeros(2, 4)]),
        lambda lib: lib.cat([lib.zeros(2, 3), lib.zeros(3)]),
        lambda lib: lib.cat([lib.zeros(()), lib.zeros(0)]),
        lambda lib: lib.cat([]),
        lambda lib: lib.cat([lib.zeros(2)], dim=1),
        lambda lib: lib.stack([lib.zeros(2, 3), lib.zeros(2, 4)]),
        lambda lib: lib.stack([]),
        lambda lib: lib.zeros(3).split(0),
        lambda lib: lib.zeros(3).split([1, 1]),
        lambda lib: lib.zeros(3).chunk(0),
        lambda lib: lib.zeros(2, 3).narrow(1, 2, 3),
        lambda lib: lib.zeros(2, 3).narrow(1, -4, 1),
        lambda lib: lib.zeros(2, 3).narrow(2, 0, 1),
        lambda lib: lib.zeros(()).unbind(),
        lambda lib: lib.zeros(2, 3).select(1, 3),
        lambda lib: lib.zeros(2, 3).select(2, 0),
    ],
)
def test_errors_have_torch_types(f) -> None:
    with pytest.raises(Exception) as ours:
        f(gg)
    with pytest.raises(Exception) as theirs:
        f(torch)
    assert isinstance(ours.value, type(theirs.value)), (ours.value, theirs.value)


def test_error_messages_name_the_problem() -> None:
    with pytest.raises(RuntimeError, match=r"Expected size 3 but got size 4 for tensor number 1"):
        gg.cat([gg.zeros(2, 3), gg.zeros(2, 4)], dim=0)
    with pytest.raises(RuntimeError, match=r"got \[2, 3\] at entry 0 and \[2, 4\] at entry 1"):
        gg.stack([gg.zeros(2, 3), gg.zeros(2, 4)])
    with pytest.raises(RuntimeError, match=r"sum exactly to 3 .* split_sizes=\[1, 1\]"):
        gg.zeros(3).split([1, 1])
    with pytest.raises(RuntimeError, match=r"start \(2\) \+ length \(3\) exceeds dimension size"):
        gg.zeros(2, 3).narrow(1, 2, 3)
    with pytest.raises(RuntimeError, match=r"\(2, 3\) cannot be expanded to \[4, 3\]"):
        gg.zeros(2, 3).expand(4, 3)
    with pytest.raises(RuntimeError, match="duplicate dims"):
        gg.zeros(2, 3).permute(1, -1)


@pytest.mark.parametrize("join", ["stack", "cat"])
def test_joining_transposed_inputs_gives_a_contiguous_result_as_torch(join):
    """A column-major image (as from a transposing transform) joined into a batch can be viewed."""
    a = np.asfortranarray(np.arange(12.0).reshape(3, 4))[None]
    ours = getattr(gg, join)([gg.from_numpy(a), gg.from_numpy(a)])
    theirs = getattr(torch, join)([torch.from_numpy(a), torch.from_numpy(a)])
    assert ours.is_contiguous() == theirs.is_contiguous() is True
    assert ours.stride() == theirs.stride()
    np.testing.assert_array_equal(ours.view(2, -1).numpy(), theirs.view(2, -1).numpy())
    if join == "cat":  # channels-last inputs stay channels-last, as in PyTorch
        nhwc, tnhwc = (
            gg.ones(2, 4, 5, 3).permute(0, 3, 1, 2),
            torch.ones(2, 4, 5, 3).permute(0, 3, 1, 2),
        )
        assert gg.cat([nhwc, nhwc]).stride() == torch.cat([tnhwc, tnhwc]).stride()


def test_as_strided_windows_are_views_with_pytorchs_values_and_gradients():
    import torch

    def im2col(lib):
        lib.manual_seed(0)
        img = lib.arange(30.0, dtype=lib.float64).reshape(5, 6).requires_grad_()
        windows = img.as_strided((3, 4, 3, 3), (6, 1, 6, 1))  # 3x3 windows, overlapping
        kernel = lib.linspace(-1, 1, 9, dtype=lib.float64).reshape(3, 3)
        out = (windows * kernel).sum((-1, -2))
        (out**2).sum().backward()
        return out.detach().numpy(), img.grad.numpy(), windows.grad_fn.name()

    ours, theirs = im2col(gg), im2col(torch)
    np.testing.assert_allclose(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1])
    assert ours[2] == theirs[2] == "AsStridedBackward0"

    base = gg.arange(6.0)
    view = gg.as_strided(base, (2, 2), (1, 2), 1)
    base.mul_(10)  # a view: it reads the memory as it is now
    assert view.tolist() == [[10.0, 30.0], [20.0, 40.0]] and view._base is base
    with pytest.raises(ValueError, match="add_"):
        view.add_(1)  # read-only: overlapping windows would write an element twice


def test_as_strided_after_the_base_changed_in_place_differentiates_the_new_graph():
    import torch

    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        a = x * 1
        v = a.as_strided((2, 2), (1, 1))
        a.mul_(3)
        (v * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        return v.tolist(), x.grad.tolist()

    assert run(gg) == run(torch)


def test_as_strided_errors_name_the_sizes_strides_and_storage():
    x = gg.arange(6.0)
    with pytest.raises(RuntimeError, match=r"as_strided: mismatch .* size \[2, 2\] has 2"):
        x.as_strided((2, 2), (1,))
    with pytest.raises(RuntimeError, match=r"reach element 8 of a storage of 6 elements"):
        x.as_strided((2, 2), (1, 2), 5)
    with pytest.raises(RuntimeError, match="negative strides"):
        x.as_strided((2,), (-1,))


def test_as_strided_past_a_view_reads_the_memory_and_sends_no_gradient_there():
    import torch

    def run(lib):
        x = lib.arange(12.0, dtype=lib.float64).reshape(3, 4)[1:].requires_grad_()
        y = lib.as_strided(x, (2, 2), (1, 2), 1)  # elements 1..4: only 4 lies in x
        (y * lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64)).sum().backward()
        return y.tolist(), x.grad.tolist()

    assert run(gg) == run(torch)
