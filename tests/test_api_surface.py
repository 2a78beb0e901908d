"""The API surface programs touch first, against torch: devices, factories' keywords, tensors as
Python values, cuda/backends switches, module paths (torch.utils.data, nn.parallel...)."""

from __future__ import annotations

import importlib
import pickle
import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg

# ---- devices -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [("cpu",), ("cuda",), ("cuda:0",), ("cuda:3",), ("cpu", 0), ("cuda", 1), ("mps",)]
)
def test_device_matches_torch(args):
    ours, theirs = gg.device(*args), torch.device(*args)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert (ours == "cpu") == (theirs == "cpu")  # a device never equals a string
    assert (str(ours) == "cpu") == (str(theirs) == "cpu")
    assert gg.device(ours) == ours
    assert hash(gg.device(*args)) == hash(ours)
    assert pickle.loads(pickle.dumps(ours)) == ours


def test_device_keywords_and_equality():
    assert gg.device(type="cuda", index=1) == gg.device("cuda:1")
    assert gg.device("cpu") != gg.device("cpu", 0)
    assert torch.device("cpu") != torch.device("cpu", 0)
    assert {gg.device("cpu"): 1}[gg.device("cpu")] == 1


@pytest.mark.parametrize("bad", ["cuda:-1", "cpu:x", "cpu:0:1", "", "CPU", "gpu"])
def test_invalid_device_strings_raise_like_torch(bad):
    with pytest.raises(RuntimeError) as theirs:
        torch.device(bad)
    with pytest.raises(RuntimeError) as ours:
        gg.device(bad)
    assert str(ours.value).split(":")[0] == str(theirs.value).split(":")[0]


def test_device_index_twice_raises():
    with pytest.raises(RuntimeError, match="must not include an index"):
        gg.device("cuda:0", 1)


def test_tensor_device_and_flags():
    t, tt = gg.ones(2), torch.ones(2)
    assert t.device == gg.device("cpu") and tt.device == torch.device("cpu")
    assert str(t.device) == str(tt.device) == "cpu"
    assert repr(t.device) == repr(tt.device)
    assert (t.is_cuda, t.is_cpu, t.get_device()) == (tt.is_cuda, tt.is_cpu, tt.get_device())
    assert t.cpu() is t
    assert t.pin_memory() is t and not t.is_pinned()


def test_cuda_is_refused_clearly():
    with pytest.raises(RuntimeError, match=r"Tensor.cuda\(\).*CPU only"):
        gg.ones(2).cuda()
    with pytest.raises(AssertionError):  # what a CPU-only torch raises; ours is both
        gg.ones(2).cuda()
    with pytest.raises(RuntimeError, match=r"Module.cuda\(\).*CPU only"):
        gg.nn.Linear(2, 2).cuda()
    with pytest.raises(AssertionError):
        torch.nn.Linear(2, 2).cuda()


FACTORIES = [
    ("tensor", lambda lib, **kw: lib.tensor([1.0, 2.0], **kw)),
    ("as_tensor", lambda lib, **kw: lib.as_tensor([1.0, 2.0], **kw)),
    ("zeros", lambda lib, **kw: lib.zeros(2, 3, **kw)),
    ("ones", lambda lib, **kw: lib.ones((2, 3), **kw)),
    ("empty", lambda lib, **kw: lib.empty([2, 3], **kw)),
    ("full", lambda lib, **kw: lib.full((2,), 1.5, **kw)),
    ("rand", lambda lib, **kw: lib.rand(2, **kw)),
    ("randn", lambda lib, **kw: lib.randn(2, 2, **kw)),
    ("randint", lambda lib, **kw: lib.randint(0, 10, (3,), **kw)),
    ("randperm", lambda lib, **kw: lib.randperm(4, **kw)),
    ("arange", lambda lib, **kw: lib.arange(5.0, **kw)),
    ("linspace", lambda lib, **kw: lib.linspace(0, 1, 3, **kw)),
    ("eye", lambda lib, **kw: lib.eye(2, **kw)),
    ("zeros_like", lambda lib, **kw: lib.zeros_like(lib.ones(2), **kw)),
    ("ones_like", lambda lib, **kw: lib.ones_like(lib.ones(2), **kw)),
    ("empty_like", lambda lib, **kw: lib.empty_like(lib.ones(2), **kw)),
    ("full_like", lambda lib, **kw: lib.full_like(lib.ones(2), 7, **kw)),
    ("rand_like", lambda lib, **kw: lib.rand_like(lib.ones(2), **kw)),
    ("randn_like", lambda lib, **kw: lib.randn_like(lib.ones(2), **kw)),
    ("randint_like", lambda lib, **kw: lib.randint_like(lib.ones(2), 5, **kw)),
]


