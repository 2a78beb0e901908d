"""Sorting and searching against PyTorch: indices, ties, unique/searchsorted/bucketize."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import glassgrad as gg


def _ints(draw, shape, hi=4):
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(0, hi, size=shape)


@st.composite
def with_ties(draw, min_dims=1):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=min_dims, max_size=3)))
    return _ints(draw, shape).astype(np.float64), draw(st.integers(-len(shape), len(shape) - 1))


def _same(ours, theirs) -> None:
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
        return
    np.testing.assert_array_equal(np.asarray(ours.detach()._data), theirs.detach().numpy())
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


@settings(max_examples=25, deadline=None)
@given(case=with_ties(), descending=st.booleans())
def test_stable_sort_and_argsort_keep_ties_in_order(case, descending) -> None:
    a, d = case
    for fn in (
        lambda lib, x: lib.sort(x, dim=d, descending=descending, stable=True),
        lambda lib, x: lib.argsort(x, dim=d, descending=descending, stable=True),
    ):
        _same(fn(gg, gg.tensor(a)), fn(torch, torch.tensor(a)))


@settings(max_examples=25, deadline=None)
@given(case=with_ties(), keepdim=st.booleans(), data=st.data())
def test_mode_and_kthvalue_values_match_torch_and_indices_point_at_them(case, keepdim, data):
    """Which of several tied positions PyTorch reports is up to its sort; the values are not."""
    a, d = case
    k = data.draw(st.integers(1, a.shape[d]))
    for name, args in (("mode", (d, keepdim)), ("kthvalue", (k, d, keepdim))):
        ours = getattr(gg.tensor(a), name)(*args)
        theirs = getattr(torch.tensor(a), name)(*args)
        _same(ours.values, theirs.values)
        index = ours.indices.numpy() if keepdim else np.expand_dims(ours.indices.numpy(), d)
        picked = np.take_along_axis(a, index, axis=d)
        np.testing.assert_array_equal(
            picked, np.expand_dims(ours.values.numpy(), d) if not keepdim else ours.values.numpy()
        )


@settings(max_examples=25, deadline=None)
@given(case=with_ties(), inverse=st.booleans(), counts=st.booleans(), by_dim=st.booleans())
def test_unique_and_unique_consecutive(case, inverse, counts, by_dim) -> None:
    a, d = case
    a = a.astype(np.int64)
    kw = dict(return_inverse=inverse, return_counts=counts, dim=d if by_dim else None)
    _same(gg.unique(gg.tensor(a), **kw), torch.unique(torch.tensor(a), **kw))
    _same(
        gg.unique_consecutive(gg.tensor(a), **kw), torch.unique_consecutive(torch.tensor(a), **kw)
    )


@settings(max_examples=25, deadline=None)
@given(data=st.data(), right=st.booleans(), int32=st.booleans())
def test_searchsorted_and_bucketize(data, right, int32) -> None:
    rows = data.draw(st.integers(0, 2))
    n, m = data.draw(st.integers(1, 6)), data.draw(st.integers(0, 5))
    seq = np.sort(_ints(data.draw, (rows, n) if rows else (n,), 8), axis=-1).astype(np.float64)
    vals = _ints(data.draw, (rows, m) if rows else (m,), 9) - 0.5 * data.draw(st.integers(0, 1))
    _same(
        gg.searchsorted(gg.tensor(seq), gg.tensor(vals), right=right, out_int32=int32),
        torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right, out_int32=int32),
    )
    b = np.unique(seq.reshape(-1))
    _same(
        gg.bucketize(gg.tensor(vals), gg.tensor(b), right=right, out_int32=int32),
        torch.bucketize(torch.tensor(vals), torch.tensor(b), right=right, out_int32=int32),
    )


def test_topk_indices_and_errors() -> None:
    a = np.array([[3.0, 1.0, 4.0, 1.5], [9.0, 2.0, 6.0, 5.0]])
    _same(gg.tensor(a).topk(2), torch.tensor(a).topk(2))
    _same(gg.tensor(a).topk(3, dim=0 - 1, largest=False), torch.tensor(a).topk(3, largest=False))
    with pytest.raises(RuntimeError, match=r"topk\(\): k \(5\)"):
        gg.tensor(a).topk(5)
    with pytest.raises(RuntimeError, match=r"kthvalue\(\): k \(0\)"):
        gg.tensor(a).kthvalue(0)


def test_sort_gradient_goes_back_to_the_original_positions() -> None:
    x = gg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, _ = x.sort(descending=True)
    (values * gg.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 100.0, 10.0])


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, x: x.max(1),
        lambda lib, x: lib.min(x, dim=0),
        lambda lib, x: lib.sort(x, descending=True),
        lambda lib, x: x.topk(1),
        lambda lib, x: lib.aminmax(x),
        lambda lib, x: x.cummax(1),
        lambda lib, x: lib.frexp(x),
        lambda lib, x: lib.linalg.slogdet(x),
    ],
)
def test_named_results_print_and_pickle_as_pytorchs(fn) -> None:
    """``print(torch.max(x, 1))`` shows ``torch.return_types.max(\\nvalues=...,\\nindices=...)``:
    the same lines (glassgrad's name in front), the same fields, and it pickles."""
    value = [[1.0, 5.0], [3.0, 2.0]]
    ours, theirs = fn(gg, gg.tensor(value)), fn(torch, torch.tensor(value))
    assert repr(ours).replace("glassgrad.", "torch.") == repr(theirs)
    assert isinstance(ours, tuple) and len(ours) == theirs.n_fields
    for field in ours._fields:
        np.testing.assert_array_equal(getattr(ours, field).numpy(), getattr(theirs, field).numpy())
    again = pickle.loads(pickle.dumps(ours))
    assert type(again) is type(ours) and repr(again) == repr(ours)
