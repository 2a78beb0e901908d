"""The profiler: PyTorch's event names, counts, nesting, schedule and outputs; nothing left
behind on the ops once it stops."""

from __future__ import annotations

import gzip
import json
import os
import threading

import numpy as np
import pytest
import torch

import glassgrad as gg
import glassgrad.autograd.profiler_util as profiler_util
from glassgrad.autograd.node import Node
from glassgrad.profiler import ProfilerAction, profile, record_function, schedule


def _step(lib, model, opt, x, y):
    with lib.profiler.record_function("forward_pass"):
        loss = lib.nn.functional.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _model(lib):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(6, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3))
    return model, lib.optim.SGD(model.parameters(), lr=0.1)


def _profiled_counts(lib, **kwargs):
    model, opt = _model(lib)
    x, y = lib.ones(4, 6), lib.zeros(4, 3)
    with lib.profiler.profile(**kwargs) as prof:
        _step(lib, model, opt, x, y)
    return prof, {e.key: e.count for e in prof.key_averages()}


def test_a_step_shows_pytorchs_names_and_counts():
    _, counts = _profiled_counts(gg)
    _, theirs = _profiled_counts(torch)
    for name in (
        "forward_pass",
        "aten::addmm",
        "aten::relu",
        "aten::mse_loss",
        "AddmmBackward0",
        "ReluBackward0",
        "MseLossBackward0",
        "Optimizer.step#SGD.step",
        "Optimizer.zero_grad#SGD.zero_grad",
    ):
        assert name in theirs, name  # (the oracle names it so)
        assert counts.get(name) == theirs[name], (name, counts.get(name), theirs[name])


def test_times_nest_self_is_total_minus_children_and_percentages_add_up():
    prof, _ = _profiled_counts(gg, profile_memory=True)
    events = prof.events()
    label = next(e for e in events if e.name == "forward_pass")
    assert label.is_user_annotation and label.cpu_parent is None
    assert {c.name for c in label.cpu_children} >= {"aten::addmm", "aten::relu"}
    for e in events:
        kids = sum(c.cpu_time_total for c in e.cpu_children)
        assert e.self_cpu_time_total == pytest.approx(e.cpu_time_total - kids)
        assert e.self_cpu_time_total >= -1e-6
        for c in e.cpu_children:
            assert c.time_range.start >= e.time_range.start and c.time_range.end <= e.time_range.end
    top = sum(e.cpu_time_total for e in events if e.cpu_parent is None)
    assert events.self_cpu_time_total == pytest.approx(top)
    addmm = next(e for e in events if e.name == "aten::addmm")
    assert addmm.cpu_memory_usage == 4 * 8 * 4  # its float32 (4, 8) result
    assert label.cpu_memory_usage >= 4 * 8 * 4 + 4 * 3 * 4 and label.self_cpu_memory_usage == 0
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=5)
    lines = table.splitlines()
    assert lines[1].split() == [
        "Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%", "CPU", "total",
        "CPU", "time", "avg", "CPU", "Mem", "Self", "CPU", "Mem", "#", "of", "Calls",
    ]  # fmt: skip
    assert len(lines) == 3 + 5 + 2 and lines[-1].startswith("Self CPU time total: ")
    assert lines[3].split()[0] == "forward_pass"  # the largest total first
    assert "Input Shapes" not in table


def test_shapes_group_the_averages_when_recorded():
    prof, _ = _profiled_counts(gg, record_shapes=True)
    rows = prof.key_averages(group_by_input_shape=True)
    shapes = sorted(str(e.input_shapes) for e in rows if e.key == "aten::addmm")
    assert shapes == ["[[4, 6], [8, 6], [8]]", "[[4, 8], [3, 8], [3]]"]
    assert "Input Shapes" in rows.table()
    plain, _ = _profiled_counts(gg)
    with pytest.raises(ValueError, match="record_shapes=True"):
        plain.key_averages(group_by_input_shape=True)


@pytest.mark.filterwarnings("ignore:Profiler won't be using warmup")
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(wait=1, warmup=1, active=2),
        dict(wait=0, warmup=0, active=1, repeat=3),
        dict(wait=2, warmup=1, active=3, repeat=2, skip_first=4),
        dict(wait=1, warmup=0, active=2, skip_first_wait=1),
    ],
)
def test_schedule_matches_pytorchs(kwargs):
    ours, theirs = schedule(**kwargs), torch.profiler.schedule(**kwargs)
    assert [ours(i).name for i in range(25)] == [theirs(i).name for i in range(25)]