@pytest.mark.parametrize("name, make", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_factories_take_device(name, make):
    for dev in (None, "cpu", "cpu:0"):
        ours, theirs = make(gg, device=dev), make(torch, device=dev)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype)
    assert make(gg, device=gg.device("cpu")).device == gg.device("cpu")
    for dev in ("cuda", "cuda:1", gg.device("mps")):
        with pytest.raises(RuntimeError, match=rf"{name}\(\).*CPU only.*{dev!s}"):
            make(gg, device=dev)


def test_factories_accept_layout_pin_memory_memory_format():
    kw = {"layout": gg.strided, "pin_memory": False}
    assert gg.zeros(2, **kw).shape == torch.zeros(2, layout=torch.strided, pin_memory=False).shape
    gg.empty(2, 3, memory_format=gg.contiguous_format, **kw)
    gg.zeros_like(gg.ones(2), memory_format=gg.preserve_format)
    gg.tensor([1], pin_memory=False)
    gg.arange(3, pin_memory=False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        gg.zeros(2, colour="red")


@pytest.mark.parametrize(
    "expr",
    [
        "lib.zeros((2, 3))",
        "lib.zeros([2, 3])",
        "lib.zeros(2, 3, dtype=lib.float64)",
        "lib.zeros(size=(2, 3))",
        "lib.zeros(lib.Size([2, 3]))",
        "lib.rand(size=(2,))",
        "lib.full((2,), 1.5)",
        "lib.full((2,), 1)",
        "lib.full([2], True)",
        "lib.arange(5.)",
        "lib.arange(5)",
        "lib.arange(lib.tensor(3))",
        "lib.arange(0, lib.tensor(3.0))",
        "lib.randint(0, 10, (3,))",
        "lib.randint(10, (3,))",
        "lib.randint(3, 10, size=(3,))",
        "lib.randint(high=10, size=(3,))",
        "lib.randint(10, size=(1,))",  # (mnist_forward_forward's negative labels)
        "lib.randperm(4)",
        "lib.linspace(0, 1, steps=3)",
        # the same points to the last bit (NumPy's differ from PyTorch's in one of four)
        "lib.linspace(-3, 0, 1000)",
        "lib.linspace(-3.14159, 3.14159, 2000)",
        "lib.linspace(1e-3, 5.0, 33)",
        "lib.linspace(3, -2, 17)",
        "lib.linspace(-1.7469, 1.3578, 101, dtype=lib.float64)",
        "lib.eye(2, 3)",
        "lib.tensor([1, 2], dtype=lib.float64, requires_grad=True)",
        "lib.ones(2, requires_grad=True)",
    ],
)
def test_factory_forms_match_torch(expr):
    ours, theirs = eval(expr, {"lib": gg}), eval(expr, {"lib": torch})
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype)
    assert ours.requires_grad == theirs.requires_grad
    if "rand" not in expr and "empty" not in expr:
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


def test_random_factories_take_a_generator():
    g = gg.Generator().manual_seed(5)
    a = gg.randn(3, generator=g)
    b = gg.randn(3, generator=gg.Generator().manual_seed(5))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert gg.randint(0, 5, (4,), generator=g).shape == (4,)
    assert sorted(gg.randperm(5, generator=g).tolist()) == [0, 1, 2, 3, 4]


def test_tensor_to_device_forms_match_torch():
    t, tt = gg.ones(2), torch.ones(2)
    assert t.to("cpu") is t and tt.to("cpu") is tt
    assert t.to(gg.device("cpu")) is t
    assert t.to(gg.device("cpu"), gg.float64).dtype == gg.float64
    assert t.to("cpu", gg.float64).dtype == gg.float64
    assert t.to(gg.zeros(1, dtype=gg.int64)).dtype == gg.int64
    assert t.to(dtype=gg.float16, device="cpu").dtype == gg.float16
    assert t.to(device=gg.device("cpu")) is t
    assert t.to(gg.float64, non_blocking=True).dtype == gg.float64
    for dev in ("cuda", "cuda:0", gg.device("cuda", 1), "mps"):
        with pytest.raises(RuntimeError, match=r"to\(\).*CPU only"):
            t.to(dev)
        with pytest.raises(RuntimeError, match=r"to\(\).*CPU only"):
            t.to(device=dev)


