"""glassgrad.data against torch.utils.data: datasets, splits, batching, collation, shuffling."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import glassgrad as gg
from glassgrad.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)
from glassgrad.serialization import load, save


class Squares(Dataset):
    """A plain map-style dataset: samples go through __getitem__ and the default collate."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __getitem__(self, i: int):
        return gg.tensor([float(i), float(i * i)]), i

    def __len__(self) -> int:
        return self.n


def _toy(n: int = 10) -> TensorDataset:
    return TensorDataset(gg.arange(n * 3.0).reshape(n, 3), gg.arange(n))


def _order(loader: DataLoader) -> list[int]:
    return [int(i) for _, y in loader for i in y.tolist()]


# ---- datasets and splits ---------------------------------------------------------------------


def test_dataset_base_requires_getitem_and_len():
    class Empty(Dataset):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define __getitem__"):
        Empty()[0]
    with pytest.raises(NotImplementedError, match="Empty must define __len__"):
        len(Empty())


def test_tensor_dataset_indexes_every_tensor():
    x, y = gg.randn(6, 2), gg.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.numpy(), x.numpy()[4])
    assert yi.item() == 4
    wrapped = TensorDataset(np.ones((3, 2)))  # arrays are wrapped without a copy
    assert isinstance(wrapped.tensors[0], gg.Tensor)


def test_tensor_dataset_size_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"tensor 0: \(5, 2\), tensor 1: \(4,\)"):
        TensorDataset(gg.zeros(5, 2), gg.zeros(4))
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(gg.tensor(1.0))
    with pytest.raises(TypeError, match="argument 1 is a list"):
        TensorDataset(gg.zeros(2), [1, 2])


@pytest.mark.parametrize(
    "n, lengths",
    [(10, [0.8, 0.2]), (1797, [0.8, 0.2]), (11, [0.3, 0.3, 0.4]), (7, [0.5, 0.5]), (10, [3, 7])],
)
def test_random_split_lengths_match_torch(n, lengths):
    ours = random_split(_toy(n), lengths, generator=0)
    theirs = tud.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    all_indices = sorted(i for s in ours for i in s.indices)
    assert all_indices == list(range(n))  # a partition: disjoint and complete


def test_random_split_is_seeded_and_validated():
    a = random_split(_toy(), [5, 5], generator=3)
    b = random_split(_toy(), [5, 5], generator=np.random.default_rng(3))
    assert a[0].indices == b[0].indices
    gg.manual_seed(1)
    c = random_split(_toy(), [5, 5])
    gg.manual_seed(1)
    assert random_split(_toy(), [5, 5])[0].indices == c[0].indices
    with pytest.raises(ValueError, match="does not equal the length of the input dataset"):
        random_split(_toy(), [3, 3])
    with pytest.raises(ValueError, match="non-negative ints or fractions"):
        random_split(_toy(), [0.5, 0.2])
    with pytest.raises(TypeError, match="generator must be"):
        random_split(_toy(), [5, 5], generator="seed")


def test_subset_picks_samples_in_order():
    ds = _toy()
    sub = Subset(ds, [7, 2])
    assert len(sub) == 2
    assert sub[0][1].item() == 7 and sub[1][1].item() == 2


def test_stack_dataset_pairs_samples_and_batches_as_torch():
    """``StackDataset(images, labels)`` or ``StackDataset(image=..., text=...)``."""
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    for lib, tensor in ((gg.utils.data, gg.tensor), (tud, torch.tensor)):
        pairs = lib.StackDataset(lib.TensorDataset(tensor(x)), list(y))
        assert len(pairs) == 6 and pairs[4][1] == 4 and pairs[4][0][0].tolist() == [8.0, 9.0]
        named = lib.StackDataset(image=lib.TensorDataset(tensor(x)), label=list(y))
        batch = next(iter(lib.DataLoader(named, batch_size=4)))
        assert list(batch) == ["image", "label"] and batch["label"].tolist() == [0, 1, 2, 3]
        assert batch["image"][0].shape == (4, 2)
        with pytest.raises(ValueError, match="Size mismatch between datasets"):
            lib.StackDataset(list(y), list(y[:3]))
        with pytest.raises(ValueError, match="At least one dataset should be passed"):
            lib.StackDataset()
        with pytest.raises(ValueError, match="but both types are given"):
            lib.StackDataset(list(y), b=list(y))


# ---- batching --------------------------------------------------------------------------------


@pytest.mark.parametrize("n, bs", [(10, 3), (9, 3), (5, 8), (1, 1)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_and_len_match_torch(n, bs, drop_last):
    ours = DataLoader(_toy(n), batch_size=bs, drop_last=drop_last)
    x = torch.arange(n * 3.0).reshape(n, 3)
    theirs = tud.DataLoader(tud.TensorDataset(x, torch.arange(n)), bs, drop_last=drop_last)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for (gx, gy), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(gx.numpy(), wx.numpy())
        np.testing.assert_array_equal(gy.numpy(), wy.numpy())
        assert gx.dtype == np.float32 and gy.dtype == np.int64


def test_fast_path_cuts_batches_without_getitem(monkeypatch):
    def boom(self, index):
        raise AssertionError("per-sample __getitem__ on the fast path")

    ds = _toy(10)
    train, _ = random_split(ds, [0.7, 0.3], generator=0)
    monkeypatch.setattr(TensorDataset, "__getitem__", boom)
    assert sum(len(y) for _, y in DataLoader(ds, batch_size=4, shuffle=True)) == 10
    assert _order(DataLoader(train, batch_size=4)) == list(train.indices)


def test_fast_path_equals_per_sample_collation():
    """A Subset of a TensorDataset (fast path) gives what collating its samples one by one does."""
    ds = _toy(12)
    train, _ = random_split(ds, [8, 4], generator=5)
    fast = list(DataLoader(train, batch_size=3, shuffle=True, generator=9))
    slow = list(
        DataLoader(
            train, batch_size=3, shuffle=True, generator=9, collate_fn=lambda b: default_collate(b)
        )
    )
    assert len(fast) == len(slow) == 3
    for (fx, fy), (sx, sy) in zip(fast, slow):
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())


def test_fast_path_keeps_the_graph_to_dataset_tensors():
    w = gg.randn(4, 2, requires_grad=True)
    (xb,) = next(iter(DataLoader(TensorDataset(w), batch_size=2)))
    xb.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [1, 1], [0, 0], [0, 0]])


