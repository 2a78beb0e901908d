"""glassgrad: reverse-mode automatic differentiation on NumPy, with PyTorch's names.

>>> import glassgrad as gg
>>> x = gg.tensor(-2.0, requires_grad=True)
>>> y = gg.tensor(5.0, requires_grad=True)
>>> z = gg.tensor(-4.0, requires_grad=True)
>>> f = (x + y) * z
>>> f.backward()
>>> x.grad, y.grad, z.grad
(tensor(-4.), tensor(-4.), tensor(3.))
"""

from __future__ import annotations

import builtins as _builtins
import math as _math
import typing as _typing

from glassgrad import (
    _einops,
    accelerator,
    amp,
    autograd,
    backends,
    cuda,
    data,
    distributed,
    distributions,
    dtypes,
    fft,
    func,
    hub,
    inspect,
    interchange,
    jit,
    linalg,
    manual,
    multiprocessing,
    nn,
    onnx,
    ops,
    optim,
    random,
    serialization,
    sparse,
    special,
    testing,
    utils,
    version,
    viz,
)
from glassgrad.amp import autocast
from glassgrad.autograd import grad
from glassgrad.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from glassgrad.creation import (
    Generator,
    arange,
    as_tensor,
    asarray,
    bartlett_window,
    blackman_window,
    default_generator,
    empty,
    empty_like,
    empty_strided,
    eye,
    from_numpy,
    full,
    full_like,
    generator,
    get_rng_state,
    hamming_window,
    hann_window,
    initial_seed,
    kaiser_window,
    linspace,
    logspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    scalar_tensor,
    seed,
    set_default_tensor_type,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)
from glassgrad.creation import range_ as range
from glassgrad.device import CPUOnlyError, device, get_default_device, set_default_device
from glassgrad.dtypes import (
    bfloat16,
    bool_,
    can_cast,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    result_type,
    set_default_dtype,
    short,
    uint8,
)
from glassgrad.interchange import load_file, save_file
from glassgrad.layout import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    layout,
    memory_format,
    preserve_format,
    sparse_coo,
    strided,
)
from glassgrad.ops.registry import TORCH as _TORCH
from glassgrad.ops.registry import in_namespace as _in_namespace
from glassgrad.printing import get_printoptions, set_printoptions
from glassgrad.runtime import (
    OutOfMemoryError,
    are_deterministic_algorithms_enabled,
    compile,
    get_deterministic_debug_mode,
    get_float32_matmul_precision,
    get_num_interop_threads,
    get_num_threads,
    init_num_threads,
    is_deterministic_algorithms_warn_only_enabled,
    is_warn_always_enabled,
    set_deterministic_debug_mode,
    set_float32_matmul_precision,
    set_flush_denormal,
    set_num_interop_threads,
    set_num_threads,
    set_warn_always,
    use_deterministic_algorithms,
)
from glassgrad.serialization import load, save
from glassgrad.size import Size
from glassgrad.storage import TypedStorage, UntypedStorage
from glassgrad.tensor import Tensor
from glassgrad.tensor_types import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
from glassgrad.utils.dlpack import from_dlpack, to_dlpack

# Every op declared with the ``glassgrad`` namespace (``glassgrad/ops/registry.py``).
globals().update(_in_namespace(_TORCH))
_einops.install()  # einops takes glassgrad tensors under ``import glassgrad as torch`` too

float = float32
bool = bool_
int = int32
__version__ = version.__version__
_modules = [
    accelerator,
    amp,
    autograd,
    backends,
    cuda,
    data,
    distributed,
    dtypes,
    fft,
    func,
    hub,
    inspect,
    linalg,
    manual,
    multiprocessing,
    nn,
    onnx,
    ops,
    optim,
]
_modules += [interchange, serialization, sparse, special, utils, version, viz]


# math constants, as torch re-exports them (``torch.pi`` ...), and NumPy-style ``newaxis``
pi: _builtins.float = _math.pi
e: _builtins.float = _math.e
inf: _builtins.float = _math.inf
nan: _builtins.float = _math.nan
newaxis: None = None
vmap = func.vmap  # ``torch.vmap`` is ``torch.func.vmap``


def typename(obj: _typing.Any) -> _builtins.str:
    """``'torch.FloatTensor'`` for a tensor (PyTorch's legacy type names), else the qualified
    name of ``obj``'s type."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    qualname = type(obj).__qualname__
    return qualname if module in ("builtins", "") else f"{module}.{qualname}"


def is_anomaly_enabled() -> _builtins.bool:
    """Whether anomaly detection is on (``autograd.detect_anomaly``)."""
    return autograd.anomaly.is_anomaly_enabled()


def is_anomaly_check_nan_enabled() -> _builtins.bool:
    """Whether anomaly detection checks backward results for NaN."""
    return autograd.anomaly.is_anomaly_check_nan_enabled()


def set_anomaly_enabled(enabled: _builtins.bool, check_nan: _builtins.bool = True) -> None:
    """Turn anomaly detection on or off for the rest of the program."""
    autograd.anomaly._set(enabled, check_nan)


def is_tensor(obj: _typing.Any) -> _builtins.bool:
    """Whether ``obj`` is a glassgrad Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> _builtins.int:
    """The number of elements of ``input``."""
    return input.numel()


def is_floating_point(input: Tensor) -> _builtins.bool:
    """Whether ``input`` has a floating-point dtype."""
    return input.is_floating_point()


def is_complex(input: Tensor) -> _builtins.bool:
    """Whether ``input`` has a complex dtype."""
    return input.is_complex()


def is_signed(input: Tensor) -> _builtins.bool:
    """Whether ``input``'s dtype holds negative values (not bool, not uint8)."""
    return input.is_signed()


def detach(input: Tensor) -> Tensor:
    """``input.detach()``: the same data, cut from the graph."""
    return input.detach()


def is_storage(obj: _typing.Any) -> _builtins.bool:
    return False


multiprocessing._register_reductions()  # shared tensors go to other processes by file

# submodules PyTorch's ``import torch`` loads, loaded here on first use (``torch.profiler.profile``
# with no import of its own)
_LAZY_SUBMODULES = frozenset({"compiler", "cpu", "mps", "mtia", "profiler", "xpu"})


def __getattr__(name: str) -> _typing.Any:
    """Ops come from the registry at import; this answers for the submodules loaded on first
    use, and for names that don't exist."""
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"glassgrad.{name}")
    raise AttributeError(f"module 'glassgrad' has no attribute {name!r}")
