"""Samplers, DataLoader's sampler/batch_sampler/worker arguments, ConcatDataset and
IterableDataset, against torch.utils.data where the result does not depend on the RNG."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import glassgrad as gg
import glassgrad.utils.data as gud


def _pair(n: int = 10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    ours = gud.TensorDataset(gg.tensor(x), gg.tensor(y))
    theirs = tud.TensorDataset(torch.tensor(x), torch.tensor(y))
    return ours, theirs


def _plain(b):
    return b.tolist() if hasattr(b, "tolist") else b


def _labels(loader) -> list[list[int]]:
    return [batch[1].tolist() for batch in loader]


@pytest.mark.parametrize("bs, drop_last", [(3, False), (3, True), (5, False), (10, True)])
def test_batch_sampler_over_sequential_matches_torch(bs, drop_last):
    ours = list(gud.BatchSampler(gud.SequentialSampler(range(10)), bs, drop_last))
    theirs = list(tud.BatchSampler(tud.SequentialSampler(range(10)), bs, drop_last))
    assert ours == theirs
    assert len(gud.BatchSampler(range(10), bs, drop_last)) == len(theirs)


def test_loader_with_a_given_order_matches_torch():
    ours_ds, theirs_ds = _pair()
    order = [9, 2, 4, 0, 7, 1, 3, 8, 6, 5]
    for kw in ({"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": 3}):
        ours = gud.DataLoader(ours_ds, sampler=order, **kw)
        theirs = tud.DataLoader(theirs_ds, sampler=order, **kw)
        assert _labels(ours) == _labels(theirs)
        assert len(ours) == len(theirs)
    batches = [[1, 2], [9], [0, 3, 4]]
    ours = gud.DataLoader(ours_ds, batch_sampler=batches)
    theirs = tud.DataLoader(theirs_ds, batch_sampler=batches)
    assert _labels(ours) == _labels(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize(
    "make",
    [
        lambda m, ds: m.RandomSampler(ds),
        lambda m, ds: m.RandomSampler(ds, replacement=True, num_samples=25),
        lambda m, ds: m.RandomSampler(ds, num_samples=23),
        lambda m, ds: m.SubsetRandomSampler([1, 3, 5, 7]),
        lambda m, ds: m.WeightedRandomSampler([0.1, 0.0, 3.0, 1.0] + [0.5] * 6, 12),
        lambda m, ds: m.WeightedRandomSampler([1.0] * 10, 6, replacement=False),
    ],
)
def test_random_samplers_have_torch_lengths_and_ranges(make):
    ours_ds, theirs_ds = _pair()
    ours, theirs = make(gud, ours_ds), make(tud, theirs_ds)
    drawn = list(ours)
    assert len(ours) == len(theirs) == len(drawn) == len(list(theirs))
    assert set(drawn) <= set(range(10))
    if isinstance(ours, gud.SubsetRandomSampler):
        assert sorted(drawn) == [1, 3, 5, 7]
    if isinstance(ours, gud.WeightedRandomSampler):
        assert 1 not in drawn  # zero weight: never drawn
        if not ours.replacement:
            assert len(set(drawn)) == len(drawn)
    if isinstance(ours, gud.RandomSampler) and not ours.replacement:
        assert sorted(drawn[:10]) == list(range(10))  # whole permutations first


def test_random_sampler_generators_are_reproducible_and_move_on():
    ds, _ = _pair()
    s = gud.RandomSampler(ds, generator=gg.Generator().manual_seed(3))
    t = gud.RandomSampler(ds, generator=gg.Generator().manual_seed(3))
    assert list(s) == list(t)
    seeded = gud.RandomSampler(ds, generator=4)
    assert list(seeded) != list(seeded)  # a new order each pass, not the first one again
    gg.manual_seed(1)
    first = list(gud.RandomSampler(ds))
    gg.manual_seed(1)
    assert list(gud.RandomSampler(ds)) == first


def test_loader_with_sampler_covers_every_sample_once():
    ds, _ = _pair(11)
    loader = gud.DataLoader(ds, batch_size=4, sampler=gud.RandomSampler(ds))
    seen = [i for b in _labels(loader) for i in b]
    assert sorted(seen) == list(range(11)) and len(loader) == 3


def test_shuffle_default_keeps_its_order_and_exposes_samplers():
    ds, _ = _pair(20)
    loader = gud.DataLoader(ds, batch_size=6, shuffle=True, generator=42)
    assert isinstance(loader.sampler, gud.RandomSampler)
    assert isinstance(loader.batch_sampler, gud.BatchSampler)
    expected = np.random.default_rng(42).permutation(20).tolist()
    assert [i for b in _labels(loader) for i in b] == expected
    plain = gud.DataLoader(ds, batch_size=6)
    assert isinstance(plain.sampler, gud.SequentialSampler)


def test_worker_and_memory_options_are_accepted():
    ours_ds, theirs_ds = _pair()
    kw = {
        "batch_size": 4,
        "num_workers": 2,
        "pin_memory": True,
        "persistent_workers": True,
        "prefetch_factor": 2,
        "timeout": 0,
    }
    ours = gud.DataLoader(ours_ds, **kw)
    assert _labels(ours) == _labels(tud.DataLoader(theirs_ds, batch_size=4))


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"sampler": [0, 1], "shuffle": True}, "mutually exclusive with shuffle"),
        ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually"),
        ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually"),
        ({"batch_size": None, "drop_last": True}, "mutually exclusive with drop_last"),
        ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
        ({"prefetch_factor": 2}, "prefetch_factor option could only be specified"),
    ],
)
def test_loader_argument_errors_match_torch(kw, match):
    ours_ds, theirs_ds = _pair()
    with pytest.raises(ValueError, match=match):
        tud.DataLoader(theirs_ds, **kw)
    with pytest.raises(ValueError, match=match):
        gud.DataLoader(ours_ds, **kw)


def test_batch_size_none_yields_samples():
    ours_ds, theirs_ds = _pair(3)
    ours = list(gud.DataLoader(ours_ds, batch_size=None))
    theirs = list(tud.DataLoader(theirs_ds, batch_size=None))
    assert [(x.tolist(), y.tolist()) for x, y in ours] == [
        (x.tolist(), y.tolist()) for x, y in theirs
    ]


def test_concat_dataset_matches_torch():
    a, ta = _pair(3)
    b, tb = _pair(4)
    ours, theirs = gud.ConcatDataset([a, b]), tud.ConcatDataset([ta, tb])
    assert len(ours) == len(theirs) == len(a + b)
    for i in (*range(7), -1, -7):
        assert ours[i][1].item() == theirs[i][1].item()
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert _labels(gud.DataLoader(ours, batch_size=3)) == _labels(
        tud.DataLoader(theirs, batch_size=3)
    )


def test_iterable_dataset_batches_like_torch():
    def make(base):
        class Stream(base):
            def __iter__(self):
                return iter(range(7))

        return Stream()

    for kw in ({"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}):
        ours = [_plain(b) for b in gud.DataLoader(make(gud.IterableDataset), **kw)]
        theirs = [_plain(b) for b in tud.DataLoader(make(tud.IterableDataset), **kw)]
        assert ours == theirs
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        gud.DataLoader(make(gud.IterableDataset), shuffle=True)


@pytest.mark.parametrize(
    "n,replicas,drop_last",
    [(10, 3, False), (10, 3, True), (4, 4, False), (2, 3, False), (9, 3, True), (1, 4, False)],
)
def test_distributed_sampler_shards_as_pytorch(n, replicas, drop_last) -> None:
    import torch.utils.data.distributed as tdist

    import glassgrad.utils.data.distributed as gdist

    for rank in range(replicas):
        ours = gdist.DistributedSampler(
            range(n), replicas, rank, shuffle=False, drop_last=drop_last
        )
        theirs = tdist.DistributedSampler(
            range(n), replicas, rank, shuffle=False, drop_last=drop_last
        )
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_sampler_shuffles_per_epoch_the_same_on_every_rank() -> None:
    from glassgrad.data import DistributedSampler

    shards = [DistributedSampler(range(11), 2, r, seed=3) for r in range(2)]
    first = [list(s) for s in shards]
    assert sorted(first[0] + first[1]) == sorted([*range(11), first[0][0]])  # one pad repeat
    for s in shards:
        s.set_epoch(1)
    second = [list(s) for s in shards]
    assert second != first and set(second[0] + second[1]) == set(range(11))
    assert len(second[0]) == len(second[1]) == 6
    again = DistributedSampler(range(11), 2, 0, seed=3)
    again.set_epoch(1)
    assert list(again) == second[0]  # seeded by seed + epoch only
    with pytest.raises(RuntimeError, match="process group"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(range(4), 2, 2)


def test_sampler_with_replacement_draws_lazily():
    """minGPT's and makemore's infinite loaders: num_samples=1e10 must not be allocated."""
    ds = gud.TensorDataset(gg.arange(10))
    sampler = gud.RandomSampler(ds, replacement=True, num_samples=int(1e10))
    loader = gud.DataLoader(ds, batch_size=4, sampler=sampler)
    assert len(loader) == len(tud.DataLoader(list(range(10)), batch_size=4, sampler=sampler))
    it = iter(loader)
    batches = [next(it)[0] for _ in range(3)]
    assert all(b.shape == (4,) and int(b.min()) >= 0 and int(b.max()) < 10 for b in batches)
    first = list(zip(range(5), sampler))
    assert len(first) == 5


def test_sampler_chunks_give_the_same_batches_as_one_array():
    ds = gud.TensorDataset(gg.arange(7))
    for replacement in (False, True):
        gen = gg.Generator().manual_seed(3)
        sampler = gud.RandomSampler(ds, replacement=replacement, num_samples=17, generator=gen)
        gen.manual_seed(3)
        batches = [b[0].tolist() for b in gud.DataLoader(ds, batch_size=5, sampler=sampler)]
        gen.manual_seed(3)
        flat = sampler.indices().tolist()
        assert [len(b) for b in batches] == [5, 5, 5, 2]
        assert [i for b in batches for i in b] == flat
