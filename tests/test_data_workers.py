"""``DataLoader(num_workers > 0)``: real worker processes, checked against ``num_workers=0``
(the same batches in the same order) and against PyTorch's workers (IterableDataset sharding
order, worker seeds, error messages); errors, timeouts, dead workers and interpreter exit must
raise or finish, never hang. Small datasets and two workers keep it fast."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch.utils.data as tud

import glassgrad as gg
import glassgrad.utils.data as gud
from glassgrad.data.worker import _generate_state

LIBS = {"gg": gud, "torch": tud}


class Squares(gud.Dataset):
    """Sample i: (i as a float array, i*i, the worker that loaded it)."""

    def __init__(self, n: int = 11) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        info = gud.get_worker_info()
        return np.array([float(i)]), i * i, -1 if info is None else info.id


class Sharded:
    """An IterableDataset written once for both libraries: worker k of n yields k, k+n, ...
    (the sharding PyTorch's documentation shows), tagged with the worker id."""

    def __init__(self, lib: str, n: int = 9) -> None:
        self.lib, self.n = lib, n

    def __iter__(self):
        info = LIBS[self.lib].get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        wid = -1 if info is None else info.id
        return iter([(i, wid) for i in range(start, self.n, step)])


class ShardedGG(Sharded, gud.IterableDataset):
    pass


class ShardedTorch(Sharded, tud.IterableDataset):
    pass


class Failing(Squares):
    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"boom at index {i}")
        return super().__getitem__(i)


class Slow(Squares):
    def __getitem__(self, i):
        time.sleep(1.0)
        return i


class Dies(Squares):
    def __getitem__(self, i):
        os._exit(3)


class SeedReport(Squares):
    def __getitem__(self, i):
        info = gud.get_worker_info()
        return info.id, info.seed, info.num_workers, float(np.random.rand()), _INIT.get("id", -1)


_INIT: dict[str, int] = {}


def _init_fn(worker_id: int) -> None:
    _INIT["id"] = worker_id


def _plain(v):
    return v.tolist() if hasattr(v, "tolist") else v


def _flat(batches):
    return [[b.tolist() if isinstance(b, gg.Tensor) else b for b in batch] for batch in batches]


@pytest.mark.parametrize("kw", [{}, {"shuffle": True, "generator": 5}, {"drop_last": True}])
def test_map_batches_equal_single_process(kw):
    ds = Squares()
    serial = gud.DataLoader(ds, batch_size=3, **kw)
    workers = gud.DataLoader(ds, batch_size=3, num_workers=2, **kw)
    for _ in range(2):  # two passes: a shuffled loader's second epoch must agree too
        a, b = list(serial), list(workers)
        assert [x[:2] for x in _flat(a)] == [x[:2] for x in _flat(b)]
        assert all(isinstance(t, gg.Tensor) for batch in b for t in batch)
        assert {int(w) for batch in b for w in batch[2].tolist()} == {0, 1}  # both worked
        assert {int(w) for batch in a for w in batch[2].tolist()} == {-1}


def test_tensor_dataset_and_unbatched():
    x, y = gg.randn(10, 3), gg.arange(10)
    ds = gud.TensorDataset(x, y)
    a = list(gud.DataLoader(ds, batch_size=4, num_workers=2, shuffle=True, generator=1))
    b = list(gud.DataLoader(ds, batch_size=4, shuffle=True, generator=1))
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert isinstance(xa, gg.Tensor) and xa.dtype == x.dtype
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    single = list(gud.DataLoader(ds, batch_size=None, num_workers=2))
    assert [int(t[1]) for t in single] == list(range(10))


@pytest.mark.parametrize("batch_size", [2, None])
def test_iterable_sharding_order_matches_torch(batch_size):
    theirs = tud.DataLoader(ShardedTorch("torch"), batch_size=batch_size, num_workers=2)
    ours = gud.DataLoader(ShardedGG("gg"), batch_size=batch_size, num_workers=2)
    t = [[_plain(v) for v in b] for b in theirs]
    g = [[_plain(v) for v in b] for b in ours]
    assert g == t


