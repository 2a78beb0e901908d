"""Tensor creation, attributes and conversions, against PyTorch's behaviour."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.zeros(2, 3),
        lambda lib: lib.zeros((2, 3)),
        lambda lib: lib.ones(4),
        lambda lib: lib.full((2, 2), 7.5),
        lambda lib: lib.full((2,), 3),
        lambda lib: lib.full((2,), True),
        lambda lib: lib.arange(5),
        lambda lib: lib.arange(1, 4, 0.5),
        lambda lib: lib.arange(2.0),
        lambda lib: lib.linspace(0, 1, 5),
        lambda lib: lib.eye(3),
        lambda lib: lib.eye(2, 3),
        lambda lib: lib.zeros_like(lib.ones(2, dtype=lib.float64)),
        lambda lib: lib.ones_like(lib.arange(3)),
        lambda lib: lib.full_like(lib.ones(2), 4.0),
        lambda lib: lib.empty(0, 3),
        lambda lib: lib.tensor([[1, 2], [3, 4]]),
        lambda lib: lib.tensor(2.5),
        lambda lib: lib.tensor([True, False]),
        lambda lib: lib.tensor([1, 2], dtype=lib.float64),
        lambda lib: lib.tensor([1.5, 2], dtype=lib.int32),
    ],
)
def test_creation_matches_torch_values_shapes_and_dtypes(make) -> None:
    ours, theirs = make(gg), make(torch)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype)
    if ours.numel():
        np.testing.assert_allclose(ours._data, theirs.numpy())


@pytest.mark.parametrize(
    "data",
    [
        lambda lib: [np.float64(1.5), np.float64(2.0)],  # a list of NumPy means or losses
        lambda lib: [1.5, np.float64(2.0)],  # a Python float and a NumPy double: float64
        lambda lib: [[np.float64(1.0)], [np.float64(2.0)]],
        lambda lib: (np.float64(1.5),),
        lambda lib: [np.float32(1.5), np.float16(2.0)],
        lambda lib: [np.float16(1.0)],
        lambda lib: [np.int32(1), np.int32(2)],
        lambda lib: [np.int16(1), 2],  # with a Python int: int64
        lambda lib: [np.int64(1), 2.5],  # with a Python float: the default dtype
        lambda lib: [np.uint8(3), np.int8(-1)],
        lambda lib: [np.bool_(True), True],
        lambda lib: [np.complex128(1 + 2j)],
        lambda lib: [np.array([1.5]), np.array([2.5])],
        lambda lib: [lib.tensor(1.5), lib.tensor(2.0)],
        lambda lib: [lib.tensor(1.5, dtype=lib.float64), 2.0],
        lambda lib: [lib.tensor(1, dtype=lib.int32), lib.tensor(2, dtype=lib.int32)],
        lambda lib: [],
    ],
)
def test_tensor_infers_the_dtype_of_numpy_scalars_and_tensors_in_lists(data) -> None:
    """PyTorch promotes the elements' own dtypes; NumPy's values must not fall back to the
    defaults (a list of np.float64 is a float64 tensor, not float32)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch: a list of arrays is slow
        theirs = torch.tensor(data(torch))
    ours = gg.tensor(data(gg))
    assert str(ours.dtype) == str(theirs.dtype)
    assert ours.tolist() == theirs.tolist()
    assert gg.as_tensor(data(gg)).dtype == ours.dtype


def test_tensor_of_a_list_under_a_float64_default() -> None:
    gg.set_default_dtype(gg.float64)
    try:
        assert gg.tensor([1.5, np.float32(2.0)]).dtype == gg.float64
        assert gg.tensor([1, np.float16(2.0)]).dtype == gg.float16
    finally:
        gg.set_default_dtype(gg.float32)


def test_random_tensors_are_reproducible_with_manual_seed() -> None:
    gg.manual_seed(123)
    a = gg.randn(3, 2), gg.rand(4), gg.randint(0, 10, (5,)), gg.randperm(6)
    gg.manual_seed(123)
    b = gg.randn(3, 2), gg.rand(4), gg.randint(0, 10, (5,)), gg.randperm(6)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x._data, y._data)
    assert a[0].dtype == gg.float32 and a[2].dtype == gg.int64
    assert a[1]._data.min() >= 0 and a[1]._data.max() < 1
    assert sorted(a[3].tolist()) == list(range(6))
    assert gg.randn(2, dtype=gg.float64, requires_grad=True).requires_grad
    assert gg.randn_like(gg.ones(2, 2)).shape == (2, 2)
    assert gg.randint(5, (3,))._data.max() < 5


