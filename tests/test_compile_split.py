"""``glassgrad.compile`` of a forward whose backward runs after the call (``compile(model)``).

A replay returns the outputs joined to what they depend on by one ``CompiledFunctionBackward``
node whose rule is the generated backward: every test compares with the same program run
eagerly, bit for bit, over several steps (recorded calls first, then replays).
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn, optim
from glassgrad.compiler import CompileWarning


def _arrays(xs):
    return [np.array(x.detach()._data) for x in xs]


def _assert_same(a, b, what):
    for i, (x, y) in enumerate(zip(_arrays(a), _arrays(b))):
        assert x.shape == y.shape and np.array_equal(x, y, equal_nan=True), f"{what} {i}"


class _Net(nn.Module):
    """nanoGPT's calling convention: ``model(x, y)`` returns ``(logits, loss)``."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.bn = nn.BatchNorm1d(16)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x, y=None):
        logits = self.fc2(self.drop(F.gelu(self.bn(self.fc1(x)))))
        loss = None if y is None else F.cross_entropy(logits, y)
        return logits, loss


def _pair(make):
    gg.manual_seed(0)
    a = make()
    b = make()
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.fixture(autouse=True)
def _no_fallback(request):
    """Every test here must compile, but the one that makes a function fall back on purpose."""
    if "falls_back" in request.keywords:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        yield


def test_a_compiled_module_trains_as_the_module_does():
    eager, model = _pair(_Net)
    compiled = gg.compile(model)
    opts = [optim.AdamW(m.parameters(), lr=1e-2) for m in (eager, model)]
    x, y = gg.randn(6, 8), gg.randint(0, 4, (6,))
    for step in range(6):
        losses = []
        for m, opt in zip((eager, compiled), opts):
            gg.manual_seed(step)  # dropout draws the same masks
            _, loss = m(x, y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss)
        assert losses[0].item() == losses[1].item()
        _assert_same(eager.parameters(), model.parameters(), f"step {step}: parameter")
        _assert_same(eager.buffers(), model.buffers(), f"step {step}: buffer")
        want = "CompiledFunctionBackward" if step >= 2 else "NllLossBackward0"
        assert losses[1].grad_fn.name() == want
    assert compiled.stats["replays"] == 4
    assert "def forward_backward(_saved, _seeds):" in compiled.code
    eager.eval()
    compiled.eval()
    with gg.no_grad():
        for _ in range(3):
            _assert_same([eager(x)[0]], [compiled(x)[0]], "eval output")
    assert compiled.stats["replays"] == 5


@pytest.mark.parametrize("kind", ["transformer", "gru", "lstm", "conv"])
def test_compiled_layers_train_as_eager(kind):
    def make():
        if kind == "transformer":
            return nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, batch_first=True)
        if kind == "gru":
            return nn.GRU(16, 8, num_layers=2, batch_first=True)
        if kind == "lstm":
            return nn.LSTM(16, 8, batch_first=True)
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))

    eager, model = _pair(make)
    compiled = gg.compile(model)
    opts = [optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (eager, model)]
    x = gg.randn(2, 3, 8, 8) if kind == "conv" else gg.randn(3, 5, 16)
    for step in range(5):
        for m, opt in zip((eager, compiled), opts):
            gg.manual_seed(step)
            out = m(x)
            out = out[0] if isinstance(out, tuple) else out
            (out * out).mean().backward()
            opt.step()
            opt.zero_grad()
        _assert_same(eager.parameters(), model.parameters(), f"{kind} step {step}")
    assert compiled.stats["replays"] == 3


def _replayed_tanh_layer():
    """A linear layer and tanh compiled, called until it replays: (layer, replayed output)."""
    lin = nn.Linear(3, 2)
    f = gg.compile(lambda x: lin(x).tanh())
    x = gg.randn(4, 3)
    for _ in range(3):
        out = f(x)
    assert out.grad_fn.name() == "CompiledFunctionBackward"
    return lin, out


def test_a_second_backward_needs_retain_graph_as_eager():
    lin, out = _replayed_tanh_layer()
    out.sum().backward(retain_graph=True)
    once = lin.weight.grad.clone()
    out.sum().backward()
    assert np.array_equal(lin.weight.grad._data, 2 * once._data)
    with pytest.raises(RuntimeError, match=r"a second time.*retain_graph=True"):
        out.sum().backward()


