"""Tensor creation, attributes and conversions, against PyTorch's behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.zeros(2, 3),
        lambda lib: lib.zeros((2, 3)),
        lambda lib: lib.ones(4),
        lambda lib: lib.full((2, 2), 7.5),
        lambda lib: lib.full((2,), 3),
        lambda lib: lib.full((2,), True),
        lambda lib: lib.arange(5),
        lambda lib: lib.arange(1, 4, 0.5),
        lambda lib: lib.arange(2.0),
        lambda lib: lib.linspace(0, 1, 5),
        lambda lib: lib.eye(3),
        lambda lib: lib.eye(2, 3),
        lambda lib: lib.zeros_like(lib.ones(2, dtype=lib.float64)),
        lambda lib: lib.ones_like(lib.arange(3)),
        lambda lib: lib.full_like(lib.ones(2), 4.0),
        lambda lib: lib.empty(0, 3),
        lambda lib: lib.tensor([[1, 2], [3, 4]]),
        lambda lib: lib.tensor(2.5),
        lambda lib: lib.tensor([True, False]),
        lambda lib: lib.tensor([1, 2], dtype=lib.float64),
        lambda lib: lib.tensor([1.5, 2], dtype=lib.int32),
    ],
)
def test_creation_matches_torch_values_shapes_and_dtypes(make) -> None:
    ours, theirs = make(gg), make(torch)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    if ours.numel():
        np.testing.assert_allclose(ours._data, theirs.numpy())


def test_random_tensors_are_reproducible_with_manual_seed() -> None:
    gg.manual_seed(123)
    a = gg.randn(3, 2), gg.rand(4), gg.randint(0, 10, (5,)), gg.randperm(6)
    gg.manual_seed(123)
    b = gg.randn(3, 2), gg.rand(4), gg.randint(0, 10, (5,)), gg.randperm(6)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x._data, y._data)
    assert a[0].dtype == gg.float32 and a[2].dtype == gg.int64
    assert a[1]._data.min() >= 0 and a[1]._data.max() < 1
    assert sorted(a[3].tolist()) == list(range(6))
    assert gg.randn(2, dtype=gg.float64, requires_grad=True).requires_grad
    assert gg.randn_like(gg.ones(2, 2)).shape == (2, 2)
    assert gg.randint(5, (3,))._data.max() < 5


def test_attributes_and_conversions() -> None:
    t = gg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert t.shape == (2, 3) and t.size() == (2, 3) and t.size(1) == 3 and t.size(-1) == 3
    assert t.ndim == 2 and t.dim() == 2 and t.numel() == 6 and len(t) == 2
    assert t.dtype == gg.float32 and t.is_leaf and t.grad is None and t.grad_fn is None
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert t[1, 2].item() == 6.0 and float(t[0, 0]) == 1.0
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    d = t.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), t._data)
    assert np.asarray(t).dtype == np.float32
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="6 elements"):
        t.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)


def test_from_numpy_shares_memory_and_keeps_dtype() -> None:
    a = np.arange(4.0)
    t = gg.from_numpy(a)
    a[0] = 10.0
    assert t.dtype == gg.float64 and t[0].item() == 10.0
    with pytest.raises(TypeError, match=r"np\.ndarray"):
        gg.from_numpy([1, 2])


def test_tensor_copies_its_input() -> None:
    a = np.ones(3, dtype=np.float32)
    t = gg.tensor(a)
    a[0] = 5
    assert t[0].item() == 1.0


def test_requires_grad_flag_rules() -> None:
    x = gg.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    assert y.requires_grad and not y.is_leaf
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    assert gg.tensor(1.0, requires_grad=True, dtype=gg.float64).requires_grad


def test_dtype_conversion_methods() -> None:
    x = gg.tensor([1.7, -2.2], requires_grad=True)
    assert x.double().dtype == gg.float64 and x.float().dtype == gg.float32
    assert x.long().tolist() == [1, -2] and x.int().dtype == gg.int32
    assert x.to(gg.float64).requires_grad and x.to("cpu") is x
    x.double().sum().backward()
    assert x.grad.dtype == gg.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        x.to("cuda")


def test_grad_is_also_exported_at_top_level() -> None:
    x = gg.tensor(2.0, requires_grad=True)
    (g,) = gg.grad(x**3, x)
    assert g.item() == pytest.approx(12.0)