def test_module_to_device_forms():
    m = gg.nn.Linear(2, 2)
    assert m.to(gg.device("cpu")) is m
    assert m.to("cpu") is m and m.cpu() is m
    assert m.to(gg.device("cpu"), gg.float64).weight.dtype == gg.float64
    assert m.to(device="cpu", dtype=gg.float32).weight.dtype == gg.float32
    assert m.to(gg.zeros(1, dtype=gg.float64)).weight.dtype == gg.float64
    for dev in ("cuda", gg.device("cuda:0"), "mps"):
        with pytest.raises(RuntimeError, match=r"to\(\).*CPU only"):
            m.to(dev)


# ---- cuda, backends, switches --------------------------------------------------------------------


def test_cuda_module_matches_cpu_only_torch():
    assert gg.cuda.is_available() is torch.cuda.is_available() is False
    assert gg.cuda.device_count() == torch.cuda.device_count() == 0
    for fn in ("manual_seed", "manual_seed_all"):
        assert getattr(gg.cuda, fn)(0) is None
    gg.cuda.seed(), gg.cuda.synchronize(), gg.cuda.empty_cache()
    for fn in (gg.cuda.current_device, gg.cuda.get_device_name):
        with pytest.raises(RuntimeError, match="CPU only"):
            fn()


def test_backends_flags_are_settable():
    assert gg.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert gg.backends.mps.is_built() is False
    cudnn = gg.backends.cudnn
    for flag in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(cudnn, flag) == getattr(torch.backends.cudnn, flag)
    assert gg.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    before = cudnn.benchmark, gg.backends.cuda.matmul.allow_tf32
    try:
        cudnn.benchmark = True
        gg.backends.cuda.matmul.allow_tf32 = True
        assert gg.backends.cudnn.benchmark and gg.backends.cuda.matmul.allow_tf32
    finally:
        cudnn.benchmark, gg.backends.cuda.matmul.allow_tf32 = before


def test_runtime_switches():
    assert gg.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    gg.set_float32_matmul_precision("high")
    assert gg.get_float32_matmul_precision() == "high"
    gg.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError):
        gg.set_float32_matmul_precision("fast")
    gg.use_deterministic_algorithms(True)
    assert gg.are_deterministic_algorithms_enabled()
    gg.use_deterministic_algorithms(False)
    n = gg.get_num_threads()
    assert isinstance(n, int) and n >= 1
    gg.set_num_threads(n)
    assert gg.get_num_threads() == n
    with pytest.raises(RuntimeError):
        gg.set_num_threads(0)


def test_deterministic_debug_mode_warn_always_and_denormals_answer_as_pytorchs():
    import torch

    try:
        for mode in ("default", "warn", "error", 0, 1, 2):
            for lib in (gg, torch):
                lib.set_deterministic_debug_mode(mode)
            assert gg.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert (
                gg.are_deterministic_algorithms_enabled()
                == torch.are_deterministic_algorithms_enabled()
            )
        gg.use_deterministic_algorithms(True, warn_only=True)
        assert gg.get_deterministic_debug_mode() == 1
        with pytest.raises(RuntimeError, match="expected one of `default`, `warn`, `error`"):
            gg.set_deterministic_debug_mode("loud")
    finally:
        gg.set_deterministic_debug_mode(0)
        torch.set_deterministic_debug_mode(0)
    gg.set_warn_always(True)
    assert gg.is_warn_always_enabled()
    gg.set_warn_always(False)
    assert not gg.is_warn_always_enabled()
    assert gg.set_flush_denormal(True) is False  # (NumPy has no switch for it)
    assert gg.init_num_threads() is None


def test_running_out_of_memory_raises_pytorchs_out_of_memory_error():
    assert gg.cuda.OutOfMemoryError is gg.OutOfMemoryError
    assert issubclass(gg.OutOfMemoryError, RuntimeError)  # as PyTorch's CPU allocator raises
    with pytest.raises(gg.OutOfMemoryError, match=r"zeros: not enough memory.*\(10000000000000,"):
        gg.zeros(10**13)
    x = gg.ones(10**6, 1)  # (a 4 TB result: refused at once, never touched)
    with pytest.raises(gg.OutOfMemoryError, match=r"mul: not enough memory .*\(1000000, 1\)"):
        x * x.reshape(1, -1)


