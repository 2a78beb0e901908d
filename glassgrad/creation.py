"""Making tensors: ``tensor``, ``zeros``, ``randn``... with PyTorch's dtype rules, one RNG.

Every factory takes PyTorch's keywords: ``dtype``, ``device`` (None, ``'cpu'`` or a CPU
``glassgrad.device``; anything else raises ``CPUOnlyError`` naming the function and the device),
``requires_grad``, and where PyTorch accepts them ``layout``, ``pin_memory`` and
``memory_format`` (accepted, nothing to do on the CPU); ``zeros``, ``ones``, ``empty``, ``full``,
``arange``, ``linspace``, ``logspace``, ``eye``, ``rand``, ``randn``, ``randint`` and ``randperm``
take ``out=`` as PyTorch's do. Sizes come as ``zeros(2, 3)``,
``zeros((2, 3))``, ``zeros([2, 3])``, ``zeros(size=(2, 3))`` or a ``glassgrad.Size``.

>>> zeros((2, 3)).shape, full((2,), 1.5), arange(3.0), randint(0, 10, (3,)).dtype
(torch.Size([2, 3]), tensor([1.5000, 1.5000]), tensor([0., 1., 2.]), torch.int64)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad._convert import as_array, as_shape, check_arange
from glassgrad._errors import OutOfMemoryError
from glassgrad.device import check_cpu
from glassgrad.tensor import Tensor


def _fresh_seed() -> int:
    """A nondeterministic 63-bit seed (what an unseeded generator starts from)."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))


_seed = [_fresh_seed()]
_rng = [np.random.default_rng(_seed[0])]


class Generator:
    """A random number generator with ``torch.Generator``'s methods, over a NumPy ``Generator``.

    ``Generator()`` is a new, independent one (pass it as ``generator=`` to ``rand``, ``randn``,
    ``randint``, ``randperm``, ``DataLoader``, ``random_split``, ``nn.init``...).
    ``glassgrad.manual_seed`` returns the default one, which every random op draws from unless
    given another. Any NumPy ``Generator`` method (``integers``, ``normal``...) works on it too.

    >>> g = Generator().manual_seed(3)
    >>> g.initial_seed(), rand(2, generator=g).shape
    (3, torch.Size([2]))
    """

    def __init__(self, device: Any = "cpu", *, _default: bool = False) -> None:
        check_cpu(device, "Generator()")
        self._default = _default
        if not _default:
            self._seed = _fresh_seed()
            self._own = np.random.default_rng(self._seed)

    @property
    def rng(self) -> np.random.Generator:
        """The NumPy generator this one draws from."""
        return _rng[0] if self._default else self._own

    @property
    def device(self) -> Any:
        from glassgrad.device import CPU

        return CPU

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns the generator, as PyTorch does."""
        seed = int(seed)
        if self._default:
            _seed[0] = seed
            _rng[0] = np.random.default_rng(seed)
        else:
            self._seed = seed
            self._own = np.random.default_rng(seed)
        return self

    def seed(self) -> int:
        """Reseed from a nondeterministic seed; returns it."""
        s = _fresh_seed()
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return _seed[0] if self._default else self._seed

    def get_state(self) -> Tensor:
        """The generator's state as a uint8 tensor, as PyTorch returns it (``set_state`` takes
        it back and the generator continues exactly from there)."""
        return Tensor._make(_encode_state(self.rng.bit_generator.state))

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state from ``get_state`` (NumPy's state dict is accepted too)."""
        if isinstance(new_state, dict):
            self.rng.bit_generator.state = new_state
        else:
            self.rng.bit_generator.state = _decode_state(new_state)
        return self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.rng, name)

    def __repr__(self) -> str:
        return (
            f"<glassgrad.Generator {'default ' if self._default else ''}seed={self.initial_seed()}>"
        )


default_generator = Generator(_default=True)

_STATE_BYTES = 40  # PCG64: state and increment (128 bits each), the cached 32-bit half (2 x 32)


def _encode_state(state: Mapping[str, Any]) -> np.ndarray:
    if state.get("bit_generator") != "PCG64":
        raise RuntimeError(f"get_state: only PCG64 generators, got {state.get('bit_generator')}")
    inner = state["state"]
    raw = (
        int(inner["state"]).to_bytes(16, "little")
        + int(inner["inc"]).to_bytes(16, "little")
        + int(state["has_uint32"]).to_bytes(4, "little")
        + int(state["uinteger"]).to_bytes(4, "little")
    )
    return np.frombuffer(raw, np.uint8).copy()


