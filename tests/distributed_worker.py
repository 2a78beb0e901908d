"""What ``tests/test_distributed.py`` runs under ``mpiexec -n 2`` (one launch runs many cases).

    python tests/distributed_worker.py collectives OUT_DIR   # each rank writes OUT_DIR/rank<r>.json
    python tests/distributed_worker.py ddp OUT_DIR
    python tests/distributed_worker.py raise                 # rank 1 raises at step 3
    python tests/distributed_worker.py die                   # rank 1 exits hard at step 3

The collectives case only runs the collectives and reports what every rank got; the test
computes what NumPy says they should have got from every rank's inputs (``inputs``, the same
function on both sides). The DDP cases compare each rank's parameters after training with a
single-process model trained on the whole batch in the same process.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

SHAPES = [(), (0,), (5,), (2, 3, 4), (4, 0, 2), (7, 1)]
DTYPES = ["float32", "float64"]
OPS = ["SUM", "AVG", "MAX", "MIN", "PRODUCT"]


def inputs(rank: int, shape: tuple[int, ...], dtype: str, salt: int) -> np.ndarray:
    """Rank ``rank``'s data for one case: the worker and the test both call this."""
    rng = np.random.default_rng([rank, salt, len(shape), *shape])
    return (rng.standard_normal(shape) + 0.5).astype(dtype)


def case_name(*parts: Any) -> str:
    return "/".join(str(p) for p in parts)


# ---- collectives ---------------------------------------------------------------------------------


def collectives(out: dict[str, Any]) -> None:
    import glassgrad as gg
    import glassgrad.distributed as dist

    rank, world = dist.get_rank(), dist.get_world_size()

    def t(a: np.ndarray) -> Any:
        return gg.tensor(a.copy())

    for dtype in DTYPES:
        for shape in SHAPES:
            for salt, op in enumerate(OPS):
                x = t(inputs(rank, shape, dtype, salt))
                dist.all_reduce(x, op=getattr(dist.ReduceOp, op))
                out[case_name("all_reduce", op, dtype, shape)] = x.tolist()
            x = t(inputs(rank, shape, dtype, 10))
            work = dist.all_reduce(x, async_op=True)
            assert work is not None and work.wait() is True and work.is_completed()
            out[case_name("all_reduce_async", dtype, shape)] = x.tolist()
            for src in range(world):
                x = t(inputs(rank, shape, dtype, 20 + src))
                dist.broadcast(x, src=src)
                out[case_name("broadcast", src, dtype, shape)] = x.tolist()
            got = [gg.zeros(shape, dtype=dtype) for _ in range(world)]
            dist.all_gather(got, t(inputs(rank, shape, dtype, 30)))
            out[case_name("all_gather", dtype, shape)] = [g.tolist() for g in got]
            flat = gg.zeros((world * int(np.prod(shape)),), dtype=dtype)
            dist.all_gather_into_tensor(flat, t(inputs(rank, shape, dtype, 31)))
            out[case_name("all_gather_into_tensor", dtype, shape)] = flat.tolist()
            parts = [t(inputs(rank, shape, dtype, 40 + k)) for k in range(world)]
            mine = gg.zeros(shape, dtype=dtype)
            dist.reduce_scatter(mine, parts)
            out[case_name("reduce_scatter", dtype, shape)] = mine.tolist()
            stacked = t(np.stack([inputs(rank, shape, dtype, 50 + k) for k in range(world)]))
            mine = gg.zeros(shape, dtype=dtype)
            dist.reduce_scatter_tensor(mine, stacked, op=dist.ReduceOp.AVG)
            out[case_name("reduce_scatter_tensor_avg", dtype, shape)] = mine.tolist()
            x = t(inputs(rank, shape, dtype, 60))
            dist.reduce(x, dst=world - 1, op=dist.ReduceOp.MAX)
            out[case_name("reduce_max", dtype, shape)] = x.tolist()
            got = [gg.zeros(shape, dtype=dtype) for _ in range(world)] if rank == 0 else None
            dist.gather(t(inputs(rank, shape, dtype, 70)), got, dst=0)
            out[case_name("gather", dtype, shape)] = [g.tolist() for g in got or []]
            x = gg.zeros(shape, dtype=dtype)
            pieces = [t(inputs(rank, shape, dtype, 80 + k)) for k in range(world)]
            dist.scatter(x, pieces if rank == world - 1 else None, src=world - 1)
            out[case_name("scatter", dtype, shape)] = x.tolist()

    x = gg.tensor(inputs(rank, (3, 4), "float64", 90).copy())
    view = x.T  # not contiguous: reduced through a copy, written back into the view
    before = view._version
    dist.all_reduce(view)
    out["all_reduce_view"] = x.tolist()
    out["view_version_bumped"] = view._version > before
    ints = gg.tensor(np.arange(6, dtype=np.int64) * (rank + 1))
    dist.all_reduce(ints, op=dist.ReduceOp.MAX)
    out["int_max"] = ints.tolist()
    flags = gg.tensor(np.array([rank == 0, False, True]))
    dist.all_reduce(flags)
    out["bool_sum"] = flags.tolist()
    box = [{"rank": rank}, "x"] if rank == 0 else [None, None]
    dist.broadcast_object_list(box, src=0)
    out["broadcast_object_list"] = box
    every: list[Any] = [None] * world
    dist.all_gather_object(every, {"rank": rank})
    out["all_gather_object"] = every
    if world > 1:  # point to point: a ring
        buf = gg.zeros(3, dtype="float64")
        req = dist.isend(gg.tensor(inputs(rank, (3,), "float64", 95)), dst=(rank + 1) % world)
        sender = dist.recv(buf, src=(rank - 1) % world)
        req.wait()
        out["ring"] = [sender, buf.tolist()]
    dist.barrier()
    out["errors"] = collective_errors(gg, dist, rank)