def test_a_saved_input_changed_in_place_before_backward_raises_as_eager():
    lin = nn.Linear(3, 2)
    f = gg.compile(lambda x: lin(x).tanh())
    for _ in range(3):
        x = gg.randn(4, 3)
        out = f(x)
        x.add_(1)  # the weight's gradient reads x
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_differentiating_the_compiled_backward_again_raises_clearly():
    lin, out = _replayed_tanh_layer()
    with pytest.raises(RuntimeError, match=r"cannot be differentiated again.*disable=True"):
        gg.autograd.grad(out.sum(), lin.weight, create_graph=True)


def test_two_forwards_then_one_backward_keep_their_own_saved_arrays():
    """Gradient accumulation over calls: each replay saves its own arrays (no buffer reuse)."""
    eager, model = _pair(lambda: nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1)))
    compiled = gg.compile(model)
    for _ in range(4):
        xs = [gg.randn(64, 4) for _ in range(2)]
        for m in (eager, compiled):
            m.zero_grad()
            (m(xs[0]).sum() + 2 * m(xs[1]).sum()).backward()
        grads = [[p.grad for p in m.parameters()] for m in (eager, model)]
        _assert_same(grads[0], grads[1], "gradient")
    assert compiled.stats["replays"] >= 4


def test_gradients_reach_an_input_and_a_graph_made_before_the_call():
    """The node's edges go to every tensor from before the call that requires grad: a leaf
    input, and a tensor with a history of its own (an embedding run eagerly)."""
    gg.manual_seed(1)
    emb, block = nn.Embedding(10, 6), nn.Linear(6, 6)
    compiled = gg.compile(lambda h, s: (block(h) * s).tanh())
    idx = gg.tensor([[1, 2, 3], [4, 5, 6]])
    for _ in range(4):
        scale = gg.rand(2, 3, 6, requires_grad=True)
        grads = []
        for f in (lambda h, s: (block(h) * s).tanh(), compiled):
            emb.zero_grad()
            block.zero_grad()
            out = f(emb(idx), scale)
            (out * out).sum().backward()
            grads.append([emb.weight.grad.clone(), block.weight.grad.clone(), scale.grad.clone()])
            scale.grad = None
        _assert_same(grads[0], grads[1], "gradient")
    assert out.grad_fn.name() == "CompiledFunctionBackward"


def test_hooks_on_parameters_run_at_the_real_backward():
    eager, model = _pair(lambda: nn.Linear(3, 2))
    for m in (eager, model):
        m.weight.register_hook(lambda g: g * 3)
    compiled = gg.compile(model)
    x = gg.randn(5, 3)
    for _ in range(4):
        for m in (eager, compiled):
            m.zero_grad()
            m(x).pow(2).sum().backward()
        assert np.array_equal(eager.weight.grad._data, model.weight.grad._data)
    assert compiled.stats["replays"] == 2


def test_an_output_that_needs_no_gradient_is_returned_as_it_is():
    lin = nn.Linear(3, 4)
    f = gg.compile(lambda x: (lin(x), lin(x).argmax(dim=1), 2.5))
    x = gg.randn(5, 3)
    for _ in range(3):
        out, best, number = f(x)
    assert out.grad_fn.name() == "CompiledFunctionBackward" and not best.requires_grad
    assert number == 2.5 and np.array_equal(best._data, lin(x).argmax(dim=1)._data)