def test_worker_info_seeds_and_init_fn():
    loader = gud.DataLoader(
        SeedReport(6), batch_size=None, num_workers=2, worker_init_fn=_init_fn, generator=3
    )
    rows = [tuple(r) for r in loader]
    by_worker = {int(r[0]): r for r in rows}
    assert set(by_worker) == {0, 1}
    assert all(r[2] == 2 and r[4] == r[0] for r in rows)  # num_workers; init_fn ran there
    assert by_worker[1][1] - by_worker[0][1] == 1  # seed = base_seed + worker_id
    again = [
        tuple(r) for r in gud.DataLoader(SeedReport(6), batch_size=None, num_workers=2, generator=3)
    ]
    assert [r[:4] for r in again] == [r[:4] for r in rows]  # reproducible from the seed
    assert gud.get_worker_info() is None


def test_numpy_worker_seeding_is_pytorchs():
    from torch.utils.data._utils.worker import _generate_state as torch_state

    for base, wid in [(0, 0), (12345678901234, 1), (2**63 - 5, 3)]:
        assert _generate_state(base, wid) == torch_state(base, wid)


def test_worker_error_names_worker_and_keeps_traceback():
    loader = gud.DataLoader(Failing(), batch_size=2, num_workers=2)
    with pytest.raises(
        ValueError, match=r"Caught ValueError in DataLoader worker process [01]"
    ) as e:
        list(loader)
    text = str(e.value)
    assert "Traceback (most recent call last)" in text and "boom at index 5" in text
    assert "in __getitem__" in text


def test_timeout_and_dead_worker_raise_instead_of_hanging():
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0\.3 seconds"):
        next(iter(gud.DataLoader(Slow(4), num_workers=2, timeout=0.3)))
    with pytest.raises(
        RuntimeError, match=r"DataLoader worker \(pid\(s\) .*\) exited unexpectedly"
    ):
        list(gud.DataLoader(Dies(4), num_workers=2))
    assert time.monotonic() - t0 < 20


def test_persistent_workers_are_reused_and_restart_iteration():
    loader = gud.DataLoader(
        ShardedGG("gg", 6), batch_size=2, num_workers=2, persistent_workers=True
    )
    first = [[v.tolist() for v in b] for b in loader]
    pids = [w.pid for w in loader._iterator._workers]
    it = iter(loader)
    next(it)  # abandon a pass half-way: its results must not leak into the next
    second = [[v.tolist() for v in b] for b in loader]
    assert first == second and [w.pid for w in loader._iterator._workers] == pids
    assert all(w.is_alive() for w in loader._iterator._workers)


def test_prefetch_factor_and_option_errors():
    ds = Squares(7)
    got = list(gud.DataLoader(ds, batch_size=2, num_workers=2, prefetch_factor=1))
    assert [b[1].tolist() for b in got] == [[0, 1], [4, 9], [16, 25], [36]]
    with pytest.raises(ValueError, match="multiprocessing_context can only be used"):
        gud.DataLoader(ds, multiprocessing_context="spawn")
    with pytest.raises(ValueError, match="valid start method"):
        gud.DataLoader(ds, num_workers=2, multiprocessing_context="teleport")


def test_spawn_pickles_or_explains():
    ds = gud.TensorDataset(gg.arange(4) ** 2)  # pickled by reference to glassgrad only
    got = list(gud.DataLoader(ds, batch_size=2, num_workers=2, multiprocessing_context="spawn"))
    assert [b[0].tolist() for b in got] == [[0, 1], [4, 9]]
    with pytest.raises(RuntimeError, match="define them at module level"):
        list(
            gud.DataLoader(
                ds, num_workers=2, multiprocessing_context="spawn", collate_fn=lambda b: b
            )
        )


def test_interpreter_exit_leaves_no_workers():
    script = textwrap.dedent(
        """
        import numpy as np
        import glassgrad.utils.data as gud

        class DS(gud.Dataset):
            def __len__(self):
                return 100
            def __getitem__(self, i):
                return np.zeros(2)

        persistent = gud.DataLoader(DS(), batch_size=2, num_workers=2, persistent_workers=True)
        next(iter(persistent))
        it = iter(gud.DataLoader(DS(), batch_size=2, num_workers=2))
        next(it)  # left half-way, never closed
        pids = [w.pid for w in persistent._iterator._workers] + [w.pid for w in it._workers]
        print(" ".join(map(str, pids)))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 4
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{p}") for p in pids)
