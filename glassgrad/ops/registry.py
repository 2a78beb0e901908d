"""The op registry: every public op is declared once, and its bindings are generated from that.

A family module declares an op by decorating its public function (or by passing it to
``declare``)::

    @op(inplace=True, numpy=np.logaddexp)
    def logaddexp(input, other):
        return LogAddExp.apply(*binary_operands("logaddexp", input, other))

and the package builds the rest from the declaration (``glassgrad/ops/__init__.py`` calls
``bind``): the function in ``glassgrad`` (or ``glassgrad.nn.functional``), the Tensor method
``t.logaddexp``, the in-place method ``t.logaddexp_``, the NumPy mapping
(``np.logaddexp(t, u)`` runs the op), operator dunders, and each module's ``__all__``. Nothing
else keeps a list of names. The node class (forward beside its derivative) sits right above the
declaration in the family module.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from glassgrad._errors import guarded

TORCH = "glassgrad"  # ``torch.<name>``: the top-level namespace
FUNCTIONAL = "glassgrad.nn.functional"  # ``torch.nn.functional.<name>``
LINALG = "glassgrad.linalg"  # ``torch.linalg.<name>``: an op named ``linalg_<name>`` there
FFT = "glassgrad.fft"  # ``torch.fft.<name>``: an op named ``fft_<name>`` there
SPECIAL = (
    "glassgrad.special"  # ``torch.special.<name>``: an op named ``special_<name>`` or ``<name>``
)
SPARSE = "glassgrad.sparse"  # ``torch.sparse.<name>``: an op named ``sparse_<name>`` there


@dataclass
class OpDecl:
    """One op's bindings: where its function appears, and under which other names."""

    name: str
    function: Callable[..., Any]
    module: str  # the family module that declares it
    namespaces: tuple[str, ...]  # where ``name`` is exported (TORCH, FUNCTIONAL)
    method: str | None  # Tensor method name, None when PyTorch has none
    method_function: Callable[..., Any]  # what the method runs: the op, or an adapter
    inplace: str | None  # in-place Tensor method (``exp_``), None when PyTorch has none
    reshapes: bool = False  # the in-place variant changes the shape (``squeeze_``), not values
    operators: tuple[str, ...] = ()  # dunders bound to the function as is (``__add__``)
    reflected: tuple[str, ...] = ()  # dunders bound with operands swapped (``__rsub__``)
    inplace_operators: tuple[str, ...] = ()  # in-place dunders bound to ``t.<name>_`` (``//=``)
    numpy: dict[Any, Callable[..., Any]] = field(default_factory=dict)  # NumPy callable -> op
    aliases: tuple[str, ...] = ()  # other names for the same op (``clip`` for ``clamp``)
    is_property: bool = False  # the method is a property (``t.T``, ``t.mT``)
    torch_function: Callable[..., Any] | None = None  # ``torch.<name>`` when its args differ
    differentiable: bool = True  # False: no gradient flows (comparisons, argmax, int casts)
    guard: bool = True  # False: a hot op whose errors arise in Node.apply, which words them
    raw_operators: bool = False  # its dunders call the function itself (see ``op``)


OPS: dict[str, OpDecl] = {}
FAST_INPLACE: dict[str, Callable[..., Any]] = {}  # hand-written in-place variants that win
NUMPY_QUERIES: dict[Any, Callable[..., Any]] = {}  # np.shape & co.: answers, not ops
RAW_INPLACE_OPERATORS: set[str] = set()  # in-place dunders bound without the wrapper


