"""``glassgrad.compile``: a recorded training step replays as generated NumPy code, and gives what
eager gives, bit for bit: parameters, gradients, optimizer state, random draws, buffers."""

from __future__ import annotations

import sys
import threading
import warnings

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn, optim
from glassgrad.compiler import CompileWarning


def _batches(n: int, batch: int = 16, features: int = 12, classes: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [
        (
            gg.tensor(rng.standard_normal((batch, features)).astype(np.float32)),
            gg.tensor(rng.integers(0, classes, batch)),
        )
        for _ in range(n)
    ]


def _mlp(seed: int = 0, dropout: float = 0.0, norm: bool = False) -> nn.Module:
    gg.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(12, 16)]
    if norm:
        layers.append(nn.BatchNorm1d(16))
    layers += [nn.Tanh(), nn.Dropout(dropout), nn.Linear(16, 5)]
    return nn.Sequential(*layers)


def _trainer(model: nn.Module, opt: optim.Optimizer):
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return train_step


def _same_state(a: nn.Module, b: nn.Module, oa=None, ob=None) -> None:
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert np.array_equal(p._data, q._data), name
    for p, q in zip(a.parameters(), b.parameters()):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            assert np.array_equal(p.grad._data, q.grad._data)
    if oa is not None:
        for sa, sb in zip(oa.state.values(), ob.state.values()):
            for k in sa:
                va, vb = sa[k], sb[k]
                va = va._data if isinstance(va, gg.Tensor) else va
                vb = vb._data if isinstance(vb, gg.Tensor) else vb
                assert np.array_equal(va, vb), k


def _run_both(make_opt, steps: int = 6, dropout: float = 0.0, norm: bool = False, **kw):
    eager_model, comp_model = _mlp(dropout=dropout, norm=norm), _mlp(dropout=dropout, norm=norm)
    eager_opt, comp_opt = make_opt(eager_model), make_opt(comp_model)
    eager_step = _trainer(eager_model, eager_opt)
    step = gg.compile(_trainer(comp_model, comp_opt))
    losses = []
    for i, (x, y) in enumerate(_batches(steps)):
        gg.manual_seed(100 + i)
        a = eager_step(x, y)
        gg.manual_seed(100 + i)
        b = step(x, y)
        losses.append((a, b))
    return eager_model, comp_model, eager_opt, comp_opt, step, losses


OPTIMIZERS = {
    "sgd": lambda m: optim.SGD(m.parameters(), lr=0.1),
    "sgd_momentum_nesterov_wd": lambda m: optim.SGD(
        m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3
    ),
    "adam": lambda m: optim.Adam(m.parameters(), lr=1e-2),
    "adam_amsgrad": lambda m: optim.Adam(m.parameters(), lr=1e-2, amsgrad=True, weight_decay=0.01),
    "adamw": lambda m: optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.1),
    "rmsprop": lambda m: optim.RMSprop(m.parameters(), lr=1e-2, momentum=0.5),
    "adagrad": lambda m: optim.Adagrad(m.parameters(), lr=1e-1),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_training_step_replays_bitwise_equal_to_eager(name: str) -> None:
    em, cm, eo, co, step, losses = _run_both(OPTIMIZERS[name])
    for a, b in losses:
        assert a == b and type(b) is float
    _same_state(em, cm, eo, co)
    assert step.stats["replays"] >= 2, step.stats  # the later steps ran the generated code


def test_dropout_draws_advance_the_generator_as_eager_does() -> None:
    em, cm, *_, step, losses = _run_both(OPTIMIZERS["adam"], dropout=0.3)
    assert all(a == b for a, b in losses)
    _same_state(em, cm)
    assert step.stats["replays"] >= 2
    assert "random(" in step.code  # the mask is drawn in the generated code


def test_batchnorm_buffers_update_and_eval_mode_re_records() -> None:
    em, cm, eo, _, step, losses = _run_both(OPTIMIZERS["sgd"], norm=True)
    assert all(a == b for a, b in losses)
    _same_state(em, cm)  # running_mean, running_var, num_batches_tracked included
    before = step.stats["recordings"]
    em.eval(), cm.eval()
    x, y = _batches(1, seed=9)[0]
    for _ in range(3):
        assert _trainer(em, eo)(x, y) == step(x, y)
    assert step.stats["recordings"] > before  # training flag changed: recorded again
    _same_state(em, cm)


def test_scheduler_outside_changes_lr_without_re_recording() -> None:
    models = _mlp(), _mlp()
    opts = [optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in models]
    scheds = [optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5) for o in opts]
    eager, step = _trainer(models[0], opts[0]), gg.compile(_trainer(models[1], opts[1]))
    for x, y in _batches(6):
        assert eager(x, y) == step(x, y)
        for s in scheds:
            s.step()
    _same_state(models[0], models[1])
    # the first step fills the momentum buffers: its recording differs, the next two agree
    assert step.stats["recordings"] == 3 and step.stats["replays"] == 3
    assert "lr = " in step.code  # read from the param group at every call