def _decode_state(new_state: Any) -> dict[str, Any]:
    a = new_state._data if isinstance(new_state, Tensor) else np.asarray(new_state)
    if a.dtype != np.uint8 or a.shape != (_STATE_BYTES,):
        raise RuntimeError(
            f"set_state: expected the uint8 tensor of {_STATE_BYTES} bytes that get_state / "
            f"get_rng_state return, got dtype {a.dtype} and shape {tuple(a.shape)}"
        )
    raw = a.tobytes()
    return {
        "bit_generator": "PCG64",
        "state": {
            "state": int.from_bytes(raw[:16], "little"),
            "inc": int.from_bytes(raw[16:32], "little"),
        },
        "has_uint32": int.from_bytes(raw[32:36], "little"),
        "uinteger": int.from_bytes(raw[36:40], "little"),
    }


def get_rng_state() -> Tensor:
    """The default generator's state, a uint8 tensor (``set_rng_state`` restores it exactly)."""
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    """Restore the default generator to a state from ``get_rng_state``."""
    default_generator.set_state(new_state)


def manual_seed(seed: int) -> Generator:
    """Seed glassgrad's random number generator (rand, randn, dropout, init...); returns it.

    The result is the default ``Generator``; NumPy ``Generator`` methods work on it too.
    """
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    """The seed the default generator was last seeded with."""
    return _seed[0]


def seed() -> int:
    """Seed the default generator nondeterministically; returns the seed."""
    return default_generator.seed()


# Set by glassgrad.compile while it records a call: draws are then recorded too.
RNG_HOOK: list[Any] = [None]


def generator() -> np.random.Generator:
    """The NumPy generator every random op draws from."""
    hook = RNG_HOOK[0]
    return _rng[0] if hook is None else hook(_rng[0], None)


def _numpy_rng(gen: Any) -> np.random.Generator:
    """``generator=`` of a random factory: None (the default), a ``Generator`` or NumPy's."""
    if gen is None:
        rng = _rng[0]
    elif isinstance(gen, Generator):
        rng = gen.rng
    elif isinstance(gen, np.random.Generator):
        rng = gen
    else:
        raise TypeError(f"generator must be a glassgrad.Generator, got {type(gen).__name__}")
    hook = RNG_HOOK[0]
    return rng if hook is None else hook(rng, gen)


def _takes_out(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """A factory that also takes PyTorch's ``out=``: the tensor is made in ``out``'s dtype
    (unless ``dtype=`` says otherwise) and written into ``out``, which is returned
    (``torch.arange(3, out=t)``, ``torch.randn(2, 3, out=t)``; ``glassgrad/ops/out.py``)."""
    name = fn.__name__

    @functools.wraps(fn)
    def make(*args: Any, out: Any = None, **kwargs: Any) -> Tensor:
        if out is None:
            try:
                return fn(*args, **kwargs)
            except MemoryError as e:  # (NumPy's wording names the size: kept, in our type)
                raise OutOfMemoryError(f"{name}: not enough memory: {e}") from None
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = out.dtype
        from glassgrad.ops.out import write_out  # (the ops package imports this module)

        return write_out(name, fn(*args, **kwargs), out)

    return make


def _options(where: str, device: Any, extra: dict[str, Any]) -> None:
    """Check ``device`` and the keywords PyTorch accepts and the CPU has no use for."""
    check_cpu(device, where)
    for key in extra:
        if key not in _IGNORED:
            raise TypeError(f"{where} got an unexpected keyword argument {key!r}")
    if extra.get("out") is not None:
        raise TypeError(f"{where}: out= is not supported by glassgrad; use the returned tensor")


_IGNORED = frozenset({"layout", "pin_memory", "memory_format", "out", "non_blocking"})


def tensor(
    data: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    name: str | None = None,
    *,
    device: Any = None,
    **options: Any,
) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    >>> tensor([1.0, 2.0]).dtype  # Python floats become the default dtype
    torch.float32
    """
    _options("tensor()", device, options)
    t = Tensor._make(as_array(data, dtype))
    if requires_grad:
        t.requires_grad_(True)
    t.name = name
    return t


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (its dtype is kept, float64 stays float64)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an np.ndarray, got {type(array).__name__}")
    return Tensor._make(array)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already is one (or a NumPy array)."""
    check_cpu(device, "as_tensor()")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtypes.as_dtype(dtype)):
        return data
    if isinstance(data, Tensor):
        return data.to(dtype)
    if isinstance(data, np.ndarray) and dtype is None:
        return Tensor._make(data)
    return Tensor._make(as_array(data, dtype))


