"""Ready-made datasets: the bundled 8x8 digits, MNIST-style IDX files, ``.npz`` and ``.csv``.

Every loader returns ``(X, y)`` tensors: ``X`` float32 features, ``y`` int64 class labels (or
float32 targets for regression data in ``.npz``/``.csv``). A file that is truncated, corrupt or not
what it claims raises one ``ValueError`` naming the file and what was wrong; nothing is returned
half-loaded.

>>> import glassgrad as gg
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "toy.npz")
>>> np.savez(path, x=np.eye(3), y=np.array([0, 1, 2]))
>>> X, y = load_npz(path)
>>> X.dtype, y.tolist()
(torch.float32, [0, 1, 2])
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import zlib

import numpy as np

from glassgrad.tensor import Tensor

__all__ = ["load_csv", "load_digits", "load_idx", "load_npz"]

PathLike = str | os.PathLike[str]


def _xy(x: np.ndarray, y: np.ndarray) -> tuple[Tensor, Tensor]:
    return Tensor._make(x), Tensor._make(y)


def _labels(y: np.ndarray) -> np.ndarray:
    """Integer (or integral-valued float) labels become int64; other floats are float32 targets."""
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    return y.astype(np.float32)


# ---- scikit-learn's digits -------------------------------------------------------------------


def load_digits(as_images: bool = False) -> tuple[Tensor, Tensor]:
    """The 1797 8x8 handwritten digits that scikit-learn ships (no download).

    Returns ``X`` float32 in [0, 1] (pixel values / 16), shape ``(1797, 64)`` or, with
    ``as_images``, ``(1797, 1, 8, 8)`` for convolutions; ``y`` int64 digits 0-9.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as e:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the digits data: pip install "
            "scikit-learn, or pip install 'glassgrad[train]' (`make demo` installs it)"
        ) from e
    bunch = sklearn_digits()
    x = np.asarray(bunch.data, dtype=np.float32) / np.float32(16.0)
    if as_images:
        x = x.reshape(-1, 1, 8, 8)
    return _xy(np.ascontiguousarray(x), np.asarray(bunch.target, dtype=np.int64))


# ---- IDX (MNIST, Fashion-MNIST) --------------------------------------------------------------