def test_scheduler_inside_the_step_runs_eagerly_with_a_warning() -> None:
    models = _mlp(), _mlp()
    opts = [optim.SGD(m.parameters(), lr=0.1) for m in models]
    scheds = [optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5) for o in opts]

    def make(model, opt, sched):
        def step(x, y):
            opt.zero_grad()
            F.mse_loss(model(x), F.one_hot(y, 5).float()).backward()
            opt.step()
            sched.step()

        return step

    eager, step = (
        make(models[0], opts[0], scheds[0]),
        gg.compile(make(models[1], opts[1], scheds[1])),
    )
    with pytest.warns(CompileWarning, match="scheduler"):
        for x, y in _batches(4):
            eager(x, y), step(x, y)
    _same_state(models[0], models[1])
    assert opts[0].param_groups[0]["lr"] == opts[1].param_groups[0]["lr"]


def test_branching_on_a_value_runs_eagerly_and_names_the_line() -> None:
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)

    @gg.compile
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if loss > 100:  # data-dependent Python
            return None
        loss.backward()
        opt.step()
        return loss

    with pytest.warns(CompileWarning, match=r"test_compile\.py:\d+.*depends on a tensor's value"):
        step(*_batches(1)[0])
    for x, y in _batches(3):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # warned once only
            assert step(x, y) is not None
    assert step.stats["eager_groups"] == 1 and step.stats["replays"] == 0


def test_printing_a_value_inside_runs_eagerly() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)

    @gg.compile
    def f(x):
        y = (x * x).sum()
        print(f"{y.item():.3f}")
        return y

    with pytest.warns(CompileWarning, match="formats"):
        assert f(x).item() == 5.0


def test_new_shapes_dtypes_and_requires_grad_are_recorded_separately() -> None:
    @gg.compile
    def f(x):
        y = (x.tanh() * 3).sum()
        y.backward()
        return x.grad

    for shape in [(3,), (3,), (3,), (2, 2), (2, 2), (2, 2), (3,)]:
        x = gg.randn(*shape, requires_grad=True)
        expected = 3 * (1 - np.tanh(x._data) ** 2)
        np.testing.assert_array_equal(f(x)._data, expected.astype(np.float32))
    x64 = gg.randn(3, dtype=gg.float64, requires_grad=True)
    for _ in range(3):
        x64.grad = None
        assert f(x64).dtype == gg.float64
    assert f.stats["programs"] == 3  # (3,) f32, (2, 2) f32, (3,) f64


def test_gradient_accumulation_without_zero_grad() -> None:
    models = _mlp(), _mlp()

    def make(model):
        def step(x, y):
            F.cross_entropy(model(x), y).backward()

        return step

    eager, step = make(models[0]), gg.compile(make(models[1]))
    for x, y in _batches(5):
        eager(x, y), step(x, y)
    _same_state(models[0], models[1])
    assert step.stats["replays"] >= 1


def test_hooks_run_eagerly_with_a_clear_warning() -> None:
    models = _mlp(), _mlp()
    seen: list[float] = []
    for m in models:
        m[0].weight.register_hook(lambda g: seen.append(float(g.sum())))
    eager = _trainer(models[0], optim.SGD(models[0].parameters(), lr=0.1))
    step = gg.compile(_trainer(models[1], optim.SGD(models[1].parameters(), lr=0.1)))
    with pytest.warns(CompileWarning, match="hook"):
        for x, y in _batches(3):
            assert eager(x, y) == step(x, y)
    _same_state(models[0], models[1])
    assert len(seen) == 6  # every call ran its hooks


def test_no_grad_inference_replays() -> None:
    model = _mlp()
    model.eval()

    @gg.compile
    def predict(x):
        with gg.no_grad():
            return model(x).argmax(dim=1)

    for x, _ in _batches(4):
        assert np.array_equal(predict(x)._data, model(x).argmax(dim=1)._data)
    assert predict.stats["replays"] == 2


def test_generated_code_reads_like_the_manual_backward() -> None:
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(12, 16), nn.Linear(16, 5)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    model = Net()
    step = gg.compile(_trainer(model, optim.SGD(model.parameters(), lr=0.1)))
    for x, y in _batches(3):
        step(x, y)
    code = step.code
    assert "fc1_weight_grad = " in code and "fc2_bias" in code
    assert "# AddmmBackward0: dL/dx = g · W" in code  # the rule each backward line came from
    assert "# ReluBackward0" in code and "# SGD.step" in code
    assert "Tensor" not in code.split("# write back")[0]  # plain NumPy up to the write-back
    compile(code, "<check>", "exec")  # and it is valid Python


def test_a_guard_failing_after_an_update_leaves_the_state_as_eager() -> None:
    # targets out of range: the cross-entropy check is a guard; eager raises, so must compile
    models = _mlp(), _mlp()
    eager = _trainer(models[0], optim.SGD(models[0].parameters(), lr=0.1))
    step = gg.compile(_trainer(models[1], optim.SGD(models[1].parameters(), lr=0.1)))
    for x, y in _batches(3):
        eager(x, y), step(x, y)
    x, y = _batches(1, seed=5)[0]
    bad = gg.tensor(np.full(16, 7))
    with pytest.raises(IndexError):
        eager(x, bad)
    with pytest.raises(IndexError):
        step(x, bad)
    _same_state(models[0], models[1])
    assert eager(x, y) == step(x, y)


