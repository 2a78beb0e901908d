"""glassgrad's dtype objects against PyTorch's: what programs print and branch on.

``t.dtype`` is a ``glassgrad.dtype`` that prints, compares, hashes and pickles as
``torch.dtype``; NumPy takes it as a dtype, and it equals the NumPy dtype it wraps.
"""

import copy
import pickle

import numpy as np
import pytest
import torch

import glassgrad as gg

NAMES = [
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "int8",
    "uint8",
    "int16",
    "int32",
    "int64",
    "bool",
    "complex64",
    "complex128",
]
ALIASES = {
    "half": "float16",
    "float": "float32",
    "double": "float64",
    "short": "int16",
    "int": "int32",
    "long": "int64",
    "cfloat": "complex64",
    "cdouble": "complex128",
}
TENSOR_NAMES = [n for n in NAMES if n != "bfloat16"]  # (NumPy has no bfloat16: no tensor has it)


@pytest.mark.parametrize("name", NAMES)
def test_each_dtype_prints_and_answers_as_torch(name) -> None:
    ours, theirs = getattr(gg, name), getattr(torch, name)
    assert isinstance(ours, gg.dtype) and type(ours) is gg.dtype
    assert str(ours) == repr(ours) == f"{ours}" == str(theirs) == f"torch.{name}"
    assert ours.is_floating_point == theirs.is_floating_point
    assert ours.is_complex == theirs.is_complex
    assert ours.is_signed == theirs.is_signed
    assert ours.itemsize == theirs.itemsize
    assert ours.abbr == theirs.abbr
    assert str(ours.to_real()) == str(theirs.to_real())
    if theirs.is_floating_point or theirs.is_complex:
        # (PyTorch's float16 -> complex32; NumPy has none, so complex64 here, by design)
        want = "torch.complex64" if name == "float16" else str(theirs.to_complex())
        assert str(ours.to_complex()) == want
    else:
        with pytest.raises(RuntimeError, match="Complex"):
            theirs.to_complex()
        with pytest.raises(RuntimeError, match="Complex"):
            ours.to_complex()


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_aliases_are_the_same_objects_as_in_torch(alias) -> None:
    assert getattr(torch, alias) is getattr(torch, ALIASES[alias])
    assert getattr(gg, alias) is getattr(gg, ALIASES[alias])
    assert str(getattr(gg, alias)) == str(getattr(torch, alias))


def test_dtype_class_and_format_as_torch() -> None:
    assert type(gg.float32).__name__ == type(torch.float32).__name__ == "dtype"
    assert isinstance(gg.zeros(2).dtype, gg.dtype)
    assert not isinstance(np.dtype("float32"), gg.dtype)
    for lib in (gg, torch):  # a format spec is refused, as by any object without __format__
        with pytest.raises(TypeError, match="unsupported format string"):
            format(lib.float32, ">10")


def test_equality_hash_and_dict_keys_as_torch() -> None:
    for lib in (gg, torch):
        assert lib.float32 == lib.float and lib.float32 != lib.float64
        assert lib.float32 != "float32" and lib.float32 != "torch.float32"  # (as torch)
        assert lib.float32 != None  # noqa: E711 - the comparison under test
        assert hash(lib.float32) == hash(lib.float)
        assert {lib.float32: "f", lib.int64: "i"}[lib.tensor([1.0]).dtype] == "f"
        assert len({lib.float, lib.float32, lib.double, lib.float64}) == 2
        with pytest.raises(TypeError):
            lib.float32 < lib.float64  # noqa: B015 - dtypes are not ordered
    assert gg.bfloat16 != gg.float16 and gg.bfloat16 == gg.bfloat16


@pytest.mark.parametrize("name", NAMES)
def test_pickle_and_copy_give_the_same_object(name) -> None:
    d = getattr(gg, name)
    assert pickle.loads(pickle.dumps(d)) is d
    assert copy.copy(d) is d and copy.deepcopy(d) is d
    assert pickle.loads(pickle.dumps({d: [d]})) == {d: [d]}


def test_dtype_attributes_are_read_only() -> None:
    with pytest.raises(AttributeError):
        gg.float32.is_floating_point = False
    with pytest.raises(AttributeError):
        gg.float32.itemsize = 8


# ---- NumPy interplay (by decision: a NumPy user's code keeps working) -------------------------