def op(
    function: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    method: bool | str | Callable[..., Any] = True,
    inplace: bool | str = False,
    operators: Iterable[str] = (),
    reflected: Iterable[str] = (),
    inplace_operators: Iterable[str] = (),
    numpy: Any = None,
    aliases: Iterable[str] = (),
    namespaces: Iterable[str] = (TORCH,),
    is_property: bool = False,
    torch_function: Callable[..., Any] | None = None,
    differentiable: bool = True,
    guard: bool = True,
    raw_operators: bool = False,
) -> Any:
    """Declare a public op (decorator, with or without arguments); returns the function as is.

    ``method``: bind as a Tensor method (True: under the op's name; a string: under that name;
    a function: that adapter, for methods whose arguments differ from the function's).
    ``inplace``: PyTorch has ``t.<name>_``; it is generated from the out-of-place op unless a
    hand-written one is declared with ``fast_inplace`` (``"view"``: it changes the shape, as
    ``squeeze_`` does, so the tensor takes the result's shape instead of its values).
    ``inplace_operators``: augmented assignments (``__ifloordiv__``) that run the in-place
    variant, so ``x //= 2`` changes ``x`` itself as in PyTorch (not a new tensor bound to ``x``).
    ``numpy``: a NumPy callable with the same signature, a tuple of them, or a dict mapping
    NumPy callables to adapters.
    ``torch_function``: what ``glassgrad.<name>`` runs when PyTorch's top-level function takes
    other arguments than the ``nn.functional`` one (``torch.embedding(weight, input)``).
    ``guard=False`` (hot elementwise ops only): no error-wording wrapper around the function, one
    call layer less per op; its NumPy errors arise inside ``Node.apply``, which words them.
    ``raw_operators=True`` (arithmetic): the same for its dunders only (``x * y`` takes no other
    arguments, and a bad operand is worded by ``binary_operands`` or ``Node.apply``).
    ``differentiable=False``: no gradient flows through it, so the test registry needs no
    gradient entry for it (every differentiable op must have one: tests/opinfo/).
    """

    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        opname = name or fn.__name__
        if opname in OPS:
            raise RuntimeError(f"op {opname!r} is declared twice ({OPS[opname].module})")
        if numpy is None:
            mapping: dict[Any, Callable[..., Any]] = {}
        elif isinstance(numpy, dict):
            mapping = dict(numpy)
        else:
            mapping = {f: fn for f in (numpy if isinstance(numpy, tuple) else (numpy,))}
        OPS[opname] = OpDecl(
            name=opname,
            function=fn,
            module=fn.__module__,
            namespaces=tuple(namespaces),
            method=(opname if method is True or callable(method) else method) or None,
            method_function=method if callable(method) else fn,
            inplace=opname + "_" if inplace else None,
            reshapes=inplace == "view",
            operators=tuple(operators),
            reflected=tuple(reflected),
            inplace_operators=tuple(inplace_operators),
            numpy=mapping,
            aliases=tuple(aliases),
            is_property=is_property,
            torch_function=torch_function,
            differentiable=differentiable,
            guard=guard,
            raw_operators=raw_operators,
        )
        if inplace_operators and not inplace:
            raise RuntimeError(f"op {opname!r}: inplace_operators need an in-place variant")
        if torch_function is not None and TORCH not in OPS[opname].namespaces:
            OPS[opname].namespaces += (TORCH,)
        return fn

    return declare(function) if function is not None else declare


