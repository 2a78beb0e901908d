"""einsum: Einstein summation over any number of operands, differentiable to any order.

The gradient for one operand is an einsum of ``g`` with all the other operands that produces the
operand's subscripts; under ``create_graph`` that einsum is recorded like any other. Two cases
need care. A subscript repeated in the operand ('ii->i') means the gradient lives on a diagonal:
an identity matrix joins the product to put it there. A subscript that only that operand has
(summed away in forward, 'ij->i') is absent from the product: the gradient is broadcast along it.
"""

from __future__ import annotations

import functools
import math
import string
from collections import Counter
from typing import Any

import numpy as np

from glassgrad.ops._common import Node, Tensor, as_tensor
from glassgrad.ops.registry import op

_LETTERS = string.ascii_letters  # the labels np.einsum accepts
_SUBLIST_LABELS = string.ascii_uppercase + string.ascii_lowercase  # sorted like the integers


def _optimize(shapes: Any) -> bool:
    # contraction-order search and BLAS pay off for 3+ operands or big ones; small pairs are
    # faster through NumPy's direct loop (the search alone costs ~15 µs)
    return len(shapes) > 2 or sum(math.prod(s) for s in shapes) > 4096


def _ellipsis_error(k: int) -> RuntimeError:
    return RuntimeError(f"einsum(): found '.' for operand {k} that is not part of any ellipsis")