# IDX type code -> big-endian NumPy dtype (http://yann.lecun.com/exdb/mnist/).
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: PathLike) -> bytes:
    """The file's bytes, gunzipped when it starts with gzip's magic bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(f"{os.fspath(path)}: corrupt or truncated gzip data ({e})") from e


def _parse_idx(path: PathLike) -> np.ndarray:
    """Parse one IDX file, checking the header against the data exactly."""
    name = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{name}: not an IDX file: only {len(raw)} bytes, too short for a header")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{name}: not an IDX file: bad magic number 0x{raw[:4].hex()} "
            f"(IDX files start with two zero bytes, a type code and a dimension count)"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{name}: unknown IDX data type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header} bytes, "
            f"the file has {len(raw)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise ValueError(
            f"{name}: IDX file {what}: the header declares shape {dims} of {dtype.name} "
            f"({expected} data bytes) but the file holds {got} data bytes"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(dims)


def load_idx(
    images_path: PathLike, labels_path: PathLike, as_images: bool = False
) -> tuple[Tensor, Tensor]:
    """Images and labels from MNIST-style IDX files, raw or gzipped (``*-ubyte[.gz]``).

    ``X`` is float32: uint8 pixels are scaled to [0, 1] (other pixel types are kept as they
    are), shape ``(N, H*W)`` or, with ``as_images``, ``(N, 1, H, W)``. ``y`` is int64, shape
    ``(N,)``. Works for MNIST, Fashion-MNIST, KMNIST and EMNIST files.
    """
    images, labels = _parse_idx(images_path), _parse_idx(labels_path)
    img_name, lab_name = os.fspath(images_path), os.fspath(labels_path)
    if images.ndim < 2:
        raise ValueError(
            f"{img_name}: expected images of shape (N, H, W), the header declares {images.shape}"
            " (is this a labels file?)"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(
            f"{lab_name}: expected integer labels of shape (N,), the header declares "
            f"{labels.dtype.name} of shape {labels.shape} (is this an images file?)"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{img_name} holds {images.shape[0]} images but {lab_name} holds "
            f"{labels.shape[0]} labels"
        )
    if images.dtype == np.uint8:
        x = images.astype(np.float32) / np.float32(255.0)
    else:
        x = images.astype(np.float32)
    if as_images:
        x = x.reshape(x.shape[0], 1, *x.shape[1:]) if images.ndim == 3 else x
    else:
        x = x.reshape(x.shape[0], -1)
    return _xy(np.ascontiguousarray(x), labels.astype(np.int64))


# ---- .npz and .csv ---------------------------------------------------------------------------


def _check_xy(name: str, x: np.ndarray, y: np.ndarray) -> tuple[Tensor, Tensor]:
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{name}: features {x.shape} and labels {y.shape} need a sample axis")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{name}: {x.shape[0]} feature rows (shape {x.shape}) but {y.shape[0]} labels "
            f"(shape {y.shape})"
        )
    for what, a in (("features", x), ("labels", y)):
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{name}: {what} have dtype {a.dtype}, expected numbers")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: {what} contain NaN or infinite values")
    return _xy(np.ascontiguousarray(x, dtype=np.float32), _labels(y))


def load_npz(path: PathLike, x_key: str = "x", y_key: str = "y") -> tuple[Tensor, Tensor]:
    """Features ``data[x_key]`` and labels ``data[y_key]`` of a NumPy ``.npz`` archive.

    The archive is read with ``allow_pickle=False``: object arrays are refused, never unpickled.
    ``X`` becomes float32; integer labels int64, float labels float32.
    """
    name = os.fspath(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            raise ValueError("it holds a single .npy array, not an .npz archive")
        with loaded as data:
            files = list(data.files)
            arrays = {k: data[k] for k in (x_key, y_key) if k in files}
    except FileNotFoundError:
        raise
    except Exception as e:  # BadZipFile, EOFError, zlib.error, "Object arrays cannot be loaded"
        raise ValueError(f"{name}: cannot read as an .npz archive: {e}") from e
    missing = [k for k in (x_key, y_key) if k not in arrays]
    if missing:
        raise ValueError(
            f"{name}: no array named {', '.join(map(repr, missing))}; the archive holds "
            f"{sorted(files)} (choose with x_key=/y_key=)"
        )
    x, y = arrays[x_key], arrays[y_key]
    return _check_xy(name, x, y)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def load_csv(
    path: PathLike,
    label_column: int | str = -1,
    skip_header: bool | None = None,
    delimiter: str = ",",
) -> tuple[Tensor, Tensor]:
    """Features and labels from a delimited text file, one sample per line.

    ``label_column`` is the labels' column index (default the last) or, with a header, its name.
    ``skip_header=None`` detects a header: a first line with a non-numeric cell. Blank lines are
    skipped. A non-numeric or missing cell raises a ``ValueError`` with its line number.
    """
    name = os.fspath(path)
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                at_top = skip_header is not False and header is None and not rows
                if at_top and (skip_header or not all(_is_number(c) for c in row)):
                    header = [c.strip() for c in row]
                    continue
                rows.append(row)
                lines.append(reader.line_num)
        except (csv.Error, UnicodeDecodeError) as e:
            raise ValueError(f"{name}, line {reader.line_num}: cannot parse as CSV ({e})") from e
    if not rows:
        raise ValueError(f"{name}: no data rows")
    width = len(header) if header is not None else len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise ValueError(f"{name}, line {line}: {len(row)} columns, expected {width}")
    if isinstance(label_column, str):
        if header is None or label_column not in header:
            raise ValueError(
                f"{name}: no column named {label_column!r}; header: {header or 'none found'}"
            )
        col = header.index(label_column)
    else:
        if not -width <= label_column < width:
            raise ValueError(
                f"{name}: label_column {label_column} out of range for {width} columns"
            )
        col = label_column % width
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError:
        for row, line in zip(rows, lines):
            for j, cell in enumerate(row):
                if not _is_number(cell):
                    others = [d for d in ",;\t|" if d != delimiter and d in cell]
                    hint = f" (is the delimiter {others[0]!r}?)" if width == 1 and others else ""
                    raise ValueError(
                        f"{name}, line {line}, column {j + 1}: {cell!r} is not a number{hint}"
                    ) from None
        raise
    bad = ~np.isfinite(table)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{name}, line {lines[i]}, column {j + 1}: {rows[i][j]!r} is not a finite number"
        )
    y = table[:, col]
    x = np.delete(table, col, axis=1)
    return _check_xy(name, x, y)