def collective_errors(gg: Any, dist: Any, rank: int) -> dict[str, str]:
    """Mismatched arguments: the same error on every rank, naming ranks, shapes and dtypes."""
    errors = {}
    attempts: dict[str, Callable[[], Any]] = {
        "shape": lambda: dist.all_reduce(gg.zeros(2 + rank)),
        "dtype": lambda: dist.broadcast(gg.zeros(2, dtype="float64" if rank else "float32"), 0),
        "avg_int": lambda: dist.all_reduce(gg.zeros(2, dtype="int64"), op=dist.ReduceOp.AVG),
        "src": lambda: dist.broadcast(gg.zeros(2), src=7),
        "list": lambda: dist.all_gather([gg.zeros(2)], gg.zeros(2)),
        "scatter_size": lambda: dist.reduce_scatter_tensor(gg.zeros(3), gg.zeros(5)),
    }
    for name, attempt in attempts.items():
        try:
            attempt()
            errors[name] = "no error"
        except (RuntimeError, ValueError) as e:
            errors[name] = f"{type(e).__name__}: {e}"
    return errors


# ---- DistributedDataParallel ---------------------------------------------------------------------


def mlp(gg: Any, seed: int, dtype: str, widths: tuple[int, ...] = (6, 8, 8, 3)) -> Any:
    gg.manual_seed(seed)
    layers: list[Any] = []
    for a, b in itertools.pairwise(widths):
        layers += [gg.nn.Linear(a, b), gg.nn.Tanh()]
    return gg.nn.Sequential(*layers[:-1]).to(getattr(gg, dtype))


class TwoBranch:
    """A model whose second branch is used on some ranks only, plus a branch no rank uses."""

    def __init__(self, gg: Any, dtype: str) -> None:
        nn = gg.nn

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.trunk = nn.Linear(6, 5)
                self.extra = nn.Linear(5, 5)
                self.never = nn.Linear(5, 5)
                self.head = nn.Linear(5, 3)

            def forward(self, x: Any, use_extra: bool) -> Any:
                h = self.trunk(x).tanh()
                if use_extra:
                    h = h + self.extra(h).tanh()
                return self.head(h)

        self.Net = Net
        self.dtype = getattr(gg, dtype)


def batch(dtype: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6)).astype(dtype), rng.integers(0, 3, n)


