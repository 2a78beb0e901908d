"""``glassgrad.distributed``, ``DistributedDataParallel`` and ``glassgrad train`` on 2 MPI ranks.

Each launch of ``mpiexec -n 2`` costs about a second, so one launch runs many cases
(``tests/distributed_worker.py``) and the tests below read its results. The collectives are
checked against NumPy reductions of every rank's inputs, computed here from the same input
function; DDP against one process training on the whole batch.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.__main__ import main as cli_main
from glassgrad.autograd.engine import queue_callback
from tests.distributed_worker import DTYPES, OPS, SHAPES, case_name, inputs

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "distributed_worker.py"
WORLD = 2
TOL = {"float32": 2e-6, "float64": 1e-12}


def mpiexec() -> str:
    """The mpiexec beside this Python (the ``mpich`` wheel puts it there), else on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    assert found, "no mpiexec: pip install 'glassgrad[distributed]' (mpi4py and mpich)"
    return found


def launch(
    *args: str, ranks: int | None = WORLD, timeout: float = 120, launcher: tuple[str, ...] = ()
) -> tuple[subprocess.CompletedProcess, float]:
    """``mpiexec -n RANKS python ARGS`` (plain ``python ARGS`` if ``ranks`` is None); the
    finished process and its wall time."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, *args]
    if ranks is not None:
        cmd = [mpiexec(), *launcher, "-n", str(ranks), *cmd]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    return proc, time.perf_counter() - start


def run_worker(case: str, folder: Path, ranks: int | None = WORLD) -> list[dict[str, Any]]:
    """One launch of the worker; each rank's results."""
    folder.mkdir()
    proc, _ = launch(str(WORKER), case, str(folder), ranks=ranks)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = ranks or 1
    return [json.loads((folder / f"rank{r}.json").read_text()) for r in range(count)]


@pytest.fixture(scope="module")
def collective_results(tmp_path_factory) -> list[dict[str, Any]]:
    return run_worker("collectives", tmp_path_factory.mktemp("mpi") / "collectives")


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory) -> list[dict[str, Any]]:
    return run_worker("ddp", tmp_path_factory.mktemp("mpi") / "ddp")


def every_rank(salt: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return np.stack([inputs(r, shape, dtype, salt) for r in range(WORLD)])


def same(got: Any, expected: np.ndarray, dtype: str) -> None:
    got = np.asarray(got, dtype=dtype).reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype])


# ---- the core stays NumPy-only -----------------------------------------------------------------


