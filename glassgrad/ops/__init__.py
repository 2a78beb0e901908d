"""glassgrad's ops, one module per family; each op is declared once in its family module.

Importing the families runs their declarations (``glassgrad.ops.registry``); ``bind`` then
generates the Tensor methods, operators, in-place variants and NumPy mappings from them.
"""

from __future__ import annotations

from glassgrad.ops import (
    comparison,
    complex_ops,
    decompositions,
    eig,
    einsum,
    elementwise,
    indexing,
    inplace,
    joining,
    linalg,
    lu,
    numpy_dispatch,
    placement,
    reductions,
    registry,
    sampling,
    scans,
    scatter,
    selection,
    shape,
    sorting,
    sparse,
    special,
    spectral,
    statistics,
    structure,
)
from glassgrad.tensor import Tensor

FAMILIES = (
    elementwise,
    comparison,
    complex_ops,
    reductions,
    selection,
    scans,
    shape,
    joining,
    indexing,
    scatter,
    placement,
    linalg,
    decompositions,
    eig,
    lu,
    einsum,
    sorting,
    sparse,
    structure,
    spectral,
    special,
    statistics,
    sampling,
    inplace,
)


def bind() -> None:
    """Generate every declared op's bindings on ``Tensor`` (again after more declarations)."""
    registry.bind(
        Tensor, numpy_dispatch.register, (inplace.apply_inplace, inplace.apply_inplace_view)
    )


bind()
