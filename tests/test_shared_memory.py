"""Tensors in shared memory across processes (``share_memory_``, ``Module.share_memory``):
what a child process writes reaches the parent, as Hogwild training needs; other tensors travel
by value."""

from __future__ import annotations

import os

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.multiprocessing as mp


def _add_rank(rank, shared, private):
    shared[rank] += rank + 1  # lands in the parent's memory
    private += 100  # a copy: the parent's stays as it was


def _train_steps(model, x, y):
    opt = gg.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        gg.nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def test_a_child_process_writes_into_a_shared_tensor_and_not_into_a_copied_one():
    shared = gg.zeros(3).share_memory_()
    private = gg.zeros(3)
    assert shared.is_shared() and not private.is_shared()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_add_rank, args=(r, shared, private)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    assert shared.tolist() == [1.0, 2.0, 0.0] and private.tolist() == [0.0, 0.0, 0.0]


def test_hogwild_training_in_a_child_updates_the_parents_shared_model():
    gg.manual_seed(0)
    model = gg.nn.Linear(4, 2)
    x, y = gg.randn(8, 4), gg.randn(8, 2)
    twin = gg.nn.Linear(4, 2)
    twin.load_state_dict(model.state_dict())
    model.share_memory()
    assert all(p.is_shared() for p in model.parameters())
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=_train_steps, args=(model, x, y))
    p.start()
    p.join()
    assert p.exitcode == 0
    _train_steps(twin, x, y)  # the same three steps, here
    for ours, expected in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(ours.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    assert isinstance(model.weight, gg.nn.Parameter) and model.weight.requires_grad


def test_the_shared_file_goes_with_the_tensor_and_a_view_is_refused():
    t = gg.ones(4).share_memory_()
    path = t._shared_path_
    assert os.path.exists(path)
    del t
    import gc

    gc.collect()
    assert not os.path.exists(path)
    with pytest.raises(RuntimeError, match=r"a view .* call it on the base tensor"):
        gg.ones(4)[:2].share_memory_()