@functools.lru_cache(maxsize=1024)
def _parse(equation: str, shapes: tuple[tuple[int, ...], ...]) -> tuple[tuple[str, ...], str, str]:
    """Explicit subscripts (one letter per dim, '...' spelled out in unused letters) and output."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    if "->" in rhs or "-" in lhs or ">" in lhs or "-" in rhs or ">" in rhs:
        raise RuntimeError(f"einsum(): invalid equation {equation!r}: one '->' at most")
    for ch in eq:
        if ch not in _LETTERS and ch not in ".,->":
            raise RuntimeError(
                f"einsum(): invalid subscript {ch!r} in equation {equation!r}; subscripts must "
                "be letters in [a-zA-Z]"
            )
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        which = "fewer" if len(shapes) < len(terms) else "more"
        raise RuntimeError(
            f"einsum(): {which} operands were provided than specified in the equation "
            f"{equation!r} ({len(shapes)} operands for {len(terms)} terms)"
        )
    free = [c for c in _LETTERS if c not in eq]
    parts = []
    n_ell = 0
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        head, dots, tail = term.partition("...")
        if "." in head or "." in tail:
            raise _ellipsis_error(k)
        n = len(shape) - len(head) - len(tail)
        if dots and n < 0:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(head) + len(tail)}) "
                f"is more than the number of dimensions ({len(shape)}) for operand {k}"
            )
        if not dots and n != 0:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(term)}) does not "
                f"match the number of dimensions ({len(shape)}) for operand {k} and no "
                "ellipsis was given"
            )
        n_ell = max(n_ell, n)
        parts.append((head, n if dots else 0, tail))
    if n_ell > len(free):
        raise RuntimeError(f"einsum(): too many dimensions for 52 subscript letters: {equation!r}")
    ell = "".join(free[:n_ell])
    ins = tuple(head + ell[n_ell - n :] + tail for head, n, tail in parts)

    if arrow:
        head, dots, tail = rhs.partition("...")
        if "." in head or "." in tail:
            raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis")
        for c in head + tail:
            if c not in lhs:
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any "
                    "input operand"
                )
        out = head + (ell if dots else "") + tail
        dup = [c for c, n in Counter(out).items() if n > 1]
        if dup:
            raise RuntimeError(
                f"einsum(): output subscript {dup[0]} appears more than once in the output"
            )
    else:
        counts = Counter(c for c in lhs if c in _LETTERS)
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))

    _check_sizes(ins, shapes, ell)
    return ins, out, ",".join(ins) + "->" + out


def _check_sizes(ins: tuple[str, ...], shapes: tuple[tuple[int, ...], ...], ell: str) -> None:
    """A label repeated in one operand needs equal sizes; across operands sizes broadcast."""
    sizes: dict[str, int] = {}
    for k, (sub, shape) in enumerate(zip(ins, shapes)):
        local: dict[str, int] = {}
        for c, n in zip(sub, shape):
            if local.setdefault(c, n) != n:
                raise RuntimeError(
                    f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't "
                    f"match, {local[c]} != {n} (shape {shape})"
                )
        for c, n in local.items():
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = n
            elif n != 1 and n != prev:
                what = "an ellipsis dimension" if c in ell else f"subscript {c}"
                raise RuntimeError(
                    f"einsum(): {what} has size {n} for operand {k} (shape {shape}) which does "
                    f"not broadcast with previously seen size {prev}"
                )


@functools.lru_cache(maxsize=1024)
def _grad_plan(
    ins: tuple[str, ...],
    out: str,
    k: int,
    shapes: tuple[tuple[int, ...], ...],
    out_shape: tuple[int, ...],
) -> tuple[str, tuple[int, ...], tuple[int, ...], Any]:
    """How operand ``k``'s gradient is made from g and the other operands.

    Returns the einsum equation, the sizes of the identity matrices it takes last, the axes to
    insert for labels nothing else has, and the shape to broadcast to (None if no broadcast).
    """
    sub, shape = ins[k], shapes[k]
    unused = iter(c for c in _LETTERS if c not in "".join(ins) + out)
    target, eyes, seen = [], [], set()
    for c, n in zip(sub, shape):
        if c in seen:  # 2nd occurrence of a diagonal label: a new label tied to it by an eye
            c2 = next(unused, None)
            if c2 is None:
                raise RuntimeError("einsum(): too many subscripts to differentiate this equation")
            eyes.append((c + c2, n))
            target.append(c2)
        else:
            seen.add(c)
            target.append(c)
    subs = [out] + [s for j, s in enumerate(ins) if j != k] + [e for e, _ in eyes]
    sub_shapes = [out_shape] + [s for j, s in enumerate(shapes) if j != k]
    sub_shapes += [(n, n) for _, n in eyes]
    size: dict[str, int] = {}
    for s, shp in zip(subs, sub_shapes):
        for c, n in zip(s, shp):
            if size.get(c, 1) == 1:
                size[c] = n
    kept = "".join(c for c in target if c in size)
    missing = tuple(i for i, c in enumerate(target) if c not in size)
    got = tuple(size.get(c, 1) for c in target)
    want = tuple(n if g == 1 else g for g, n in zip(got, shape))  # size-1 results broadcast
    return (
        ",".join(subs) + "->" + kept,
        tuple(n for _, n in eyes),
        missing,
        (want if want != got else None),
    )


class Einsum(Node):
    __slots__ = ("ins", "out", "shapes")

    @staticmethod
    def forward(ctx: Any, spec: Any, *arrays: Any) -> Any:
        ctx.ins, ctx.out, eq = spec
        shapes = ctx.shapes = tuple(a.shape for a in arrays)
        if len(arrays) > 1:  # one operand's gradient needs only g
            ctx.save_for_backward(*arrays)
        res = np.einsum(eq, *arrays, optimize=_optimize(shapes))
        for a in arrays:  # NumPy returns views for transposes and diagonals: never alias inputs
            if np.may_share_memory(res, a):
                return res.copy()
        return res

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        arrays = ctx.saved_tensors
        grads: list[Any] = [None]
        for k, e in enumerate(ctx.next[1:]):
            if e is None:
                grads.append(None)
                continue
            eq, eyes, missing, bshape = _grad_plan(ctx.ins, ctx.out, k, ctx.shapes, ctx.shape)
            ops = [g, *(a for j, a in enumerate(arrays) if j != k)]
            ops += [np.eye(n, dtype=g.dtype) for n in eyes]
            r = np.einsum(eq, *ops, optimize=_optimize([np.shape(o) for o in ops]))
            if missing:
                r = np.expand_dims(r, missing)
            if bshape is not None:
                r = np.broadcast_to(r, bshape)
            grads.append(r)
        return tuple(grads)


def _from_sublists(args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """``einsum(a, [0, 1], b, [1, 2], [0, 2])`` -> ``('AB,BC->AC', (a, b))``."""

    def letters(sub: Any) -> str:
        try:
            return "".join("..." if s is Ellipsis else _SUBLIST_LABELS[s] for s in sub)
        except (IndexError, TypeError):
            raise RuntimeError(
                f"einsum(): subscripts in sublist format must be integers in [0, 52) or "
                f"Ellipsis, got {sub}"
            ) from None

    n = len(args) // 2
    eq = ",".join(letters(s) for s in args[1 : 2 * n : 2])
    if len(args) % 2:
        eq += "->" + letters(args[-1])
    return eq, args[0 : 2 * n : 2]


@op(method=False, numpy={np.einsum: lambda *operands, optimize=False, **kw: einsum(*operands)})
def einsum(equation: Any, *operands: Any) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``; also traces, diagonals, '...'.

    >>> import glassgrad as gg
    >>> gg.einsum("ii->", gg.eye(3)).item()
    3.0
    """
    if not isinstance(equation, str):
        equation, operands = _from_sublists((equation, *operands))
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ts = [as_tensor(o) for o in operands]
    for t in ts[1:]:
        if t.dtype != ts[0].dtype:
            raise RuntimeError(
                f"einsum(): expected all operands to have the same dtype, but got "
                f"{[str(u.dtype) for u in ts]} for equation {equation!r}"
            )
    spec = _parse(equation, tuple(t.shape for t in ts))
    return Einsum.apply(spec, *ts)