def test_set_printoptions_precision_like_torch():
    values = [1.23456789, 2.0]
    try:
        for kw in ({"precision": 2}, {"precision": 6}, {"profile": "short"}):
            gg.set_printoptions(**kw)
            torch.set_printoptions(**kw)
            assert repr(gg.tensor(values)) == repr(torch.tensor(values))
            assert repr(gg.tensor(1.23456)) == repr(torch.tensor(1.23456))
    finally:
        gg.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert repr(gg.tensor(values)) == repr(torch.tensor(values))


@pytest.mark.parametrize(
    "value",
    [
        np.arange(320) % 10,  # 24 to a line in an 80-column print
        np.linspace(-3, 3, 10, dtype=np.float32),
        np.linspace(-3, 3, 60).reshape(5, 12),  # nested rows wrap at the same column
        np.linspace(-3, 3, 120).reshape(2, 5, 12),
        np.zeros((320, 784), np.float32),  # summarised: "0.,  ..., 0." from the shown items
        np.arange(2000, dtype=np.float32) % 7,
        np.array([True, True]),  # "True" padded to "False"'s width only when one is shown
        np.array([[True, False], [True, True]]),
        np.ones((2, 2000), bool),
        np.arange(2000).reshape(2, 1000) != 1,  # summarised, the False not shown
        np.arange(2000).reshape(2, 1000) != 999,
        np.zeros(0, np.float32),  # empty: size= unless 1-d, dtype= unless the default float
        np.zeros(0, np.int64),
        np.zeros((2, 0), bool),
        np.zeros((0, 3), np.float64),
        np.array([1e-5, 1.0], np.float32),  # scientific: below 1e-4, over 1000x, past 1e8
        np.array([0.1, 1000.5], np.float32),
        np.array([5.0, 50000.0], np.float32),
        np.array([1e9, 2e9]),
        np.linspace(-1e-3, 2e-3, 12, dtype=np.float32).reshape(3, 4),  # small gradients
        np.array([[0.0, -np.inf], [0.0, 0.0]], np.float32),  # -inf and 0 set no width
        np.array([1.0, 2.0, np.nan, -0.0], np.float32),
        np.concatenate([np.full(3, 1e-5), np.full(1000, 0.5)]),  # "..." counts as an item
        np.arange(-3000, 3000, 7).reshape(-1, 6),  # ints: the widest shown
    ],
)
def test_tensor_prints_like_torch(value):
    """The rows break where PyTorch's do (80 columns) and a summarised tensor's number format
    comes from the items shown, as in the tutorials' ``print(x_train, y_train)``; bool and
    empty tensors as PyTorch prints them; small or spread values in PyTorch's scientific
    format (the same digits printed, not ``0.0001`` for ``1.2573e-04``)."""
    ours = repr(gg.tensor(value))
    assert ours == repr(torch.tensor(value))
    ours = repr(gg.tensor(value, requires_grad=value.dtype.kind == "f") * 1)
    theirs = repr(torch.tensor(value, requires_grad=value.dtype.kind == "f") * 1)
    assert ours == theirs


@pytest.mark.parametrize(
    "options",
    [
        {"sci_mode": True},
        {"sci_mode": False},
        {"precision": 2},
        {"linewidth": 40},
        {"edgeitems": 1, "threshold": 5},
        {"edgeitems": 0, "threshold": 5},
    ],
)
def test_print_options_lay_out_as_torch(options):
    values = [np.linspace(-3, 3, 36).reshape(4, 9), np.arange(30).reshape(5, 6), np.full(9, 1e-6)]
    try:
        gg.set_printoptions(**options)
        torch.set_printoptions(**options)
        for value in values:
            ours = repr(gg.tensor(value))
            assert ours == repr(torch.tensor(value))
    finally:
        gg.set_printoptions(profile="default", sci_mode=None)
        torch.set_printoptions(profile="default", sci_mode=None)


