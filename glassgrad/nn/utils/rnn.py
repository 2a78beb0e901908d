"""``glassgrad.nn.utils.rnn``: variable-length batches for the recurrent layers, as in PyTorch.

A ``PackedSequence`` stores a batch of sequences time step by time step, longest first:
``data`` holds the rows of step 0 for every sequence, then step 1 for those still running, and
so on; ``batch_sizes[t]`` says how many sequences are still running at step ``t``. ``RNN``,
``LSTM`` and ``GRU`` take one as input and return one.

Packing and unpacking are a single gather each (one index op), so gradients flow back to the
padded input and from the padded output.

>>> import glassgrad as gg
>>> a, b = gg.tensor([1.0, 2.0, 3.0]), gg.tensor([4.0])
>>> padded = pad_sequence([a, b], batch_first=True)
>>> padded
tensor([[1., 2., 3.],
        [4., 0., 0.]])
>>> packed = pack_padded_sequence(padded, [3, 1], batch_first=True)
>>> packed.data, packed.batch_sizes
(tensor([1., 4., 2., 3.]), tensor([2, 1, 1]))
>>> pad_packed_sequence(packed, batch_first=True)[1]
tensor([3, 1])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from glassgrad.ops.joining import cat, stack
from glassgrad.tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


def _ints(x: Any) -> np.ndarray:
    """A 1-D int64 array from a list, an array or an integer tensor."""
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    return np.asarray(a, dtype=np.int64).reshape(-1)


def _int_tensor(a: np.ndarray) -> Tensor:
    return Tensor._make(np.ascontiguousarray(a, dtype=np.int64))


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of 0..n-1 (None stays None)."""
    if permutation is None:
        return None
    p = _ints(permutation)
    out = np.empty_like(p)
    out[p] = np.arange(p.size, dtype=np.int64)
    return _int_tensor(out)


class _PackedSequence(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequence):
    """A packed batch of sequences: ``(data, batch_sizes, sorted_indices, unsorted_indices)``.

    Build one with ``pack_padded_sequence`` or ``pack_sequence``; ``sorted_indices`` says which
    original sequence each packed column is (None when the batch came sorted) and
    ``unsorted_indices`` is its inverse.
    """

    def __new__(
        cls,
        data: Tensor,
        batch_sizes: Any = None,
        sorted_indices: Any = None,
        unsorted_indices: Any = None,
    ) -> PackedSequence:
        if batch_sizes is None:  # PackedSequence(*tuple) with the tuple as first argument
            if not isinstance(data, (tuple, list)):
                raise TypeError("PackedSequence: expected data and batch_sizes")
            data, batch_sizes, *rest = data
            sorted_indices = rest[0] if rest else None
            unsorted_indices = rest[1] if len(rest) > 1 else None
        bs = _int_tensor(_ints(batch_sizes))
        si = None if sorted_indices is None else _int_tensor(_ints(sorted_indices))
        ui = unsorted_indices
        if ui is None:
            ui = invert_permutation(si)
        else:
            ui = _int_tensor(_ints(ui))
        return super().__new__(cls, data, bs, si, ui)

    def _with(self, data: Tensor) -> PackedSequence:
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(...)``; the index tensors stay as they are."""
        return self._with(self.data.to(*args, **kwargs))

    def cpu(self) -> PackedSequence:
        return self

    def double(self) -> PackedSequence:
        return self.to(np.float64)

    def float(self) -> PackedSequence:
        return self.to(np.float32)

    def half(self) -> PackedSequence:
        return self.to(np.float16)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _lengths_and_steps(batch_sizes: np.ndarray) -> np.ndarray:
    """Each packed column's length: how many steps have batch size greater than the column."""
    b = int(batch_sizes[0]) if batch_sizes.size else 0
    return (batch_sizes[None, :] > np.arange(b)[:, None]).sum(1).astype(np.int64)