def test_attributes_and_conversions() -> None:
    t = gg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert t.shape == (2, 3) and t.size() == (2, 3) and t.size(1) == 3 and t.size(-1) == 3
    assert t.ndim == 2 and t.dim() == 2 and t.numel() == 6 and len(t) == 2
    assert t.dtype == gg.float32 and t.is_leaf and t.grad is None and t.grad_fn is None
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert t[1, 2].item() == 6.0 and float(t[0, 0]) == 1.0
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    d = t.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), t._data)
    assert np.asarray(t).dtype == np.float32
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="6 elements"):
        t.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)


def test_from_numpy_shares_memory_and_keeps_dtype() -> None:
    a = np.arange(4.0)
    t = gg.from_numpy(a)
    a[0] = 10.0
    assert t.dtype == gg.float64 and t[0].item() == 10.0
    with pytest.raises(TypeError, match=r"np\.ndarray"):
        gg.from_numpy([1, 2])


def test_tensor_copies_its_input() -> None:
    a = np.ones(3, dtype=np.float32)
    t = gg.tensor(a)
    a[0] = 5
    assert t[0].item() == 1.0


def test_requires_grad_flag_rules() -> None:
    x = gg.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    assert y.requires_grad and not y.is_leaf
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    assert gg.tensor(1.0, requires_grad=True, dtype=gg.float64).requires_grad


def test_dtype_conversion_methods() -> None:
    x = gg.tensor([1.7, -2.2], requires_grad=True)
    assert x.double().dtype == gg.float64 and x.float().dtype == gg.float32
    assert x.long().tolist() == [1, -2] and x.int().dtype == gg.int32
    assert x.to(gg.float64).requires_grad and x.to("cpu") is x
    x.double().sum().backward()
    assert x.grad.dtype == gg.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        x.to("cuda")


def test_grad_is_also_exported_at_top_level() -> None:
    x = gg.tensor(2.0, requires_grad=True)
    (g,) = gg.grad(x**3, x)
    assert g.item() == pytest.approx(12.0)


def test_data_is_a_tensor_sharing_memory_outside_the_graph() -> None:
    """``.data`` as in PyTorch: same memory, no graph, no version bump (old optimizer code)."""
    for lib in (gg, torch):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        (p * p).sum().backward()
        d = p.data
        assert isinstance(d, lib.Tensor) and not d.requires_grad and d.grad_fn is None
        v = p._version
        p.data.add_(p.grad.data, alpha=-0.5)  # p - 0.5 * 2p = 0
        np.testing.assert_array_equal(p.detach().numpy(), [0.0, 0.0])
        assert p._version == v and p.requires_grad and p.is_leaf
        with warnings.catch_warnings():  # torch warns that this order is deprecated
            warnings.simplefilter("ignore")
            p.data.add_(-1.0, lib.ones(2))  # the deprecated (alpha, other) order still works
        np.testing.assert_array_equal(p.data.numpy(), [-1.0, -1.0])
        p.data = lib.tensor([5.0, 6.0, 7.0])  # swapping in new values, shape included
        assert tuple(p.shape) == (3,) and p.requires_grad
        p.data.copy_(lib.zeros(3))
        np.testing.assert_array_equal(p.detach().numpy(), [0.0, 0.0, 0.0])


# ---- dtype queries and promotion, against torch over every dtype pair ----------------------------

DTYPE_NAMES = [
    "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
    "complex64", "complex128",
]  # fmt: skip


def _same_dtype(ours, theirs) -> bool:
    """(glassgrad has no complex32: float16 with complex is complex64 here, by design)"""
    want = "torch.complex64" if str(theirs) == "torch.complex32" else str(theirs)
    return isinstance(ours, gg.dtype) and str(ours) == want


@pytest.mark.parametrize("a", DTYPE_NAMES)
def test_promote_types_and_can_cast_match_torch(a) -> None:
    for b in DTYPE_NAMES:
        ta, tb = getattr(torch, a), getattr(torch, b)
        assert _same_dtype(gg.promote_types(a, b), torch.promote_types(ta, tb)), (a, b)
        assert gg.can_cast(a, b) == torch.can_cast(ta, tb), (a, b)