def test_generic_dataset_goes_through_collate():
    batches = list(DataLoader(Squares(5), batch_size=2))
    x, i = batches[-1]
    np.testing.assert_array_equal(x.numpy(), [[4.0, 16.0]])
    assert i.dtype == np.int64 and i.tolist() == [4]


def test_custom_collate_fn_gets_the_list_of_samples():
    loader = DataLoader(Squares(4), batch_size=3, collate_fn=lambda b: [s[1] for s in b])
    assert list(loader) == [[0, 1, 2], [3]]


def test_bad_arguments_name_the_option():
    with pytest.raises(ValueError, match="batch_size should be a positive integer, got 0"):
        DataLoader(_toy(), batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        DataLoader(_toy(), batch_size=2.5)
    with pytest.raises(TypeError, match="must define __getitem__ and __len__"):
        DataLoader(42)
    with pytest.raises(TypeError, match="generator must be"):
        DataLoader(_toy(), generator=1.5)


# ---- default_collate against torch's -----------------------------------------------------------

Point = collections.namedtuple("Point", "x y")


def _assert_same(ours, theirs):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gg.Tensor)
        assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            _assert_same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _assert_same(o, t)
    else:
        assert ours == theirs


@pytest.mark.parametrize(
    "make",
    [
        lambda: [1, 2, 3],
        lambda: [1.5, 2.0],
        lambda: [True, False],
        lambda: ["a", "b"],
        lambda: [np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int32)],
        lambda: [np.float32(1.5), np.float32(2.5)],
        lambda: [(np.ones(2), 1), (np.zeros(2), 0)],
        lambda: [[1, 2.0], [3, 4.0]],
        lambda: [{"x": np.ones((2, 2)), "label": 3}, {"x": np.zeros((2, 2)), "label": 4}],
        lambda: [Point(1, 2.5), Point(3, 4.5)],
        lambda: [("a", 1), ("b", 2)],  # strings in a field: zip's tuple, as PyTorch's
        lambda: [["a", 1.5], ["b", 2.5]],
        lambda: [{"s": "a", "t": ("x", 1)}, {"s": "b", "t": ("y", 2)}],
        lambda: [Point("a", 1), Point("b", 2)],
    ],
)
def test_default_collate_matches_torch(make):
    _assert_same(default_collate(make()), tud.default_collate(make()))


def test_default_collate_tensors_and_errors():
    a, b = gg.tensor([1.0, 2.0]), gg.tensor([3.0, 4.0])
    np.testing.assert_array_equal(default_collate([a, b]).numpy(), [[1, 2], [3, 4]])
    with pytest.raises(
        RuntimeError, match=r"equal size, but got \[2\] at entry 0 and \[3\] at entry 1"
    ):
        default_collate([a, gg.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])


# ---- shuffling and resuming ----------------------------------------------------------------------


def test_shuffle_is_seeded_and_new_each_epoch():
    loader = DataLoader(_toy(20), batch_size=6, shuffle=True, generator=42)
    first, second = _order(loader), _order(loader)
    assert sorted(first) == sorted(second) == list(range(20))
    assert first != second
    again = DataLoader(_toy(20), batch_size=6, shuffle=True, generator=42)
    assert [_order(again), _order(again)] == [first, second]
    assert _order(DataLoader(_toy(20), batch_size=6)) == list(range(20))  # no shuffle: in order


def test_default_generator_is_glassgrads_own():
    loader = DataLoader(_toy(20), batch_size=5, shuffle=True)
    gg.manual_seed(7)
    assert loader.generator is gg.creation.generator()
    a = _order(loader)
    gg.manual_seed(7)
    assert _order(loader) == a


def test_resume_from_a_checkpointed_loader_state(tmp_path):
    """Save the generator state at an epoch boundary; a fresh loader replays the next epochs."""
    loader = DataLoader(_toy(30), batch_size=4, shuffle=True, generator=np.random.default_rng(1))
    _order(loader)  # epoch 0
    save({"epoch": 1, "loader": loader.state_dict()}, tmp_path / "ckpt")
    expected = [_order(loader), _order(loader)]  # epochs 1 and 2, uninterrupted
    ckpt = load(tmp_path / "ckpt")
    resumed = DataLoader(_toy(30), batch_size=4, shuffle=True, generator=123)
    resumed.load_state_dict(ckpt["loader"])
    assert [_order(resumed), _order(resumed)] == expected
    with pytest.raises(KeyError, match="missing key 'generator'"):
        resumed.load_state_dict({})


def test_default_collate_stacks_other_libraries_tensors() -> None:
    # a torchvision transform hands back torch tensors: batches are glassgrad tensors of them
    import torch

    from glassgrad.data import default_collate

    batch = default_collate([(torch.ones(2, 3) * i, i) for i in range(4)])
    assert isinstance(batch[0], gg.Tensor) and batch[0].shape == (4, 2, 3)
    assert batch[0].dtype == gg.float32 and batch[0][3].tolist() == [[3.0] * 3] * 2
    assert batch[1].tolist() == [0, 1, 2, 3]