def _scheduled_run(lib):
    model, opt = _model(lib)
    x, y = lib.ones(4, 6), lib.zeros(4, 3)
    cycles = []

    def ready(prof):
        cycles.append((prof.step_num, {e.key: e.count for e in prof.key_averages()}))

    sched = lib.profiler.schedule(wait=1, warmup=1, active=2, repeat=2)
    with lib.profiler.profile(schedule=sched, on_trace_ready=ready) as prof:
        for _ in range(9):
            _step(lib, model, opt, x, y)
            prof.step()
    return [(n, c["aten::addmm"], c["Optimizer.step#SGD.step"]) for n, c in cycles]


@pytest.mark.filterwarnings("ignore:Warning. Profiler clears events")
def test_scheduled_profiling_hands_the_same_cycles_as_pytorch():
    assert _scheduled_run(gg) == _scheduled_run(torch) == [(4, 4, 2), (8, 4, 2)]


def test_traces_are_written_as_json(tmp_path):
    prof, _ = _profiled_counts(gg, record_shapes=True)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    events = json.loads(path.read_text())["traceEvents"]
    assert {e["name"] for e in events} >= {"aten::addmm", "forward_pass", "AddmmBackward0"}
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in events)
    handler = gg.profiler.tensorboard_trace_handler(str(tmp_path / "tb"), "worker0", True)
    handler(prof)
    (name,) = os.listdir(tmp_path / "tb")
    assert name.startswith("worker0.") and name.endswith(".pt.trace.json.gz")
    with gzip.open(tmp_path / "tb" / name) as f:
        assert json.load(f)["traceEvents"]


def test_stacks_point_at_the_callers_line(tmp_path):
    prof, _ = _profiled_counts(gg, with_stack=True)
    addmm = next(e for e in prof.events() if e.name == "aten::addmm")
    assert any("test_profiler.py" in frame and "_step" in frame for frame in addmm.stack)
    path = tmp_path / "stacks.txt"
    prof.export_stacks(str(path))
    assert any(line.endswith(tuple("0123456789")) for line in path.read_text().splitlines())


def _originals():
    from glassgrad.tensor import Tensor

    classes = profiler_util._subclasses(Node)
    return [vars(c).get("forward") for c in classes] + [Tensor.__isub__, Tensor.add_]


def test_the_wrappers_come_off_even_after_an_error():
    before = _originals()
    with pytest.raises(ZeroDivisionError), profile():
        assert gg.Tensor.__isub__ is not before[-2]  # timed while it records
        raise ZeroDivisionError
    assert _originals() == before
    x = gg.ones(3, requires_grad=True)
    with profile() as prof:
        pass
    (x * 2).sum().backward()  # recorded by no one
    assert len(prof.events()) == 0


def test_events_of_other_threads_are_kept_apart():
    def work():
        gg.ones(3).exp()

    with profile() as prof:
        gg.ones(3).exp()
        t = threading.Thread(target=work)
        t.start()
        t.join()
    threads = {e.thread for e in prof.events() if e.name == "aten::exp"}
    assert len(threads) == 2


def test_the_older_spelling_and_its_errors():
    x = gg.ones(2, 3, requires_grad=True)
    with gg.autograd.profiler.profile(record_shapes=True) as prof:
        with pytest.raises(RuntimeError, match="didn't finish running"):
            prof.key_averages()
        (x.exp() * 2).sum().backward()
    names = {e.key for e in prof.key_averages()}
    assert {"aten::exp", "aten::mul", "ExpBackward0", "MulBackward0"} <= names
    assert prof.total_average().count == len(prof.function_events)
    assert "Self CPU time total" in prof.table(sort_by="self_cpu_time_total")
    with gg.autograd.profiler.profile(enabled=False) as off:
        x.exp()
    with pytest.raises(RuntimeError, match="enabled=False"):
        off.key_averages()
    with pytest.raises(ValueError, match="cannot sort by 'wall'"):
        prof.key_averages().table(sort_by="wall")
    with pytest.raises(NotImplementedError, match="emit_nvtx"):
        gg.autograd.profiler.emit_nvtx()
    with pytest.warns(UserWarning, match="only CPU activity"):
        profile(activities=[gg.profiler.ProfilerActivity.CUDA])


def test_record_function_without_a_profiler_changes_nothing():
    @record_function("step")
    def step(x):
        return x + 1

    assert step(gg.ones(2)).tolist() == [2.0, 2.0]
    assert schedule(wait=0, warmup=0, active=1)(0) is ProfilerAction.RECORD_AND_SAVE
    np.testing.assert_equal(gg.ones(2).numpy(), [1, 1])
