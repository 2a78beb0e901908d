"""Run a PyTorch program twice, on PyTorch and on glassgrad, and compare what it prints.

The program's source runs unchanged: for the glassgrad run, ``import torch`` (and every
``torch.x.y`` submodule) resolves to glassgrad's module of the same path. Two things can't be
the same across the libraries and are made the same, so the printed losses can be compared
number by number:

* initial weights: each top-level module's ``state_dict`` is recorded in the PyTorch run when
  the module is first called, and loaded into the glassgrad module at its first call; the
  parameters handed to an optimizer are recorded when it is made, and the glassgrad optimizer's
  get those values (for modules a program runs through ``module.forward`` or its own methods
  and never calls);
* random numbers the program itself draws (``torch.randn(...)`` in its own code, for data):
  recorded in the PyTorch run and replayed, in order, in the glassgrad run.

NumPy's and Python's global generators are seeded alike at the start of each run (and put back
after it), so draws a program makes with them (``np.random.randn``, ``random.choice``) are the
same in both. Dropout (a PyTorch RNN's between layers too) is switched off and data loaders
don't shuffle in both runs (masks and orders come from different generators); a
``RandomSampler`` draws its indices from one NumPy generator seeded alike in both runs.
``tests/compat/stubs`` (a small torchvision stand-in serving local digits in place of a
download) is importable while a program runs.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import io
import itertools
import os
import random
import re
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

STUBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stubs")
DROPOUTS = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout")
RANDOM_FUNCTIONS = (
    "randn",
    "rand",
    "randint",
    "randperm",
    "normal",
    "rand_like",
    "randn_like",
    "multinomial",
    "bernoulli",
    "poisson",
)
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


class _TorchToGlassgrad(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``torch`` and ``torch.a.b`` to ``glassgrad`` and ``glassgrad.a.b``."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "torch" and not name.startswith("torch."):
            return None
        return importlib.machinery.ModuleSpec(name, self, is_package=True)

    def create_module(self, spec: Any) -> Any:
        return importlib.import_module("glassgrad" + spec.name[len("torch") :])

    def exec_module(self, module: Any) -> None:
        pass


def _forget_torch_in_einops() -> None:
    """einops keeps the ``torch`` module it first saw (and which backend serves which tensor
    type); it must look ``torch`` up again when that changes between the two runs."""
    backends = sys.modules.get("einops._backends")
    if backends is not None:
        backends._loaded_backends.pop("torch", None)  # type: ignore[attr-defined]
        backends._type2backend.clear()  # type: ignore[attr-defined]


@contextlib.contextmanager
def torch_is_glassgrad() -> Iterator[None]:
    """While active, ``import torch`` gives glassgrad; the real torch modules come back after."""
    saved = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    for k in saved:
        del sys.modules[k]
    finder = _TorchToGlassgrad()
    sys.meta_path.insert(0, finder)
    _forget_torch_in_einops()
    try:
        yield
    finally:
        _forget_torch_in_einops()
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if k == "torch" or k.startswith("torch.")]:
            del sys.modules[k]
        sys.modules.update(saved)


class Recording:
    """What the PyTorch run saw and the glassgrad run replays."""

    def __init__(self) -> None:
        self.weights: list[tuple[str, dict[str, np.ndarray] | None]] = []
        self.randoms: list[np.ndarray] = []
        self.optimized: list[list[np.ndarray | None]] = []  # each optimizer's parameters


def _from_program(filename: str) -> bool:
    """Was the caller two frames up the program itself (not a library)?"""
    return sys._getframe(2).f_code.co_filename == filename


@contextlib.contextmanager
def _patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def _numpy(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy().copy() if hasattr(t, "detach") else np.asarray(t)


def _state(mod: Any) -> dict[str, np.ndarray] | None:
    """A module's state as arrays; None for a module whose tensors hold no data to read (a
    ``meta`` module run through ``functional_call``, or one called inside ``vmap``/``jvp``):
    its values come from the call, not from the module."""
    try:
        return {k: _numpy(v) for k, v in mod.state_dict().items()}
    except RuntimeError:
        return None


def _optimized(optimizer: Any) -> list[Any]:
    """The parameters of an optimizer's groups, in order."""
    return [p for group in optimizer.param_groups for p in group["params"]]


def _same_samples(sampler: Any) -> Iterator[int]:
    """A ``RandomSampler``'s indices from NumPy's generator, seeded the same in both runs (drawn
    lazily: samplers with replacement may ask for 10**10)."""
    n, rng = len(sampler.data_source), np.random.default_rng(0)
    if not sampler.replacement:
        yield from rng.permutation(n)[: sampler.num_samples].tolist()
        return
    for start in range(0, sampler.num_samples, 32):
        yield from rng.integers(n, size=min(32, sampler.num_samples - start)).tolist()