@pytest.mark.parametrize(
    "expr",
    [
        "lib.tensor(1e-5)",  # a small loss: 1.0000e-05, not 0.0000
        "lib.tensor(3.5e-5, requires_grad=True) * 2",
        "lib.tensor([1e-5, 1.0, 100.0])",
        "lib.tensor([0.0, 1e-5])",
        "lib.tensor([-1e-5, 2.0])",
        "lib.tensor([1.0, 2000.0])",  # integers 1000 apart
        "lib.tensor([1.0, 999.0])",
        "lib.tensor([1e9, 2e9])",
        "lib.tensor([123456789.0, 0.5])",
        "lib.tensor([float('nan'), 1e-5, float('inf')])",
        "lib.tensor([[1e-5, 1.0], [100.0, -3.0]])",
        "lib.tensor([1e-5, 1.0], dtype=lib.float64)",
        "lib.tensor([1e-5] * 30)",  # rows of the wider numbers break at 80 columns too
        "lib.arange(2000.0) * 1e-3",  # summarised: the format comes from the items shown
        "lib.tensor([0.0, 0.0])",
        "lib.tensor([1.0, 2.0, 3.0])",
    ],
)
@pytest.mark.parametrize("sci_mode", [None, True, False])
def test_scientific_notation_like_torch(expr, sci_mode):
    try:
        for lib in (gg, torch):
            lib.set_printoptions(sci_mode=sci_mode)
        ours = repr(eval(expr, {"lib": gg}))
        assert ours == repr(eval(expr, {"lib": torch}))
    finally:
        for lib in (gg, torch):
            lib.set_printoptions(profile="default", sci_mode=None)


@pytest.mark.parametrize("n", [3, 5, 7, 8, 12])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_grad_fn_and_dtype_wrap_onto_a_new_line_like_torch(n, dtype):
    """A suffix (``grad_fn=<...>``, ``dtype=...``) that would pass 80 columns goes on its own
    line, indented under the data, as in the char-RNN tutorial's printed log-probabilities."""
    value = np.linspace(-1.7, -1.3, n).reshape(1, n)
    ours = gg.tensor(value, dtype=getattr(gg, dtype), requires_grad=True).log_softmax(1)
    theirs = torch.tensor(value, dtype=getattr(torch, dtype), requires_grad=True).log_softmax(1)
    assert repr(ours) == repr(theirs)
    plain = repr(gg.tensor(value, dtype=gg.float64))
    assert plain == repr(torch.tensor(value, dtype=torch.float64))


def test_seeds_and_generator():
    g = gg.manual_seed(7)
    assert g.initial_seed() == gg.initial_seed() == 7
    a = gg.rand(3)
    gg.manual_seed(7)
    np.testing.assert_array_equal(a.numpy(), gg.rand(3).numpy())
    assert g.random() is not None  # NumPy Generator methods work on it
    s = gg.seed()
    assert isinstance(s, int) and gg.initial_seed() == s
    assert isinstance(torch.manual_seed(0), torch.Generator)
    assert isinstance(gg.manual_seed(0), gg.Generator)


# ---- tensors as Python values --------------------------------------------------------------------


@pytest.mark.parametrize("spec", [".4f", ".3e", "", "10.2f", "g"])
@pytest.mark.parametrize("value", [1.234567, -2.5, 3])
def test_format_of_0d_tensors_matches_torch(value, spec):
    assert format(gg.tensor(value), spec) == format(torch.tensor(value), spec)
    assert f"{gg.tensor(value)}" == f"{torch.tensor(value)}"


def test_format_of_nd_tensors_matches_torch():
    assert format(gg.tensor([1.0, 2.0]), "") == format(torch.tensor([1.0, 2.0]), "")
    for lib in (gg, torch):
        with pytest.raises(TypeError, match="unsupported format string"):
            format(lib.tensor([1.0, 2.0]), ".2f")


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
)
def test_type_strings_match_torch(dtype):
    t, tt = gg.ones(2, dtype=getattr(gg, dtype)), torch.ones(2, dtype=getattr(torch, dtype))
    assert t.type() == tt.type()
    assert t.type(tt.type()).dtype == t.dtype
    assert t.element_size() == tt.element_size()
    assert t.is_floating_point() == tt.is_floating_point() == gg.is_floating_point(t)
    assert t.is_complex() == tt.is_complex()