def fast_inplace(
    name: str, operators: Iterable[str] = (), raw_operators: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Use this hand-written function for the in-place method ``name`` (e.g. ``add_``), and for
    the in-place ``operators`` (``__iadd__``); it replaces the generated variant.
    ``raw_operators``: the operators skip the error-wording wrapper (the function words its own
    errors)."""

    def use(fn: Callable[..., Any]) -> Callable[..., Any]:
        FAST_INPLACE[name] = fn
        for dunder in operators:
            FAST_INPLACE[dunder] = fn
            if raw_operators:
                RAW_INPLACE_OPERATORS.add(dunder)
        return fn

    return use


def numpy_queries(mapping: dict[Any, Callable[..., Any]]) -> None:
    """NumPy functions that only read a tensor's metadata (``np.shape(t)``), not ops."""
    NUMPY_QUERIES.update(mapping)


# PyTorch's argument parser takes NumPy's names for four parameters of its built-in functions
# and methods (``x.sum(axis=1, keepdims=True)``, ``torch.cat(ts, axis=0)``); so does every op here
NUMPY_NAMES = {"axis": "dim", "keepdims": "keepdim", "x": "input", "a": "input", "x1": "input"}
NUMPY_NAMES["x2"] = "other"


def _parameters(fn: Callable[..., Any]) -> Any:
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return {}


def numpy_names(fn: Callable[..., Any]) -> dict[str, str]:
    """The NumPy names ``fn`` takes in place of its parameters' own (``axis`` for ``dim``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return {}
    return {
        alias: own for alias, own in NUMPY_NAMES.items() if own in params and alias not in params
    }


def user_facing(decl: OpDecl) -> Callable[..., Any]:
    """What ``glassgrad.<name>`` and the operators run: the function, its errors worded for the
    user under the op's name (``glassgrad._errors.guarded``; made once per op)."""
    if not decl.guard:
        return decl.function
    fn = _GUARDED.get(decl.name)
    if fn is None:
        fn = _GUARDED[decl.name] = guarded(decl.function, decl.name, numpy_names(decl.function))
    return fn


_GUARDED: dict[str, Callable[..., Any]] = {}


def exports(module: str) -> list[str]:
    """The names a family module exports (its ``__all__``): its ops and their aliases."""
    return sorted(n for d in OPS.values() if d.module == module for n in (d.name, *d.aliases))


def public_name(name: str, namespace: str) -> str:
    """An op's name in ``namespace``: ``glassgrad.linalg`` drops the ``linalg_`` prefix that
    keeps ``linalg.norm`` apart from ``torch.norm``, ``glassgrad.fft`` the ``fft_`` prefix,
    ``glassgrad.special`` the ``special_`` prefix (``special_expit`` is ``special.expit``),
    ``glassgrad.sparse`` the ``sparse_`` prefix (``sparse_mm`` is ``sparse.mm``)."""
    if namespace == LINALG:
        return name.removeprefix("linalg_")
    if namespace == FFT:
        return name.removeprefix("fft_")
    if namespace == SPECIAL:
        return name.removeprefix("special_")
    if namespace == SPARSE:
        return name.removeprefix("sparse_")
    return name


def in_namespace(namespace: str) -> dict[str, Callable[..., Any]]:
    """Every name the registry exports into ``namespace``, with its function; those of
    ``torch``, ``torch.linalg``, ``torch.special``, ``torch.fft`` and ``torch.sparse`` take
    ``out=`` as PyTorch's do (``glassgrad/ops/out.py``)."""
    from glassgrad.ops.out import with_out, write_out

    functions = {}
    for d in OPS.values():
        if namespace not in d.namespaces:
            continue
        takes_out = namespace != FUNCTIONAL
        if namespace == TORCH and d.torch_function:
            f = d.torch_function
            fn = guarded(f, d.name, numpy_names(f), write_out=write_out)
        elif not takes_out:
            fn = user_facing(d)
        elif d.guard:
            fn = guarded(d.function, d.name, numpy_names(d.function), write_out=write_out)
        elif "out" in _parameters(d.function):  # (a hot op taking out= itself: no layer more)
            fn = d.function
        else:  # (a hot op without the wording layer: one layer for out= alone)
            fn = with_out(d.function, d.name)
        for n in (d.name, *d.aliases):
            functions[public_name(n, namespace)] = fn
    return functions


def _swapped(fn: Callable[..., Any]) -> Callable[..., Any]:
    def reflected(self: Any, other: Any) -> Any:
        return fn(other, self)

    reflected.__name__ = reflected.__qualname__ = f"r{fn.__name__}"
    return reflected


def _generated_inplace(decl: OpDecl, appliers: tuple[Callable, Callable]) -> Callable[..., Any]:
    """``t.<op>_(...)``: run the op, then write the result into ``t`` (``appliers``: values,
    shape) through the in-place machinery (leaf checks, version counters, graph rebasing)."""
    fn, opname = decl.function, decl.inplace or ""
    apply = appliers[1] if decl.reshapes else appliers[0]

    def inplace(self: Any, *args: Any, **kwargs: Any) -> Any:
        return apply(self, opname, fn, *args, **kwargs)

    inplace.__name__ = inplace.__qualname__ = opname
    inplace.__doc__ = f"In-place ``{decl.name}``: writes the result into this tensor."
    return guarded(inplace, opname, numpy_names(fn))


def bind(
    tensor_cls: type,
    register_numpy: Callable[[dict, dict], None],
    appliers: tuple[Callable[..., Any], Callable[..., Any]],
) -> None:
    """Generate every declared op's Tensor methods, operators, in-place variants (written back
    through ``appliers``: ``apply_inplace``, ``apply_inplace_view``) and NumPy mapping."""
    import numpy as np

    for decl in OPS.values():
        fn = user_facing(decl)
        if decl.method:
            method = (
                fn
                if decl.method_function is decl.function
                else guarded(decl.method_function, decl.method, numpy_names(decl.method_function))
            )
            bound = property(method) if decl.is_property else method
            for method_name in (decl.method, *decl.aliases):
                setattr(tensor_cls, method_name, bound)
        if decl.inplace:
            fast = FAST_INPLACE.get(decl.inplace)
            method = (
                guarded(fast, decl.inplace, numpy_names(fast))
                if fast
                else _generated_inplace(decl, appliers)
            )
            setattr(tensor_cls, decl.inplace, method)
            for alias in decl.aliases:
                setattr(tensor_cls, alias + "_", method)
            for dunder in decl.inplace_operators:
                setattr(tensor_cls, dunder, method)
        operator = decl.function if decl.raw_operators else fn
        for dunder in decl.operators:
            setattr(tensor_cls, dunder, operator)
        for dunder in decl.reflected:
            setattr(tensor_cls, dunder, _swapped(operator))
        ufuncs = {k: v for k, v in decl.numpy.items() if isinstance(k, np.ufunc)}
        functions = {k: v for k, v in decl.numpy.items() if not isinstance(k, np.ufunc)}
        register_numpy(ufuncs, functions)
    register_numpy({}, NUMPY_QUERIES)
    for name, fn in FAST_INPLACE.items():  # hand-written ones win (and zero_ has no twin)
        if name in RAW_INPLACE_OPERATORS:
            setattr(tensor_cls, name, fn)  # (it words its own errors: ``x -= y`` is hot)
        else:
            opname = fn.__name__ if name.startswith("__") else name
            setattr(tensor_cls, name, guarded(fn, opname, numpy_names(fn)))


def functional(function: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """Declare an op of ``torch.nn.functional``: like ``op``, but no Tensor method by default."""
    kwargs.setdefault("method", False)
    kwargs.setdefault("namespaces", (FUNCTIONAL,))
    return op(function, **kwargs)
