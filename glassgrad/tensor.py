"""``Tensor``: a NumPy array plus the bookkeeping autograd needs (PyTorch names and semantics).

The class holds data and graph links only; every op is declared in ``glassgrad.ops`` (or
``glassgrad.nn.functional``) and its Tensor methods are generated from that declaration
(``glassgrad/ops/registry.py``).
"""

from __future__ import annotations

import copy
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from glassgrad import dtypes, printing
from glassgrad._convert import as_array
from glassgrad.autograd import capture, engine, gradients, hooks, node, staging
from glassgrad.autograd.hooks import RemovableHandle, RetainGrad
from glassgrad.autograd.state import bump_version, state
from glassgrad.device import CPU, CPUOnlyError, check_cpu
from glassgrad.device import device as _device
from glassgrad.size import Size

# ``t.type()``: PyTorch's legacy type names, per dtype.
_TYPE_NAMES = {
    dtypes.np_float32: "torch.FloatTensor",
    dtypes.np_float64: "torch.DoubleTensor",
    dtypes.np_float16: "torch.HalfTensor",
    dtypes.np_int64: "torch.LongTensor",
    dtypes.np_int32: "torch.IntTensor",
    dtypes.np_int16: "torch.ShortTensor",
    dtypes.np_int8: "torch.CharTensor",
    dtypes.np_uint8: "torch.ByteTensor",
    dtypes.np_bool: "torch.BoolTensor",
}
_TYPE_DTYPES = {name.removeprefix("torch."): d for d, name in _TYPE_NAMES.items()}
_DTYPES = dtypes.BY_NUMPY  # NumPy dtype -> glassgrad dtype (``Tensor.dtype``: one lookup)


def _legacy_new(args: tuple[Any, ...], dtype: Any) -> np.ndarray:
    """The array for ``torch.Tensor(*args)``: data converted to the default float dtype, or
    zeros of the given sizes, or an empty one."""
    float_dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float()
    if not args:
        return np.zeros(0, float_dtype)
    if len(args) == 1 and isinstance(args[0], Size):  # Tensor(x.size()): sizes, not data
        args = tuple(args[0])
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        return np.zeros(tuple(int(a) for a in args), float_dtype)
    if len(args) == 1 and isinstance(args[0], Tensor) and dtype is None:
        return args[0]._data  # PyTorch: Tensor(t) is t's data, dtype kept
    if len(args) == 1 and not isinstance(args[0], (int, float, bool, np.number)):
        return as_array(args[0], float_dtype)
    raise TypeError(
        f"Tensor(): expected data (a sequence or array) or sizes (ints), got "
        f"{tuple(type(a).__name__ for a in args)}"
    )