def test_type_conversions_like_torch():
    t = gg.ones(2)
    assert t.type(gg.float64).dtype == gg.float64
    assert t.type("torch.DoubleTensor").dtype == gg.float64
    assert t.type("torch.LongTensor").tolist() == torch.ones(2).type("torch.LongTensor").tolist()
    assert t.type(gg.float32) is t
    with pytest.raises(RuntimeError, match="CPU only"):
        t.type("torch.cuda.FloatTensor")


def test_sizes_and_counts_match_torch():
    t, tt = gg.zeros(3, 2), torch.zeros(3, 2)
    assert (t.nelement(), t.numel(), gg.numel(t)) == (tt.nelement(), tt.numel(), torch.numel(tt))
    assert (t.ndimension(), t.dim(), len(t)) == (tt.ndimension(), tt.dim(), len(tt))
    assert (t.size(0), t.size(-1)) == (tt.size(0), tt.size(-1))
    assert repr(t.shape) == repr(tt.shape) and repr(t.size()) == repr(tt.size())
    assert isinstance(t.shape, gg.Size) and isinstance(t.shape, tuple)
    for lib, x in ((gg, t), (torch, tt)):
        with pytest.raises(IndexError, match="Dimension out of range"):
            x.size(2)
        assert lib.zeros(()).size() == ()


def test_size_behaves_like_torch_size():
    for a, b in ((gg.Size([2, 3]), torch.Size([2, 3])), (gg.Size([]), torch.Size([]))):
        assert repr(a) == repr(b) and str(a) == str(b)
        assert a == b == tuple(b)
        assert a.numel() == b.numel()
    s, ts = gg.Size([2, 3, 4]), torch.Size([2, 3, 4])
    for op in (lambda x: x[1:], lambda x: x + (5,), lambda x: (1,) + x, lambda x: x * 2):
        assert repr(op(s)) == repr(op(ts))
    assert s[0] == 2 and type(s[0]) is int
    assert pickle.loads(pickle.dumps(s)) == s


def test_item_tolist_and_pointers():
    t, tt = gg.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    assert t.tolist() == tt.tolist()
    assert t[1, 2].item() == tt[1, 2].item()
    assert isinstance(t.data_ptr(), int) and t.data_ptr() == t.data_ptr()
    assert t[1].data_ptr() - t.data_ptr() == tt[1].data_ptr() - tt.data_ptr()
    for index in (np.s_[1], np.s_[:, 1], np.s_[1:, 2]):
        assert t[index].storage_offset() == tt[index].storage_offset()
    assert gg.ones(4)[::2].storage_offset() == torch.ones(4)[::2].storage_offset() == 0


def test_tensors_hash_by_identity_like_torch():
    a, b = gg.ones(2), gg.ones(2)
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b" and len(d) == 2
    ta = torch.ones(2)
    assert hash(ta) == id(ta) and hash(a) == id(a)
    assert len({a, b, a}) == 2


# ---- module paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "utils.data",
        "utils.data.dataloader",
        "utils.data.dataset",
        "utils.data.sampler",
        "nn.parallel",
        "nn.init",
        "onnx",
        "cuda",
        "backends",
        "backends.cudnn",
        "backends.mps",
        "backends.cuda",
        "amp",
        "cuda.amp",
        "distributed",
        "utils.tensorboard",
    ],
)
def test_module_paths_import(path):
    importlib.import_module(f"glassgrad.{path}")
    importlib.import_module(f"torch.{path}")


def test_utils_data_names_match_torch():
    import torch.utils.data as tud

    import glassgrad.utils.data as gud

    for name in (
        "Dataset",
        "TensorDataset",
        "DataLoader",
        "random_split",
        "Subset",
        "Sampler",
        "RandomSampler",
        "SequentialSampler",
        "BatchSampler",
        "SubsetRandomSampler",
        "WeightedRandomSampler",
        "ConcatDataset",
        "IterableDataset",
        "get_worker_info",
        "default_collate",
    ):
        assert hasattr(gud, name) and hasattr(tud, name), name
    assert gud.get_worker_info() is None is tud.get_worker_info()
    from glassgrad.utils.data.dataloader import DataLoader
    from glassgrad.utils.data.sampler import RandomSampler

    assert DataLoader is gud.DataLoader and RandomSampler is gud.RandomSampler