def test_python_numbers_and_arrays_as_arguments() -> None:
    w = gg.tensor([0.5, -1.0, 2.0], requires_grad=True)

    @gg.compile
    def f(a, scale):
        loss = (w * gg.from_numpy(a)).sum() * scale
        loss.backward()
        g = w.grad.clone()
        w.grad = None
        return g

    rng = np.random.default_rng(0)
    for scale in (2.0, 2.0, 2.0, 3.0, 3.0, 3.0):
        a = rng.standard_normal(3).astype(np.float32)
        np.testing.assert_array_equal(f(a, scale)._data, (a * np.float32(scale)).astype(np.float32))
    assert f.stats["programs"] == 2


def test_threads_record_one_at_a_time_and_stay_right() -> None:
    w = gg.tensor(np.linspace(-1, 1, 8), requires_grad=True)

    @gg.compile
    def f(x):
        y = ((w * x).tanh() ** 2).sum()
        (g,) = gg.autograd.grad(y, [w])
        return g

    errors: list[str] = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(50):
            x = gg.tensor(rng.standard_normal(8))
            expected = (
                2 * np.tanh(w._data * x._data) * (1 - np.tanh(w._data * x._data) ** 2) * x._data
            )
            if not np.allclose(f(x)._data, expected, rtol=1e-12, atol=0):
                errors.append("wrong")

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert f.stats["replays"] > 0


def test_a_numpy_generator_drawn_from_inside_runs_eagerly_never_replays_stale_memory() -> None:
    # its draws are filled in by C code no recording sees: replaying them would read np.empty
    rng_a, rng_b = np.random.default_rng(0), np.random.default_rng(0)
    x = gg.tensor([1.0, 2.0], dtype=gg.float64)

    def f(x, rng):
        return x * gg.tensor(rng.standard_normal(2))

    step = gg.compile(lambda x: f(x, rng_b))
    with pytest.warns(CompileWarning, match="filled by code"):
        for _ in range(4):
            assert np.array_equal(step(x)._data, f(x, rng_a)._data)


def test_results_may_be_numpy_arrays_and_scalars() -> None:
    f = gg.compile(lambda a: (a * 2, (a * a).sum().item()))  # (float() would be a decision)
    for k in range(4):
        a = np.arange(3.0) + k
        arr, total = f(a)
        assert np.array_equal(arr, a * 2) and total == (a * a).sum().item() and type(total) is float
    assert f.stats["replays"] == 2


def test_a_loss_module_made_inside_the_step_still_compiles() -> None:
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)

    @gg.compile
    def step(x, y):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for x, y in _batches(5):
        step(x, y)
    assert step.stats["replays"] >= 2


def _big_step():
    """A step whose temporaries are large enough (128 KiB) to go through reused buffers."""
    gg.manual_seed(3)
    model = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 128), nn.Tanh()).double()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(x):
        opt.zero_grad(set_to_none=False)  # gradients accumulate into the same arrays
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.item()

    return model, opt, step


def test_a_replayed_step_computes_into_buffers_kept_across_calls() -> None:
    import tracemalloc

    model, opt, step = _big_step()
    twin, twin_opt, twin_step = _big_step()
    compiled = gg.compile(step)
    xs = [gg.tensor(np.random.default_rng(k).standard_normal((128, 128))) for k in range(7)]
    for x in xs[:4]:  # three recordings (grads None, then arrays), one replay makes the buffers
        compiled(x)
        twin_step(x)
    assert "out=_buffer" in compiled.code
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        compiled(xs[4])
        replay_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        twin_step(xs[4])
        eager_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # what a replay allocates: only the arrays too small for a buffer (biases, the loss)
    assert replay_peak < 0.1 * eager_peak, (replay_peak, eager_peak)
    for x in xs[5:]:
        compiled(x)
        twin_step(x)
    assert compiled.stats["replays"] == 4
    _same_state(model, twin, opt, twin_opt)


def test_results_and_gradients_never_share_a_reused_buffer() -> None:
    gg.manual_seed(0)
    w = gg.tensor(np.random.default_rng(0).standard_normal((256, 256)), requires_grad=True)

    @gg.compile
    def f(x):
        w.grad = None
        h = (x @ w).relu()
        (h * h).sum().backward()  # a new .grad each call: the caller may keep the last one
        return h, h.T

    kept = []
    for k in range(5):
        x = gg.tensor(np.random.default_rng(k).standard_normal((64, 256)))
        h, ht = f(x)
        kept.append((x, h._data.copy(), h, ht, w.grad, w.grad._data.copy()))
    assert f.stats["replays"] >= 2
    for x, h_copy, h, ht, g, g_copy in kept:  # no later call wrote over an earlier result
        assert np.array_equal(h._data, h_copy) and np.array_equal(ht._data, h_copy.T)
        assert np.array_equal(g._data, g_copy)
        assert np.array_equal(h_copy, np.maximum(x._data @ w._data, 0))
        assert np.allclose(g_copy, 2 * x._data.T @ h_copy, rtol=1e-12)