@pytest.mark.parametrize("name", TENSOR_NAMES)
def test_numpy_takes_a_glassgrad_dtype_and_they_compare_equal(name) -> None:
    d, np_d = getattr(gg, name), np.dtype(name)
    assert np.zeros(3, dtype=d).dtype == np_d
    assert np.ones(2).astype(d).dtype == np_d
    assert np.dtype(d) == np_d
    assert d == np_d and np_d == d and d == np_d.type and np_d.type == d
    assert d != np.dtype("int32" if name != "int32" else "int64")
    assert {np_d: 1}[d] == 1 and {d: 1}[np_d] == 1  # (hashed as the NumPy dtype)
    assert d.dtype is np_d or d.dtype == np_d  # the NumPy dtype it wraps
    assert d.name == np_d.name and d.kind == np_d.kind and d.type is np_d.type


def test_tensor_dtype_compares_with_numpy_and_numpy_dtypes_are_accepted() -> None:
    t = gg.ones(2)
    assert t.dtype == np.float32 and t.dtype in (np.float32, np.float64)
    assert t.dtype is gg.float32
    for np_like in (np.float64, np.dtype("float64"), "float64", "torch.float64", float):
        assert gg.zeros(2, dtype=np_like).dtype is gg.float64
        assert t.to(np_like).dtype is gg.float64
    assert gg.tensor([1, 2], dtype=np.int32).dtype is gg.int32
    assert gg.tensor([1, 2], dtype=int).dtype is gg.int64
    assert gg.tensor([1, 0], dtype=bool).dtype is gg.bool
    assert gg.from_numpy(np.zeros(2, np.int16)).dtype is gg.int16


def test_bfloat16_is_a_dtype_but_no_tensor_has_it() -> None:
    assert isinstance(gg.bfloat16, gg.dtype) and gg.bfloat16.is_floating_point
    for make in (
        lambda: gg.zeros(2, dtype=gg.bfloat16),
        lambda: gg.ones(2).to(gg.bfloat16),
        lambda: gg.ones(2).bfloat16(),
        lambda: gg.zeros(2, dtype="bfloat16"),
    ):
        with pytest.raises(TypeError, match="bfloat16"):
            make()


def test_unsupported_dtypes_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"unsupported dtype .*uint16"):
        gg.zeros(2, dtype=np.uint16)
    with pytest.raises(TypeError, match="unknown dtype"):
        gg.zeros(2, dtype="float33")


# ---- where programs meet dtypes: tensors, conversions, queries -------------------------------


@pytest.mark.parametrize("name", TENSOR_NAMES)
def test_tensor_printing_with_dtype_matches_torch(name) -> None:
    values = [1, 0, 2] if name != "bool" else [True, False]
    ours = gg.tensor(values, dtype=getattr(gg, name))
    theirs = torch.tensor(values, dtype=getattr(torch, name))
    assert repr(ours) == repr(theirs)
    assert str(ours.dtype) == str(theirs.dtype) and ours.dtype is getattr(gg, name)
    assert ours.element_size() == theirs.element_size()
    assert ours.is_floating_point() == theirs.is_floating_point()


def test_tensor_creation_dtypes_match_torch() -> None:
    for lib in (gg, torch):
        assert lib.tensor([1, 2], dtype=lib.long).dtype is lib.int64
        assert lib.tensor([1.5]).dtype is lib.float32
        assert lib.tensor([1, 2]).dtype is lib.int64
        assert lib.tensor([True]).dtype is lib.bool
        assert lib.tensor([1j]).dtype is lib.complex64
        assert lib.arange(3).dtype is lib.int64
        assert lib.zeros(2, dtype=lib.float16).dtype is lib.half