def asarray(
    obj: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    copy: bool | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """``obj`` as a tensor, as ``torch.asarray``: a tensor or NumPy array is shared (not copied)
    unless ``copy=True`` or a new ``dtype`` needs one; ``copy=False`` refuses to copy."""
    check_cpu(device, "asarray()")
    if isinstance(obj, Tensor | np.ndarray):
        arr = obj._data if isinstance(obj, Tensor) else obj
        target = arr.dtype if dtype is None else dtypes.as_dtype(dtype)
        if copy is False and target != arr.dtype:
            raise ValueError(
                f"asarray(): copy=False, but converting dtype {dtypes.name(arr.dtype)} to "
                f"{dtypes.name(target)} needs a copy"
            )
        if copy or target != arr.dtype:
            arr = arr.astype(target, copy=True)
        if isinstance(obj, Tensor) and arr is obj._data and not requires_grad:
            return obj
        t = Tensor._make(arr)
    else:
        if copy is False:
            raise ValueError(
                f"asarray(): copy=False, but a {type(obj).__name__} can't be aliased into a tensor"
            )
        t = Tensor._make(as_array(obj, dtype))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shape(size: Sequence[Any], keyword: Any = None, where: str = "") -> tuple[int, ...]:
    if keyword is not None:
        if size:
            raise TypeError(f"{where} got the size both positionally and as size=")
        size = (keyword,)
    return as_shape(where, size)


def _leaf(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


@_takes_out
def zeros(
    *size: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    shape = _shape(size, options.pop("size", None), "zeros()")
    _options("zeros()", device, options)
    return _leaf(np.zeros(shape, dtypes.as_dtype(dtype)), requires_grad)


@_takes_out
def ones(
    *size: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    shape = _shape(size, options.pop("size", None), "ones()")
    _options("ones()", device, options)
    return _leaf(np.ones(shape, dtypes.as_dtype(dtype)), requires_grad)


@_takes_out
def empty(
    *size: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    shape = _shape(size, options.pop("size", None), "empty()")
    _options("empty()", device, options)
    return _leaf(np.empty(shape, dtypes.as_dtype(dtype)), requires_grad)


def empty_strided(
    size: Any,
    stride: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """An uninitialised tensor laid out with the given strides (in elements) over memory of its
    own: ``empty_strided((2, 3), (1, 2))`` is a column-major 2x3."""
    shape = _shape((size,), None, "empty_strided()")
    strides = tuple(int(st) for st in stride)
    _options("empty_strided()", device, options)
    if len(strides) != len(shape) or any(st < 0 for st in strides):
        raise RuntimeError(
            f"empty_strided(): size {list(shape)} needs as many non-negative strides, got "
            f"{list(strides)}"
        )
    dt = dtypes.as_dtype(dtype)
    span = 1 + sum((n - 1) * st for n, st in zip(shape, strides)) if all(shape) else 0
    memory = np.empty(span, dt)
    data = np.lib.stride_tricks.as_strided(memory, shape, tuple(st * dt.itemsize for st in strides))
    return _leaf(data, requires_grad)


def _fill_dtype(fill_value: Any, dtype: Any) -> np.dtype:
    """``full``'s dtype: PyTorch infers bool, int64 or the default float from the value."""
    if dtype is not None:
        return dtypes.as_dtype(dtype)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if isinstance(fill_value, (bool, np.bool_)):
        return dtypes.np_bool
    if isinstance(fill_value, (int, np.integer)):
        return dtypes.np_int64
    return dtypes.default_float()


def _scalar(v: Any) -> Any:
    return v.item() if isinstance(v, Tensor) else v


@_takes_out
def full(
    size: Sequence[int],
    fill_value: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
    **options: Any,
) -> Tensor:
    _options("full()", device, options)
    d = _fill_dtype(fill_value, dtype)
    return _leaf(np.full(_shape((size,), where="full()"), _scalar(fill_value), d), requires_grad)


def _like_dtype(t: Any, dtype: Any) -> np.dtype:
    return dtypes.as_dtype(dtype) if dtype is not None else np.asarray(t).dtype


def zeros_like(
    t: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None, **options: Any
) -> Tensor:
    _options("zeros_like()", device, options)
    return _leaf(np.zeros(np.shape(t), _like_dtype(t, dtype)), requires_grad)


def ones_like(
    t: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None, **options: Any
) -> Tensor:
    _options("ones_like()", device, options)
    return _leaf(np.ones(np.shape(t), _like_dtype(t, dtype)), requires_grad)


def empty_like(
    t: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None, **options: Any
) -> Tensor:
    _options("empty_like()", device, options)
    return _leaf(np.empty(np.shape(t), _like_dtype(t, dtype)), requires_grad)


def full_like(
    t: Any,
    fill_value: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
    **options: Any,
) -> Tensor:
    _options("full_like()", device, options)
    return _leaf(np.full(np.shape(t), _scalar(fill_value), _like_dtype(t, dtype)), requires_grad)


def rand_like(
    t: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    generator: Any = None,
    device: Any = None,
    **options: Any,
) -> Tensor:
    _options("rand_like()", device, options)
    d = _like_dtype(t, dtype)
    return rand(*np.shape(t), dtype=d, requires_grad=requires_grad, generator=generator)


def randn_like(
    t: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    generator: Any = None,
    device: Any = None,
    **options: Any,
) -> Tensor:
    _options("randn_like()", device, options)
    d = _like_dtype(t, dtype)
    return randn(*np.shape(t), dtype=d, requires_grad=requires_grad, generator=generator)


def randint_like(
    t: Any,
    low: int = 0,
    high: Any = None,
    *,
    dtype: Any = None,
    generator: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """``randint_like(t, high)`` or ``randint_like(t, low, high)``: ``t``'s shape and dtype."""
    _options("randint_like()", device, options)
    if high is None:
        low, high = 0, low
    d = _like_dtype(t, dtype)
    values = _numpy_rng(generator).integers(_scalar(low), _scalar(high), size=np.shape(t))
    return _leaf(values.astype(d), requires_grad)


@_takes_out
def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
    **options: Any,
) -> Tensor:
    """Like ``torch.arange``: integers give int64, any float argument gives the default dtype."""
    _options("arange()", device, options)
    start, end, step = _scalar(start), _scalar(end), _scalar(step)
    if end is None:
        start, end = 0, start
    check_arange(start, end, step)
    if dtype is None:
        is_float = any(isinstance(v, (float, np.floating)) for v in (start, end, step))
        dtype = dtypes.default_float() if is_float else dtypes.np_int64
    return _leaf(np.arange(start, end, step, dtype=dtypes.as_dtype(dtype)), requires_grad)


@_takes_out
def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
    **options: Any,
) -> Tensor:
    _options("linspace()", device, options)
    start, end = _scalar(start), _scalar(end)
    dt = dtypes.as_dtype(dtype)
    if dt in (np.float32, np.float64) and isinstance(steps, int) and steps > 1:
        return _leaf(_spaced_as_pytorch(start, end, steps, dt), requires_grad)
    return _leaf(np.linspace(start, end, steps, dtype=dt), requires_grad)


def _spaced_as_pytorch(start: Any, end: Any, steps: int, dt: Any) -> np.ndarray:
    """``torch.linspace``'s points, bit for bit: the step in ``dt``, the first half counted up
    from ``start`` and the second down from ``end``, each point rounded once from a fused
    multiply-add (NumPy's points differ from PyTorch's in the last bit)."""
    lo, hi = np.asarray(start).astype(dt), np.asarray(end).astype(dt)
    step = (hi - lo) / dt.type(steps - 1)
    wide: Any = np.float64 if dt == np.float32 else np.longdouble  # holds the product exactly
    i = np.arange(steps).astype(wide)
    up = lo.astype(wide) + step.astype(wide) * i
    down = hi.astype(wide) - step.astype(wide) * (steps - 1 - i)
    return np.where(np.arange(steps) < steps // 2, up, down).astype(dt)


@_takes_out
def eye(
    n: int,
    m: int | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
    **options: Any,
) -> Tensor:
    _options("eye()", device, options)
    return _leaf(np.eye(n, m, dtype=dtypes.as_dtype(dtype)), requires_grad)


@_takes_out
def rand(
    *size: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
    device: Any = None,
    **options: Any,
) -> Tensor:
    shape = _shape(size, options.pop("size", None), "rand()")
    _options("rand()", device, options)
    d = dtypes.as_dtype(dtype)
    rng = _numpy_rng(generator)
    if d.kind == "c":  # PyTorch: each part uniform on [0, 1)
        parts = rng.random(shape + (2,), dtype=dtypes.real_of(d))
        return _leaf(parts.view(d)[..., 0], requires_grad)
    return _leaf(rng.random(shape, dtype=d), requires_grad)


@_takes_out
def randn(
    *size: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
    device: Any = None,
    **options: Any,
) -> Tensor:
    shape = _shape(size, options.pop("size", None), "randn()")
    _options("randn()", device, options)
    d = dtypes.as_dtype(dtype)
    rng = _numpy_rng(generator)
    if d.kind == "c":  # PyTorch: each part N(0, 1/2), so that E|z|^2 = 1
        parts = rng.standard_normal(shape + (2,), dtype=dtypes.real_of(d)) * np.sqrt(0.5)
        return _leaf(parts.astype(dtypes.real_of(d)).view(d)[..., 0], requires_grad)
    return _leaf(rng.standard_normal(shape, dtype=d), requires_grad)


@_takes_out
def randint(
    low: Any = None,
    high: Any = None,
    size: Any = None,
    dtype: Any = None,
    *,
    generator: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """``randint(high, size)`` or ``randint(low, high, size)``, as in PyTorch."""
    _options("randint()", device, options)
    if size is None:  # randint(high, size): the first two positions are high and size
        low, high, size = 0, low, high
    elif high is None:  # randint(10, size=(3,)): the one position is high
        low, high = 0, low
    if low is None:  # randint(high=10, size=(3,))
        low = 0
    if high is None or size is None:
        raise TypeError("randint() needs high and size: randint(high, size) or (low, high, size)")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.np_int64
    values = _numpy_rng(generator).integers(
        _scalar(low), _scalar(high), size=_shape((size,), where="randint()")
    )
    return _leaf(values.astype(d), requires_grad)


@_takes_out
def randperm(
    n: int,
    dtype: Any = None,
    *,
    generator: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    _options("randperm()", device, options)
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.np_int64
    return _leaf(_numpy_rng(generator).permutation(int(n)).astype(d), requires_grad)


def scalar_tensor(
    s: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None, **options: Any
) -> Tensor:
    """A 0-d tensor holding the number ``s``, in the default float dtype unless ``dtype``."""
    _options("scalar_tensor()", device, options)
    value = s.item() if isinstance(s, (Tensor, np.ndarray)) else s
    return _leaf(np.asarray(value, dtype=dtypes.as_dtype(dtype)), requires_grad)


def range_(
    start: Any = 0,
    end: Any = None,
    step: Any = 1,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
    **options: Any,
) -> Tensor:
    """Deprecated ``torch.range``: ``start, start + step, ...`` up to and including ``end``, in
    the default float dtype (``arange`` stops before ``end``)."""
    import warnings

    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its behavior "
        "is inconsistent with Python's range builtin. Instead, use torch.arange, which produces "
        "values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    _options("range()", device, options)
    start, end, step = _scalar(start), _scalar(end), _scalar(step)
    if end is None:
        raise TypeError("range(): missing the required argument 'end' (range(start, end, step))")
    check_arange(start, end, step)
    n = int(np.floor((end - start) / step)) + 1
    d = dtypes.as_dtype(dtype)
    return _leaf((start + np.arange(max(n, 0)) * step).astype(d), requires_grad)


def set_default_tensor_type(t: Any) -> None:
    """Deprecated: make ``t``'s float dtype the default (``DoubleTensor`` or ``FloatTensor``)."""
    import warnings

    from glassgrad.tensor_types import DoubleTensor, FloatTensor, HalfTensor

    warnings.warn(
        "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
        "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
        UserWarning,
        stacklevel=2,
    )
    if isinstance(t, str):
        if t.startswith(("torch.cuda.", "glassgrad.cuda.")):
            check_cpu("cuda", "set_default_tensor_type()")
        types = {c.__name__: c for c in (DoubleTensor, FloatTensor, HalfTensor)}
        key = t.removeprefix("torch.").removeprefix("glassgrad.")
        if key not in types:
            raise TypeError(f"set_default_tensor_type(): invalid type string {t!r}")
        t = types[key]
    d = getattr(t, "dtype", None)
    if not isinstance(d, dtypes.dtype) or not d.is_floating_point:
        raise TypeError(
            "set_default_tensor_type(): only floating-point types are supported as the default "
            f"type, got {t!r}"
        )
    dtypes.set_default_dtype(d)


@_takes_out
def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
    **options: Any,
) -> Tensor:
    """``steps`` points base**t for t evenly spaced from ``start`` to ``end``."""
    _options("logspace()", device, options)
    start, end, base = _scalar(start), _scalar(end), _scalar(base)
    d = dtypes.as_dtype(dtype)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise RuntimeError(f"logspace(): number of steps must be non-negative, got {steps!r}")
    t = np.linspace(float(start), float(end), steps, dtype=np.float64)
    with np.errstate(over="ignore"):
        values = np.power(float(base), t)
    if d.kind in "iu":
        values = np.trunc(values)
    return _leaf(values.astype(d), requires_grad)


# ---- window functions (torch.hann_window & co.), for stft and filters ----------------------------


def _window(
    where: str,
    window_length: int,
    periodic: bool,
    dtype: Any,
    requires_grad: bool,
    device: Any,
    options: dict[str, Any],
    values: Callable[[np.ndarray, int], np.ndarray],
) -> Tensor:
    """``values(n, N)`` at ``n = 0..N-1`` for the symmetric window of length ``N``; a periodic
    window is the symmetric one of length ``window_length + 1`` without its last point."""
    _options(f"{where}()", device, options)
    d = dtypes.as_dtype(dtype)
    if d.kind != "f":
        raise RuntimeError(f"{where} expects floating point dtypes, got: {d}")
    if not isinstance(window_length, (int, np.integer)) or window_length < 0:
        raise RuntimeError(
            f"{where} requires non-negative window length, got window_length={window_length}"
        )
    if window_length <= 1:
        return _leaf(np.ones(window_length, d), requires_grad)
    n = int(window_length) + (1 if periodic else 0)
    w = values(np.arange(n, dtype=np.float64), n)[: int(window_length)]
    return _leaf(w.astype(d), requires_grad)


def hann_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    **options: Any,
) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (N - 1))`` (periodic by default, for stft)."""
    return _window(
        "hann_window",
        window_length,
        periodic,
        dtype,
        requires_grad,
        device,
        options,
        lambda n, N: 0.5 - 0.5 * np.cos(2 * np.pi * n / (N - 1)),
    )


def hamming_window(
    window_length: int,
    periodic: bool = True,
    alpha: float = 0.54,
    beta: float = 0.46,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    **options: Any,
) -> Tensor:
    """The Hamming window ``alpha - beta cos(2 pi n / (N - 1))``."""
    return _window(
        "hamming_window",
        window_length,
        periodic,
        dtype,
        requires_grad,
        device,
        options,
        lambda n, N: alpha - beta * np.cos(2 * np.pi * n / (N - 1)),
    )


def blackman_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    **options: Any,
) -> Tensor:
    """The Blackman window ``0.42 - 0.5 cos(2 pi n/(N-1)) + 0.08 cos(4 pi n/(N-1))``."""
    return _window(
        "blackman_window",
        window_length,
        periodic,
        dtype,
        requires_grad,
        device,
        options,
        lambda n, N: (
            0.42 - 0.5 * np.cos(2 * np.pi * n / (N - 1)) + 0.08 * np.cos(4 * np.pi * n / (N - 1))
        ),
    )


def bartlett_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    **options: Any,
) -> Tensor:
    """The Bartlett (triangular) window ``1 - |2n / (N - 1) - 1|``."""
    return _window(
        "bartlett_window",
        window_length,
        periodic,
        dtype,
        requires_grad,
        device,
        options,
        lambda n, N: 1 - np.abs(2 * n / (N - 1) - 1),
    )


def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    **options: Any,
) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2n/(N-1) - 1)^2)) / I0(beta)``."""
    return _window(
        "kaiser_window",
        window_length,
        periodic,
        dtype,
        requires_grad,
        device,
        options,
        lambda n, N: (
            np.i0(beta * np.sqrt(np.clip(1 - (2 * n / (N - 1) - 1) ** 2, 0, None))) / np.i0(beta)
        ),
    )