def test_calls_running_at_once_in_threads_each_get_their_own_buffers() -> None:
    w = gg.tensor(np.random.default_rng(1).standard_normal((128, 128)), requires_grad=True)

    @gg.compile
    def f(x):
        y = ((x @ w).tanh() ** 2).sum()
        (g,) = gg.autograd.grad(y, [w])
        return g

    def expected(x: np.ndarray) -> np.ndarray:
        t = np.tanh(x @ w._data)
        return x.T @ (2 * t * (1 - t**2))

    for k in range(3):
        f(gg.tensor(np.random.default_rng(k).standard_normal((128, 128))))
    assert "out=_buffer" in f.code
    errors: list[str] = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(40):
            x = rng.standard_normal((128, 128))
            if not np.allclose(f(gg.tensor(x))._data, expected(x), rtol=1e-10, atol=1e-12):
                errors.append("wrong")

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors
    assert f.stats["replays"] > 100


@pytest.mark.parametrize(
    "select",
    [
        lambda x: x[x > 0],
        lambda x: gg.masked_select(x, x > 0.5),
        lambda x: x[gg.nonzero(x > 0, as_tuple=True)],
        lambda x: x[(x > 0).nonzero().squeeze(1)],
    ],
    ids=["bool-index", "masked_select", "nonzero-tuple", "nonzero"],
)
def test_a_shape_chosen_by_the_data_is_checked_never_baked_in(select) -> None:
    """How many elements a mask selects is data: a count read from it (``mean`` divides by it)
    must be checked at every replay, not written into the code as the number recorded."""

    def f(x):
        y = select(x)
        loss = (y**2).mean() + y.sum() / y.numel()
        loss.backward()
        return loss

    compiled = gg.compile(f)
    rng = np.random.default_rng(0)
    counts = [2, 2, 2, 3, 2, 1, 3, 2, 2]  # equal counts first, so that a program is trusted
    for n in counts:
        data = -rng.uniform(0.6, 1.0, 6)
        data[:n] = rng.uniform(0.6, 1.0, n)
        a, b = gg.tensor(data, requires_grad=True), gg.tensor(data, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompileWarning)
            got = compiled(a)
        want = f(b)
        assert got.item() == want.item()
        assert np.array_equal(a.grad._data, b.grad._data)
    assert compiled.stats["replays"] >= 1  # the equal counts replayed


_SCALE = 1.0
_CONFIG = {"power": 2}


def _global_step(x, w):
    return ((w * x * _SCALE) ** _CONFIG["power"]).sum()


class _Scaled:
    def __init__(self) -> None:
        self.w = gg.tensor([1.0, -2.0, 0.5], requires_grad=True)
        self.params = [self.w]
        self.lr = 0.1

    def step(self, x):
        self.params[0].grad = None
        loss = (self.params[0] * x).tanh().sum() * self.lr
        loss.backward()
        return loss, self.params[0].grad


def test_python_values_read_by_name_are_checked_never_stale() -> None:
    """A number or tensor the function reads from a global, a closure or ``self`` is part of the
    recorded code: rebinding it must give what eager gives, not what was recorded."""
    global _SCALE
    w = gg.tensor([1.0, 2.0, 3.0])
    closure_w = [w]

    def in_closure(x):
        return (x * w).sum()

    compiled_global = gg.compile(_global_step)
    compiled_closure = gg.compile(in_closure)
    obj = _Scaled()
    twin = _Scaled()
    compiled_method = gg.compile(obj.step)
    try:
        for k in range(12):
            if k == 5:
                _SCALE = 3.0
                w = gg.tensor([0.5, 0.5, 0.5])  # rebinds the cell the closure reads
                obj.lr = twin.lr = 0.01
            if k == 8:
                _CONFIG["power"] = 3
                obj.params[0] = gg.tensor([2.0, 2.0, 2.0], requires_grad=True)
                twin.params[0] = gg.tensor([2.0, 2.0, 2.0], requires_grad=True)
            x = gg.tensor([1.0, 0.5 + k, -1.0])
            assert compiled_global(x, closure_w[0]).item() == _global_step(x, closure_w[0]).item()
            assert compiled_closure(x).item() == in_closure(x).item()
            (loss, grad), (want_loss, want_grad) = compiled_method(x), twin.step(x)
            assert loss.item() == want_loss.item()
            assert np.array_equal(grad._data, want_grad._data)
        for fn in (compiled_global, compiled_closure, compiled_method):
            assert fn.stats["replays"] >= 4, fn.stats  # replays went on after each change
    finally:
        _SCALE = 1.0
        _CONFIG["power"] = 2


def test_a_module_whose_parameter_or_child_is_replaced_re_records() -> None:
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))

    @gg.compile
    def f(x):
        return model(x).sum().detach()

    x = gg.tensor(np.ones((2, 3), np.float32))
    for k in range(8):
        if k == 3:
            model[0].weight = nn.Parameter(gg.zeros(4, 3))
        if k == 5:
            model[2] = nn.Linear(4, 1)
        if k == 6:
            model[0].train()  # the same value again: nothing to record anew
        assert f(x).item() == model(x).sum().item()
    assert f.stats["recordings"] == 6, f.stats