def test_conversions_keep_dtype_objects() -> None:
    x, tx = gg.ones(2), torch.ones(2)
    assert str(x.to(gg.float64).dtype) == str(tx.to(torch.float64).dtype)
    assert x.to(gg.float64).dtype is gg.float64
    assert x.type(gg.DoubleTensor).dtype is gg.float64
    assert x.type(gg.DoubleTensor).type() == tx.type(torch.DoubleTensor).type()
    assert str(gg.DoubleTensor.dtype) == str(torch.DoubleTensor.dtype)
    assert x.long().dtype is gg.int64 and x.double().dtype is gg.float64
    assert x.to(gg.zeros(1, dtype=gg.int32)).dtype is gg.int32
    assert gg.zeros_like(x, dtype=gg.int8).dtype is gg.int8
    assert x.new_zeros(2).dtype is gg.float32
    assert str(x.untyped_storage()) != "" and x.storage().dtype is gg.float32


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "complex64", "complex128"])
def test_finfo_matches_torch(name) -> None:
    ours, theirs = gg.finfo(getattr(gg, name)), torch.finfo(getattr(torch, name))
    assert repr(ours) == repr(theirs)
    assert ours.dtype == theirs.dtype and ours.bits == theirs.bits
    assert (ours.eps, ours.max, ours.min, ours.tiny) == (theirs.eps, theirs.max, theirs.min,
                                                          theirs.tiny)  # fmt: skip
    assert repr(gg.finfo()) == repr(torch.finfo())


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name) -> None:
    ours, theirs = gg.iinfo(getattr(gg, name)), torch.iinfo(getattr(torch, name))
    assert repr(ours) == repr(theirs)
    assert (ours.bits, ours.min, ours.max, ours.dtype) == (
        theirs.bits,
        theirs.min,
        theirs.max,
        theirs.dtype,
    )


def test_promote_types_result_type_can_cast_return_dtypes_as_torch() -> None:
    for a in TENSOR_NAMES:
        for b in ("bool", "int32", "float32", "complex64"):
            ours = gg.promote_types(getattr(gg, a), getattr(gg, b))
            theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
            want = "torch.complex64" if str(theirs) == "torch.complex32" else str(theirs)
            assert isinstance(ours, gg.dtype) and str(ours) == want, (a, b)
            assert gg.can_cast(getattr(gg, a), getattr(gg, b)) == torch.can_cast(
                getattr(torch, a), getattr(torch, b)
            )
    ours = gg.result_type(gg.tensor([1, 2]), 1.5)
    assert isinstance(ours, gg.dtype)
    assert str(ours) == str(torch.result_type(torch.tensor([1, 2]), 1.5))
    assert gg.result_type(gg.tensor([1], dtype=gg.int8), gg.tensor(1000)) is gg.int8


def test_set_default_dtype_and_get_default_dtype_print_as_torch() -> None:
    assert gg.get_default_dtype() is gg.float32
    assert str(gg.get_default_dtype()) == str(torch.get_default_dtype())
    before = torch.get_default_dtype()
    try:
        for lib in (gg, torch):
            lib.set_default_dtype(lib.float64)
            assert lib.get_default_dtype() is lib.float64
            assert lib.tensor([1.5]).dtype is lib.float64
            assert lib.tensor([1j]).dtype is lib.complex128
        assert str(gg.get_default_dtype()) == str(torch.get_default_dtype())
        assert repr(gg.tensor([1.5], dtype=gg.float32)) == repr(
            torch.tensor([1.5], dtype=torch.float32)
        )
        for lib in (gg, torch):
            with pytest.raises(TypeError):
                lib.set_default_dtype(lib.int64)
    finally:
        torch.set_default_dtype(before)  # (conftest restores glassgrad's)


# ---- dtypes in checkpoints ---------------------------------------------------------------------


def test_state_dict_save_load_keep_dtypes(tmp_path) -> None:
    model = gg.nn.Sequential(gg.nn.Linear(3, 2), gg.nn.BatchNorm1d(2)).double()
    sd = model.state_dict()
    path = tmp_path / "model.pt"
    gg.save({"state": sd, "dtype": gg.float64, "dtypes": [gg.int64, gg.bfloat16]}, path)
    loaded = gg.load(path)  # (a dtype in a config: stored by name, loads as the same object)
    assert loaded["dtype"] is gg.float64 and loaded["dtypes"] == [gg.int64, gg.bfloat16]
    for k, v in sd.items():
        assert loaded["state"][k].dtype is v.dtype, k
    assert sd["0.weight"].dtype is gg.float64 and sd["1.num_batches_tracked"].dtype is gg.int64
    fresh = gg.nn.Sequential(gg.nn.Linear(3, 2), gg.nn.BatchNorm1d(2))
    fresh.load_state_dict(loaded["state"])  # float32 params take float64 values: dtype kept
    assert fresh[0].weight.dtype is gg.float32
    ref = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)).double()
    assert {k: str(v.dtype) for k, v in sd.items()} == {
        k: str(v.dtype) for k, v in ref.state_dict().items()
    }


def test_pickled_tensors_keep_dtypes() -> None:
    t = gg.tensor([1, 2], dtype=gg.int16)
    assert pickle.loads(pickle.dumps(t)).dtype is gg.int16
    assert copy.deepcopy(t).dtype is gg.int16