def _same_chunks(sampler: Any) -> Iterator[np.ndarray]:
    """``_same_samples`` as arrays of up to 32, for glassgrad's ``RandomSampler.chunks``."""
    it = _same_samples(sampler)
    while chunk := list(itertools.islice(it, 32)):
        yield np.array(chunk, dtype=np.int64)


def _no_randomness(stack: contextlib.ExitStack, functional: Any, loader: Any, sampler: Any) -> None:
    """Dropout as the identity, data loaders in order and random samplers alike, for the length
    of the run."""
    stack.enter_context(_patched(sampler, "__iter__", _same_samples))
    if hasattr(sampler, "chunks"):  # glassgrad's loader takes a RandomSampler's arrays directly
        stack.enter_context(_patched(sampler, "chunks", _same_chunks))
    for name in DROPOUTS:
        if hasattr(functional, name):
            stack.enter_context(_patched(functional, name, lambda x, *a, **k: x))
    sdpa = functional.scaled_dot_product_attention  # attention dropout happens inside it

    def no_dropout_sdpa(
        q: Any,
        k: Any,
        v: Any,
        attn_mask: Any = None,
        dropout_p: float = 0.0,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        return sdpa(q, k, v, attn_mask, 0.0, *args, **kwargs)

    stack.enter_context(_patched(functional, "scaled_dot_product_attention", no_dropout_sdpa))
    real_init = loader.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) >= 3:
            args = (*args[:2], False, *args[3:])
        else:
            kwargs["shuffle"] = False
        real_init(self, *args, **kwargs)

    stack.enter_context(_patched(loader, "__init__", init))


def _without_dropout(forward: Any) -> Any:
    """A multi-layer RNN's ``forward`` with its dropout between layers off: PyTorch applies it
    inside the fused kernel, not through ``F.dropout`` (glassgrad's goes through that)."""

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        p, self.dropout = self.dropout, 0.0
        try:
            return forward(self, *args, **kwargs)
        finally:
            self.dropout = p

    return run


@contextlib.contextmanager
def _recording_torch(rec: Recording, filename: str) -> Iterator[None]:
    import torch
    import torch.nn.functional as F
    from torch.nn.modules import module as torch_module

    depth = [0]
    seen: dict[int, Any] = {}  # id -> module, kept alive so a new module never reuses an id

    def pre(mod: Any, args: Any) -> None:
        if depth[0] == 0 and id(mod) not in seen:
            seen[id(mod)] = mod
            rec.weights.append((type(mod).__name__, _state(mod)))
        depth[0] += 1

    def post(mod: Any, args: Any, out: Any) -> None:
        depth[0] -= 1

    handles = [
        torch_module.register_module_forward_pre_hook(pre),
        torch_module.register_module_forward_hook(post),
    ]
    with contextlib.ExitStack() as stack:
        for fname in RANDOM_FUNCTIONS:
            real = getattr(torch, fname)

            def recorder(*a: Any, _real: Any = real, **k: Any) -> Any:
                out = _real(*a, **k)
                if _from_program(filename):
                    rec.randoms.append(_numpy(out))
                return out

            stack.enter_context(_patched(torch, fname, recorder))
        real_optimizer_init = torch.optim.Optimizer.__init__

        def optimizer_init(self: Any, *args: Any, **kwargs: Any) -> None:
            real_optimizer_init(self, *args, **kwargs)
            params = _optimized(self)
            is_lazy = torch.nn.parameter.is_lazy
            rec.optimized.append([None if is_lazy(p) else _numpy(p) for p in params])

        stack.enter_context(_patched(torch.optim.Optimizer, "__init__", optimizer_init))
        _no_randomness(stack, F, torch.utils.data.DataLoader, torch.utils.data.RandomSampler)
        for rnn in (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU):  # their dropout between layers
            stack.enter_context(_patched(rnn, "forward", _without_dropout(rnn.forward)))
        try:
            yield
        finally:
            for h in handles:
                h.remove()


