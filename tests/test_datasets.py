"""Dataset loaders: scikit-learn's digits, IDX (raw, gzipped, damaged), .npz and .csv files."""

from __future__ import annotations

import builtins
import gzip
import struct

import numpy as np
import pytest

from glassgrad.data import load_csv, load_digits, load_idx, load_npz

# ---- digits ------------------------------------------------------------------------------------


def test_load_digits_matches_scikit_learn():
    from sklearn.datasets import load_digits as sklearn_digits

    ref = sklearn_digits()
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    np.testing.assert_allclose(
        X.numpy(), ref.data / 16.0, rtol=0, atol=1e-7
    )  # scikit-learn bunch, not a tensor
    np.testing.assert_array_equal(y.numpy(), ref.target)
    assert X.numpy().min() >= 0.0 and X.numpy().max() <= 1.0
    images, _ = load_digits(as_images=True)
    assert images.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(images.numpy().reshape(1797, 64), X.numpy())


def test_load_digits_without_scikit_learn_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(
        ImportError,
        match=r"pip install scikit-learn, or pip install 'glassgrad\[train\]'.*make demo",
    ):
        load_digits()


# ---- IDX ---------------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file as MNIST's are written: magic, big-endian uint32 dims, big-endian data."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    return header + array.astype(dtype[code]).tobytes()


@pytest.fixture
def mnist_like(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    (tmp_path / "images").write_bytes(idx_bytes(images))
    (tmp_path / "labels").write_bytes(idx_bytes(labels))
    return tmp_path, images, labels


def test_load_idx_raw_and_gzipped(mnist_like):
    root, images, labels = mnist_like
    X, y = load_idx(root / "images", root / "labels")
    assert X.shape == (7, 20) and X.dtype == np.float32
    np.testing.assert_allclose(X.numpy(), images.reshape(7, 20) / 255.0, atol=1e-7, rtol=0)
    assert y.dtype == np.int64 and y.tolist() == labels.tolist()
    for name in ("images", "labels"):
        (root / f"{name}.gz").write_bytes(gzip.compress((root / name).read_bytes()))
    Xg, yg = load_idx(str(root / "images.gz"), root / "labels.gz", as_images=True)
    assert Xg.shape == (7, 1, 5, 4)
    np.testing.assert_array_equal(Xg.numpy().reshape(7, 20), X.numpy())
    np.testing.assert_array_equal(yg.numpy(), y.numpy())


def test_load_idx_other_dtypes(tmp_path):
    images = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 24
    (tmp_path / "f").write_bytes(idx_bytes(images, 0x0D))
    (tmp_path / "l").write_bytes(idx_bytes(np.array([300, -2]), 0x0B))
    X, y = load_idx(tmp_path / "f", tmp_path / "l")
    np.testing.assert_array_equal(X.numpy(), images.reshape(2, 12))  # float pixels kept as is
    assert y.tolist() == [300, -2]


def _damage(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b[:-1], r"IDX file truncated.*\(7, 5, 4\).*140 data bytes.*139"),
        (lambda b: b[:10], r"truncated IDX header: 3 dimensions need 16 bytes, the file has 10"),
        (lambda b: b[:3], "too short for a header"),
        (lambda b: b + b"\0", "has trailing bytes"),
        (lambda b: b"\x08\x03" + b[2:], "bad magic number 0x08030803"),
        (lambda b: b[:2] + b"\x07" + b[3:], "unknown IDX data type code 0x07"),
        (lambda b: b[:3] + b"\x00" + b[4:], "declares 0 dimensions"),
        (lambda b: gzip.compress(b)[:-12], "corrupt or truncated gzip"),
        (lambda b: b"\x1f\x8b" + b"garbage" * 4, "corrupt or truncated gzip"),
    ],
)
def test_damaged_idx_files_name_the_file_and_the_fault(mnist_like, mutate, message):
    root, _, _ = mnist_like
    bad = _damage(root / "bad-images", mutate((root / "images").read_bytes()))
    with pytest.raises(ValueError, match=r"bad-images") as info:
        load_idx(bad, root / "labels")
    assert info.match(message)


def test_idx_images_and_labels_must_agree(mnist_like, tmp_path):
    root, _, labels = mnist_like
    (tmp_path / "six").write_bytes(idx_bytes(labels[:6]))
    with pytest.raises(ValueError, match=r"holds 7 images but .*six holds 6 labels"):
        load_idx(root / "images", tmp_path / "six")
    with pytest.raises(ValueError, match=r"is this an images file"):
        load_idx(root / "images", root / "images")
    with pytest.raises(ValueError, match=r"is this a labels file"):
        load_idx(root / "labels", root / "labels")
    with pytest.raises(FileNotFoundError):
        load_idx(root / "missing", root / "labels")


# ---- npz ---------------------------------------------------------------------------------------


