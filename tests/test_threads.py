"""Threads: grad mode, anomaly mode and the engine belong to the thread that sets them.

As in PyTorch: ``no_grad`` in one thread leaves every other thread recording, a new thread starts
with grad mode on and anomaly mode off (whatever the thread that started it was doing), and
independent graphs built and differentiated in concurrent threads get exactly the gradients a
single thread gets. The in-place epoch stays process-wide (threads share tensors).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.autograd import node as recording
from glassgrad.autograd.anomaly import is_anomaly_enabled, set_detect_anomaly


def _in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a new thread; return its result or raise its exception here."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as e:  # handed back to the test
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


# ---- the switches are per thread ---------------------------------------------------------------


def test_a_thread_started_inside_no_grad_records() -> None:
    w = gg.ones(3, requires_grad=True)
    with gg.no_grad():
        assert (w * 2).grad_fn is None
        enabled, fn = _in_thread(lambda: (gg.is_grad_enabled(), (w * 2).grad_fn))
        assert (w * 2).grad_fn is None  # and this thread is still in no_grad
    assert enabled is True and fn is not None and fn.name() == "MulBackward0"


def test_a_thread_started_in_anomaly_or_set_grad_enabled_false_gets_the_defaults() -> None:
    w = gg.ones(3, requires_grad=True)
    with set_detect_anomaly(True):
        gg.set_grad_enabled(False)
        try:
            got = _in_thread(lambda: (gg.is_grad_enabled(), is_anomaly_enabled(), (w * 2).grad_fn))
        finally:
            gg.set_grad_enabled(True)
        assert is_anomaly_enabled()
    assert got[0] is True and got[1] is False and got[2] is not None


def test_no_grad_in_one_thread_leaves_another_recording() -> None:
    w = gg.ones(3, requires_grad=True)
    inside, done = threading.Event(), threading.Event()
    seen: list[Any] = []

    def quiet() -> None:
        with gg.no_grad():
            inside.set()
            done.wait(5)
            seen.append((w * 2).grad_fn)

    t = threading.Thread(target=quiet)
    t.start()
    inside.wait(5)
    try:
        assert gg.is_grad_enabled() and (w * 3).grad_fn is not None
    finally:
        done.set()
        t.join()
    assert seen == [None]


def test_backward_in_one_thread_leaves_another_recording() -> None:
    # backward() switches grad mode off while rules run: only in its own thread
    w = gg.ones(3, requires_grad=True)
    in_backward, resume = threading.Event(), threading.Event()
    y = w * 2
    y.register_hook(lambda g: (in_backward.set(), resume.wait(5), None)[-1])
    t = threading.Thread(target=lambda: y.sum().backward())
    t.start()
    in_backward.wait(5)
    try:
        assert gg.is_grad_enabled() and (w * 3).grad_fn is not None
    finally:
        resume.set()
        t.join()
    assert np.array_equal(w.grad._data, [2.0, 2.0, 2.0])


def test_the_summary_counts_a_thread_that_ends_inside_no_grad_out_again() -> None:
    def leave_it_off() -> None:
        gg.set_grad_enabled(False)  # never restored: the thread just ends

    _in_thread(leave_it_off)
    assert not recording.GRAD_OFF and not recording.ANOMALY_ON and not recording.CREATE_GRAPH_ON


def test_the_inplace_epoch_is_process_wide_and_loses_no_bump() -> None:
    t = gg.zeros(4)
    e0 = recording.EPOCH[0]
    n, per = 4, 500
    prev = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [
            threading.Thread(target=lambda: [t.add_(1.0) for _ in range(per)]) for _ in range(n)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(prev)
    assert recording.EPOCH[0] - e0 == n * per
    assert t._version == n * per  # the tensor's own counter, bumped under the same lock
    assert gg.autograd.engine.state.inplace_epoch == recording.EPOCH[0]


def test_an_inplace_change_in_another_thread_is_caught() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = h.exp()  # saves its output
    with gg.no_grad():
        _in_thread(lambda: y.add_(1.0))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ---- the stress test ---------------------------------------------------------------------------

THREADS = 8
RUNS = 400  # per thread
VARIANTS = 4  # distinct inputs per thread, cycled (the expected gradients are computed first)


def _params(tid: int) -> list[np.ndarray]:
    rng = np.random.default_rng(100 + tid)
    return [
        rng.standard_normal((6, 8)),
        rng.standard_normal(8),
        rng.standard_normal((8, 3)),
        rng.standard_normal(3),
    ]


def _input(tid: int, v: int) -> np.ndarray:
    return np.random.default_rng(1000 * tid + v).standard_normal((5, 6))


def _forward(x: Any, ps: list[Any]) -> Any:
    w1, b1, w2, b2 = ps
    h = gg.tanh(x @ w1 + b1)
    out = (h @ w2 + b2).relu() * 0.5 + h.sum(dim=1, keepdim=True).sigmoid()
    return (out * out).mean()


def _grads(tid: int, v: int, second_order: bool) -> list[np.ndarray]:
    """The gradients of one run: first order into ``.grad``, or d(|dL/dw1|^2)/dparams."""
    ps = [gg.tensor(p, requires_grad=True) for p in _params(tid)]
    loss = _forward(gg.tensor(_input(tid, v)), ps)
    if not second_order:
        loss.backward()
        return [p.grad._data.copy() for p in ps]
    (g1,) = gg.autograd.grad(loss, ps[0], create_graph=True)
    assert g1.grad_fn is not None
    (g1 * g1).sum().backward()
    return [p.grad._data.copy() for p in ps]


class _Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.graphs = self.lost = self.grads = self.wrong = 0
        self.errors: list[BaseException] = []

    def graph(self, t: Any, want: bool) -> None:
        with self.lock:
            self.graphs += 1
            if (t.grad_fn is not None) != want or t.requires_grad != want:
                self.lost += 1

    def gradients(self, got: list[np.ndarray], want: list[np.ndarray]) -> None:
        with self.lock:
            self.grads += 1
            if len(got) != len(want) or not all(np.array_equal(a, b) for a, b in zip(got, want)):
                self.wrong += 1


def _worker(tid: int, expected: dict[tuple[int, int], list[np.ndarray]], tally: _Tally) -> None:
    ps = [gg.tensor(p, requires_grad=True) for p in _params(tid)]
    style = tid % 8
    for r in range(RUNS):
        v = r % VARIANTS
        x = gg.tensor(_input(tid, v))
        # first, this thread's own mode switching around a forward that must record nothing
        if style == 1:
            with gg.no_grad():
                tally.graph(_forward(x, ps), False)
                with gg.enable_grad():
                    tally.graph(_forward(x, ps), True)
                tally.graph(_forward(x, ps), False)
        elif style == 2:
            gg.set_grad_enabled(False)
            tally.graph(_forward(x, ps), False)
            gg.set_grad_enabled(True)
            with gg.set_grad_enabled(False):
                tally.graph(_forward(x, ps), False)
        elif style == 3:
            with gg.inference_mode():
                tally.graph(_forward(x, ps), False)
            with gg.inference_mode(False):
                tally.graph(_forward(x, ps), True)
        elif style == 4:
            with set_detect_anomaly(True):
                loss = _forward(x, ps)
                tally.graph(loss, True)
                if loss.grad_fn._trace is None or not is_anomaly_enabled():
                    tally.lost += 1
        elif style == 5:
            with gg.no_grad():
                tally.graph(_forward(x, ps), False)
        if style in (0, 5, 6) and is_anomaly_enabled():  # another thread's anomaly mode leaked
            tally.lost += 1
        # then the run whose gradients are checked
        for p in ps:
            p.grad = None
        if style == 7:  # higher order: create_graph in this thread only
            loss = _forward(x, ps)
            tally.graph(loss, True)
            (g1,) = gg.autograd.grad(loss, ps[0], create_graph=True)
            tally.graph(g1, True)
            (g1 * g1).sum().backward()
        elif style == 4:
            with set_detect_anomaly(True):
                loss = _forward(x, ps)
                tally.graph(loss, True)
                loss.backward()
        else:
            loss = _forward(x, ps)
            tally.graph(loss, True)
            loss.backward()
        tally.gradients([p.grad._data.copy() for p in ps], expected[tid, v])
        if not gg.is_grad_enabled():
            tally.lost += 1


def run_stress() -> dict[str, Any]:
    """8 threads x RUNS forward/backward runs each; returns the tally (and the seconds taken)."""
    expected = {
        (tid, v): _grads(tid, v, second_order=tid % 8 == 7)
        for tid in range(THREADS)
        for v in range(VARIANTS)
    }
    tally = _Tally()

    def guarded(tid: int) -> None:
        try:
            _worker(tid, expected, tally)
        except BaseException as e:  # reported by the test
            with tally.lock:
                tally.errors.append(e)

    prev = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    t0 = time.perf_counter()
    try:
        threads = [threading.Thread(target=guarded, args=(tid,)) for tid in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(prev)
    return {
        "threads": THREADS,
        "runs": THREADS * RUNS,
        "graphs": tally.graphs,
        "lost_graphs": tally.lost,
        "gradients": tally.grads,
        "wrong_gradients": tally.wrong,
        "errors": tally.errors,
        "seconds": time.perf_counter() - t0,
    }


def test_stress_concurrent_graphs_get_single_threaded_gradients() -> None:
    r = run_stress()
    if r["errors"]:
        raise r["errors"][0]
    print(
        f"\n{r['threads']} threads, {r['runs']} runs, {r['graphs']} graphs checked: "
        f"{r['lost_graphs']} lost, {r['gradients']} gradient sets: {r['wrong_gradients']} "
        f"wrong, {r['seconds']:.2f} s"
    )
    assert r["lost_graphs"] == 0
    assert r["gradients"] == THREADS * RUNS and r["wrong_gradients"] == 0
    assert gg.is_grad_enabled() and not is_anomaly_enabled()
    assert not recording.GRAD_OFF and not recording.ANOMALY_ON and not recording.CREATE_GRAPH_ON