def test_a_number_read_from_a_tensor_promotes_as_a_python_float() -> None:
    """``int_tensor * x.sum().item()`` is float32 as eager (PyTorch) has it, recorded or not."""

    def f(x, n):
        s = x.sum().item()
        return n * s, n / s, s * n + 1, n**0.5 * s

    compiled = gg.compile(f)
    for k in range(4):
        x, n = gg.tensor([0.5, 1.25 + k]), gg.tensor([1, 2, 3])
        for got, want in zip(compiled(x, n), f(x, n)):
            assert got.dtype == want.dtype == gg.float32
            assert np.array_equal(got._data, want._data)
    assert compiled.stats["replays"] == 2


def test_an_optimizer_given_a_new_group_or_state_re_records() -> None:
    """``add_param_group`` (unfreezing a layer) and ``load_state_dict`` change what the step
    updates: the recorded program must not go on updating only the old parameters."""
    import copy

    def make():
        gg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        opt = optim.Adam(model[0].parameters(), lr=0.01)
        return model, opt, _trainer(model, opt)

    (m1, o1, s1), (m2, o2, s2) = make(), make()
    compiled = gg.compile(s1)
    rng = np.random.default_rng(0)
    for k in range(12):
        x = gg.tensor(rng.standard_normal((5, 3)).astype(np.float32))
        y = gg.tensor(rng.integers(0, 2, 5))
        if k == 4:
            for m, o in ((m1, o1), (m2, o2)):
                o.add_param_group({"params": list(m[2].parameters()), "lr": 0.1})
        if k == 7:
            state = o2.state_dict()
            o1.load_state_dict(copy.deepcopy(state))
            o2.load_state_dict(copy.deepcopy(state))
        assert compiled(x, y) == s2(x, y)
        _same_state(m1, m2, o1, o2)
    assert compiled.stats["replays"] >= 3


def test_the_default_dtype_is_part_of_what_a_program_is_recorded_for() -> None:
    @gg.compile
    def f(x):
        return (x * gg.ones(3)).sum()

    x = gg.tensor([1.0, 2.0, 3.0], dtype=gg.float32)
    try:
        for k in range(6):
            if k == 3:
                gg.set_default_dtype(gg.float64)
            assert f(x).dtype == (x * gg.ones(3)).sum().dtype
    finally:
        gg.set_default_dtype(gg.float32)
    assert f.stats["programs"] == 2


def test_a_hook_added_after_the_program_was_trusted_is_not_skipped() -> None:
    """A hook registered between calls (gradient clipping, an activation probe) runs from then
    on: the function runs eagerly, with a warning, instead of replaying code made without it."""
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    model = nn.Linear(2, 1)
    seen: list[int] = []
    step = [0]

    @gg.compile
    def f(x):
        w.grad = None
        (w * x).sum().backward()
        return w.grad, model(x[None]).sum().detach()

    x = gg.tensor([1.0, 1.0])
    for k in range(6):
        if k == 3:
            w.register_hook(lambda g: g * 10)
            model.register_forward_hook(lambda mod, args, out: seen.append(step[0]))
        step[0] = k
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CompileWarning)
            grad, _ = f(x)
        assert np.array_equal(grad._data, [10.0, 10.0] if k >= 3 else [1.0, 1.0])
        assert bool(caught) == (k == 3)  # warned once, when the hooks were seen
    assert seen == [3, 4, 5]


def test_a_numpy_array_the_user_keeps_and_changes_in_place_is_read_fresh() -> None:
    """``gg.from_numpy(target)`` of an array changed in place between calls: the code copies
    what it recorded, so the copy is checked against the array before every replay."""
    target = np.array([1.0, 2.0, 3.0])
    w = gg.tensor([0.5, 0.5, 0.5], requires_grad=True)

    def f():
        w.grad = None
        loss = ((w - gg.from_numpy(target)) ** 2).sum()
        loss.backward()
        return loss.item(), w.grad

    compiled = gg.compile(f)
    for k in range(9):
        if k in (3, 6):
            target[:] = [5.0, 4.0, 3.0 + k]
        loss, grad = compiled()
        want = 2 * (w._data - target)
        assert loss == ((w._data - target) ** 2).sum()
        assert np.array_equal(grad._data, want)
    assert compiled.stats["replays"] == 3