def test_load_npz_keys_and_dtypes(tmp_path):
    x = np.random.default_rng(0).random((5, 3))
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 2, 1, 0], dtype=np.uint8))
    X, y = load_npz(tmp_path / "d.npz")
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X.numpy(), x, rtol=1e-6)
    np.savez(tmp_path / "r.npz", features=x, target=np.linspace(0, 1, 5))
    _, t = load_npz(tmp_path / "r.npz", x_key="features", y_key="target")
    assert t.dtype == np.float32  # non-integral targets: regression
    np.testing.assert_allclose(t.numpy(), np.linspace(0, 1, 5), rtol=1e-6)


def test_load_npz_errors(tmp_path):
    np.savez(tmp_path / "d.npz", a=np.ones((2, 2)), b=np.ones(2))
    with pytest.raises(ValueError, match=r"d.npz: no array named 'x', 'y'; .*\['a', 'b'\]"):
        load_npz(tmp_path / "d.npz")
    np.savez(tmp_path / "m.npz", x=np.ones((3, 2)), y=np.ones(2))
    with pytest.raises(ValueError, match=r"m.npz: 3 feature rows .* but 2 labels"):
        load_npz(tmp_path / "m.npz")
    np.savez(tmp_path / "nan.npz", x=np.array([[np.nan]]), y=np.array([1]))
    with pytest.raises(ValueError, match=r"nan.npz: features contain NaN"):
        load_npz(tmp_path / "nan.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object), y=np.ones(1))
    with pytest.raises(ValueError, match=r"obj.npz: cannot read.*allow_pickle=False"):
        load_npz(tmp_path / "obj.npz")
    good = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"cut.npz: cannot read as an .npz archive"):
        load_npz(tmp_path / "cut.npz")
    np.save(tmp_path / "one.npy", np.ones(3))
    with pytest.raises(ValueError, match=r"one.npy: .*single .npy array"):
        load_npz(tmp_path / "one.npy")


# ---- csv ---------------------------------------------------------------------------------------


def test_load_csv_with_and_without_header(tmp_path):
    (tmp_path / "h.csv").write_text("a,b,label\n1,2,0\n\n3.5,4,1\n")
    X, y = load_csv(tmp_path / "h.csv")
    np.testing.assert_array_equal(X.numpy(), [[1, 2], [3.5, 4]])
    assert X.dtype == np.float32 and y.dtype == np.int64 and y.tolist() == [0, 1]
    Xn, yn = load_csv(tmp_path / "h.csv", label_column="a")
    np.testing.assert_array_equal(Xn.numpy(), [[2, 0], [4, 1]])
    np.testing.assert_allclose(yn.numpy(), [1.0, 3.5])
    (tmp_path / "n.csv").write_text("0;1;2\n1;5;6\n")
    X0, y0 = load_csv(tmp_path / "n.csv", label_column=0, delimiter=";")
    assert y0.tolist() == [0, 1] and X0.shape == (2, 2)
    with pytest.raises(
        ValueError,
        match=r"n.csv, line 2, column 1: '1;5;6' is not a number \(is the delimiter ';'\?\)",
    ):
        load_csv(tmp_path / "n.csv")  # wrong delimiter: line 1 looks like a header


def test_load_csv_errors_name_line_and_column(tmp_path):
    (tmp_path / "bad.csv").write_text("x,y,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(ValueError, match=r"bad.csv, line 3, column 2: 'oops' is not a number"):
        load_csv(tmp_path / "bad.csv")
    (tmp_path / "empty_cell.csv").write_text("1,2,0\n3,,1\n")
    with pytest.raises(ValueError, match=r"line 2, column 2: '' is not a number"):
        load_csv(tmp_path / "empty_cell.csv")
    (tmp_path / "ragged.csv").write_text("1,2,0\n3,1\n")
    with pytest.raises(ValueError, match=r"ragged.csv, line 2: 2 columns, expected 3"):
        load_csv(tmp_path / "ragged.csv")
    (tmp_path / "inf.csv").write_text("1,2,0\n3,inf,1\n")
    with pytest.raises(ValueError, match=r"line 2, column 2: 'inf' is not a finite number"):
        load_csv(tmp_path / "inf.csv")
    (tmp_path / "head.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match=r"head.csv: no data rows"):
        load_csv(tmp_path / "head.csv")
    with pytest.raises(ValueError, match=r"no column named 'z'"):
        load_csv(tmp_path / "bad.csv", label_column="z")
    with pytest.raises(ValueError, match=r"label_column 5 out of range for 3 columns"):
        load_csv(tmp_path / "bad.csv", label_column=5)
    with pytest.raises(ValueError, match=r"line 1, column 1: 'x' is not a number"):
        load_csv(tmp_path / "bad.csv", skip_header=False)