class Tensor:
    """An n-dimensional array that can record the ops applied to it and differentiate them.

    >>> import glassgrad as gg
    >>> x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = (
        "__dict__",  # attributes of the user's own, as PyTorch's tensors take (p.my_flag = 1)
        "__weakref__",
        "_base_",
        "_data",
        "_grad",
        "_hooks_",
        "_name",
        "_post_hooks_",
        "_retains_grad_",
        "_vc",
        "_views_",
        "grad_fn",
        "requires_grad",
    )
    _data: np.ndarray  # the values; ops and the engine work on this array directly
    _grad: Tensor | None
    _views_: weakref.WeakSet[Tensor]  # (set on a base when its first view is made)
    grad_fn: Any
    # ndarray op Tensor must come here: Tensor answers NumPy's dispatch protocols below.
    __array_priority__ = 1000

    def __init__(self, *args: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        """``Tensor(data, dtype=...)`` converts ``data``; without a dtype it is PyTorch's legacy
        constructor, which always gives the default float dtype: ``Tensor([0])`` (data),
        ``Tensor(2, 3)`` (sizes: zeros here), ``Tensor()`` (empty)."""
        if dtype is not None and len(args) == 1:
            self._data = as_array(args[0], dtype)
        else:
            self._data = _legacy_new(args, dtype)
        self.grad_fn = None
        self._grad = None
        self._vc = [0]
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @property
    def data(self) -> Tensor:
        """The same values as a Tensor outside the graph (shares memory; PyTorch's ``.data``).

        Writing through it (``p.data.add_(g)``) changes this tensor without recording and
        without bumping its version counter, exactly as in PyTorch: prefer ``detach()`` and
        ``no_grad()``, which keep the in-place checks.
        """
        return Tensor._make(self._data)  # a plain Tensor, also for a Parameter

    @data.setter
    def data(self, value: Any) -> None:
        """``p.data = t`` swaps in new values (a Tensor or an array), shape and dtype included."""
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    # Rarely used slots are left unset on the hot path; these properties give their defaults.
    @property
    def name(self) -> str | None:
        """An optional variable name (shown by graph tools)."""
        return getattr(self, "_name", None)

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value

    @property
    def _base(self) -> Tensor | None:
        """The tensor this one is a view of (shares memory and version counter), if any."""
        return getattr(self, "_base_", None)

    @_base.setter
    def _base(self, value: Tensor | None) -> None:
        self._base_ = value
        if value is not None:  # the base knows its live views: an in-place op on the memory
            views = getattr(value, "_views_", None)  # they share rebases their graphs too
            if views is None:
                views = value._views_ = weakref.WeakSet()
            views.add(self)

    def __getstate__(self) -> Any:
        """Pickled and deep-copied without the registry of live views (weak references, which
        belong to this process and this object)."""
        state = object.__getstate__(self)
        if isinstance(state, tuple) and state[1] and "_views_" in state[1]:
            state = (state[0], {k: v for k, v in state[1].items() if k != "_views_"})
        return state

    def _live_views(self) -> list[Tensor]:
        """The views of this (base) tensor that are still referenced somewhere."""
        views = getattr(self, "_views_", None)
        while views:
            try:
                return list(views)
            except RuntimeError:  # another thread made a view of this base meanwhile: again
                continue
        return []

    @property
    def _hooks(self) -> list[Any] | None:
        return getattr(self, "_hooks_", None)

    @_hooks.setter
    def _hooks(self, value: list[Any] | None) -> None:
        if value is not None:
            engine.LEAF_HOOKS[0] = True  # from now on, backward looks for hooks on leaves
        self._hooks_ = value

    @property
    def _retains_grad(self) -> bool:
        return getattr(self, "_retains_grad_", False)

    @_retains_grad.setter
    def _retains_grad(self, value: bool) -> None:
        self._retains_grad_ = value

    @classmethod
    def _make(cls, data: Any) -> Tensor:
        """Wrap an array an op just produced (no copy, no checks): the hot path of every op."""
        t = object.__new__(cls)
        t._data = data if type(data) is np.ndarray else np.asarray(data)
        t.grad_fn = None
        t.requires_grad = False
        t._grad = None
        t._vc = [0]
        return t

    if TYPE_CHECKING:  # ops are bound onto Tensor by glassgrad.ops at import; declared for mypy
        T: Tensor
        mT: Tensor

        def __getattr__(self, name: str) -> Any: ...
        def __getitem__(self, index: Any) -> Tensor: ...
        def __setitem__(self, index: Any, value: Any) -> None: ...
        def __neg__(self) -> Tensor: ...
        def __pos__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __invert__(self) -> Tensor: ...
        def __add__(self, other: Any) -> Tensor: ...
        def __radd__(self, other: Any) -> Tensor: ...
        def __sub__(self, other: Any) -> Tensor: ...
        def __rsub__(self, other: Any) -> Tensor: ...
        def __mul__(self, other: Any) -> Tensor: ...
        def __rmul__(self, other: Any) -> Tensor: ...
        def __truediv__(self, other: Any) -> Tensor: ...
        def __rtruediv__(self, other: Any) -> Tensor: ...
        def __floordiv__(self, other: Any) -> Tensor: ...
        def __rfloordiv__(self, other: Any) -> Tensor: ...
        def __mod__(self, other: Any) -> Tensor: ...
        def __rmod__(self, other: Any) -> Tensor: ...
        def __pow__(self, other: Any) -> Tensor: ...
        def __rpow__(self, other: Any) -> Tensor: ...
        def __matmul__(self, other: Any) -> Tensor: ...
        def __rmatmul__(self, other: Any) -> Tensor: ...
        def __and__(self, other: Any) -> Tensor: ...
        def __rand__(self, other: Any) -> Tensor: ...
        def __or__(self, other: Any) -> Tensor: ...
        def __ror__(self, other: Any) -> Tensor: ...
        def __xor__(self, other: Any) -> Tensor: ...
        def __rxor__(self, other: Any) -> Tensor: ...
        def __iadd__(self, other: Any) -> Tensor: ...
        def __isub__(self, other: Any) -> Tensor: ...
        def __imul__(self, other: Any) -> Tensor: ...
        def __itruediv__(self, other: Any) -> Tensor: ...
        def __lt__(self, other: Any) -> Tensor: ...
        def __le__(self, other: Any) -> Tensor: ...
        def __gt__(self, other: Any) -> Tensor: ...
        def __ge__(self, other: Any) -> Tensor: ...
        def __eq__(self, other: Any) -> Tensor: ...  # type: ignore[override]
        def __ne__(self, other: Any) -> Tensor: ...  # type: ignore[override]

    # ---- basic facts ------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        """The size of each dimension, a ``glassgrad.Size`` (a tuple of ints)."""
        return tuple.__new__(Size, self._data.shape)

    @property
    def dtype(self) -> dtypes.dtype:
        """The element type, a ``glassgrad.dtype`` (``torch.float32``). The package's own code
        reads the NumPy dtype, ``self._data.dtype``; this is for users."""
        return _DTYPES[self._data.dtype]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def device(self) -> _device:
        """Where the tensor lives: always ``glassgrad.device('cpu')``."""
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def is_cpu(self) -> bool:
        return True

    @property
    def is_xpu(self) -> bool:
        """False: no accelerator (programs test ``input.is_cuda or input.is_xpu``)."""
        return False

    @property
    def is_mps(self) -> bool:
        return False

    @property
    def is_meta(self) -> bool:
        return False

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def layout(self) -> Any:
        """``torch.strided``: a dense tensor (sparse ones are ``glassgrad.ops.sparse``'s)."""
        from glassgrad.layout import strided

        return strided

    @property
    def is_quantized(self) -> bool:
        return False

    def is_inference(self) -> bool:
        """False: ``inference_mode`` makes ordinary tensors here (it is ``no_grad``)."""
        return False

    def get_device(self) -> int:
        """-1: the tensor is on the CPU (PyTorch's answer for CPU tensors)."""
        return -1

    def cpu(self, memory_format: Any = None) -> Tensor:
        """The tensor itself: it is on the CPU already."""
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False, **kwargs: Any) -> Tensor:
        """Refused: this build of glassgrad runs on the CPU only."""
        raise CPUOnlyError(
            f"Tensor.cuda(): this build of glassgrad runs on the CPU only; keep tensors on 'cpu' "
            f"(choose the device with glassgrad.cuda.is_available()), got device "
            f"{'cuda' if device is None else str(device)!r}"
        )

    def pin_memory(self, device: Any = None) -> Tensor:
        """The tensor itself (pinned memory only matters for copies to an accelerator)."""
        return self

    # ---- new_* : a fresh tensor with this one's dtype (and device), as PyTorch's ----------------
    def _new(
        self, make: Any, size: Any, dtype: Any, requires_grad: bool, named: Any, **kw: Any
    ) -> Tensor:
        if "size" in named:  # ``w.new_zeros(size=(2, 3))``: PyTorch's keyword for the shape
            if size:
                raise TypeError(f"{make.__name__}() got multiple values for argument 'size'")
            size = (named["size"],)
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        out = make(*shape, dtype=self._data.dtype if dtype is None else dtype, **kw)
        return out.requires_grad_(True) if requires_grad else out

    def new_zeros(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kwargs: Any,
    ) -> Tensor:
        """Zeros of shape ``size`` with this tensor's dtype (``h0 = w.new_zeros(layers, n, h)``)."""
        from glassgrad import creation

        return self._new(creation.zeros, size, dtype, requires_grad, kwargs, device=device)

    def new_ones(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kwargs: Any,
    ) -> Tensor:
        """Ones of shape ``size`` with this tensor's dtype."""
        from glassgrad import creation

        return self._new(creation.ones, size, dtype, requires_grad, kwargs, device=device)

    def new_empty(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kwargs: Any,
    ) -> Tensor:
        """An uninitialised tensor of shape ``size`` with this tensor's dtype."""
        from glassgrad import creation

        return self._new(creation.empty, size, dtype, requires_grad, kwargs, device=device)

    def new_empty_strided(
        self,
        size: Any,
        stride: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kwargs: Any,
    ) -> Tensor:
        """``empty_strided`` with this tensor's dtype (unless ``dtype`` says otherwise)."""
        from glassgrad import creation

        return creation.empty_strided(
            size,
            stride,
            dtype=self._data.dtype if dtype is None else dtype,
            device=device,
            requires_grad=requires_grad,
            **kwargs,
        )

    def new_full(
        self,
        size: Any,
        fill_value: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kwargs: Any,
    ) -> Tensor:
        """``fill_value`` everywhere in shape ``size``, with this tensor's dtype."""
        from glassgrad import creation

        d = self._data.dtype if dtype is None else dtype
        out = creation.full(tuple(size), fill_value, dtype=d)
        return out.requires_grad_(True) if requires_grad else out

    def new_tensor(
        self,
        data: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kwargs: Any,
    ) -> Tensor:
        """A copy of ``data`` as a new leaf with this tensor's dtype (unless ``dtype`` is given)."""
        from glassgrad import creation

        src = data._data if isinstance(data, Tensor) else data
        out = creation.tensor(np.array(src), dtype=self._data.dtype if dtype is None else dtype)
        return out.requires_grad_(True) if requires_grad else out

    def new(self, *args: Any, device: Any = None) -> Tensor:
        """Legacy ``t.new(...)``: sizes give an uninitialised tensor of this dtype, data (a list,
        an array) a copy in this dtype, a tensor the same data; no argument an empty tensor."""
        from glassgrad import creation

        check_cpu(device, "Tensor.new()")
        if not args:
            return Tensor._make(np.empty(0, self._data.dtype))
        if len(args) == 1 and isinstance(args[0], Tensor):
            return args[0].detach()
        one = args[0] if len(args) == 1 else None
        if isinstance(one, Size) or (len(args) > 1 or isinstance(one, (int, np.integer))):
            return creation.empty(*args, dtype=self._data.dtype)
        return Tensor(one, dtype=self._data.dtype)

    def is_pinned(self, device: Any = None) -> bool:
        return False

    def share_memory_(self) -> Tensor:
        """Move the numbers into memory other processes map too: a tensor handed to a process
        of ``torch.multiprocessing`` then shares them, and its writes (a Hogwild worker's
        optimizer steps) show here (``glassgrad/multiprocessing.py``)."""
        if getattr(self, "_shared_path_", None) is None:
            from glassgrad.multiprocessing import move_to_shared_memory

            move_to_shared_memory(self)
        return self

    def is_shared(self) -> bool:
        return getattr(self, "_shared_path_", None) is not None

    @property
    def _version(self) -> int:
        return self._vc[0]

    def size(self, dim: int | None = None) -> Any:
        """``size()`` is the shape (a ``glassgrad.Size``); ``size(dim)`` one dimension's size."""
        if dim is None:
            return tuple.__new__(Size, self._data.shape)
        if not -self._data.ndim <= dim < max(self._data.ndim, 1):
            lo, hi = -max(self._data.ndim, 1), max(self._data.ndim, 1) - 1
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
            )
        return self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        """Bytes per element."""
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        """Bytes per element (``element_size()``)."""
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes the elements take: ``numel() * itemsize``."""
        return self._data.size * self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def is_signed(self) -> bool:
        return self._data.dtype.kind in "fic"

    def data_ptr(self) -> int:
        """The address of the first element (views of one array differ by their offset)."""
        return int(self._data.__array_interface__["data"][0])

    def storage(self) -> Any:
        """The memory behind this tensor as elements (PyTorch's ``TypedStorage``; a view's is
        its base's): ``t.storage().tolist()``."""
        from glassgrad.storage import TypedStorage, memory_of

        return TypedStorage(memory_of(self._data))

    def untyped_storage(self) -> Any:
        """The memory behind this tensor as bytes (PyTorch's ``UntypedStorage``)."""
        from glassgrad.storage import UntypedStorage, memory_of

        return UntypedStorage(memory_of(self._data))

    def storage_offset(self) -> int:
        """Elements between the start of the underlying memory and this tensor's first one."""
        root = self._data
        while isinstance(root.base, np.ndarray):
            root = root.base
        start = root.__array_interface__["data"][0]
        return (self._data.__array_interface__["data"][0] - start) // self._data.itemsize

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """``t.type()``: PyTorch's type name (``'torch.FloatTensor'``); ``t.type(dtype)`` or
        ``t.type('torch.DoubleTensor')``: the tensor converted (itself when already so)."""
        if dtype is None:
            return _TYPE_NAMES.get(self._data.dtype, f"torch.{self._data.dtype}Tensor")
        if isinstance(dtype, type) and hasattr(dtype, "dtype"):  # t.type(torch.LongTensor)
            dtype = dtype.dtype
        if isinstance(dtype, str) and dtype.removeprefix("torch.") in _TYPE_DTYPES:
            dtype = _TYPE_DTYPES[dtype.removeprefix("torch.")]
        elif isinstance(dtype, str) and dtype.startswith(("torch.cuda.", "glassgrad.cuda.")):
            check_cpu("cuda", "Tensor.type()")
        elif isinstance(dtype, str) and dtype.endswith("Tensor"):
            raise ValueError(f"invalid type: {dtype!r}")
        return self.to(dtype)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"item(): a Tensor with {self._data.size} elements cannot be converted to a scalar"
            )
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy()."
            )
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __dlpack__(self, **kwargs: Any) -> Any:
        """The DLPack capsule of this tensor's memory (``torch.from_dlpack``, ``np.from_dlpack``,
        JAX... read it without a copy); refused for a tensor that requires grad, as PyTorch."""
        if self.requires_grad:
            raise RuntimeError(
                "Can't export tensors that require gradient through DLPack, use tensor.detach()"
            )
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._data.__dlpack_device__()

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} elements is ambiguous"
            )
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.item())

    def __hash__(self) -> int:
        """Identity, as in PyTorch: tensors are dict keys by object, not by value."""
        return id(self)

    def __format__(self, format_spec: str) -> str:
        """``f"{loss:.4f}"``: a 0-d tensor formats as its Python number, as in PyTorch; any other
        tensor only with an empty spec."""
        if self._data.ndim == 0:
            return self._data.item().__format__(format_spec)
        if format_spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return str(self)

    def __iter__(self) -> Any:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    # ---- autograd ---------------------------------------------------------------------------
    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (leaves, or non-leaves after ``retain_grad()``)."""
        if self.grad_fn is not None and self._grad is None and not self._retains():
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
                "Its .grad attribute won't be populated during autograd.backward(). If you "
                "indeed want the gradient for a non-leaf Tensor, use .retain_grad() on it.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value)}")
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has shape {tuple(value.shape)} but the tensor has shape "
                    f"{tuple(self.shape)}"
                )
        self._grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf as needing a gradient (floating-point tensors only)."""
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach()."
                )
            return self
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients; this tensor has "
                f"dtype {dtypes.name(self._data.dtype)} and shape {tuple(self._data.shape)}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def _retains(self) -> bool:
        return getattr(self, "_retains_grad", False)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self._retains()

    def retain_grad(self) -> None:
        """Keep ``.grad`` on a non-leaf after backward (a leaf always keeps it)."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if not self._retains():
            self._retains_grad = True
            self.grad_fn.register_hook(RetainGrad(weakref.ref(self)))

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_hook(hook)
        hooks = getattr(self, "_hooks", None)
        if hooks is None:
            hooks = self._hooks = []
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(tensor)`` once ``backward()`` has written this leaf's ``.grad`` (an
        optimizer step fused into the backward pass needs nothing more)."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors (this "
                f"tensor of shape {tuple(self.shape)} has grad_fn {self.grad_fn.name()})"
            )
        hooks: list[Any] | None = getattr(self, "_post_hooks_", None)
        if hooks is None:
            hooks = []
            self._post_hooks_ = hooks
            staging.POST_HOOKS[0] = True
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def apply_(self, callable: Callable[[Any], Any]) -> Tensor:
        """Replace each element ``v`` by ``callable(v)``, in place (a Python loop: slow)."""
        return self._python_map("apply_", lambda v, _: callable(v), None)

    def map_(self, tensor: Any, callable: Callable[[Any, Any], Any]) -> Tensor:
        """Replace each element ``v`` by ``callable(v, w)``, ``w`` from ``tensor`` broadcast to
        this shape, in place (a Python loop: slow)."""
        other = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
        try:
            other = np.broadcast_to(other, self._data.shape)
        except ValueError:
            raise RuntimeError(
                f"map_: the tensor of shape {tuple(other.shape)} does not broadcast to this "
                f"tensor's shape {tuple(self.shape)}"
            ) from None
        return self._python_map("map_", callable, other)

    def _python_map(self, op: str, fn: Callable[[Any, Any], Any], other: Any) -> Tensor:
        if self.requires_grad:
            raise RuntimeError(
                f"{op}: can't call {op}() on a tensor that requires grad (shape "
                f"{tuple(self.shape)}): it is not recorded; use it under no_grad on a detached "
                "tensor"
            )
        flat = self._data.reshape(-1)
        pairs = zip(flat.tolist(), other.reshape(-1).tolist() if other is not None else flat)
        values = [fn(v, w) for v, w in pairs]
        self._data[...] = np.asarray(values, dtype=self._data.dtype).reshape(self._data.shape)
        bump_version(self)
        return self

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``glassgrad.autograd``)."""
        from glassgrad.autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and version counter)."""
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        """A copy of a leaf (its grad and flags too), as ``copy.deepcopy`` makes by default; a
        tensor made by an op in the graph is refused, as PyTorch refuses it (copying would
        copy the graph behind it)."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                f"protocol at the moment (this one, of shape {tuple(self.shape)}, was made by "
                f"{self.grad_fn.name()}); deepcopy its .detach() instead, or the module before "
                "a forward stored it"
            )
        return copy._reconstruct(self, memo, *self.__reduce_ex__(4))  # type: ignore[attr-defined]

    # ---- display ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        d = self._data
        if d.dtype.kind != "c" or d.size == 0:
            body = printing.tensor_body(d)
        else:
            body = np.array2string(
                d,
                separator=", ",
                prefix="tensor(",
                suppress_small=True,
                formatter=printing.complex_formatter(d),
                **printing.numpy_options(d.ndim),
            ).replace(", ...,", ",  ...,")  # PyTorch's summarised rows: "0.,  ..., 0."
        extras = []
        default_float = self._data.dtype in (dtypes.default_float(), dtypes.default_complex())
        if self._data.size == 0:  # as PyTorch: no items to tell an int64 or a bool by
            if self._data.dtype != dtypes.default_float():
                extras.append(f"dtype={dtypes.name(self._data.dtype)}")
            if self._data.ndim != 1:
                extras.insert(0, f"size={tuple(self.shape)}")
        else:
            if not printing.options["edgeitems"]:  # (PyTorch: no items at the edges, a size)
                extras.append(f"size={tuple(self.shape)}")
            if not (default_float or self._data.dtype in (np.int64, np.bool_)):
                extras.append(f"dtype={dtypes.name(self._data.dtype)}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return printing.add_suffixes(f"tensor({body}", extras, len("tensor("))

    __str__ = __repr__

    # ---- NumPy interoperability: np.exp(t), np.sum(t, axis=0), ndarray * t ---------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from glassgrad.ops import numpy_dispatch

        return numpy_dispatch.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from glassgrad.ops import numpy_dispatch

        return numpy_dispatch.function(func, args, kwargs)


for _module in (engine, node, gradients, hooks, staging, capture):
    setattr(_module, "Tensor", Tensor)  # noqa: B010  (the autograd modules refer to the class)
_ = state  # re-exported for glassgrad.ops