def test_a_result_whose_graph_is_still_needed_replays_with_a_compiled_backward() -> None:
    """A compiled forward whose backward runs after the call (``f(x) + reg``) replays as two
    functions: its outputs carry one ``CompiledFunctionBackward`` node, whose rule is the
    generated backward, so f's gradients reach the parameters as eagerly. A loss returned
    after its own ``backward()`` inside the step replays as one function."""
    model = nn.Linear(2, 1)
    w = gg.tensor([1.0, 2.0], requires_grad=True)

    @gg.compile
    def forward(x):
        return model(x)

    @gg.compile
    def step(x):
        w.grad = None
        loss = (w * x).sum()
        loss.backward()
        return loss

    for k in range(4):
        model.zero_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            out = forward(gg.ones(3, 2))
            loss = step(gg.ones(2))
        assert out.grad_fn.name() == ("CompiledFunctionBackward" if k >= 2 else "AddmmBackward0")
        (out.sum() + model.weight.sum()).backward()
        assert np.array_equal(model.weight.grad._data, [[4.0, 4.0]])
        assert np.array_equal(model.bias.grad._data, [3.0])
        assert loss.item() == 3.0 and np.array_equal(w.grad._data, [1.0, 1.0])
    assert forward.stats["replays"] == 2 and step.stats["replays"] == 2
    assert "def forward_backward(_saved, _seeds):" in forward.code


def test_numpy_error_settings_of_eager_ops_are_replayed() -> None:
    """``log(0)`` is ``-inf`` without a warning in eager glassgrad (as in PyTorch): the
    generated code runs it under the same ``np.errstate``."""

    @gg.compile
    def f(x):
        return gg.log(x).sum().detach(), gg.sqrt(x - 1).detach()

    x = gg.tensor([0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning fails the test
        results = [f(x) for _ in range(4)]
    for total, roots in results:
        assert total.item() == float("-inf")
        assert np.isnan(roots._data[0]) and roots._data[1] == 1.0
    assert f.stats["replays"] == 2
    assert "with np.errstate(divide='ignore', invalid='ignore'):" in f.code


def test_settings_read_through_an_object_are_checked() -> None:
    """``args.scale`` (argparse) and ``self.cfg.p`` (a config object): attributes of a settings
    object the code names are checked like the names themselves."""
    import argparse

    args = argparse.Namespace(scale=2.0)

    class Config:
        p = 0.0

    class Model:
        def __init__(self) -> None:
            self.cfg = Config()
            self.cfg.p = 3.0

        def step(self, x):
            return (x * args.scale * self.cfg.p).sum()

    model = Model()
    compiled = gg.compile(model.step)
    for k in range(9):
        if k == 3:
            args.scale = 5.0
        if k == 6:
            model.cfg.p = 1.0
        x = gg.ones(2)
        assert compiled(x).item() == model.step(x).item()
    assert compiled.stats["replays"] == 3


def test_the_names_a_function_assigns_are_read_from_its_bytecode_as_dis_reads_them() -> None:
    """``pyvalues._assigned`` walks the bytecode itself (fast); it must agree with ``dis``."""
    import dis
    import types

    from glassgrad.compiler import pyvalues

    def codes(c):
        yield c
        for k in c.co_consts:
            if isinstance(k, types.CodeType):
                yield from codes(k)

    checked = 0
    modules = [m for m in list(sys.modules.values()) if getattr(m, "__file__", None)]
    for module in modules:
        for value in list(vars(module).values()):
            if not isinstance(value, types.FunctionType):
                continue
            for code in codes(value.__code__):
                want = {
                    i.argval
                    for i in dis.get_instructions(code)
                    if i.opname in ("STORE_GLOBAL", "STORE_ATTR", "STORE_DEREF", "DELETE_GLOBAL")
                }
                assert pyvalues._assigned(code) == want, code
                checked += 1
    assert checked > 1000


_EMA = None


def test_a_tensor_the_call_stores_away_is_never_left_stale() -> None:
    """``global ema; ema = ema * 0.5 + x``, ``self.cache = h``, ``history.append(h)``: a replay
    computes no such tensor, so those calls keep running eagerly (after a warning) and the
    stored tensors are always eager's."""
    global _EMA
    _EMA = gg.zeros(2)

    def rebinds_a_global(x):
        global _EMA
        _EMA = _EMA * 0.5 + x
        return (_EMA * 2).sum().detach()

    class Cache:
        h = None

        def step(self, x):
            self.h = x.tanh()
            return self.h.sum().detach()

    history: list = []

    def appends(x):
        history.append(x * 3)
        return x.sum()

    cache = Cache()
    fns = [gg.compile(rebinds_a_global), gg.compile(cache.step), gg.compile(appends)]
    want_ema = gg.zeros(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompileWarning)
        for k in range(12):
            x = gg.tensor([1.0, float(k)])
            fns[0](x)
            want_ema = want_ema * 0.5 + x
            assert np.array_equal(_EMA._data, want_ema._data)
            fns[1](x)
            assert np.array_equal(cache.h._data, np.tanh(x._data))
            fns[2](x)
            assert len(history) == k + 1 and np.array_equal(history[-1]._data, x._data * 3)
    assert all(f.stats["replays"] == 0 for f in fns)
    assert len(caught) == 3 and all("stores a tensor it makes" in str(c.message) for c in caught)


def test_a_gradient_penalty_step_double_backward_replays_as_eager() -> None:
    """WGAN-GP's critic step: ``autograd.grad(..., create_graph=True)`` on a tensor made in the
    step, then a backward through that gradient. Recording once lost the second-order terms
    (saved traced arrays were not linked back to their tensors): the recorded step itself must
    equal eager, and so must the replays."""

    def make():
        gg.manual_seed(0)
        critic = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
        opt = optim.Adam(critic.parameters(), lr=1e-3)

        def step(real, fake, alpha):
            opt.zero_grad()
            mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            (g,) = gg.autograd.grad(critic(mix).sum(), mix, create_graph=True)
            penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
            loss = critic(fake).mean() - critic(real).mean() + 10 * penalty
            loss.backward()
            opt.step()
            return loss.item()

        return critic, opt, step

    (c1, o1, s1), (c2, o2, s2) = make(), make()
    compiled = gg.compile(s1)
    rng = np.random.default_rng(0)
    for _ in range(6):
        real, fake = (gg.tensor(rng.standard_normal((5, 4)).astype(np.float32)) for _ in "ab")
        alpha = gg.tensor(rng.uniform(size=(5, 1)).astype(np.float32))
        assert compiled(real, fake, alpha) == s2(real, fake, alpha)
        _same_state(c1, c2, o1, o2)
    assert compiled.stats["replays"] >= 3


def test_a_gan_two_compiled_steps_sharing_models_replay_as_eager() -> None:
    """A DCGAN-style loop: a discriminator step on ``G(z).detach()`` and a generator step that
    freezes D's parameters and thaws them again, both compiled, alternating."""

    def make():
        gg.manual_seed(0)
        gen = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 4))
        disc = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Dropout(0.1), nn.Linear(8, 1))
        opt_g = optim.Adam(gen.parameters(), lr=2e-3, betas=(0.5, 0.999))
        opt_d = optim.Adam(disc.parameters(), lr=2e-3, betas=(0.5, 0.999))
        bce = F.binary_cross_entropy_with_logits

        def d_step(real, z):
            opt_d.zero_grad()
            fake = gen(z).detach()
            ones, zeros = gg.ones(real.shape[0], 1), gg.zeros(z.shape[0], 1)
            loss = bce(disc(real), ones) + bce(disc(fake), zeros)
            loss.backward()
            opt_d.step()
            return loss.item()

        def g_step(z):
            opt_g.zero_grad()
            for p in disc.parameters():
                p.requires_grad_(False)
            loss = bce(disc(gen(z)), gg.ones(z.shape[0], 1))
            loss.backward()
            opt_g.step()
            for p in disc.parameters():
                p.requires_grad_(True)
            return loss.item()

        return gen, disc, opt_g, opt_d, d_step, g_step

    (g1, d1, og1, od1, ds1, gs1), (g2, d2, og2, od2, ds2, gs2) = make(), make()
    d_step, g_step = gg.compile(ds1), gg.compile(gs1)
    rng = np.random.default_rng(0)
    for _ in range(8):
        real = gg.tensor(rng.standard_normal((6, 4)).astype(np.float32))
        z = gg.tensor(rng.standard_normal((6, 3)).astype(np.float32))
        for compiled, eager, args in ((d_step, ds2, (real, z)), (g_step, gs2, (z,))):
            state = gg.get_rng_state()
            got = compiled(*args)
            gg.set_rng_state(state)  # the eager twin draws the same dropout masks
            assert got == eager(*args)
        _same_state(g1, g2, og1, og2)
        _same_state(d1, d2, od1, od2)
    assert d_step.stats["replays"] >= 4 and g_step.stats["replays"] >= 4