def ddp_cases(out: dict[str, Any]) -> None:
    import glassgrad as gg
    import glassgrad.distributed as dist
    import glassgrad.nn.functional as F
    from glassgrad.nn.parallel import DistributedDataParallel as DDP

    rank, world = dist.get_rank(), dist.get_world_size()
    per_rank = 4
    n = per_rank * world

    def optimizer(name: str, params: Any) -> Any:
        if name == "sgd":
            return gg.optim.SGD(params, lr=0.1, momentum=0.9)
        return gg.optim.Adam(params, lr=0.01)

    def max_diff(a: Any, b: Any) -> float:
        pairs = zip(a.parameters(), b.parameters())
        return max(float(np.abs(p.detach().numpy() - q.detach().numpy()).max()) for p, q in pairs)

    for dtype in ("float64", "float32"):
        for opt_name in ("sgd", "adam"):
            for micro in (1, 2):  # 2: accumulate over two micro-batches, the first in no_sync()
                for cap in (25.0, 0.0005):  # the default, and a cap that makes many buckets
                    ref = mlp(gg, 0, dtype)
                    ref_opt = optimizer(opt_name, ref.parameters())
                    model = mlp(gg, 100 * rank, dtype)  # rank 0's is ref's; DDP copies it
                    ddp = DDP(model, bucket_cap_mb=cap)
                    opt = optimizer(opt_name, ddp.parameters())
                    mine = slice(rank * per_rank, (rank + 1) * per_rank)
                    for step in range(3):
                        ref_opt.zero_grad()
                        opt.zero_grad()
                        for m in range(micro):
                            x, y = batch(dtype, n, 1000 * step + m)
                            loss = F.cross_entropy(ref(gg.tensor(x)), gg.tensor(y)) / micro
                            loss.backward()
                            ctx = ddp.no_sync() if m < micro - 1 else nullcontext()
                            with ctx:
                                local = ddp(gg.tensor(x[mine]))
                                (F.cross_entropy(local, gg.tensor(y[mine])) / micro).backward()
                        opt.step()
                        ref_opt.step()
                    info = ddp._get_ddp_logging_data()
                    out[case_name("ddp", dtype, opt_name, micro, cap)] = {
                        "max_diff": max_diff(ref, model),
                        "buckets": info["buckets"],
                        "launched_in_backward": info["launched_in_backward"],
                    }
    for find_unused in (False, True):
        net = TwoBranch(gg, "float64")
        gg.manual_seed(3)
        ref = net.Net().to(net.dtype)
        gg.manual_seed(3)
        ddp = DDP(net.Net().to(net.dtype), find_unused_parameters=find_unused)
        ref_opt = gg.optim.SGD(ref.parameters(), lr=0.1)
        opt = gg.optim.SGD(ddp.parameters(), lr=0.1)
        for step in range(3):
            x, y = batch("float64", n, 7 + step)
            ref_opt.zero_grad()
            opt.zero_grad()
            total = 0  # the mean over ranks of each rank's loss; rank r uses `extra` if r is odd
            for r in range(world):
                part = slice(r * per_rank, (r + 1) * per_rank)
                out_r = ref(gg.tensor(x[part]), r % 2 == 1)
                total = total + F.cross_entropy(out_r, gg.tensor(y[part])) / world
            total.backward()
            ref_opt.step()
            mine = slice(rank * per_rank, (rank + 1) * per_rank)
            local = ddp(gg.tensor(x[mine]), rank % 2 == 1)
            F.cross_entropy(local, gg.tensor(y[mine])).backward()
            opt.step()
        out[case_name("unused", find_unused)] = {
            "max_diff": max_diff(ref, ddp.module),
            "never_grad_is_none": ddp.module.never.weight.grad is None,
            "extra_grad_set": ddp.module.extra.weight.grad is not None,
        }
    ddp = DDP(mlp(gg, 0, "float32"))
    out["state_dict_keys"] = list(ddp.state_dict())
    try:
        DDP(mlp(gg, 0, "float32", (6, 8 + rank, 3)))
        out["mismatch"] = "no error"
    except RuntimeError as e:
        out["mismatch"] = str(e)
    from glassgrad.data import DistributedSampler

    sampler = DistributedSampler(range(11), shuffle=False)
    out["sampler"] = [sampler.num_replicas, sampler.rank, list(sampler)]


# ---- failures ------------------------------------------------------------------------------------


def train_until_failure(how: str) -> None:
    """Train; at step 3 rank 1 fails (``raise``: an exception; ``die``: the process exits hard)
    while rank 0 goes on into the all-reduce of its backward pass."""
    import glassgrad as gg
    import glassgrad.distributed as dist
    import glassgrad.nn.functional as F
    from glassgrad.nn.parallel import DistributedDataParallel as DDP

    rank = dist.get_rank()
    ddp = DDP(mlp(gg, 0, "float32"))
    opt = gg.optim.SGD(ddp.parameters(), lr=0.1)
    for step in range(1000):
        if rank == 1 and step == 3:
            if how == "die":
                os.kill(os.getpid(), 9)
            raise ValueError("a deliberate failure at step 3")
        x, y = batch("float32", 4, step)
        opt.zero_grad()
        F.cross_entropy(ddp(gg.tensor(x)), gg.tensor(y)).backward()
        opt.step()
        time.sleep(0.01)
    print("rank", rank, "finished training: the failure was not noticed", flush=True)


def main() -> None:
    import glassgrad.distributed as dist

    what = sys.argv[1]
    dist.init_process_group("mpi")
    if what in ("raise", "die"):
        train_until_failure(what)
        return
    out: dict[str, Any] = {"world": dist.get_world_size()}
    {"collectives": collectives, "ddp": ddp_cases}[what](out)
    path = Path(sys.argv[2]) / f"rank{dist.get_rank()}.json"
    path.write_text(json.dumps(out))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