@pytest.mark.parametrize("a", DTYPE_NAMES)
def test_result_type_matches_torch(a) -> None:
    def operands(lib, name):
        dt = getattr(lib, name if name != "bool" else "bool")
        return [lib.ones(2, dtype=dt), lib.ones((), dtype=dt)]

    for b in DTYPE_NAMES:
        for i, j in [(0, 0), (0, 1), (1, 0), (1, 1)]:
            x, y = operands(gg, a)[i], operands(gg, b)[j]
            tx, ty = operands(torch, a)[i], operands(torch, b)[j]
            assert _same_dtype(gg.result_type(x, y), torch.result_type(tx, ty)), (a, b, i, j)
        for scalar in (True, 2, 2.5, 1j):
            x, tx = operands(gg, a)[0], operands(torch, a)[0]
            ours, theirs = gg.result_type(x, scalar), torch.result_type(tx, scalar)
            assert _same_dtype(ours, theirs), (a, scalar)


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_finfo_iinfo_match_torch(name) -> None:
    keys = {
        "finfo": "bits eps max min tiny smallest_normal resolution dtype",
        "iinfo": "bits max min dtype",
    }
    for kind, fields in keys.items():
        try:
            theirs = getattr(torch, kind)(getattr(torch, name))
        except TypeError:
            with pytest.raises(TypeError, match=kind):
                getattr(gg, kind)(getattr(gg, name if name != "bool" else "bool_"))
            continue
        ours = getattr(gg, kind)(getattr(gg, name if name != "bool" else "bool_"))
        for f in fields.split():
            assert getattr(ours, f) == getattr(theirs, f), (kind, name, f)
    assert gg.finfo().eps == torch.finfo().eps  # the default dtype


def test_broadcast_shapes_matches_torch() -> None:
    for shapes in [((2, 1), (3,)), (1, (3,)), ((5, 1, 4), (1, 3, 1), (4,)), ((0,), (1,)), ()]:
        assert tuple(gg.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))
    assert isinstance(gg.broadcast_shapes((2, 1), (3,)), gg.Size)
    with pytest.raises(RuntimeError, match=r"broadcast_shapes.*\(2,\), \(3,\)"):
        gg.broadcast_shapes((2,), (3,))


# ---- utility functions and legacy methods ------------------------------------------------------


def test_is_nonzero_is_same_size_is_signed() -> None:
    for v in ([0.0], [1.5], [[0]], 3, True):
        assert gg.is_nonzero(gg.tensor(v)) == torch.is_nonzero(torch.tensor(v))
        assert gg.tensor(v).is_nonzero() == torch.tensor(v).is_nonzero()
    for bad in ([1.0, 2.0], []):
        with pytest.raises(RuntimeError):
            torch.is_nonzero(torch.tensor(bad))
        with pytest.raises(RuntimeError, match=r"is_nonzero.*ambiguous"):
            gg.is_nonzero(gg.tensor(bad))
    assert gg.is_same_size(gg.ones(2, 3), gg.zeros(2, 3)) and not gg.ones(2).is_same_size(
        gg.ones(3)
    )
    for name in DTYPE_NAMES:
        t, tt = (
            gg.ones(1, dtype=getattr(gg, name if name != "bool" else "bool_")),
            torch.ones(1, dtype=getattr(torch, name)),
        )
        assert gg.is_signed(t) == torch.is_signed(tt) == t.is_signed(), name