def pack_padded_sequence(
    input: Tensor,
    lengths: Any,
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences with the
    given ``lengths``. With ``enforce_sorted`` (the default) the lengths must decrease;
    otherwise the batch is sorted here and the permutation kept in ``sorted_indices``."""
    lens = _ints(lengths)
    batch_dim = 0 if batch_first else 1
    if input.ndim < 2:
        raise ValueError(
            f"pack_padded_sequence: expected a padded batch of at least 2 dims, got shape "
            f"{tuple(input.shape)}"
        )
    if lens.size != input.shape[batch_dim]:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} (batch_size="
            f"{input.shape[batch_dim]})"
        )
    sorted_indices = None
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        order = np.arange(lens.size)
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = _int_tensor(order)
        lens = lens[order]
    if lens.size and lens[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' "
            "that is <= 0"
        )
    T = input.shape[1 - batch_dim]
    if lens.size and lens[0] > T:
        raise RuntimeError(
            f"pack_padded_sequence: a length ({lens[0]}) exceeds the padded length ({T})"
        )
    max_len = int(lens[0]) if lens.size else 0
    batch_sizes = (lens[None, :] > np.arange(max_len)[:, None]).sum(1).astype(np.int64)
    # rows of the flattened (T * B) or (B * T) input, step by step: one gather
    steps = np.concatenate([np.full(int(n), t) for t, n in enumerate(batch_sizes)])
    cols = np.concatenate([order[: int(n)] for n in batch_sizes]) if max_len else steps
    B = input.shape[batch_dim]
    flat = cols * T + steps if batch_first else steps * B + cols
    data = input.reshape(-1, *input.shape[2:])[flat]
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)``, padded to the longest
    sequence (or to ``total_length``), the batch in its original order."""
    data, bs_t, _, unsorted = sequence
    bs = _ints(bs_t)
    max_len = bs.size
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{max_len}"
            )
        max_len = int(total_length)
    B = int(bs[0]) if bs.size else 0
    lens = _lengths_and_steps(bs)
    # index (step, packed column) -> row of data, or the extra padding row at the end
    n = data.shape[0]
    index = np.full((max_len, B), n, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(bs)[:-1]]).astype(np.int64)
    for t, (off, k) in enumerate(zip(offsets, bs)):
        index[t, : int(k)] = off + np.arange(int(k))
    order = np.arange(B) if unsorted is None else _ints(unsorted)
    index = index[:, order]
    lens = lens[order]
    if batch_first:
        index = index.T
    pad = Tensor._make(np.full((1, *data.shape[1:]), padding_value, dtype=data.dtype))
    padded = cat([data, pad])[index.reshape(-1)]
    return padded.reshape(*index.shape, *data.shape[1:]), _int_tensor(lens)


def pad_sequence(
    sequences: Tensor | Iterable[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of shapes (L_i, *) into (T, B, *) (or (B, T, *)), T the longest L_i,
    filling with ``padding_value`` on the ``padding_side`` ('right' or 'left')."""
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    seqs = list(sequences.unbind(0)) if isinstance(sequences, Tensor) else list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    T = max(s.shape[0] for s in seqs)
    rest = tuple(seqs[0].shape[1:])
    rows = []
    for s in seqs:
        if tuple(s.shape[1:]) != rest:
            raise RuntimeError(
                f"pad_sequence: the sequences' trailing shapes differ: {rest} and "
                f"{tuple(s.shape[1:])}"
            )
        k = T - s.shape[0]
        if k:
            fill = Tensor._make(np.full((k, *rest), padding_value, dtype=s.dtype))
            s = cat([s, fill]) if padding_side == "right" else cat([fill, s])
        rows.append(s)
    return stack(rows, 0 if batch_first else 1)


def unpad_sequence(
    padded_sequences: Tensor, lengths: Any, batch_first: bool = False
) -> list[Tensor]:
    """The list of sequences ``pad_sequence`` stacked (each cut to its length)."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, : int(n)] for i, n in enumerate(_ints(lengths))]


def pack_sequence(sequences: Iterable[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of shapes (L_i, *) (longest first unless ``enforce_sorted``
    is False)."""
    seqs = list(sequences)
    lengths = [s.shape[0] for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences a PackedSequence holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
