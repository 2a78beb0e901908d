"""``glassgrad.utils.benchmark`` (``torch.utils.benchmark``): Timer, Measurement and Compare.

Timings differ between runs, so the summaries and tables are compared with PyTorch's on
measurements made from fixed times; the timers are checked by what they ran."""

from __future__ import annotations

import pickle

import pytest
import torch.utils.benchmark as tb

import glassgrad as gg
import glassgrad.utils.benchmark as gb

# per-block times (seconds): a steady one, a noisy one, one block, two blocks
TIMES = [
    [2.1e-5, 2.0e-5, 2.05e-5, 2.2e-5, 1.98e-5, 2.01e-5],
    [3e-3, 9e-3, 4e-3, 7.5e-3, 5e-3],
    [0.75],
    [1.2e-7, 1.4e-7],
]


def _measurement(lib, times, number=10, **spec):
    fields = {"stmt": "f(x)", "setup": "pass", **spec}
    return lib.Measurement(number, times, lib.TaskSpec(**fields))


def _body(text: str) -> str:
    return text.split("\n", 1)[1]  # past "<...Measurement object at 0x...>"


@pytest.mark.parametrize("times", TIMES)
def test_measurement_statistics_and_summary_match_torch(times):
    specs = [
        {},
        {"label": "Batched dot", "sub_label": "[4, 8]", "description": "bmm"},
        {"setup": "import math\ny = 2", "num_threads": 4},
        {"stmt": "a = 1\nb = a", "sub_label": "two lines"},
    ]
    for spec in specs:
        ours, theirs = _measurement(gb, times, **spec), _measurement(tb, times, **spec)
        assert ours.times == pytest.approx(theirs.times, rel=1e-15)
        for name in ("median", "mean", "iqr"):
            assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=1e-12), name
        for name in ("significant_figures", "has_warnings", "title", "as_row_name", "env"):
            assert getattr(ours, name) == getattr(theirs, name), name
        assert ours.label == theirs.label and ours.num_threads == theirs.num_threads
        assert _body(repr(ours)) == _body(repr(theirs))


def _results(lib):
    out = []
    for k, (label, sub) in enumerate([("dot", "[1, 1]"), ("dot", "[4, 8]"), ("norm", "big")]):
        for threads in (1, 4):
            for j, desc in enumerate(("mul/sum", "bmm")):
                times = [t * (1 + k + 3 * j) / threads for t in TIMES[0]]
                spec = {"label": label, "sub_label": sub, "description": desc}
                out.append(_measurement(lib, times, num_threads=threads, **spec))
    out.append(_measurement(lib, TIMES[1], label="dot", sub_label="noisy", description="bmm"))
    return out


@pytest.mark.parametrize("options", [(), ("trim",), ("trim", "colorize"), ("rowwise", "warn")])
def test_compare_tables_match_torch(options):
    tables = []
    for lib in (gb, tb):
        c = lib.Compare(_results(lib))
        if "trim" in options:
            c.trim_significant_figures()
        if "colorize" in options:
            c.colorize()
        if "rowwise" in options:
            c.colorize(rowwise=True)
        if "warn" in options:
            c.highlight_warnings()
        tables.append(str(c))
    assert tables[0] == tables[1]


def test_merge_pools_replicates_and_measurements_pickle():
    a = _measurement(gb, TIMES[0], number=10)
    b = _measurement(gb, TIMES[1], number=5)
    other = _measurement(gb, TIMES[2], stmt="g(x)")
    merged = gb.Measurement.merge([a, other, b])
    assert [m.stmt for m in merged] == ["f(x)", "g(x)"]
    assert merged[0].number_per_run == 1 and merged[0].times == a.times + b.times
    back = pickle.loads(pickle.dumps(a))
    assert back.times == a.times and back.title == a.title


def test_timer_runs_the_statement_as_asked():
    calls = []
    t = gb.Timer(
        "f()", setup="calls.append('setup')", globals={"f": lambda: calls.append(1), "calls": calls}
    )
    m = t.timeit(200)
    assert m.number_per_run == 200 and len(m.raw_times) == 1
    assert calls.count(1) == 200 + 2  # a warm-up of max(200 // 100, 2) runs first
    m = gb.Timer("torch.ones(3).sum()").blocked_autorange(min_run_time=0.02)
    assert sum(m.raw_times) >= 0.02 and m.median > 0  # torch is the namespace's glassgrad
    seen = []
    m = gb.Timer("x * 2", globals={"x": gg.ones(3)}).adaptive_autorange(
        max_run_time=0.05, callback=lambda n, t: seen.append(n)
    )
    assert len(seen) == len(m.raw_times) and set(seen) == {m.number_per_run}


def test_timer_uses_and_restores_the_thread_count():
    before = gg.get_num_threads()
    counts = []
    t = gb.Timer("f()", globals={"f": lambda: counts.append(gg.get_num_threads())}, num_threads=1)
    t.timeit(3)
    assert set(counts) == {1} and gg.get_num_threads() == before


def test_what_glassgrad_cannot_time_is_refused_by_name():
    with pytest.raises(NotImplementedError, match="Python statements only"):
        gb.Timer("x", language="cpp")
    with pytest.raises(ValueError, match="global_setup is C\\+\\+ only"):
        gb.Timer("x", global_setup="int y = 1;")
    with pytest.raises(ValueError, match="only a `str` stmt"):
        gb.Timer(lambda: 1)
    with pytest.raises(NotImplementedError, match="Callgrind"):
        gb.Timer("x").collect_callgrind()
    with pytest.raises(NotImplementedError, match="fuzzer"):
        gb.Fuzzer  # noqa: B018
    with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
        gb.Compare([1.0])