def test_scalar_tensor_and_range_match_torch() -> None:
    for args, kw in [((3,), {}), ((2.5,), {"dtype": "float64"}), ((1,), {"dtype": "int32"})]:
        tkw = {k: getattr(torch, v) for k, v in kw.items()}
        ours, theirs = gg.scalar_tensor(*args, **kw), torch.scalar_tensor(*args, **tkw)
        assert (
            ours.shape == ()
            and _same_dtype(ours.dtype, theirs.dtype)
            and ours.item() == theirs.item()
        )
    for args in [(1, 4), (0, 1, 0.25), (5, 1, -2), (0, 0.95, 0.1), (1, 1)]:
        with pytest.warns(UserWarning, match="deprecated"):
            ours = gg.range(*args)
        with pytest.warns(UserWarning):
            theirs = torch.range(*args)
        assert _same_dtype(ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_default_device_and_tensor_type() -> None:
    assert gg.get_default_device() == gg.device("cpu") and str(gg.get_default_device()) == "cpu"
    gg.set_default_device("cpu")
    gg.set_default_device(None)
    with pytest.raises(gg.CPUOnlyError, match=r"set_default_device.*CPU only"):
        gg.set_default_device("cuda")
    try:
        with pytest.warns(UserWarning, match="deprecated"):
            gg.set_default_tensor_type(gg.DoubleTensor)
        assert gg.tensor([1.5]).dtype == gg.float64
        with pytest.warns(UserWarning):
            gg.set_default_tensor_type("torch.FloatTensor")
        assert gg.tensor([1.5]).dtype == gg.float32
        with pytest.raises(TypeError, match="floating-point"), pytest.warns(UserWarning):
            gg.set_default_tensor_type(gg.LongTensor)
    finally:
        gg.set_default_dtype(gg.float32)


def test_conversions_and_sizes_match_torch() -> None:
    x, tx = gg.tensor([[-1.5, 2.0, 300.0]]), torch.tensor([[-1.5, 2.0, 300.0]])
    for name in ("byte", "char", "short"):
        ours, theirs = getattr(x[:, :2], name)(), getattr(tx[:, :2], name)()
        assert _same_dtype(ours.dtype, theirs.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(TypeError, match=r"bfloat16\(\).*float16"):
        x.bfloat16()
    assert x.half().dtype == gg.float16  # float16 exists (NumPy has it); bfloat16 does not
    for t, tt in ((x, tx), (x.double(), tx.double()), (x.byte(), tx.byte())):
        assert (t.nbytes, t.itemsize) == (tt.nbytes, tt.itemsize)
    d = gg.detach(x.requires_grad_())
    assert not d.requires_grad and np.shares_memory(d._data, x._data)


def test_legacy_new_matches_torch() -> None:
    x, tx = gg.ones(2, dtype=gg.float64), torch.ones(2, dtype=torch.float64)
    for args in [(), (2, 3), ([1, 2],), (gg.Size([4]),)]:
        targs = tuple(torch.Size(a) if isinstance(a, gg.Size) else a for a in args)
        ours, theirs = x.new(*args), tx.new(*targs)
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == gg.float64
        if args and isinstance(args[0], list):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_apply_and_map_match_torch() -> None:
    x, tx = gg.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.apply_(lambda v: v * v + 1) is x
    tx.apply_(lambda v: v * v + 1)
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    assert x._version == 1
    x.map_(gg.tensor([10.0, 20.0]), lambda a, b: a - b)
    tx.map_(torch.tensor([10.0, 20.0]), lambda a, b: a - b)
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    with pytest.raises(RuntimeError, match=r"map_.*broadcast"):
        x.map_(gg.ones(3), lambda a, b: a)
    with pytest.raises(RuntimeError, match=r"apply_.*requires grad"):
        gg.ones(2, requires_grad=True).apply_(lambda v: v)


def test_post_accumulate_grad_hook_runs_after_grad_is_written() -> None:
    """As in PyTorch: once per backward, after .grad holds the accumulated sum (an optimizer step
    inside backward relies on that), on leaves only, removable."""
    for lib in (gg, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        handle = w.register_post_accumulate_grad_hook(
            lambda p, seen=seen: seen.append(p.grad.tolist())
        )
        (w * 3).sum().backward()
        (w * w).sum().backward()  # accumulates into the existing .grad
        handle.remove()
        (w * 3).sum().backward()
        assert seen == [[3.0, 3.0], [5.0, 7.0]], lib.__name__
        with pytest.raises(RuntimeError, match="non-leaf"):
            (w * 2).register_post_accumulate_grad_hook(lambda p: None)


def test_post_accumulate_grad_hook_can_step_in_backward() -> None:
    ws = [gg.tensor([1.0, -1.0], requires_grad=True) for _ in range(2)]
    tws = [torch.tensor([1.0, -1.0], requires_grad=True) for _ in range(2)]
    for params, lib in ((ws, gg), (tws, torch)):

        def step(p, lib=lib):
            with lib.no_grad():
                p.sub_(0.1 * p.grad)
            p.grad = None

        for p in params:
            p.register_post_accumulate_grad_hook(step)
        (params[0] * params[1]).sum().backward()
    for a, b in zip(ws, tws):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
        assert a.grad is None and b.grad is None


def test_resize_keeps_the_first_elements_as_pytorch() -> None:
    """The old DCGAN's ``label.resize_(batch_size).fill_(real_label)`` and
    ``input.resize_as_(real).copy_(real)``."""
    for lib in (gg, torch):
        a = lib.arange(6.0)
        view = a.view(2, 3)
        assert a.resize_(2, 2) is a and tuple(a.shape) == (2, 2)
        assert a.tolist() == [[0.0, 1.0], [2.0, 3.0]]  # (a NumPy view would pin PyTorch's)
        a[0, 0] = 9.0  # not grown: still the same memory
        assert view[0, 0].item() == 9.0
        assert tuple(a.resize_((4,)).shape) == (4,)
        grown = a.resize_(3, 3)  # grown: the first elements kept (the rest PyTorch leaves)
        assert grown.reshape(-1)[:4].tolist() == [9.0, 1.0, 2.0, 3.0]
        label = lib.empty(0).resize_(5).fill_(1.0)
        np.testing.assert_array_equal(label.numpy(), np.ones(5))
        real = lib.ones(2, 3)
        x = lib.empty(7).resize_as_(real).copy_(real)
        assert tuple(x.shape) == (2, 3) and x.numpy().sum() == 6.0
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            lib.ones(2, requires_grad=True).resize_(3)


def test_deepcopy_copies_leaves_and_refuses_graph_tensors_as_pytorch() -> None:
    import copy

    for lib in (gg, torch):
        w = lib.ones(2, requires_grad=True)
        (w * 2).sum().backward()
        c = copy.deepcopy(w)
        assert c is not w and c.requires_grad and c.grad.tolist() == [2.0, 2.0]
        model = lib.nn.Linear(2, 2)
        twice = lib.nn.Sequential(model, model)
        copied = copy.deepcopy(twice)
        assert copied[0] is copied[1] and copied[0].weight is not model.weight
        assert type(copied[0].weight) is lib.nn.Parameter
        with pytest.raises(RuntimeError, match="graph leaves"):
            copy.deepcopy(w * 2)


def test_swap_tensors_exchanges_class_values_and_autograd_state_as_torch():
    seen = []
    for lib in (gg, torch):
        lin = lib.nn.Linear(2, 3)
        lin(lib.ones(1, 2)).sum().backward()  # the graph is gone once backward ran
        plain = lib.arange(4.0)
        weight = lin.weight
        lib.utils.swap_tensors(weight, plain)
        seen.append(
            (
                type(lin.weight).__name__,
                lin.weight.tolist(),
                lin.weight.requires_grad,
                lin.weight.grad,
                type(plain).__name__,
                tuple(plain.shape),
                plain.requires_grad,
                tuple(plain.grad.shape),
            )
        )
    assert seen[0] == seen[1]


def test_swap_tensors_refuses_weakly_referenced_tensors_and_leaves_in_a_live_graph():
    import weakref

    a = gg.ones(2)
    ref = weakref.ref(a)
    with pytest.raises(RuntimeError, match="Cannot swap t1 because it has weakref"):
        gg.utils.swap_tensors(a, gg.zeros(2))
    del ref
    with pytest.raises(TypeError, match="expected t2 to be a Tensor, got int"):
        gg.utils.swap_tensors(a, 3)
    x = gg.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="t2 is an input of a recorded graph"):
        gg.utils.swap_tensors(gg.zeros(2), x)
    y.sum().backward()
    del y
    gg.utils.swap_tensors(x, gg.zeros(3))
    assert x.tolist() == [0.0, 0.0, 0.0] and not x.requires_grad and x.grad is None


def test_tensors_take_attributes_of_the_users_own_like_torch():
    """``p.no_decay = True``, as scripts tag parameters: kept through deepcopy and pickling,
    and a Parameter takes them too."""
    import copy
    import pickle

    for lib in (gg, torch):
        t = lib.ones(2)
        t.tag = "kept"
        assert t.tag == "kept"
        assert copy.deepcopy(t).tag == "kept" and pickle.loads(pickle.dumps(t)).tag == "kept"
        p = lib.nn.Parameter(lib.zeros(3))
        p.no_decay = True
        assert p.no_decay and vars(p) == {"no_decay": True}
        with pytest.raises(AttributeError):
            t.not_set  # noqa: B018


def test_empty_strided_lays_memory_out_as_pytorch():
    import torch

    for size, stride in [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((4,), (2,)), ((0, 3), (3, 1))]:
        ours, theirs = gg.empty_strided(size, stride), torch.empty_strided(size, stride)
        assert ours.shape == theirs.shape and ours.stride() == theirs.stride()
        assert ours.is_contiguous() == theirs.is_contiguous()
        ours.fill_(2.0)  # its memory is its own and writable
        assert float(ours.sum()) == 2.0 * ours.numel()
    made = gg.ones(2, dtype=gg.float64).new_empty_strided((2, 2), (1, 2), requires_grad=True)
    assert made.dtype == gg.float64 and made.stride() == (1, 2) and made.requires_grad
    with pytest.raises(RuntimeError, match=r"empty_strided\(\): size \[2, 3\] needs as many"):
        gg.empty_strided((2, 3), (1,))
