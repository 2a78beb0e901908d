"""Random ops: PyTorch's streams can't be matched, so these check distributions (moments and
frequencies within tolerances, fixed seeds), shapes, dtypes, reproducibility with seeds and
generators, and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad.data import DataLoader, TensorDataset, random_split


@pytest.fixture(autouse=True)
def _seeded():
    gg.manual_seed(1234)


def test_multinomial_frequencies_and_shapes() -> None:
    p = gg.tensor([0.1, 0.2, 0.0, 0.7])
    s = gg.multinomial(p, 40000, replacement=True)
    assert s.dtype == np.int64 and s.shape == (40000,)
    freq = np.bincount(s.numpy(), minlength=4) / 40000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.0, 0.7], atol=0.01)
    rows = gg.tensor([[1.0, 1.0, 2.0], [0.0, 3.0, 1.0]])
    draws = rows.multinomial(3)  # without replacement: each row is a permutation
    assert draws.shape == (2, 3)
    assert all(sorted(r) == [0, 1, 2] for r in draws.tolist())
    # more samples than non-zero categories: PyTorch 2.13 then draws the zero ones last
    assert sorted(gg.multinomial(gg.tensor([0.0, 5.0, 0.0]), 3).tolist())[1] == 1
    assert gg.multinomial(gg.tensor([0.0, 5.0, 0.0]), 1).item() == 1


def test_multinomial_without_replacement_first_draw_follows_weights() -> None:
    p = gg.tensor([[0.5, 0.3, 0.2]]).expand(20000, 3)
    first = gg.multinomial(p, 2)[:, 0].numpy()
    np.testing.assert_allclose(np.bincount(first, minlength=3) / 20000, [0.5, 0.3, 0.2], atol=0.015)


@pytest.mark.parametrize(
    "args",
    [
        ([1.0, 1.0], 3, False),
        ([1.0, -1.0], 1, False),
        ([0.0, 0.0], 1, True),
        ([1.0, float("inf")], 1, True),
        ([1.0, 1.0], 0, True),
    ],
)
def test_multinomial_errors_as_torch(args) -> None:
    p, n, replacement = args
    with pytest.raises(RuntimeError) as theirs:
        torch.multinomial(torch.tensor(p), n, replacement)
    with pytest.raises(RuntimeError) as ours:
        gg.multinomial(gg.tensor(p), n, replacement)
    assert str(ours.value).removeprefix("multinomial: ") == str(theirs.value)  # torch's words
    with pytest.raises(RuntimeError, match="floating-point"):
        gg.multinomial(gg.tensor([1, 2]), 1)
    with pytest.raises(RuntimeError, match="1 or 2 dim"):
        gg.multinomial(gg.ones(2, 2, 2), 1)


def test_bernoulli_forms() -> None:
    x = gg.full((50000,), 0.3, dtype=gg.float64)
    b = gg.bernoulli(x)
    assert b.dtype == np.float64 and set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert abs(b.mean().item() - 0.3) < 0.01
    assert abs(x.bernoulli(0.8).mean().item() - 0.8) < 0.01
    y = gg.zeros(50000, dtype=gg.int64)
    assert y.bernoulli_(0.25) is y and y.dtype == np.int64
    assert abs(y.double().mean().item() - 0.25) < 0.01
    z = gg.zeros(50000)
    z.bernoulli_()  # p=0.5 by default
    assert abs(z.mean().item() - 0.5) < 0.01
    z.bernoulli_(gg.full((50000,), 0.9))
    assert abs(z.mean().item() - 0.9) < 0.01
    with pytest.raises(RuntimeError):
        gg.bernoulli(gg.tensor([1.5]))


def test_normal_overloads() -> None:
    assert gg.normal(gg.zeros(3), 1.0).shape == torch.normal(torch.zeros(3), 1.0).shape
    assert gg.normal(0.0, gg.ones(2, 2)).shape == (2, 2)
    assert gg.normal(gg.zeros(2, 1), gg.ones(3)).shape == (2, 3)
    assert gg.normal(2.0, 3.0, size=(2,)).dtype == np.float32
    assert gg.normal(gg.zeros(2, dtype=gg.float64), 1.0).dtype == np.float64
    s = gg.normal(gg.full((100000,), 2.0), gg.full((100000,), 3.0)).numpy()
    assert abs(s.mean() - 2) < 0.05 and abs(s.std() - 3) < 0.05
    with pytest.raises(TypeError):
        gg.normal(0.0, 1.0)
    with pytest.raises(RuntimeError, match=r"std >= 0\.0"):
        gg.normal(gg.zeros(2), -1.0)


def test_inplace_fills() -> None:
    t = gg.empty(200000, dtype=gg.float64)
    assert t.normal_(1.0, 2.0) is t
    assert abs(t.mean().item() - 1) < 0.02 and abs(t.std().item() - 2) < 0.02
    t.uniform_(-1.0, 3.0)
    assert t.min().item() >= -1 and t.max().item() < 3 and abs(t.mean().item() - 1) < 0.02
    assert abs(t.exponential_(2.0).mean().item() - 0.5) < 0.01
    t.geometric_(0.25)
    assert t.min().item() == 1 and abs(t.mean().item() - 4) < 0.05
    assert abs(t.log_normal_(0.0, 0.5).mean().item() - np.exp(0.125)) < 0.01
    assert abs(t.cauchy_(1.0).median().item() - 1) < 0.02
    r = gg.empty(1000, dtype=gg.int64).random_(2, 5)
    assert set(r.tolist()) == {2, 3, 4}
    assert gg.empty(100).random_().max().item() <= 2**24
    v = t.normal_()
    assert v._version > 0
    w = gg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.normal_()


def test_poisson() -> None:
    r = gg.full((100000,), 3.5, dtype=gg.float64)
    s = gg.poisson(r)
    assert s.dtype == np.float64 and abs(s.mean().item() - 3.5) < 0.03
    assert abs(s.var().item() - 3.5) < 0.1
    with pytest.raises(RuntimeError, match="Poisson rate"):
        gg.poisson(gg.tensor([-1.0]))


DRAWS = [
    lambda g: gg.rand(3, generator=g),
    lambda g: gg.randn(3, generator=g),
    lambda g: gg.randint(0, 9, (3,), generator=g),
    lambda g: gg.randperm(5, generator=g),
    lambda g: gg.rand_like(gg.zeros(3), generator=g),
    lambda g: gg.randn_like(gg.zeros(3), generator=g),
    lambda g: gg.randint_like(gg.zeros(3), 9, generator=g),
    lambda g: gg.multinomial(gg.ones(4), 2, generator=g),
    lambda g: gg.bernoulli(gg.full((5,), 0.5), generator=g),
    lambda g: gg.normal(gg.zeros(3), 1.0, generator=g),
    lambda g: gg.poisson(gg.ones(3), generator=g),
    lambda g: gg.empty(3).normal_(generator=g),
    lambda g: gg.empty(3).uniform_(generator=g),
    lambda g: gg.empty(3).exponential_(generator=g),
]


@pytest.mark.parametrize("draw", DRAWS)
def test_generators_reproduce_draws(draw) -> None:
    a = draw(gg.Generator().manual_seed(3))
    b = draw(gg.Generator().manual_seed(3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    gg.manual_seed(7)
    c = draw(None)
    gg.manual_seed(7)
    np.testing.assert_array_equal(c.numpy(), draw(None).numpy())


def test_rng_state_restores_exactly() -> None:
    state = gg.get_rng_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    a = (gg.randn(4), gg.multinomial(gg.ones(5), 3), gg.rand(2))
    gg.set_rng_state(state)
    b = (gg.randn(4), gg.multinomial(gg.ones(5), 3), gg.rand(2))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    g = gg.Generator().manual_seed(5)
    gg.rand(1, generator=g)
    s = g.get_state()
    first = gg.randn(3, generator=g)
    g.set_state(s)
    np.testing.assert_array_equal(gg.randn(3, generator=g).numpy(), first.numpy())
    with pytest.raises(RuntimeError, match="uint8"):
        gg.set_rng_state(gg.zeros(3))


def test_generator_objects_in_data_utilities() -> None:
    ds = TensorDataset(gg.arange(10.0))
    first = [len(s) for s in random_split(ds, [7, 3], generator=gg.Generator().manual_seed(1))]
    assert first == [7, 3]
    idx = [s.indices for s in random_split(ds, [5, 5], generator=gg.Generator().manual_seed(1))]
    again = [s.indices for s in random_split(ds, [5, 5], generator=gg.Generator().manual_seed(1))]
    assert idx == again
    order = [
        b[0].tolist()
        for b in DataLoader(ds, 10, shuffle=True, generator=gg.Generator().manual_seed(2))
    ]
    assert order == [
        b[0].tolist()
        for b in DataLoader(ds, 10, shuffle=True, generator=gg.Generator().manual_seed(2))
    ]