def test_data_parallel_is_a_pass_through():
    model = gg.nn.Linear(3, 2)
    dp = gg.nn.parallel.DataParallel(model, device_ids=[0])
    assert dp.module is model and gg.nn.DataParallel is gg.nn.parallel.DataParallel
    x = gg.randn(4, 3)
    np.testing.assert_array_equal(dp(x).detach().numpy(), model(x).detach().numpy())
    theirs = torch.nn.parallel.DataParallel(torch.nn.Linear(3, 2))
    assert list(dp.state_dict()) == list(theirs.state_dict())


def test_variable_is_a_tensor_alias():
    from torch.autograd import Variable as TVariable

    from glassgrad.autograd import Variable

    x, tx = gg.ones(2), torch.ones(2)
    v, tv = Variable(x, requires_grad=True), TVariable(tx, requires_grad=True)
    assert isinstance(v, gg.Tensor) and isinstance(v, Variable) and isinstance(x, Variable)
    assert v.requires_grad == tv.requires_grad and (v is x) == (tv is tx)
    v.data[0] = 5.0  # shares memory, as torch's does
    tv.data[0] = 5.0
    assert x.tolist() == tx.tolist()


def test_onnx_export_is_not_implemented():
    with pytest.raises(NotImplementedError, match="onnx"):
        gg.onnx.export(gg.nn.Linear(2, 2), gg.ones(1, 2), "model.onnx")


# ---- mixed precision, distributed, compile (what GPU training scripts touch on a CPU) ------------


def _scaled_steps(lib, grads):
    """A cpu GradScaler through steps whose gradients are ``grads`` (inf forces a skipped step)."""
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    opt = lib.optim.SGD([w], lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=4.0, growth_interval=2)
    seen = []
    for g in grads:
        opt.zero_grad()
        scaler.scale((w * lib.tensor(g)).sum()).backward()
        seen.append(w.grad.tolist())
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        seen.append((w.tolist(), scaler.get_scale()))
    return seen, scaler.state_dict()


def test_grad_scaler_scales_skips_and_grows_like_torch():
    grads = [[1.0, 1.0], [float("inf"), 1.0], [0.5, 1.0], [1.0, 2.0], [1.0, 1.0]]
    assert _scaled_steps(gg, grads) == _scaled_steps(torch, grads)


def test_disabled_grad_scalers_pass_through():
    with pytest.warns(UserWarning, match="Disabling"):
        scaler = gg.cuda.amp.GradScaler(enabled=True)  # no GPU: disables itself, as torch's
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    w = gg.tensor(1.0, requires_grad=True)
    opt = gg.optim.SGD([w], lr=0.5)
    loss = w * 3
    assert scaler.scale(loss) is loss
    loss.backward()
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    assert w.item() == -0.5
    with pytest.raises(RuntimeError, match="already been called"):
        on = gg.amp.GradScaler("cpu")
        on.unscale_(opt)
        on.unscale_(opt)


def test_autocast_is_a_no_op_without_a_gpu_and_runs_cpu_half_precision_in_float32():
    with pytest.warns(UserWarning, match="Disabling autocast"), gg.autocast("cuda"):
        pass
    with gg.autocast("cpu", enabled=False), gg.amp.autocast("cpu", dtype=gg.float32):
        pass
    from glassgrad.amp import autocast_mode

    autocast_mode._WARNED.clear()
    x, w = gg.ones(2, 3), gg.full((3, 2), 0.5, requires_grad=True)
    warned = pytest.warns(UserWarning, match=r"bfloat16\): .* computes in the dtypes it is given")
    with warned, gg.autocast(device_type="cpu", dtype=gg.bfloat16):
        y = x @ w
    assert y.dtype == gg.float32 and y.tolist() == [[1.5, 1.5], [1.5, 1.5]]
    y.sum().backward()
    assert w.grad.dtype == gg.float32
    with warnings.catch_warnings():  # once per dtype: a training loop enters it every step
        warnings.simplefilter("error")
        with gg.autocast("cpu", dtype=gg.bfloat16):
            pass


def test_bfloat16_is_named_but_has_no_tensors():
    assert repr(gg.bfloat16) == repr(torch.bfloat16) and gg.bfloat16 != gg.float16
    assert {gg.float32: 1, gg.bfloat16: 2}[gg.bfloat16] == 2
    assert gg.bfloat16.itemsize == torch.bfloat16.itemsize
    with pytest.raises(TypeError, match="bfloat16"):
        gg.zeros(2, dtype=gg.bfloat16)
    with pytest.raises(TypeError, match="bfloat16"):
        gg.ones(2).to(gg.bfloat16)
    with pytest.raises(TypeError, match="bfloat16"):
        np.zeros(2, dtype=gg.bfloat16)  # (no NumPy dtype to hand NumPy)