def test_a_number_argument_changing_every_call_stops_recording_after_a_bound() -> None:
    """``step(x, i)`` with ``i`` the step counter: every value is a new signature. Past
    ``MAX_GROUPS`` of them calls run eagerly (one warning), instead of recording every call and
    keeping a program per value forever."""
    from glassgrad.compiler.compiled import MAX_GROUPS

    w = gg.tensor([1.0, 2.0], requires_grad=True)

    @gg.compile
    def f(x, i):
        return (w * x * (1 + i % 3)).sum().detach()

    x = gg.ones(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompileWarning)
        for i in range(MAX_GROUPS + 20):
            assert f(x, i).item() == 3.0 * (1 + i % 3)
    assert len(f._groups) == MAX_GROUPS
    assert f.stats["recordings"] == MAX_GROUPS
    assert ["different signatures" in str(c.message) for c in caught] == [True]


def test_a_partial_reads_its_functions_globals_fresh() -> None:
    import functools

    global _SCALE
    compiled = gg.compile(functools.partial(_global_step, w=gg.tensor([1.0, 2.0, 3.0])))
    try:
        for k in range(6):
            if k == 3:
                _SCALE = 4.0
            x = gg.tensor([1.0, float(k), 2.0])
            assert compiled(x).item() == _global_step(x, gg.tensor([1.0, 2.0, 3.0])).item()
    finally:
        _SCALE = 1.0
    assert compiled.stats["replays"] >= 2


def test_a_method_compiled_in_its_class_body_checks_its_objects_attributes() -> None:
    """``@gg.compile`` on a method in the class body: ``self`` is an argument, and what the code
    reads from it (``self.lr``) is checked as for a bound method."""

    class Model:
        def __init__(self) -> None:
            self.lr = 2.0

        @gg.compile
        def scaled(self, x):
            return (x * self.lr).sum()

    model = Model()
    for k in range(7):
        if k == 3:
            model.lr = 5.0
        assert model.scaled(gg.ones(2)).item() == 2 * model.lr
    assert Model.scaled.stats["replays"] >= 2