def test_import_glassgrad_does_not_import_mpi4py() -> None:
    code = (
        "import sys, glassgrad, glassgrad.distributed, glassgrad.nn.parallel, glassgrad.train\n"
        "assert glassgrad.distributed.is_available() and not glassgrad.distributed.is_initialized()"
        "\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'mpi4py'))"
    )
    proc, _ = launch("-c", code, ranks=None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# ---- collectives against NumPy -----------------------------------------------------------------

REDUCE = {
    "SUM": lambda a: a.sum(0),
    "AVG": lambda a: a.sum(0) / WORLD,
    "MAX": lambda a: a.max(0),
    "MIN": lambda a: a.min(0),
    "PRODUCT": lambda a: a.prod(0),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_all_reduce_matches_numpy(collective_results, dtype, shape) -> None:
    for salt, op in enumerate(OPS):
        expected = REDUCE[op](every_rank(salt, shape, dtype))
        for res in collective_results:
            same(res[case_name("all_reduce", op, dtype, shape)], expected, dtype)
    for res in collective_results:
        got = res[case_name("all_reduce_async", dtype, shape)]
        same(got, every_rank(10, shape, dtype).sum(0), dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_and_gathers_match_numpy(collective_results, dtype, shape) -> None:
    for r, res in enumerate(collective_results):
        for src in range(WORLD):
            got = res[case_name("broadcast", src, dtype, shape)]
            same(got, inputs(src, shape, dtype, 20 + src), dtype)
        same(res[case_name("all_gather", dtype, shape)], every_rank(30, shape, dtype), dtype)
        got = res[case_name("all_gather_into_tensor", dtype, shape)]
        same(got, every_rank(31, shape, dtype).reshape(-1), dtype)
        got = res[case_name("gather", dtype, shape)]
        if r == 0:
            same(got, every_rank(70, shape, dtype), dtype)
        else:
            assert got == []
        got = res[case_name("scatter", dtype, shape)]
        same(got, inputs(WORLD - 1, shape, dtype, 80 + r), dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_reduce_scatter_and_reduce_match_numpy(collective_results, dtype, shape) -> None:
    for r, res in enumerate(collective_results):
        got = res[case_name("reduce_scatter", dtype, shape)]
        same(got, every_rank(40 + r, shape, dtype).sum(0), dtype)
        got = res[case_name("reduce_scatter_tensor_avg", dtype, shape)]
        same(got, every_rank(50 + r, shape, dtype).mean(0), dtype)
        got = res[case_name("reduce_max", dtype, shape)]
        mine = inputs(r, shape, dtype, 60)  # only the destination gets the result
        same(got, every_rank(60, shape, dtype).max(0) if r == WORLD - 1 else mine, dtype)


def test_collectives_on_views_integers_booleans_objects_and_point_to_point(
    collective_results,
) -> None:
    for r, res in enumerate(collective_results):
        same(res["all_reduce_view"], every_rank(90, (3, 4), "float64").sum(0), "float64")
        assert res["view_version_bumped"]
        assert res["int_max"] == (np.arange(6) * WORLD).tolist()
        assert res["bool_sum"] == [True, False, True]  # a logical or, as PyTorch
        assert res["broadcast_object_list"] == [{"rank": 0}, "x"]
        assert res["all_gather_object"] == [{"rank": q} for q in range(WORLD)]
        sender, got = res["ring"]
        assert sender == (r - 1) % WORLD
        same(got, inputs(sender, (3,), "float64", 95), "float64")


def test_mismatched_collectives_raise_the_same_clear_error_on_every_rank(
    collective_results,
) -> None:
    errors = [res["errors"] for res in collective_results]
    assert errors[0] == errors[1]
    e = errors[0]
    assert e["shape"].startswith("RuntimeError: all_reduce: the tensors differ between ranks")
    assert "rank 0 has torch.float32 of shape (2,)" in e["shape"]
    assert "rank 1 has torch.float32 of shape (3,)" in e["shape"]
    assert "rank 1 has torch.float64 of shape (2,)" in e["dtype"]
    assert "pass the shape and dtype rank 0 has" in e["dtype"]
    assert "ReduceOp.AVG needs a floating point" in e["avg_int"]
    assert "src=7 is not a rank" in e["src"]
    assert "a list of 2 tensors" in e["list"]
    assert "input must hold 2 x 3 elements" in e["scatter_size"]


# ---- DistributedDataParallel -------------------------------------------------------------------

DDP_CASES = [
    (dtype, opt, micro, cap)
    for dtype in ("float64", "float32")
    for opt in ("sgd", "adam")
    for micro in (1, 2)
    for cap in (25.0, 0.0005)
]


@pytest.mark.parametrize("dtype,opt,micro,cap", DDP_CASES)
def test_ddp_on_two_halves_equals_one_process_on_the_batch(
    ddp_results, dtype, opt, micro, cap
) -> None:
    """3 steps; micro=2 accumulates two micro-batches, the first under no_sync(); the small
    cap splits the parameters into several buckets, each all-reduced during the backward."""
    for res in ddp_results:
        got = res[case_name("ddp", dtype, opt, micro, cap)]
        assert got["max_diff"] < 10 * TOL[dtype]
        assert (got["buckets"] > 1) == (cap < 1)
        assert got["launched_in_backward"] == got["buckets"]  # none waited for the end


@pytest.mark.parametrize("find_unused", [False, True])
def test_ddp_parameter_unused_on_some_ranks_does_not_deadlock(ddp_results, find_unused) -> None:
    for res in ddp_results:  # (the launch finished: no rank waited forever)
        got = res[case_name("unused", find_unused)]
        assert got["max_diff"] < 1e-12
        assert got["never_grad_is_none"] and got["extra_grad_set"]


def test_ddp_state_dict_mismatch_and_sampler(ddp_results) -> None:
    for r, res in enumerate(ddp_results):
        assert res["state_dict_keys"][:2] == ["module.0.weight", "module.0.bias"]
        assert res["mismatch"] == (
            "DistributedDataParallel: the model differs between ranks: rank 0 has parameter "
            "'0.weight' of shape (8, 6) (torch.float32), rank 1 has parameter '0.weight' of "
            "shape (9, 6) (torch.float32); every rank must build the same model"
        )
        replicas, rank, shard = res["sampler"]  # rank and world size from the process group
        assert (replicas, rank) == (WORLD, r)
        assert shard == (list(range(11)) + [0])[r::WORLD]  # padded to a multiple of 2


def test_one_process_without_mpiexec(tmp_path) -> None:
    (res,) = run_worker("ddp", tmp_path / "single", ranks=None)
    assert res["world"] == 1
    for dtype, opt, micro, cap in DDP_CASES:
        assert res[case_name("ddp", dtype, opt, micro, cap)]["max_diff"] < 10 * TOL[dtype]
    assert res["mismatch"] == "no error" and res["sampler"] == [1, 0, list(range(11))]


def test_queue_callback_runs_after_grad_is_written() -> None:
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_hook(
        lambda g: gg.autograd.Variable._execution_engine.queue_callback(
            lambda: seen.append(w.grad.tolist())
        )
    )
    (w * w).sum().backward()
    assert seen == [[2.0, 4.0]]
    with pytest.raises(RuntimeError, match="only be installed during a backward pass"):
        queue_callback(lambda: None)


# ---- failures end the job ------------------------------------------------------------------------


def test_a_rank_that_raises_ends_the_job_naming_it() -> None:
    proc, seconds = launch(str(WORKER), "raise", timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and seconds < 20, out
    assert "rank 1 of 2 raised ValueError: a deliberate failure at step 3" in out
    assert "finished training" not in out


def test_a_rank_that_dies_ends_the_job() -> None:
    proc, seconds = launch(str(WORKER), "die", timeout=60, launcher=("-print-all-exitcodes",))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and seconds < 20, out
    codes = re.search(r"Exit codes: \[\S+\] (\d+),(\d+)", out)  # in rank order
    assert codes is not None and codes.group(2) == "9", out  # rank 1: killed by SIGKILL
    assert "finished training" not in out


# ---- glassgrad train -----------------------------------------------------------------------------


def train_ranks(*args: str) -> dict[str, Any]:
    """``mpiexec -n 2 python -m glassgrad train ARGS --json``: rank 0's results."""
    proc, _ = launch("-m", "glassgrad", "train", *args, "--json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout  # rank 0 alone prints
    return json.loads(lines[0])


def train_here(capsys, *args: str) -> dict[str, Any]:
    """The same on one process, in this one."""
    assert cli_main(["train", *args, "--json", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_train_on_two_ranks_reaches_the_one_process_accuracy(capsys) -> None:
    two = train_ranks("--epochs", "2")
    one = train_here(capsys, "--epochs", "2")
    assert two["world_size"] == 2 and one["world_size"] == 1
    assert two["test_accuracy"] > 0.9 and one["test_accuracy"] > 0.9
    assert abs(two["test_accuracy"] - one["test_accuracy"]) < 0.03


def test_train_checkpoint_of_two_ranks_resumes_on_one_and_on_two(tmp_path, capsys) -> None:
    """Without dropout's random masks, 2 ranks and 1 train the same steps (to rounding); the
    2-rank resume reproduces the uninterrupted 2-rank run exactly, dropout and all."""
    quick = ["--hidden", "64", "--epochs", "3"]
    whole = train_ranks(*quick)
    ck = tmp_path / "ck.npz"
    first = train_ranks(*quick, "--stop-after", "1", "--save", str(ck))
    assert first["epochs"] == 1 and ck.exists()
    again = train_ranks("--resume", str(ck))
    for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "lr"):
        assert again["history"][key] == whole["history"][key]  # exactly
    on_one = train_here(capsys, "--resume", str(ck))
    assert on_one["epochs"] == 3 and on_one["world_size"] == 1
    assert on_one["history"]["train_loss"][0] == whole["history"]["train_loss"][0]  # restored
    assert on_one["test_accuracy"] > 0.9

    exact = ["--hidden", "64", "--epochs", "2", "--dropout", "0", "--dtype", "float64"]
    ck64 = tmp_path / "ck64.npz"
    half = train_ranks(*exact, "--stop-after", "1", "--save", str(ck64))
    resumed = train_here(capsys, "--resume", str(ck64))
    uninterrupted = train_here(capsys, *exact)
    assert half["epochs"] == 1 and resumed["epochs"] == 2
    for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
        np.testing.assert_allclose(resumed["history"][key], uninterrupted["history"][key], 1e-10)


def test_train_error_on_two_ranks_is_one_line_and_no_hang(tmp_path) -> None:
    """Rank 0 reads the checkpoint and tells the others: every rank exits with the error,
    rank 0 alone says it."""
    proc, seconds = launch("-m", "glassgrad", "train", "--resume", str(tmp_path / "none.npz"))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and seconds < 30, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("glassgrad train: error: --resume"), lines