def test_compiled_forwards_in_threads_each_get_their_own_graph():
    lin = nn.Linear(8, 8)
    f = gg.compile(lambda x: lin(x).sin())
    x0 = gg.randn(4, 8)
    for _ in range(3):
        f(x0)
    errors = []

    def work(seed):
        try:
            rng = np.random.default_rng(seed)
            for _ in range(20):
                x = gg.tensor(rng.standard_normal((4, 8)).astype(np.float32), requires_grad=True)
                f(x).sum().backward()
                want = np.cos(x._data @ lin.weight._data.T + lin.bias._data) @ lin.weight._data
                np.testing.assert_allclose(x.grad._data, want, rtol=1e-5, atol=1e-6)
        except Exception as e:  # pragma: no cover (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_an_output_the_backward_reads_changed_in_place_raises_as_eager():
    """tanh saves its output: changing it (or a detached alias returned with it) in place
    before backward() must raise, never differentiate with the changed values."""
    lin = nn.Linear(3, 2)
    f = gg.compile(lambda x: lin(x).tanh())

    def both(x):
        h = lin(x).tanh()
        return h, h.detach()

    g = gg.compile(both)
    x = gg.randn(4, 3)
    for _ in range(4):
        out = f(x)
        out.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
        out, alias = g(x)
        alias.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
    assert f.stats["replays"] == g.stats["replays"] == 2


@pytest.mark.falls_back
def test_torch_compiler_controls():
    """``torch.compiler.disable`` makes the caller run eagerly (with a warning naming it),
    ``is_compiling`` is True while a call is recorded, ``reset`` forgets the programs,
    ``fullgraph=True`` raises where glassgrad would fall back, and ``torch._dynamo.config``
    takes settings."""
    import glassgrad._dynamo
    import glassgrad.compiler as compiler

    seen = []

    @compiler.disable
    def helper(x):
        return x * 2

    def f(x):
        seen.append(compiler.is_compiling())
        return helper(x).sum().detach()

    compiled = gg.compile(f)
    x = gg.ones(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompileWarning)
        assert [compiled(x).item() for _ in range(3)] == [6.0, 6.0, 6.0]
    assert "marked torch.compiler.disable" in str(caught[0].message)
    assert seen == [True, False, False] and compiled.stats["eager_groups"] == 1
    with pytest.raises(RuntimeError, match=r"fullgraph=True.*marked torch.compiler.disable"):
        gg.compile(f, fullgraph=True)(x)

    g = gg.compile(lambda x: (x * 3).sum().detach())
    for _ in range(3):
        g(x)
    assert g.stats["programs"] == 1 and not compiler.is_compiling()
    compiler.reset()
    assert g.stats == {"recordings": 0, "replays": 0, "programs": 0, "eager_groups": 0}
    glassgrad._dynamo.config.suppress_errors = True
    assert compiler.list_backends() == ["inductor"] and compiler.is_exporting() is False


def test_the_compiled_backward_frees_what_the_forward_saved_as_it_goes():
    """Eager frees each node's saved arrays once its rule ran; the generated backward drops
    each saved array after its last use: a deep MLP's peak is eager's (tracemalloc) but for
    about one activation (the output's gradient, held by the caller of the one node), where
    keeping them all to the end would cost seven more."""
    import tracemalloc

    gg.manual_seed(0)
    layers = [nn.Linear(256, 256) for _ in range(8)]
    eager = nn.Sequential(*[m for layer in layers for m in (layer, nn.ReLU())])
    compiled = gg.compile(copy_of(eager))
    x, y = gg.randn(128, 256), gg.randint(0, 256, (128,))

    def peak(model):
        for p in model.parameters():
            p.grad = None
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        F.cross_entropy(model(x), y).backward()
        top = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        return top

    for _ in range(3):
        peak(compiled)
    assert compiled.stats["replays"] >= 1
    activation = 128 * 256 * 4
    assert peak(compiled) <= peak(eager) + 2 * activation


def copy_of(model):
    import copy

    return copy.deepcopy(model)


@pytest.mark.falls_back
def test_a_backward_that_fails_while_recorded_leaves_the_call_eager():
    """The synthetic backward of a recording must not break the user's call: a rule that
    raises makes the function run eagerly (with a warning), and the user's own backward()
    raises as it would have."""

    class Boom(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("no backward here")

    f = gg.compile(lambda x: Boom.apply(x).sin())
    x = gg.randn(3, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompileWarning)
        outs = [f(x) for _ in range(3)]
    assert "its backward could not be recorded (ValueError" in str(caught[0].message)
    assert np.array_equal(outs[2]._data, np.sin(x._data * 2))
    with pytest.raises(ValueError, match="no backward here"):
        outs[2].sum().backward()