def test_an_index_read_from_a_tensor_indexes_as_eager_and_replays() -> None:
    """``i = x.argmax().item(); x[i]``: the traced ``i`` is an int to glassgrad's indexing (it
    raised while recording); an int read from data is checked where it is made, so the code
    replays while it stays and records again when it moves."""

    def pick(x):
        i = x.argmax().item()
        return (x[i] * 2 + x[: i + 1].sum()).detach(), i

    compiled = gg.compile(pick)
    rng = np.random.default_rng(0)
    for k in range(12):
        x = gg.tensor(rng.uniform(0, 1, 5))
        x._data[1 if k < 6 else 3] = 2.0  # the maximum moves once
        (got, i), (want, j) = compiled(x), pick(x)
        assert got.item() == want.item() and i == j
    assert compiled.stats["replays"] >= 6


@pytest.mark.parametrize(
    "use",
    [
        lambda x, n: x.unsqueeze(n - 2),
        lambda x, n: x.chunk(n)[0],
        lambda x, n: x.narrow(0, 0, n),
        lambda x, n: x.reshape(n, -1),
        lambda x, n: gg.zeros(n),
        lambda x, n: x[:n] * float(sum(range(n))),
    ],
    ids=["unsqueeze", "chunk", "narrow", "reshape", "zeros", "python-range"],
)
def test_an_int_read_from_data_is_never_stale_even_where_c_code_reads_it(use) -> None:
    """An int subclass reaches C code unasked (tuple slicing in ``unsqueeze``, ``range``): the
    recorded value stayed in the code and two of these replayed wrong shapes. Now the value is
    checked where ``.item()`` makes it."""

    def f(x):
        return use(x, x[0].long().item()).detach()

    compiled = gg.compile(f)
    for k in (2, 2, 2, 2, 1, 2, 1, 1, 1, 2):
        x = gg.tensor([float(k), 2.0, 3.0, 4.0])
        got, want = compiled(x), f(x)
        assert got.shape == want.shape and np.array_equal(got._data, want._data)
    assert compiled.stats["replays"] >= 2


def test_math_on_a_number_read_from_a_tensor_is_recorded_not_baked() -> None:
    """``math.sqrt(x.sum().item())``: CPython's math reads a float subclass's value unseen, so
    math functions are recorded as calls while a step is recorded (``sqrt(t1)`` in the code)."""
    import math

    def f(x):
        s = math.sqrt(x.sum().item())
        return (x * s + math.exp(-s)).detach()

    compiled = gg.compile(f)
    for k in (4.0, 4.0, 4.0, 9.0, 16.0, 2.0):
        x = gg.tensor([k, 0.0], dtype=gg.float64)
        assert np.array_equal(compiled(x)._data, f(x)._data)
    assert compiled.stats["replays"] == 4
    assert "sqrt(" in compiled.code


def test_tensors_of_the_arguments_are_returned_as_this_calls() -> None:
    """Returning ``batch[1]`` or ``d["t"]`` (tensors inside list and dict arguments): a replay
    returns this call's objects, as eager does, and replays at all."""

    @gg.compile
    def f(batch, d):
        return batch[1], (batch[0] * 2).sum().detach(), d["t"]

    for k in range(5):
        batch = [gg.tensor([float(k), 1.0]), gg.tensor([float(k)])]
        d = {"t": gg.tensor([k * 1.0])}
        second, total, t = f(batch, d)
        assert second is batch[1] and t is d["t"] and total.item() == 2 * k + 2
    assert f.stats["replays"] == 3


def test_a_constant_array_is_copied_with_its_strides():
    """An array from outside the call (``M.T`` of a cached interpolation matrix) is copied when
    recorded; a C-ordered copy of a transposed view sent a matmul through another BLAS path
    (the last bit of upsample_bilinear's output changed, found by the registry sweep). The copy
    keeps the view's strides, so replays give eager's bits."""
    from glassgrad.compiler.trace import layout_copy

    a = np.arange(60.0).reshape(3, 4, 5)
    for view in (a, a.T, a[:, ::2], a[::-1, 1:, ::3], a.transpose(1, 0, 2)[::2], a[0, :, 1]):
        c = layout_copy(view)
        assert c.strides == view.strides and np.array_equal(c, view)
        assert not np.shares_memory(c, a)
    x0 = np.random.default_rng(1356571).uniform(-2, 2, (1, 2, 3, 1))  # the sweep's case
    F.upsample_bilinear(gg.tensor(x0), size=(4, 4))  # its matrices cached by an eager call
    up = gg.compile(lambda t: F.upsample_bilinear(t, size=(4, 4)).detach())
    for k in range(5):
        x = gg.tensor(x0 * (1 + 1e-3 * k * np.random.default_rng(k).uniform(-1, 1, x0.shape)))
        assert np.array_equal(up(x)._data, F.upsample_bilinear(x, size=(4, 4))._data), k
    assert up.stats["replays"] >= 2