def test_distributed_has_no_process_group_as_torch_without_one():
    assert not gg.distributed.is_initialized() and not torch.distributed.is_initialized()
    for lib in (gg, torch):
        with pytest.raises(ValueError, match="has not been initialized"):
            lib.distributed.get_rank()
        with pytest.raises(ValueError, match="has not been initialized"):
            lib.nn.parallel.DistributedDataParallel(lib.nn.Linear(2, 2))


def test_compile_wraps_a_module_as_torch_does_and_wraps_functions():
    from glassgrad.compiler import CompiledFunction

    model = gg.nn.Linear(2, 1)
    ref = torch.nn.Linear(2, 1)
    validate = torch.distributions.Distribution._validate_args
    try:
        compiled, compiled_ref = gg.compile(model), torch.compile(ref)
    finally:  # (torch.compile turns distributions' argument checks off for the process)
        torch.distributions.Distribution.set_default_validate_args(validate)
    assert type(compiled).__name__ == type(compiled_ref).__name__ == "OptimizedModule"
    assert compiled._orig_mod is model and isinstance(compiled, gg.nn.Module)
    assert list(compiled.state_dict()) == list(compiled_ref.state_dict())  # _orig_mod. prefix
    assert compiled.in_features == 2  # the original's attributes
    assert gg.compile(model, disable=True) is model
    f = gg.compile(mode="max-autotune")(abs)  # torch's options are accepted
    assert isinstance(f, CompiledFunction) and [f(-2) for _ in range(3)] == [2, 2, 2]
    assert gg.compile(abs, disable=True) is abs


def test_summary_writer_writes_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from glassgrad.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(tmp_path)) as w:
        w.add_scalar("Loss/train", gg.tensor(0.25), 3)
        w.add_scalar("Loss/train", 0.5, 4)
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("Loss/train")] == [(3, 0.25), (4, 0.5)]


def test_autograd_grad_takes_torch_positional_order_and_only_inputs():
    import inspect

    ours = list(inspect.signature(gg.autograd.grad).parameters)
    theirs = list(inspect.signature(torch.autograd.grad).parameters)
    assert ours == theirs
    x = gg.tensor(2.0, requires_grad=True)
    assert gg.autograd.grad(x**2, x, only_inputs=True)[0].item() == 4.0
    with pytest.warns(FutureWarning, match="only_inputs"):
        gg.autograd.grad(x**2, x, only_inputs=False)
    with pytest.raises(NotImplementedError, match="is_grads_batched"):
        gg.autograd.grad(x**2, x, is_grads_batched=True)


def test_asarray_shares_memory_as_torch() -> None:
    for lib in (gg, torch):
        a = np.ones(3)
        t = lib.asarray(a)
        a[0] = 5.0  # shared with the array
        assert t.tolist() == [5.0, 1.0, 1.0] and t.dtype == lib.float64
        assert lib.asarray([1, 2]).dtype == lib.int64 and lib.asarray([1.0]).dtype == lib.float32
        x = lib.ones(2)
        assert lib.asarray(x) is x and lib.asarray(x, copy=True) is not x
        assert lib.asarray(np.ones(2, np.float32), dtype=lib.float64).dtype == lib.float64
        assert lib.asarray(x, requires_grad=True).requires_grad
        with pytest.raises(ValueError):
            lib.asarray([1, 2], copy=False)


def test_dtype_class_short_and_layout_as_torch() -> None:
    """``def f(dtype: torch.dtype = torch.float32)`` evaluates ``torch.dtype`` at definition."""
    for lib in (gg, torch):
        assert isinstance(lib.float32, lib.dtype) and isinstance(lib.int64, lib.dtype)
        assert not isinstance("float32", lib.dtype)
        assert lib.short == lib.int16
        assert lib.ones(2).layout == lib.strided and not lib.ones(2).is_inference()


def test_torch_version_module_as_a_cpu_build_reports_it() -> None:
    assert gg.version.cuda is None and torch.version.cuda is None  # (a CPU-only PyTorch here)
    assert gg.version.__version__ == gg.__version__
    assert gg.version.hip is None and gg.version.debug is False