@contextlib.contextmanager
def _replaying_glassgrad(rec: Recording, filename: str) -> Iterator[None]:
    import glassgrad as gg
    import glassgrad.nn.functional as F
    from glassgrad import nn

    weights, randoms, optimized = list(rec.weights), list(rec.randoms), list(rec.optimized)
    depth = [0]
    seen: dict[int, Any] = {}  # id -> module, kept alive so a new module never reuses an id
    real_call = nn.Module.__call__

    def call(mod: Any, *args: Any, **kwargs: Any) -> Any:
        if depth[0] == 0 and id(mod) not in seen:
            seen[id(mod)] = mod
            name, state = weights.pop(0)
            assert name == type(mod).__name__, f"module order differs: {name} vs {mod}"
            if state is not None:
                mod.load_state_dict({k: gg.tensor(v) for k, v in state.items()})
        depth[0] += 1
        try:
            return real_call(mod, *args, **kwargs)
        finally:
            depth[0] -= 1

    with contextlib.ExitStack() as stack:
        for fname in RANDOM_FUNCTIONS:
            if not hasattr(gg, fname):
                continue  # the program fails on its own if it calls it
            real = getattr(gg, fname)

            def replayer(*a: Any, _real: Any = real, **k: Any) -> Any:
                out = _real(*a, **k)
                if _from_program(filename) and randoms:  # past the recording: its own draws
                    value = randoms.pop(0)
                    assert value.shape == tuple(out.shape), (value.shape, out.shape)
                    out = gg.tensor(value, dtype=out.dtype, requires_grad=out.requires_grad)
                return out

            stack.enter_context(_patched(gg, fname, replayer))
        stack.enter_context(_patched(nn.Module, "__call__", call))
        real_optimizer_init = gg.optim.Optimizer.__init__

        def optimizer_init(self: Any, *args: Any, **kwargs: Any) -> None:
            real_optimizer_init(self, *args, **kwargs)
            values, params = optimized.pop(0), _optimized(self)
            assert len(values) == len(params), "optimizers got different parameters"
            with gg.no_grad():
                for p, value in zip(params, values, strict=True):
                    if value is not None:
                        assert value.shape == tuple(p.shape), (value.shape, p.shape)
                        p.copy_(gg.tensor(value, dtype=p.dtype))

        stack.enter_context(_patched(gg.optim.Optimizer, "__init__", optimizer_init))
        _no_randomness(stack, F, gg.utils.data.DataLoader, gg.utils.data.RandomSampler)
        yield


def run(
    path: str,
    argv: list[str],
    lib: str,
    rec: Recording | None,
    cwd: str,
    edit: Any = None,
) -> str:
    """Run the program at ``path`` as ``__main__`` on ``lib`` ("torch" or "glassgrad");
    return what it printed. ``rec`` None: glassgrad runs on its own (its own initial weights and
    random draws, no recording to replay); ``edit``: a change to the source (a test's variant)."""
    filename = os.path.abspath(path)
    with open(filename) as f:
        source = f.read()
    if edit is not None:
        source = edit(source)
    out = io.StringIO()
    old_argv, old_cwd, old_path = sys.argv, os.getcwd(), list(sys.path)
    sys.argv = [filename, *argv]
    sys.path[:0] = [os.path.dirname(filename), STUBS]
    os.makedirs(cwd, exist_ok=True)
    os.chdir(cwd)
    program_modules = set(sys.modules)
    random_state, np_state = random.getstate(), np.random.get_state()
    np.random.seed(0)  # programs that draw their data with NumPy see the same draws
    random.seed(0)
    import torch

    import glassgrad as gg

    defaults = torch.get_default_dtype(), gg.get_default_dtype()
    # nanoGPT sets the allow_tf32 switches (the matmul one moves the float32 matmul precision)
    switches = [
        (
            lib.get_float32_matmul_precision(),
            lib.backends.cuda.matmul.allow_tf32,
            lib.backends.cudnn.allow_tf32,
        )
        for lib in (torch, gg)
    ]
    try:
        with contextlib.ExitStack() as stack:
            if lib == "glassgrad":
                stack.enter_context(torch_is_glassgrad())
                if rec is not None:
                    stack.enter_context(_replaying_glassgrad(rec, filename))
            elif rec is not None:
                stack.enter_context(_recording_torch(rec, filename))
            stack.enter_context(contextlib.redirect_stdout(out))
            code = compile(source, filename, "exec")
            exec(code, {"__name__": "__main__", "__file__": filename})
    finally:
        # a program's process-wide settings must not reach the next test (PyTorch even drops
        # l1_loss's weight while a default device is set)
        torch.set_default_device(None)
        gg.set_default_device(None)
        torch.set_default_dtype(defaults[0])
        for lib, (precision, matmul_tf32, cudnn_tf32) in zip((torch, gg), switches, strict=True):
            lib.set_float32_matmul_precision(precision)
            lib.backends.cuda.matmul.allow_tf32 = matmul_tf32
            lib.backends.cudnn.allow_tf32 = cudnn_tf32
        gg.set_default_dtype(defaults[1])
        random.setstate(random_state)
        np.random.set_state(np_state)
        sys.argv = old_argv
        sys.path[:] = old_path
        os.chdir(old_cwd)
        own = (os.path.dirname(filename), STUBS)
        for name in set(sys.modules) - program_modules:  # the program's modules and the stubs
            where = getattr(sys.modules[name], "__file__", None) or ""
            if where.startswith(own):
                del sys.modules[name]
    return out.getvalue()


def numbers(text: str, keep: str) -> list[float]:
    """Every number on the printed lines that match ``keep`` (a regex), in order."""
    return [
        float(x)
        for line in text.splitlines()
        if re.search(keep, line)
        for x in NUMBER.findall(line)
    ]
